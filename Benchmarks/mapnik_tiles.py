#!/usr/bin/python3
"""The Mapnik anchor for the tile benchmark: renders the same metatiles as onemap from the same
demonstration data (GeoData/*.geojson through Mapnik's GeoJSON plugin), with a style built to
match Styles/command.json as closely as Mapnik allows (same layers, colours, widths at the zoom,
markers, halos and CJK labels), 8x8 metatiles cut into 256 px tiles and encoded with Mapnik's
default PNG writer — what renderd/mod_tile does.

    /usr/bin/python3 Benchmarks/mapnik_tiles.py GEODATA METATILES_FILE PROCESSES
"""
import math, multiprocessing, os, sys, time
import mapnik

GEO, LIST, PROCS = sys.argv[1], sys.argv[2], int(sys.argv[3])
FONT = "Noto Sans CJK SC Regular"
LEVEL = {1: "#e31a1c", 2: "#ff7f00", 3: "#f5c400", 4: "#2b83ba"}
ROADW = {"national": 3.2, "provincial": 2.6, "county": 2.0, "township": 1.3, "village": 1.0}
ROADC = {"national": "#f29b3d", "provincial": "#f7d154", "county": "#fff2a8", "township": "#ffffff", "village": "#ffffff"}


def xml():
    def ds(layer):
        return f'<Datasource><Parameter name="type">geojson</Parameter><Parameter name="file">{os.path.abspath(GEO)}/{layer}.geojson</Parameter></Datasource>'
    styles, layers = [], []
    def add(name, layer, rules):
        styles.append(f'<Style name="{name}">{rules}</Style>')
        layers.append(f'<Layer name="{name}" srs="epsg:4326"><StyleName>{name}</StyleName>{ds(layer)}</Layer>')
    add("county", "county", '<Rule><PolygonSymbolizer fill="#f7f5ef"/><LineSymbolizer stroke="#6b4f8a" stroke-width="2.5"/></Rule>')
    add("villages", "villages", '<Rule><PolygonSymbolizer fill="#ece4d2" fill-opacity="0.6"/><LineSymbolizer stroke="#9c8a6a" stroke-width="0.8" stroke-dasharray="3,2"/></Rule>')
    add("hazards", "hazard_zones", "".join(
        f'<Rule><Filter>[level] = {l}</Filter><PolygonSymbolizer fill="{c}" fill-opacity="0.3"/><LineSymbolizer stroke="{c}" stroke-width="1"/></Rule>' for l, c in LEVEL.items()))
    add("townships", "townships", '<Rule><LineSymbolizer stroke="#8a7b9b" stroke-width="1.5" stroke-dasharray="4,2,1,2"/></Rule>')
    add("rivers", "rivers", '<Rule><LineSymbolizer stroke="#5aa6d8" stroke-width="2" stroke-linecap="round"/></Rule>')
    casing = '<Rule><Filter>[class] = \'track\'</Filter><LineSymbolizer stroke="#9b7b52" stroke-width="1.2" stroke-dasharray="2.5,1.5"/></Rule>'
    casing += "".join(f'<Rule><Filter>[class] = \'{c}\'</Filter><LineSymbolizer stroke="#8f8f8f" stroke-width="{w + 1.4}" stroke-linecap="round" stroke-linejoin="round"/></Rule>' for c, w in ROADW.items())
    add("roads-casing", "roads", casing)
    add("roads", "roads", "".join(
        f'<Rule><Filter>[class] = \'{c}\'</Filter><LineSymbolizer stroke="{ROADC[c]}" stroke-width="{w}" stroke-linecap="round" stroke-linejoin="round"/></Rule>' for c, w in ROADW.items()))
    add("risks", "road_risks", '<Rule><Filter>[status] = \'closed\'</Filter><LineSymbolizer stroke="#c00000" stroke-width="5"/></Rule>'
        '<Rule><Filter>[status] = \'restricted\'</Filter><LineSymbolizer stroke="#ff7f00" stroke-width="4" stroke-dasharray="6,3"/></Rule>'
        '<Rule><Filter>[status] = \'open\'</Filter><LineSymbolizer stroke="#f5c400" stroke-width="3" stroke-dasharray="3,3"/></Rule>')
    def poi(name, layer, fill, shape, size, text_color):
        add(name, layer, f'<Rule><MarkersSymbolizer marker-type="{shape}" fill="{fill}" stroke="#ffffff" stroke-width="1.5" width="{size}" height="{size}" allow-overlap="true"/>'
            f'<TextSymbolizer face-name="{FONT}" size="11" fill="{text_color}" halo-fill="rgba(255,255,255,0.95)" halo-radius="1.8" dx="12" placement="point">[name]</TextSymbolizer></Rule>')
    poi("fire", "fire_stations", "#d7191c", "ellipse", 16, "#a50f15")
    poi("warehouses", "warehouses", "#2c5aa0", "ellipse", 14, "#1d3f73")
    poi("micro", "micro_fire_stations", "#f05533", "ellipse", 12, "#a50f15")
    poi("shelters", "shelters", "#1a9641", "ellipse", 12, "#0b6623")
    add("base", "base_stations", '<Rule><MarkersSymbolizer marker-type="ellipse" fill="#6a3d9a" stroke="#ffffff" stroke-width="1.2" width="10" height="10"/></Rule>')
    add("villages-label", "villages", f'<Rule><TextSymbolizer face-name="{FONT}" size="12" fill="#222222" halo-fill="rgba(255,255,255,0.9)" halo-radius="1.6" placement="interior">[name]</TextSymbolizer></Rule>')
    add("townships-label", "townships", f'<Rule><TextSymbolizer face-name="{FONT}" size="14" fill="#3a2a50" halo-fill="rgba(255,255,255,0.95)" halo-radius="2" placement="interior">[name]</TextSymbolizer></Rule>')
    add("roads-label", "roads", f'<Rule><Filter>[ref] != null</Filter><TextSymbolizer face-name="{FONT}" size="10" fill="#5a3a10" halo-fill="rgba(255,255,255,0.9)" halo-radius="1.5" placement="line" spacing="300">[ref] + \' \' + [name]</TextSymbolizer></Rule>')
    return (f'<Map srs="epsg:3857" background-color="#e6e4df" buffer-size="128">{"".join(styles)}{"".join(layers)}</Map>')


