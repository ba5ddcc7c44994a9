import CGDAL
import Foundation
import OneMapCore
import OneMapStore

/// What `onemap import` was told about a foreign source.
public struct SourceImportOptions: Sendable {
    /// The onemap layer to write when the source layer's name does not say it.
    public var layer: String?
    /// Only this layer of the source (a GeoPackage table, a FileGDB feature class…).
    public var sourceLayer: String?
    /// Mappings from a mapping file.
    public var mappings: [LayerMapping]
    /// The text encoding, overriding what the file declares (e.g. "GBK").
    public var encoding: String?
    /// The coordinate reference system, overriding the file's (e.g. "EPSG:4537").
    public var crs: String?
    /// Accept features far (over 5°, some 500 km) from the data already in the store. Without it
    /// such features are refused: they are nearly always a wrong CRS or swapped lon/lat.
    public var anywhere: Bool

    public init(layer: String? = nil, sourceLayer: String? = nil, mappings: [LayerMapping] = [], encoding: String? = nil, crs: String? = nil, anywhere: Bool = false) {
        self.layer = layer; self.sourceLayer = sourceLayer; self.mappings = mappings; self.encoding = encoding; self.crs = crs; self.anywhere = anywhere
    }
}

/// Imports files in any vector format GDAL reads — ESRI Shapefile, GeoPackage, FileGDB
/// (OpenFileGDB), KML/KMZ, GPX, CSV with lon/lat or WKT columns, GeoJSON, OpenStreetMap PBF/XML —
/// into the store, through a mapping from the source's fields to onemap's layers. Text is decoded
/// strictly (`TextPolicy`), coordinates transformed to WGS84 with PROJ (through GDAL), every
/// feature validated, and the whole import is one transaction: all or nothing. Features stream
/// from GDAL to SQLite, so memory stays bounded whatever the file size.
public enum SourceImport {
    /// File extensions (and `.gdb` folders) a directory import picks up; sidecar files
    /// (.dbf, .shx, .prj, .cpg) belong to their .shp.
    static let extensions: Set<String> = ["shp", "gpkg", "kml", "kmz", "gpx", "csv", "geojson", "json", "osm", "pbf", "fgb", "sqlite", "gml", "gdb"]

    /// Whether `path` is onemap's own GeoJSON (a `.geojson` file, or a folder of only those) that
    /// the GeoJSON importer reads faster, i.e. nothing asks for a mapping, encoding or source layer.
    public static func isNativeGeoJSON(_ path: String, options: SourceImportOptions) -> Bool {
        guard options.mappings.isEmpty, options.encoding == nil, options.sourceLayer == nil else { return false }
        func native(_ p: String) -> Bool { p.hasSuffix(".geojson") || p.hasSuffix(".json") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { return native(path) }
        if !isDir.boolValue { return native(path) }
        if path.hasSuffix(".gdb") || path.hasSuffix(".gdb/") { return false }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let data = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        return !data.isEmpty && data.allSatisfy(native)
    }

    /// The datasets a path names: the file itself, a `.gdb` folder, or each data file in a folder.
    static func datasetPaths(_ path: String) throws(SourceError) -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw SourceError(.notFound, "no such file or directory: \(path)") }
        if !isDir.boolValue || path.hasSuffix(".gdb") || path.hasSuffix(".gdb/") { return [path] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        let data = names.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        guard !data.isEmpty else {
            throw SourceError("\(path) holds no files onemap can import (Shapefile .shp, GeoPackage .gpkg, FileGDB .gdb, KML, GPX, CSV, GeoJSON, OpenStreetMap .osm/.pbf)")
        }
        return data.map { (path as NSString).appendingPathComponent($0) }
    }

