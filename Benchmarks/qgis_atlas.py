#!/usr/bin/python3
"""QGIS atlas of the same store, the anchor for `onemap print atlas` (issue #13).

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 Benchmarks/qgis_atlas.py STORE.sqlite OUT.pdf [--paper A3]

Reads onemap's SpatiaLite store directly (through GDAL), and lays out one A3
portrait page per village, as a GIS officer would in QGIS 3.22's print layout: the village
map (atlas-driven, 25 % margin) with the boundary, hazard zones, roads, rivers, shelters and
resources, village and shelter labels; title and subtitle; legend; scale bar; north arrow;
an overview map; the village's responsible persons as an attribute table. (Less than
onemap's page: no evacuation routes — QGIS has no router — and no label-collision pass over
the page's own marks.) Prints pages, seconds and seconds per page.
"""
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsFillSymbol, QgsLayoutExporter, QgsLayoutItemAttributeTable, QgsLayoutFrame,
                       QgsLayoutItemLabel, QgsLayoutItemLegend, QgsLayoutItemMap, QgsLayoutItemPicture, QgsLayoutItemScaleBar,
                       QgsLayoutMeasurement, QgsLayoutPoint, QgsLayoutSize, QgsLineSymbol, QgsMarkerSymbol, QgsPalLayerSettings,
                       QgsPrintLayout, QgsProject, QgsScaleBarSettings, QgsRectangle, QgsSingleSymbolRenderer, QgsTextFormat, QgsUnitTypes, QgsVectorLayer,
                       QgsVectorLayerSimpleLabeling)
from qgis.PyQt.QtGui import QColor, QFont