M = None


def init():
    global M
    mapnik.register_fonts("/usr/share/fonts/opentype/noto/")
    M = mapnik.Map(2048, 2048)
    mapnik.load_map_from_string(M, xml())


def merc(x, y, z):
    n = 2 ** z
    lon = x / n * 360 - 180
    lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    r = 6378137.0
    return lon * math.pi / 180 * r, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * r


def render(meta):
    z, mx, my = meta
    x0, y0 = mx * 8, my * 8
    a, b = merc(x0, y0 + 8, z), merc(x0 + 8, y0, z)
    M.zoom_to_box(mapnik.Box2d(a[0], a[1], b[0], b[1]))
    im = mapnik.Image(2048, 2048)
    mapnik.render(M, im)
    n = size = 0
    for dy in range(8):
        for dx in range(8):
            png = im.view(dx * 256, dy * 256, 256, 256).tostring("png")
            n += 1
            size += len(png)
    return n, size


if __name__ == "__main__":
    metas = [tuple(int(v) for v in l.split()) for l in open(LIST) if l.strip() and not l.startswith("#")]
    init()
    # The worker processes load the style and data before the clock starts (as renderd's do).
    pool = multiprocessing.Pool(PROCS, initializer=init) if PROCS > 1 else None
    for z in sorted({m[0] for m in metas}):
        mine = [m for m in metas if m[0] == z]
        render(mine[0])  # warm-up (font cache, index)
        if pool:
            pool.map(render, [mine[0]] * PROCS, chunksize=1)
        t0 = time.perf_counter()
        res = pool.map(render, mine, chunksize=1) if pool else [render(m) for m in mine]
        dt = time.perf_counter() - t0
        tiles = sum(r[0] for r in res)
        print(f"mapnik z{z} processes={PROCS}: {tiles} tiles in {dt:.3f} s = {tiles / dt:.1f} tiles/s (avg {sum(r[1] for r in res) / tiles / 1024:.1f} KB)")
    if pool:
        pool.close()