    /// Imports `path` (a file, a `.gdb` folder or a folder of files).
    /// - Parameters:
    ///   - progress: called with (features read, features expected) as the import goes.
    ///   - notice: sentences about choices made for the user (an encoding guessed, a CRS assumed,
    ///     properties derived, OpenStreetMap objects left out and why).
    /// - Returns: the features written per layer.
    /// - Throws: `SourceError` (a file that cannot be read, a mapping that does not fit, no CRS) before
    ///   anything is written; `ImportFailure` listing every refused feature — the store unchanged.
    public static func run(path: String, store: Store, options: SourceImportOptions, actor: String,
                           progress: ((Int, Int) -> Void)? = nil, notice: (String) -> Void = { _ in }) throws -> ImportReport {
        let datasets = try datasetPaths(path).map { (p: String) throws(SourceError) -> VectorDataset in try VectorDataset(path: p) }
        var plans: [LayerPlan] = []
        var osm: [VectorDataset] = []
        var usedMappings = Set<Int>()
        var skipped: [(name: String, label: String)] = []
        for ds in datasets {
            if ds.interleaved { osm.append(ds); continue }
            plans += try LayerPlan.make(ds, options: options, usedMappings: &usedMappings, skipped: &skipped, notice: notice)
        }
        for s in skipped { notice("\(s.label) skipped: no mapping names its layer \"\(s.name)\"") }
        if !osm.isEmpty {
            let given = [("--layer", options.layer != nil), ("--source-layer", options.sourceLayer != nil), ("--mapping", !options.mappings.isEmpty),
                         ("--encoding", options.encoding != nil), ("--crs", options.crs != nil)].filter(\.1).map(\.0)
            if !given.isEmpty {
                if plans.isEmpty {
                    throw SourceError("OpenStreetMap files are imported with onemap's built-in table (README, \"OpenStreetMap\"): \(given.joined(separator: ", ")) do\(given.count == 1 ? "es" : "") not apply; leave \(given.count == 1 ? "it" : "them") out")
                }
                notice("\(given.joined(separator: ", ")) apply to the other files, not to OpenStreetMap (\(osm.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", ")))")
            }
        }
        let sourceLayers = (plans.map(\.sourceName) + skipped.map(\.name)).joined(separator: ", ")
        for (i, m) in options.mappings.enumerated() where !usedMappings.contains(i) {
            notice("mapping \(m.origin) (source layer \"\(m.sourceLayer ?? "?")\") matched no layer of \(path); its layers: \(sourceLayers)")
        }
        guard !plans.isEmpty || !osm.isEmpty else {
            throw SourceError("nothing to import from \(path): no layer has a mapping (layers: \(sourceLayers)); check the mapping's \"source_layer\" names, or see `onemap import \(path) --inspect`")
        }
        // Referenced layers first (townships before the villages that name them).
        plans.sort { Layers.order($0.mapping.layer.name) < Layers.order($1.mapping.layer.name) }
        let expected = plans.reduce(0) { $0 + max(0, Int($1.layer.featureCount)) }
        var read = 0
        let stored = try store.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) }
        // The files among themselves: one far from the others (in an empty store too) is a wrong
        // CRS or swapped lon/lat. The largest layer is the reference.
        let extents = plans.map { $0.layer.extentWGS84($0.transform) }
        if !options.anywhere, let ref = zip(plans, extents).filter({ $0.1 != nil }).max(by: { $0.0.layer.featureCount < $1.0.layer.featureCount }), let refBox = ref.1 {
            for (p, e) in zip(plans, extents) {
                if let e, let why = Nearby.apart(e, from: refBox, named: ref.0.label, crs: p.crsLabel) { throw SourceError(p.label + " " + why) }
            }
        }
        // Beside the store's data: a file that does not even touch it (a neighbouring Gauss–Krüger
        // zone puts a county 3° east) is imported but said.
        if !stored.isEmpty {
            for (p, e) in zip(plans, extents) {
                guard let e, !e.intersects(stored.expanded(by: 0.05)), stored.expanded(by: 5).contains(e.center) else { continue }
                notice(String(format: "%@ lies at %.2f…%.2f°E, %.2f…%.2f°N, beside but not over the data already in the store (%.2f…%.2f°E, %.2f…%.2f°N): if that is not expected, check its CRS (read as %@)",
                              p.label, e.minLon, e.maxLon, e.minLat, e.maxLat, stored.minLon, stored.maxLon, stored.minLat, stored.maxLat, p.crsLabel))
            }
        }
        let extent = options.anywhere ? BBox.empty : stored
        let nearby = extent.isEmpty ? nil : Nearby(extent: extent)
        let report = try store.importStream(actor: actor) { sink in
            for plan in plans {
                try plan.stream(into: sink, nearby: nearby) {
                    read += 1
                    if read % 1000 == 0 { progress?(read, expected) }
                }
                // Names that are only "?": lost by the writer, not decodable here; nothing is
                // stored (this throws inside the import's transaction).
                let q = plan.text.questionMarks
                if q >= min(3, max(1, Int(plan.layer.featureCount))) {
                    throw SourceError("\(plan.label): \(q) text value\(q == 1 ? " is" : "s are") only question marks (\"??????\"): the file was written in an encoding that cannot hold Chinese — ogr2ogr writes a Shapefile as ISO-8859-1 unless given -lco ENCODING=UTF-8 — and the text was lost there; write it again from the original with -lco ENCODING=UTF-8 (or GBK); nothing was imported")
                }
            }
            for ds in osm {
                let r = OSMImport(dataset: ds)
                try r.stream(into: sink, nearby: nearby) {
                    read += 1
                    // OSM's object count is unknown until the end: the bar stays short of done.
                    if read % 1000 == 0 { progress?(read, max(expected, read + 1)) }
                }
                r.notices.forEach(notice)
            }
        }
        progress?(read, max(expected, read))
        for plan in plans {
            if let n = plan.text.guessNotice { notice(n) }
            if plan.text.truncated > 0 {
                notice("\(plan.label): \(plan.text.truncated) text value\(plan.text.truncated == 1 ? "" : "s") or field name\(plan.text.truncated == 1 ? "" : "s") end in a cut UTF-8 character (a DBF field was too narrow); kept without it")
            }
            for (p, n) in plan.derived where n > 0 {
                notice("\(plan.label): \(plan.mapping.layer.name).\(p) is not in the source; derived from each feature's geometry (point on surface) for \(n) feature\(n == 1 ? "" : "s")")
            }
        }
        return report
    }
}