def main():
    store, out = sys.argv[1], sys.argv[2]
    app = QgsApplication([], False)
    app.initQgis()
    project = QgsProject.instance()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:3857"))

    def layer(table, geom_type, name):
        # Through GDAL's SQLite driver: QGIS 3.22's own spatialite provider finds no extent
        # in the store's generic GEOMETRY columns and draws nothing.
        lyr = QgsVectorLayer(f"{store}|layername={table}", name, "ogr")
        if not lyr.isValid():
            raise SystemExit(f"QGIS could not open {table} in {store}")
        # The store's geometry columns are generic (GEOMETRY, EPSG:4326); say what they hold.
        lyr.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
        project.addMapLayer(lyr, False)
        return lyr

    def labels(lyr, field, size, colour="#202020"):
        s = QgsPalLayerSettings()
        s.fieldName = field
        fmt = QgsTextFormat()
        fmt.setFont(QFont("Noto Sans CJK SC"))
        fmt.setSize(size)
        fmt.setColor(QColor(colour))
        buf = fmt.buffer()
        buf.setEnabled(True)
        buf.setSize(0.8)
        fmt.setBuffer(buf)
        s.setFormat(fmt)
        lyr.setLabeling(QgsVectorLayerSimpleLabeling(s))
        lyr.setLabelsEnabled(True)

    county = layer("county", "Polygon", "县界")
    county.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "#6a4f8a", "outline_width": "0.6"})))
    zones = layer("hazard_zones", "Polygon", "风险区")
    zones.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple({"color": "240,140,40,80", "outline_color": "#e06000", "outline_width": "0.3"})))
    villages = layer("villages", "Polygon", "村界")
    villages.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "#73268c", "outline_width": "0.7", "outline_style": "dash"})))
    labels(villages, "name", 10)
    rivers = layer("rivers", "LineString", "河流")
    rivers.setRenderer(QgsSingleSymbolRenderer(QgsLineSymbol.createSimple({"color": "#4a90d9", "width": "0.6"})))
    roads = layer("roads", "LineString", "道路")
    roads.setRenderer(QgsSingleSymbolRenderer(QgsLineSymbol.createSimple({"color": "#b0a090", "width": "0.5"})))
    shelters = layer("shelters", "Point", "避难场所")
    shelters.setRenderer(QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple({"name": "square", "color": "#0a8c33", "size": "3"})))
    labels(shelters, "name", 8, "#06662a")
    for t, c in [("fire_stations", "#cc1a1a"), ("micro_fire_stations", "#f07010"), ("warehouses", "#1a5abf"), ("hazard_points", "#e0a000")]:
        lyr = layer(t, "Point", t)
        lyr.setRenderer(QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple({"name": "circle", "color": c, "size": "2.4"})))
    officers = layer("info_officers", "Point", "责任人")
    stack = [villages, shelters, officers] + [l for l in project.mapLayers().values() if l.name() in
                                               ("fire_stations", "micro_fire_stations", "warehouses", "hazard_points")] + [roads, rivers, zones, county]
    for l in stack:
        project.layerTreeRoot().addLayer(l)

    layout = QgsPrintLayout(project)
    layout.initializeDefaults()
    page = layout.pageCollection().page(0)
    page.setPageSize("A3", 0)  # portrait
    W, H = 297, 420

    def label(text, x, y, w, h, size, bold=False, expression=False):
        item = QgsLayoutItemLabel(layout)
        item.setText(text)
        f = QFont("Noto Sans CJK SC")
        f.setPointSizeF(size)
        f.setBold(bold)
        item.setFont(f)
        item.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters))
        item.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))
        layout.addLayoutItem(item)
        return item

    label("[% '裕民县' || \"name\" || '灾害风险与避险转移图' %]", 10, 8, W - 20, 12, 20, bold=True)
    label("编制单位：裕民县应急管理局　数据：演示数据（合成，非实测）", 10, 20, W - 20, 6, 9)
    m = QgsLayoutItemMap(layout)
    m.attemptMove(QgsLayoutPoint(10, 28, QgsUnitTypes.LayoutMillimeters))
    m.attemptResize(QgsLayoutSize(W - 20, 270, QgsUnitTypes.LayoutMillimeters))
    m.setLayers(stack)
    m.setFrameEnabled(True)
    layout.addLayoutItem(m)
    ov = QgsLayoutItemMap(layout)
    ov.attemptMove(QgsLayoutPoint(W - 70, 32, QgsUnitTypes.LayoutMillimeters))
    ov.attemptResize(QgsLayoutSize(56, 46, QgsUnitTypes.LayoutMillimeters))
    ov.setLayers([county])
    ov.setExtent(QgsCoordinateTransform(county.crs(), project.crs(), project).transformBoundingBox(county.extent()))
    ov.setFrameEnabled(True)
    layout.addLayoutItem(ov)
    ov.overview().setLinkedMap(m)
    arrow = QgsLayoutItemPicture(layout)
    arrow.setPicturePath("/usr/share/qgis/svg/arrows/NorthArrow_02.svg")
    arrow.attemptMove(QgsLayoutPoint(14, 32, QgsUnitTypes.LayoutMillimeters))
    arrow.attemptResize(QgsLayoutSize(10, 16, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(arrow)
    bar = QgsLayoutItemScaleBar(layout)
    bar.setStyle("Single Box")
    bar.setLinkedMap(m)
    bar.setUnits(QgsUnitTypes.DistanceMeters)
    bar.setNumberOfSegments(4)
    bar.setNumberOfSegmentsLeft(0)
    bar.setSegmentSizeMode(QgsScaleBarSettings.SegmentSizeFitWidth)
    bar.setMinimumBarWidth(40)
    bar.setMaximumBarWidth(80)
    bar.setUnitLabel("m")
    bar.attemptMove(QgsLayoutPoint(14, 284, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(bar)
    legend = QgsLayoutItemLegend(layout)
    legend.setLinkedMap(m)
    legend.setTitle("图例")
    legend.attemptMove(QgsLayoutPoint(10, 302, QgsUnitTypes.LayoutMillimeters))
    legend.attemptResize(QgsLayoutSize(90, 110, QgsUnitTypes.LayoutMillimeters))
    layout.addLayoutItem(legend)
    table = QgsLayoutItemAttributeTable.create(layout)
    table.setVectorLayer(officers)
    table.setFilterFeatures(True)
    table.setFeatureFilter("\"village\" = attribute(@atlas_feature, 'code')")
    table.setMaximumNumberOfFeatures(40)
    cols = table.columns()
    for c in list(cols):
        if c.attribute() not in ("role", "name", "phone"):
            cols.remove(c)
    table.setColumns(cols)
    frame = QgsLayoutFrame(layout, table)
    frame.attemptMove(QgsLayoutPoint(160, 302, QgsUnitTypes.LayoutMillimeters))
    frame.attemptResize(QgsLayoutSize(127, 110, QgsUnitTypes.LayoutMillimeters))
    table.addFrame(frame)
    layout.addMultiFrame(table)

    atlas = layout.atlas()
    atlas.setCoverageLayer(villages)
    atlas.setEnabled(True)
    atlas.setSortFeatures(True)
    atlas.setSortExpression("code")
    m.setAtlasDriven(True)
    m.setAtlasMargin(0.25)
    atlas.updateFeatures()
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.rasterizeWholeImage = False
    t = time.time()
    result, error = QgsLayoutExporter.exportToPdf(atlas, out, settings)
    dt = time.time() - t
    if result != QgsLayoutExporter.Success:
        raise SystemExit(f"QGIS atlas export failed: {error}")
    n = atlas.count()
    print(f"QGIS {app.version() if hasattr(app, 'version') else ''} atlas: {n} pages in {dt:.2f} s ({dt / n:.3f} s/page), {os.path.getsize(out) / 1024 / n:.0f} KB/page")
    app.exitQgis()


if __name__ == "__main__":
    main()