/// One source layer and how it is read: mapping, decoded field names, text policy, transform.
final class LayerPlan {
    let dataset: VectorDataset
    let layer: VectorLayer
    let sourceName: String
    /// "roads.shp" or "county.gpkg layer 道路", for messages.
    let label: String
    let mapping: LayerMapping
    let text: TextPolicy
    let fieldNames: [String]
    let fieldTypes: [OGRFieldType]
    let transform: CRS.Transform?
    let crsLabel: String
    /// Required point properties (a village's centre…) missing from the mapping, derived from the geometry.
    private(set) var derived: [String: Int]

    init(dataset: VectorDataset, layer: VectorLayer, sourceName: String, label: String, mapping: LayerMapping, text: TextPolicy,
         fieldNames: [String], fieldTypes: [OGRFieldType], transform: CRS.Transform?, crsLabel: String) {
        self.dataset = dataset; self.layer = layer; self.sourceName = sourceName; self.label = label; self.mapping = mapping
        self.text = text; self.fieldNames = fieldNames; self.fieldTypes = fieldTypes; self.transform = transform; self.crsLabel = crsLabel
        let mapped = Set(mapping.properties.map(\.name))
        derived = Dictionary(uniqueKeysWithValues: mapping.layer.pointColumns.filter { $0.required && !mapped.contains($0.name) }.map { ($0.name, 0) })
    }

    /// The text policy a layer's file calls for (see `TextPolicy`).
    static func textPolicy(_ ds: VectorDataset, _ layer: VectorLayer, forced: String?, label: String) throws(SourceError) -> TextPolicy {
        var declared: (String, String)? = nil
        if ds.driver == "ESRI Shapefile" {
            if let cpg = layer.metadata("ENCODING_FROM_CPG", domain: "SHAPEFILE") {
                declared = (cpg, ".cpg file")
            } else if let ldid = layer.metadata("ENCODING_FROM_LDID", domain: "SHAPEFILE") {
                declared = (ldid, "DBF header's language driver id")
            }
        }
        let utf8 = ds.driver != "ESRI Shapefile" && ds.driver != "CSV" && layer.stringsAreUTF8 ? ds.driver : nil
        return try TextPolicy(forced: forced, declared: declared, utf8Format: utf8, label: label)
    }

    /// The CRS to read a layer in and its transform to WGS84 (nil when already lon/lat).
    static func reference(_ layer: VectorLayer, forced: String?, label: String, notice: (String) -> Void) throws(SourceError) -> (CRS.Transform?, String) {
        let crs: CRS
        if let forced {
            crs = try CRS(forced)
        } else if let srs = layer.spatialReference {
            crs = CRS(copying: srs)
        } else {
            if let e = layer.extent, !(abs(e.minX) <= 180 && abs(e.maxX) <= 180 && abs(e.minY) <= 90 && abs(e.maxY) <= 90) {
                throw SourceError(String(format: "%@ has no coordinate reference system (no .prj) and its coordinates (%.0f, %.0f … %.0f, %.0f) are not longitude/latitude; pass --crs EPSG:N, e.g. --crs EPSG:4537 for CGCS2000 3-degree Gauss–Krüger CM 84°E, the zone over 裕民县",
                                         label, e.minX, e.minY, e.maxX, e.maxY))
            }
            notice("\(label): no coordinate reference system in the file; its coordinates are longitude/latitude, read as WGS84 (EPSG:4326) — pass --crs if they are not")
            return (nil, "WGS84 (assumed)")
        }
        if crs.isWGS84 { return (nil, crs.label) }
        return (try crs.transformToWGS84(), crs.label)
    }

    /// The plans for a dataset's layers. With mapping files, a layer no mapping names is put in
    /// `skipped` (a county folder holds other files too); without, it is an error.
    static func make(_ ds: VectorDataset, options: SourceImportOptions, usedMappings: inout Set<Int>,
                     skipped: inout [(name: String, label: String)], notice: (String) -> Void = { _ in }) throws(SourceError) -> [LayerPlan] {
        let file = (ds.path as NSString).lastPathComponent
        var layers = ds.layers
        if layers.isEmpty { throw SourceError("\(file) holds no vector layers GDAL can read") }
        if let want = options.sourceLayer {
            guard let l = layers.first(where: { $0.name == want }) else {
                throw SourceError("\(file) has no layer \"\(want)\"; its layers: \(layers.map(\.name).joined(separator: ", "))")
            }
            layers = [l]
        } else if layers.count > 1 {
            layers = layers.filter { $0.featureCount != 0 }
        }
        var plans: [LayerPlan] = []
        for l in layers {
            let name = l.name
            let label = layers.count == 1 && ds.layers.count == 1 ? file : "\(file) layer \(name)"
            let text = try textPolicy(ds, l, forced: options.encoding, label: label)
            var fieldNames: [String] = []
            for f in l.fields {
                switch text.decode(f.rawName, field: "name") {
                case .success(let s): fieldNames.append(s)
                case .failure(let p): throw SourceError("\(label): a field's \(p.reason)")
                }
            }
            // The mapping: one naming this source layer; the only one given; --layer; the layer's own name.
            var mapping: LayerMapping?
            if let i = options.mappings.firstIndex(where: { $0.sourceLayer == name }) {
                mapping = options.mappings[i]; usedMappings.insert(i)
            } else if let i = options.mappings.firstIndex(where: { $0.sourceLayer == nil }), options.mappings.count == 1 || layers.count == 1 {
                let unnamed = options.mappings.filter { $0.sourceLayer == nil }
                if unnamed.count > 1 {
                    throw SourceError("\(unnamed.count) mappings (\(unnamed.map(\.origin).joined(separator: ", "))) name no \"source_layer\", so it is not clear which one \(label) takes; give each its source layer's name")
                }
                mapping = options.mappings[i]; usedMappings.insert(i)
            } else if let spec = try options.layer.map(Self.layerSpec) ?? Layers.byName[name] ?? Layers.byName[name.lowercased()] {
                let (m, truncated) = LayerMapping.identity(spec, fields: fieldNames, sourceLayer: name)
                mapping = m
                for (f, p) in truncated {
                    notice("\(label): field \"\(f)\" read as \(spec.name).\(p) (a Shapefile keeps 10 characters of a field name)")
                }
            }
            guard let mapping else {
                if !options.mappings.isEmpty { skipped.append((name, label)); continue }
                throw SourceError("cannot tell which onemap layer \(label) is: pass --layer NAME (\(Layers.names.joined(separator: ", "))) or a --mapping file; `onemap import \(ds.path) --inspect` suggests one")
            }
            if let missing = mapping.fieldsRead.first(where: { !fieldNames.contains($0) }) {
                throw SourceError("mapping \(mapping.origin) names field \"\(missing)\", which \(label) does not have; its fields: \(fieldNames.joined(separator: ", "))")
            }
            let (transform, crsLabel) = try reference(l, forced: options.crs, label: label, notice: notice)
            plans.append(LayerPlan(dataset: ds, layer: l, sourceName: name, label: label, mapping: mapping, text: text,
                                   fieldNames: fieldNames, fieldTypes: l.fields.map(\.type), transform: transform, crsLabel: crsLabel))
        }
        return plans
    }

    /// The store layer `--layer` names; throws `SourceError` with the layers there are.
    static func layerSpec(_ name: String) throws(SourceError) -> LayerSpec {
        do { return try Layers.spec(name) } catch { throw SourceError(error.description) }
    }

    /// Reads every feature, maps and decodes it, and hands it to the sink; `tick` once per feature.
    func stream(into sink: ImportSink, nearby: Nearby?, tick: () -> Void) throws {
        layer.reset()
        let spec = mapping.layer
        let compiled = CompiledMapping(mapping, fieldNames: fieldNames)
        while let f = try layer.next() {
            defer { gdal.OGR_F_Destroy(f) }
            tick()
            let fid = SourceFeature.fid(f)
            let index = Int(fid)
            var values = [JSONValue?](repeating: nil, count: fieldNames.count)
            var textFailed = false
            for i in fieldNames.indices where compiled.needed[i] {
                guard let v = SourceFeature.value(f, Int32(i), fieldTypes[i]) else { continue }
                switch v {
                case .integer(let n): values[i] = .number(Double(n))
                case .real(let d): values[i] = .number(d)
                case .date(let s): values[i] = .string(s)
                case .text(let raw):
                    // DBF pads with spaces; trimmed as bytes (Foundation's trimming cost 6% of an import).
                    let bytes = TextPolicy.trimmed(raw)
                    if bytes.isEmpty { continue }
                    switch text.decode(bytes, field: fieldNames[i]) {
                    case .success(let s):
                        values[i] = .string(s)
                    case .failure(let p):
                        sink.refuse(FeatureProblem(file: label, index: index, property: fieldNames[i], reason: p.reason))
                        textFailed = true
                    }
                }
            }
            if textFailed { continue }
            let mapped = compiled.apply(values, fid: fid, sourceLayerName: sourceName)
            for p in mapped.problems {
                sink.refuse(FeatureProblem(file: label, index: index, featureID: mapped.id.map(LayerMapping.text), property: p.property, reason: p.reason))
            }
            if !mapped.problems.isEmpty { continue }
            var geometry = SourceFeature.geometry(f, transform: transform?.handle, crsName: crsLabel).mapError { p -> Validator.GeometryProblem in
                if p.reason == "missing geometry" && dataset.driver == "CSV" {
                    return Validator.GeometryProblem("missing geometry: the row's longitude/latitude columns (lon, longitude, x, 经度 … / lat, latitude, y, 纬度 …) or WKT column are empty or not numbers or WKT")
                }
                return Validator.GeometryProblem(p.reason)
            }
            // A single point delivered as a one-part MultiPoint (Shapefile multipoint layers).
            if case .success(.multiPoint(let pts)) = geometry, pts.count == 1, spec.isPointLayer { geometry = .success(.point(pts[0])) }
            var props = mapped.properties
            if let nearby, case .success(let g) = geometry, let why = nearby.problem(g, crs: crsLabel) {
                sink.refuse(FeatureProblem(file: label, index: index, featureID: mapped.id.map(LayerMapping.text), property: "geometry", reason: why))
                continue
            }
            if case .success(let g) = geometry {
                for p in derived.keys where props[p] == nil {
                    guard let c = SourceFeature.pointOnSurface(g) else { continue }
                    props[p] = [.number(c.lon), .number(c.lat)]
                    derived[p, default: 0] += 1
                }
            }
            try sink.add(IncomingFeature(layer: spec, id: mapped.id, geometry: geometry, properties: props, file: label, index: index))
        }
    }
}
