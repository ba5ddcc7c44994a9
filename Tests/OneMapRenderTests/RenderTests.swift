import CCairo
import Foundation
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapRender
@testable import OneMapStore
@testable import OneMapStyle

let repoRoot = repositoryRoot()
let referenceDir = repoRoot + "/Tests/OneMapRenderTests/References"
/// Set ONEMAP_UPDATE_REFERENCES=1 to rewrite the reference images from the current renderer.
let updateReferences = ProcessInfo.processInfo.environment["ONEMAP_UPDATE_REFERENCES"] == "1"


/// One demo store per test process (import is ~0.3 s; the tests only read it).
let sharedDir = TempDir()
let sharedStore: Store = {
    let s = try! Store(path: sharedDir.path + "/demo.sqlite")
    _ = try! s.importGeoJSON(at: repoRoot + "/GeoData")
    return s
}()
let sharedMap = try! MapRenderer(source: sharedStore, stylesDirectory: repoRoot + "/Styles")

typealias Pixels = PNGPixels

@Suite(.serialized) struct VisualRegressionTests {
    /// (style, tile, scale): the county at z8, the seat area at z11, z14 and z16, @2x, dark.
    static let cases: [(String, String, Int)] = [
        ("command", "8/186/91", 1), ("command", "11/1496/726", 1), ("command", "14/11968/5815", 1),
        ("command", "16/47874/23262", 1), ("command", "14/11968/5815", 2), ("command-dark", "11/1496/726", 1),
    ]

    @Test(arguments: 0..<cases.count)
    func tileMatchesItsReference(_ k: Int) throws {
        let (style, tile, scale) = Self.cases[k]
        let t = try TileID(parsing: tile)
        let png = try TileRenderer(map: sharedMap).renderTile(style: style, tile: t, scale: scale)
        let name = "\(style)-\(t.z)-\(t.x)-\(t.y)-\(256 * scale)-\(scale).png"
        let ref = referenceDir + "/" + name
        if updateReferences || !FileManager.default.fileExists(atPath: ref) {
            try Data(png).write(to: URL(fileURLWithPath: ref))
            if !updateReferences { Issue.record("reference \(name) was missing and has been written; check it in") }
            return
        }
        let want = Pixels(png: Array(try Data(contentsOf: URL(fileURLWithPath: ref))))
        let got = Pixels(png: png)
        #expect(got.width == 256 * scale && got.height == 256 * scale)
        let diff = got.difference(want)
        if diff > 0.005 { try Data(png).write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "actual-" + name)) }
        #expect(diff <= 0.005, "\(name): \(String(format: "%.2f", diff * 100))% of pixels differ (actual written to \(NSTemporaryDirectory())actual-\(name))")
        // A real map, not a blank tile.
        #expect(got.distinctColours > 20, "\(name) looks empty")
    }

    /// The same 2×2 block rendered as one image and as four tiles — chosen to straddle a metatile
    /// corner, so labels and symbols crossing both tile and metatile edges are checked.
    @Test(arguments: [(14, 11967, 5815), (12, 2991, 1455), (16, 47871, 23263)])
    func seamlessAcrossTileAndMetatileEdges(z: Int, x: Int, y: Int) throws {
        #expect(x % 8 == 7 && y % 8 == 7)
        for scale in [1, 2] {
            let vp = Viewport(zoom: z, originX: Double(x * 256), originY: Double(y * 256), width: 512, height: 512, scale: Double(scale))
            let whole = Pixels(png: try sharedMap.renderPNG(style: "command", viewport: vp))
            let renderer = TileRenderer(map: sharedMap)
            var bad = 0
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let t = Pixels(png: try renderer.renderTile(style: "command", tile: try TileID(z: z, x: x + dx, y: y + dy), scale: scale))
                let ts = 256 * scale
                for py in 0..<ts {
                    for px in 0..<ts {
                        let a = t.data[py * ts + px], b = whole.data[(dy * ts + py) * whole.width + dx * ts + px]
                        if a != b && PNGPixels.channelDistance(a, b) > 24 { bad += 1 }
                    }
                }
            }
            #expect(Double(bad) / Double(4 * 65536 * scale * scale) < 0.0005, "z\(z) @\(scale)x: \(bad) pixels differ between the whole image and its tiles")
        }
        #expect(try sharedMap.labelCount(style: "command", zoom: z) > 0)
    }

    /// A line across a province at z22 (what the API fuzzer sends) gets at most
    /// `LineLabels.maxRepeats` label anchors, spread evenly, not one per 300 px (millions).
    @Test func aHugeLineGetsABoundedNumberOfLabels() {
        let n = 10_000
        let line = (0..<n).map { i in (Double(i) * 30_000, 1_000 + 200 * sin(Double(i))) }
        let placed = LineLabels.place(line, advances: [10, 10, 10, 10], spacing: 300, pad: 2)
        #expect(placed.count <= LineLabels.maxRepeats && placed.count > 0)
        // A plain line: one label per 300 px, in order along it.
        let short = LineLabels.place([(0, 0), (1_500, 0)], advances: [10, 10, 10, 10], spacing: 300, pad: 2)
        #expect(short.count == 5 && zip(short, short.dropFirst()).allSatisfy { $0.anchor.0 < $1.anchor.0 })
    }

    /// The seam check on a generated nine-county store (`scripts/tile_counties.py --grid 3`,
    /// 34,000 features): metatile corners at the seat of the middle county, where labels of
    /// neighbouring metatiles meet and the label index holds several counties' candidates.
    @Test func seamlessOnAGeneratedNineCountyStore() throws {
        let dir = TempDir()
        let gen = try runProgram("/usr/bin/python3", [repoRoot + "/scripts/tile_counties.py", dir.path + "/nine", "--grid", "3"])
        #expect(gen.status == 0)
        let store = try Store(path: dir.path + "/nine.sqlite")
        _ = try store.importGeoJSON(at: dir.path + "/nine")
        let map = try MapRenderer(source: store, stylesDirectory: repoRoot + "/Styles")
        let seat = try #require(try store.feature(in: "townships", id: "township-654225100-4")?.feature["seat"]?.arrayValue)
        let c = Coord(seat[0].doubleValue!, seat[1].doubleValue!)
        for z in [12, 14, 16] {
            let t = TileID.containing(c, zoom: z)
            let x = (t.x + 4) / 8 * 8 - 1, y = (t.y + 4) / 8 * 8 - 1
            let vp = Viewport(zoom: z, originX: Double(x * 256), originY: Double(y * 256), width: 512, height: 512, scale: 1)
            let whole = Pixels(png: try map.renderPNG(style: "command", viewport: vp))
            #expect(whole.distinctColours > 20, "z\(z): an empty block")
            let renderer = TileRenderer(map: map)
            var bad = 0
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let tile = Pixels(png: try renderer.renderTile(style: "command", tile: try TileID(z: z, x: x + dx, y: y + dy), scale: 1))
                for py in 0..<256 {
                    for px in 0..<256 where tile.data[py * 256 + px] != whole.data[(dy * 256 + py) * whole.width + dx * 256 + px] {
                        if PNGPixels.channelDistance(tile.data[py * 256 + px], whole.data[(dy * 256 + py) * whole.width + dx * 256 + px]) > 24 { bad += 1 }
                    }
                }
            }
            #expect(Double(bad) / Double(4 * 65536) < 0.0005, "z\(z): \(bad) pixels differ between the whole image and its tiles")
        }
    }

    /// The lazy, per-neighbourhood label placement gives exactly the greedy rule over all data —
    /// whether the whole extent is asked at once or tile-sized windows in a shuffled order, on a
    /// fresh index each time — for every style and several zooms (issue #14).
    @Test(arguments: [10, 12, 14, 16])
    func lazyPlacementEqualsTheGreedyRuleOverAllData(z: Int) throws {
        func key(_ l: PlacedLabel) -> String { String(format: "%.3f,%.3f,%@,%@", l.x, l.y, l.text ?? "-", l.icon ?? "-") }
        for name in ["command", "print"] {
            let style = try sharedMap.style(name)
            var features: [String: [Feature]] = [:]
            for l in style.layers where l.type == .symbol { if let src = l.sourceLayer { features[src] = try sharedStore.all(src, attributes: style.attributes(of: src)) } }
            let reference = LabelPlacer.place(style: style, zoom: z, features: features, text: TextEngine())
            #expect(reference.count > 10)
            // The whole extent at once (cell by cell: at z16 the county is thousands of cells,
            // so there only the windows below).
            if z <= 14 {
                let all = try LabelIndex(style: style, zoom: z, source: sharedStore).labels(in: bounds(reference), text: TextEngine())
                #expect(all.map(key) == reference.map(key), "\(name) z\(z): \(Set(all.map(key)).symmetricDifference(Set(reference.map(key))).prefix(5))")
            }
            // Windows of 1,024 px in a shuffled order over the labels' extent.
            let b = bounds(reference)
            var windows: [(Double, Double, Double, Double)] = []
            var y = b.1
            while y < b.3 { var x = b.0; while x < b.2 { windows.append((x, y, x + 1024, y + 1024)); x += 1024 }; y += 1024 }
            var rng = SeededRandom(seed: UInt64(z))
            // Windows starting just right of a label placed as its icon alone: its text would
            // have met the window, its icon does not (the index once returned it; a random
            // sample met such a window about one run in eight).
            let iconOnly = reference.filter { $0.text == nil && $0.icon != nil }.prefix(8).map { ($0.box.2 + 1, $0.box.1 - 100, $0.box.2 + 1025, $0.box.1 + 924) }
            // A tiny memory budget (the index starts afresh whenever it holds more than 12
            // cells) changes nothing but time.
            let index = LabelIndex(style: style, zoom: z, source: sharedStore, maxCells: 12)
            for w in windows.shuffled(using: &rng).prefix(z <= 14 ? 40 : 15) + iconOnly {
                // The same labels, in the same (drawing) order.
                let got = try index.labels(in: w, text: TextEngine()).map(key)
                let want = reference.filter { LabelPlacer.meets($0.box, w) }.map(key)
                #expect(got == want, "\(name) z\(z) window \(w): \(Set(got).symmetricDifference(Set(want)).prefix(5))")
                #expect(index.cellCount <= 12 + 40, "the budget did not hold: \(index.cellCount) cells")
            }
        }
    }

    /// After random edits (renames to long names, moves, deletions, creations) the tiles
    /// `LabelIndex.changes` reports are exactly the tiles where a label appeared, vanished,
    /// moved or changed — compared with the greedy rule over all data before and after — at
    /// three zooms, the knock-ons included (#14: edits expire exactly the tiles whose pixels change).
    @Test func labelChangesAreExactlyTheLabelsThatDiffer() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path + "/edits.sqlite")
        _ = try store.importGeoJSON(at: repoRoot + "/GeoData")
        let map = try MapRenderer(source: store, stylesDirectory: repoRoot + "/Styles")
        let style = try map.style("command")
        var rng = SeededRandom(seed: 14)
        let zooms = [12, 14, 16]
        func labels(_ z: Int) throws -> [PlacedLabel] { try MapRenderer(source: store, styles: [style]).allLabels(style, zoom: z, text: TextEngine()) }
        func key(_ l: PlacedLabel) -> String {
            String(format: "%.4f,%.4f,%.4f,%@,%@,%.3f,%.3f", l.x, l.y, l.angle, l.text ?? "-", l.icon ?? "-", l.box.0, l.box.2)
        }
        func tiles(_ boxes: [(Double, Double, Double, Double)], _ z: Int) -> Set<TileID> {
            var out = Set<TileID>()
            for b in boxes {
                for x in Int(((b.0 - 8) / 256).rounded(.down))...Int(((b.2 + 8) / 256).rounded(.down)) {
                    for y in Int(((b.1 - 8) / 256).rounded(.down))...Int(((b.3 + 8) / 256).rounded(.down)) { if let t = try? TileID(z: z, x: x, y: y) { out.insert(t) } }
                }
            }
            return out
        }
        let long = "测试用很长很长的名称第二十六个字符到此为止了"
        var far = 0
        for batch in 0..<3 {
            let before = try Dictionary(uniqueKeysWithValues: zooms.map { ($0, try labels($0)) })
            let from = try store.storeRevision(), seq = from.sequence
            // The renderer has placed labels at z12 and z14 (as a server would have, drawing
            // tiles): there `labelChanges` starts from that index; at z16 from nothing.
            for z in [12, 14] { _ = try map.labels(style, zoom: z, in: bounds(before[z]!), text: TextEngine()) }
            for i in 0..<4 {
                let pick = Int.random(in: 0..<5, using: &rng)
                switch pick {
                case 0:
                    let v = try store.all("villages").randomElement(using: &rng)!
                    try store.patch(layer: "villages", id: v.id, changes: ["properties": ["name": .string(long + "村\(batch)\(i)")]], ifVersion: nil, actor: "test")
                case 1:
                    let f = try store.all("fire_stations").randomElement(using: &rng)!
                    let c = f.geometry.representativePoint
                    let g: JSONValue = ["type": "Point", "coordinates": [.number(c.lon + Double.random(in: -0.01...0.01, using: &rng)), .number(c.lat + Double.random(in: -0.006...0.006, using: &rng))]]
                    try store.patch(layer: "fire_stations", id: f.id, changes: ["geometry": g, "properties": ["name": .string(long)]], ifVersion: nil, actor: "test")
                case 2:
                    let sh = try store.all("shelters").randomElement(using: &rng)!
                    try store.delete(layer: "shelters", id: sh.id, ifVersion: nil, actor: "test")
                case 3:
                    var w = GeoJSON.json(try store.all("warehouses").randomElement(using: &rng)!)
                    let v = try store.all("villages").randomElement(using: &rng)!
                    if case .object(var o) = w, case .object(var p)? = o["properties"] {
                        o["id"] = .string("wh-test-\(batch)-\(i)")
                        p["name"] = .string("新增" + long)
                        o["properties"] = .object(p)
                        let c = v.geometry.representativePoint
                        o["geometry"] = ["type": "Point", "coordinates": [.number(c.lon + 0.002), .number(c.lat)]]
                        w = .object(o)
                    }
                    _ = try store.create(layer: "warehouses", geojson: JSONWriter.string(w), actor: "test")
                default:
                    let r = try store.all("roads").filter { $0["name"]?.stringValue?.isEmpty == false }.randomElement(using: &rng)!
                    try store.patch(layer: "roads", id: r.id, changes: ["properties": ["name": .string(long + "路")]], ifVersion: nil, actor: "test")
                }
            }
            let edits = try store.edits(since: seq)
            #expect(edits.count == 4)
            for z in zooms {
                let after = try labels(z)
                let was = Dictionary(before[z]!.map { (key($0), $0) }) { a, _ in a }, now = Dictionary(after.map { (key($0), $0) }) { a, _ in a }
                let differ = Set(was.keys).symmetricDifference(now.keys).compactMap { was[$0] ?? now[$0] }
                let truth = tiles(differ.map(\.box), z)
                let index = LabelIndex(style: style, zoom: z, source: store)
                let past = LabelIndex(style: style, zoom: z, source: PastSource(current: store, undoing: edits))
                var seeds: [(Double, Double, Double, Double)] = []
                let vp = Viewport(zoom: z, originX: 0, originY: 0, width: 0, height: 0, scale: 1)
                for e in edits { for f in [e.before, e.after].compactMap({ $0 }) {
                    let b = f.geometry.bbox
                    let a = vp.globalPixel(Coord(b.minLon, b.maxLat)), c = vp.globalPixel(Coord(b.maxLon, b.minLat))
                    seeds.append((a.0, a.1, c.0, c.1))
                    if let p = f["center"]?.arrayValue, p.count == 2 { let g = vp.globalPixel(Coord(p[0].doubleValue!, p[1].doubleValue!)); seeds.append((g.0, g.1, g.0, g.1)) }
                } }
                let reported = tiles(try #require(try LabelIndex.changes(old: past, new: index, seeds: seeds, text: TextEngine())), z)
                let missed = truth.subtracting(reported)
                let culprits = differ.filter { l in !tiles([l.box], z).isDisjoint(with: missed) }.map { "\($0.text ?? "-") at \($0.x),\($0.y) glyphs \($0.glyphs.count) in \(was[key($0)] != nil ? "before" : "after")" }
                #expect(reported == truth, "batch \(batch) z\(z): missed \(missed.sorted { ($0.x, $0.y) < ($1.x, $1.y) }.prefix(5)) (\(culprits)), extra \(reported.subtracting(truth).count)")
                // And through the renderer's entry point (reusing its index where it has one).
                let ranges = try map.labelChanges(undoing: edits, from: from, to: try store.storeRevision(), at: [StyleZoom(style: "command", zoom: z)], budget: 600)
                let viaMap = Set(ranges.flatMap { r in (r.minX...r.maxX).flatMap { x in (r.minY...r.maxY).compactMap { y in try? TileID(z: r.z, x: x, y: y) } } })
                #expect(viaMap == truth, "batch \(batch) z\(z) through the renderer: missed \(truth.subtracting(viaMap).count), extra \(viaMap.subtracting(truth).count)")
                // The index the renderer carried over from before the edits places what the rule does.
                if z != 16 {
                    let carried = try map.labels(style, zoom: z, in: bounds(after), text: TextEngine()).map(key)
                    #expect(carried == after.map(key), "batch \(batch) z\(z): the carried index differs from the greedy rule")
                }
                // Knock-ons and long names reach past the edited boxes grown by a tile somewhere.
                far += truth.filter { t in !edits.contains { TileCache.reach(of: $0.box, zoom: z).contains(t) } }.count
            }
        }
        #expect(far > 0, "no label changed beyond its feature's box plus one tile: the test exercises nothing the old rule missed")
    }

    /// Road-risk segments say what the risk is and whether the road is open (#14): on the command
    /// style each closed risk the placement keeps reads "<risk> 封闭" along its line.
    @Test func roadRisksAreLabelledWithRiskAndStatus() throws {
        let style = try sharedMap.style("command")
        let labels = try sharedMap.allLabels(style, zoom: 14, text: TextEngine())
        let risks = try sharedStore.all("road_risks")
        let names = ["snow_drift": "风吹雪", "icing": "结冰", "landslide": "滑坡", "rockfall": "落石", "flood": "水毁", "debris_flow": "泥石流", "construction": "施工"]
        let status = ["closed": "封闭", "restricted": "限行", "open": "通行"]
        let expected = Set(risks.compactMap { r in names[r["risk_type"]?.stringValue ?? ""].flatMap { n in status[r["status"]?.stringValue ?? ""].map { "\(n) \($0)" } } })
        let drawn = Set(labels.compactMap(\.text).filter { expected.contains($0) })
        #expect(drawn.contains { $0.hasSuffix("封闭") }, "no closed road risk is labelled: \(drawn)")
        #expect(drawn.count >= 3, "only \(drawn) of \(expected) drawn")
    }

    /// A closed or restricted road-risk segment shows at every working zoom, however short: most
    /// are 250–700 m, 10–25 px at z12 and too short for "风吹雪 封闭" along the line until z15–16.
    /// Each gets its sign (no-entry for closed, the ring for restricted) at its midpoint, never
    /// hidden by other labels, with "<risk> <status>" beside it from z12 where it fits (closed
    /// ones placed first). The sign's red is on the rendered tile, on top.
    @Test func closedAndRestrictedRisksShowTheirSignAtEveryZoom() throws {
        let style = try sharedMap.style("command")
        let risks = try sharedStore.all("road_risks").filter { ["closed", "restricted"].contains($0["status"]?.stringValue ?? "") }
        #expect(risks.count >= 4 && risks.contains { Geodesy.length($0.geometry.paths[0]) < 400 }, "the demo has no short closed/restricted segment to try")
        for z in [10, 12, 14, 16] {
            let labels = try sharedMap.allLabels(style, zoom: z, text: TextEngine())
            let vp = Viewport(zoom: z, originX: 0, originY: 0, width: 0, height: 0, scale: 1)
            var withText = 0
            for r in risks {
                let at = vp.globalPixel(r.geometry.representativePoint)
                let sign = r["status"]?.stringValue == "closed" ? "road-closed" : "road-restricted"
                let mine = labels.filter { $0.icon == sign && abs($0.x - at.0) < 0.01 && abs($0.y - at.1) < 0.01 }
                #expect(mine.count == 1, "z\(z): \(r.id) has \(mine.count) signs at its midpoint")
                if let t = mine.first?.text {
                    withText += 1
                    #expect(t.hasSuffix(r["status"]?.stringValue == "closed" ? "封闭" : "限行"), "z\(z): \(r.id) reads \(t)")
                }
            }
            if z >= 12 { #expect(withText >= risks.count / 2, "z\(z): only \(withText) of \(risks.count) signs carry their text") }
            if z == 10 { #expect(withText == 0, "z10: a sign carries text") }
            // Along the line: open segments only (the others say it beside their sign).
            #expect(!labels.contains { $0.icon == nil && ($0.text?.hasSuffix("封闭") == true || $0.text?.hasSuffix("限行") == true) }, "z\(z): a closed or restricted risk is labelled twice")
        }
        // On the tile: the no-entry red at the sign's centre over the shortest closed segment.
        let closed = try #require(risks.filter { $0["status"]?.stringValue == "closed" }.min { Geodesy.length($0.geometry.paths[0]) < Geodesy.length($1.geometry.paths[0]) })
        let mid = closed.geometry.representativePoint
        let xy = TileID.containing(mid, zoom: 14)
        let t = try TileID(z: 14, x: xy.x, y: xy.y)
        let px = Pixels(png: try TileRenderer(map: sharedMap).renderTile(style: "command", tile: t, scale: 1))
        let g = Viewport(zoom: 14, originX: 0, originY: 0, width: 0, height: 0, scale: 1).globalPixel(mid)
        let (x, y) = (Int(g.0) - t.x * 256, Int(g.1) - t.y * 256 + 4)
        try #require(x >= 0 && x < 256 && y >= 0 && y < 256)
        let c = px.data[y * px.width + x]
        let (r, gr, b) = (Int(c >> 16 & 0xFF), Int(c >> 8 & 0xFF), Int(c & 0xFF))
        #expect(r > 170 && gr < 60 && b < 60, "no red sign at \(closed.id)'s midpoint (tile \(t), pixel \(x),\(y)): \(r),\(gr),\(b)")
    }

    /// A road's ref is its own label (white on brown, from z11), its name another from a zoom that
    /// fits its class — never "S201 201省道" run together (#14).
    @Test func refsAndNamesAreSeparateLabels() throws {
        let style = try sharedMap.style("command")
        let roads = try sharedStore.all("roads").filter { $0["ref"] != nil }
        let joined = Set(roads.compactMap { r in r["ref"]?.stringValue.flatMap { ref in r["name"]?.stringValue.map { "\(ref) \($0)" } } })
        let refs = Set(roads.compactMap { $0["ref"]?.stringValue })
        for z in [11, 12, 14, 16] {
            let texts = try sharedMap.allLabels(style, zoom: z, text: TextEngine()).compactMap(\.text)
            #expect(!texts.contains { joined.contains($0) }, "z\(z): a ref and a name run together")
            #expect(texts.contains { refs.contains($0) }, "z\(z): no ref label")
        }
    }

    @Test func everyLabelGlyphExistsInTheFont() throws {
        for style in ["command", "command-dark"] {
            for z in [8, 10, 12, 14, 16] {
                let labels = try sharedMap.unknownGlyphs(style: style, zoom: z)
                #expect(!labels.isEmpty)
                for l in labels { #expect(l.unknown == 0, "\(style) z\(z): \(l.text) has \(l.unknown) glyphs missing") }
            }
        }
    }

    /// A tile drawn alone (`onemap render --tile`) shows what its metatile's tile shows (what
    /// the server and `onemap seed` serve): every tile of metatiles at z10–z17 around the seat,
    /// both scales and three styles, edge tiles included. Not to the bit: Cairo's antialiasing
    /// of a path depends a little on the surface it is drawn on (a device offset did not make it
    /// exact), so a few edge pixels differ by a shade; at most 0.05% of a tile's pixels may
    /// differ visibly (by more than 24 in a channel, the reference-image rule).
    @Test func aTileDrawnAloneShowsItsMetatilesTile() throws {
        let r = TileRenderer(map: sharedMap)
        var compared = 0, drawn = 0, exact = 0
        for (style, z, scale) in [("command", 10, 1), ("command", 12, 1), ("command", 13, 2), ("command", 14, 1), ("command-dark", 15, 1), ("print", 16, 1), ("command", 17, 1)] {
            let seat = TileID.containing(Coord(82.98, 46.20), zoom: z)
            let meta = MetatileID(containing: try TileID(z: z, x: seat.x, y: seat.y))
            let whole = try r.renderMetatile(style: style, metatile: meta, scale: scale)
            for t in meta.tiles {
                let alone = try r.renderTile(style: style, tile: t, scale: scale)
                compared += 1
                if !r.isEmptyTile(alone, style: style, scale: scale) { drawn += 1 }
                if alone == whole[t] { exact += 1; continue }
                #expect(r.isEmptyTile(alone, style: style, scale: scale) == r.isEmptyTile(whole[t]!, style: style, scale: scale), "\(style) \(t)@\(scale)x: empty in one render only")
                let d = Pixels(png: alone).difference(Pixels(png: whole[t]!))
                #expect(d <= 0.0005, "\(style) \(t)@\(scale)x: drawn alone, \(String(format: "%.3f", d * 100))% of its pixels differ visibly from its metatile's tile")
            }
        }
        #expect(compared == 7 * 64 && drawn > 100, "only \(drawn) of \(compared) tiles had anything drawn")
        print("aTileDrawnAloneShowsItsMetatilesTile: \(compared) tiles, \(drawn) drawn, \(exact) identical to the bit")
    }

    @Test func tilesOutsideTheDataShareOneEmptyTile() throws {
        let r = TileRenderer(map: sharedMap)
        let far = try r.renderTile(style: "command", tile: TileID(z: 12, x: 100, y: 100), scale: 1)
        let far2 = try r.renderTile(style: "command", tile: TileID(z: 14, x: 5, y: 9000), scale: 1)
        #expect(far == far2)
        #expect(r.isEmptyTile(far, style: "command", scale: 1))
        #expect(Pixels(png: far).distinctColours == 1)
        #expect(throws: RenderError.self) { try r.renderTile(style: "nope", tile: TileID(z: 1, x: 0, y: 0), scale: 1) }
        #expect(throws: RenderError.self) { try r.renderTile(style: "command", tile: TileID(z: 1, x: 0, y: 0), scale: 3) }
    }
}

@Suite struct StyleTests {
    func load(_ json: String) throws -> Style { try MapRenderer.parseStyle(try JSONParser.parse(json), name: "t") }

    @Test func shippedStylesLoad() throws {
        for name in ["command", "command-dark"] {
            let s = try MapRenderer.loadStyle(path: repoRoot + "/Styles/\(name).json")
            #expect(s.layers.count > 20)
            #expect(s.sourceLayers.isSuperset(of: ["hazard_zones", "fire_stations", "micro_fire_stations", "warehouses", "base_stations", "shelters", "road_risks", "roads"]))
        }
    }

    @Test(arguments: [
        (##"{"version":8,"layers":[{"id":"a","type":"fill","source-layer":"villages","paint":{"fill-colour":"#fff"}}]}"##, "layer \"a\", key \"fill-colour\""),
        (##"{"version":8,"layers":[{"id":"b","type":"line","source-layer":"roads","paint":{"line-color":"#ggg"}}]}"##, "layer \"b\", key \"line-color\": not a colour"),
        (##"{"version":8,"layers":[{"id":"c","type":"line","source-layer":"roads","filter":["~=","a",1]}]}"##, "layer \"c\", key \"filter\""),
        (##"{"version":8,"layers":[{"id":"d","type":"blob","source-layer":"roads"}]}"##, "layer \"d\", key \"type\""),
        (##"{"version":8,"layers":[{"id":"e","type":"line","source-layer":"roads","paint":{"line-width":"wide"}}]}"##, "layer \"e\", key \"line-width\""),
        (##"{"version":8,"layers":[{"id":"f","type":"symbol","source-layer":"roads","layout":{"text-anchor":"middle"}}]}"##, "layer \"f\", key \"text-anchor\""),
        (##"{"version":7,"layers":[]}"##, "key \"version\""),
        // Keys MapLibre has but onemap does not draw are refused, not silently ignored.
        (##"{"version":8,"layers":[{"id":"g","type":"line","source-layer":"roads","paint":{"line-offset":2}}]}"##, "layer \"g\", key \"line-offset\": unknown or unsupported"),
        (##"{"version":8,"layers":[{"id":"h","type":"symbol","source-layer":"shelters","layout":{"text-font":["Noto Sans"]}}]}"##, "layer \"h\", key \"text-font\""),
        // An icon that does not exist, literal or as an output of match, is refused at load.
        (##"{"version":8,"layers":[{"id":"i","type":"symbol","source-layer":"shelters","layout":{"icon-image":"hospital"}}]}"##, "layer \"i\", key \"icon-image\": \"hospital\" is not one of"),
        (##"{"version":8,"layers":[{"id":"va","type":"symbol","source-layer":"shelters","layout":{"text-variable-anchor":["left","middle"]}}]}"##, "layer \"va\", key \"text-variable-anchor\": must be an array of one or more of"),
        (##"{"version":8,"layers":[{"id":"vb","type":"symbol","source-layer":"shelters","layout":{"text-variable-anchor":["left","left"]}}]}"##, "layer \"vb\", key \"text-variable-anchor\": names a value twice"),
        (##"{"version":8,"layers":[{"id":"vc","type":"symbol","source-layer":"shelters","layout":{"text-variable-anchor":"left"}}]}"##, "layer \"vc\", key \"text-variable-anchor\": must be an array"),
        (##"{"version":8,"layers":[{"id":"j","type":"symbol","source-layer":"base_stations","layout":{"icon-image":["match",["get","kind"],"super","base-station-super","antenna"]}}]}"##, "layer \"j\", key \"icon-image\": \"antenna\""),
        (##"{"version":8,"layers":[{"id":"k","type":"fill","source-layer":"hazard_zones","paint":{"fill-color":["match",["get","level"],1,"#e31a1c","reddish"]}}]}"##, "layer \"k\", key \"fill-color\": not a colour: \"reddish\""),
        // Expressions with the wrong number of arguments fail at load, not at render time.
        (##"{"version":8,"layers":[{"id":"l","type":"line","source-layer":"roads","paint":{"line-width":["-"]}}]}"##, "layer \"l\", key \"line-width\": \"-\" takes 1 or 2 arguments, got 0"),
        (##"{"version":8,"layers":[{"id":"m","type":"line","source-layer":"roads","paint":{"line-width":["/",4]}}]}"##, "layer \"m\", key \"line-width\": \"/\" takes 2 arguments, got 1"),
        (##"{"version":8,"layers":[{"id":"n","type":"line","source-layer":"roads","paint":{"line-width":["step",["zoom"],1,10]}}]}"##, "layer \"n\", key \"line-width\": step must be"),
        (##"{"version":8,"layers":[{"id":"o","type":"circle","source-layer":"shelters","layout":{"circle-sort-key":["zoom",1]}}]}"##, "layer \"o\", key \"circle-sort-key\": \"zoom\" takes 0 arguments"),
        // Values out of the range a layer type draws (a 1e308 line width once crashed the server).
        (##"{"version":8,"layers":[{"id":"p","type":"line","source-layer":"roads","paint":{"line-width":1e308}}]}"##, "layer \"p\", key \"line-width\": must be in 0…200"),
        (##"{"version":8,"layers":[{"id":"q","type":"symbol","source-layer":"shelters","layout":{"icon-size":1000000000}}]}"##, "layer \"q\", key \"icon-size\": must be in 0…8"),
        (##"{"version":8,"layers":[{"id":"r","type":"line","source-layer":"roads","paint":{"line-opacity":2}}]}"##, "layer \"r\", key \"line-opacity\": must be in 0…1"),
        (##"{"version":8,"layers":[{"id":"s","type":"line","source-layer":"roads","paint":{"line-dasharray":[0,0]}}]}"##, "layer \"s\", key \"line-dasharray\": needs a number above 0"),
        (##"{"version":8,"layers":[{"id":"t","type":"symbol","source-layer":"shelters","layout":{"text-offset":[1]}}]}"##, "layer \"t\", key \"text-offset\": must have 2 numbers"),
        (##"{"version":8,"layers":[{"id":"u","type":"line","source-layer":"roads","paint":{"line-color":"rgba(300,0,0,5)"}}]}"##, "layer \"u\", key \"line-color\": not a colour"),
        (##"{"version":8,"layers":[{"id":"v","type":"line","source-layer":"roads","paint":{"line-width":{"stops":[]}}}]}"##, "layer \"v\", key \"line-width\": a zoom function needs at least one stop"),
        (##"{"version":8,"layers":[{"id":"w","type":"line","source-layer":"roads","paint":{"line-width":["+","a","b"]}}]}"##, "layer \"w\", key \"line-width\": \"+\" takes numbers"),
        // Structure: filters that are not tests, zoom ranges that never draw, unknown sources.
        (##"{"version":8,"layers":[{"id":"x","type":"line","source-layer":"roads","filter":["get","name"]}]}"##, "layer \"x\", key \"filter\": a filter must be true or false"),
        (##"{"version":8,"layers":[{"id":"y","type":"line","source-layer":"roads","filter":["all",5]}]}"##, "layer \"y\", key \"filter\""),
        (##"{"version":8,"layers":[{"id":"z","type":"line","source-layer":"roads","minzoom":12,"maxzoom":5}]}"##, "layer \"z\", key \"maxzoom\""),
        (##"{"version":8,"layers":[{"id":"aa","type":"line","source-layer":"lakes"}]}"##, "layer \"aa\", key \"source-layer\": \"lakes\" is not a store layer"),
        (##"{"version":8,"sources":{"onemap":{}},"layers":[{"id":"ab","type":"line","source":"nosuch","source-layer":"roads"}]}"##, "layer \"ab\", key \"source\""),
        (##"{"version":8,"layers":[{"id":"ac","type":"background","source-layer":"roads"}]}"##, "layer \"ac\", key \"source-layer\": a background layer draws no source"),
        (##"{"version":8,"layers":[{"id":"ad","type":"line","source-layer":"roads","metadata":{"onemap:legend":5}}]}"##, "layer \"ad\", key \"metadata\""),
        (##"{"version":8,"layers":[{"id":"ae","type":"line","source-layer":"roads","paint":{"line-width":["interpolate",["exponential",2],["zoom"],5,1,10,4]}}]}"##, "linearly only"),
    ])
    func malformedStylesNameTheLayerAndKey(json: String, expected: String) {
        do {
            _ = try load(json)
            Issue.record("accepted \(json)")
        } catch let e as StyleError {
            #expect(e.description.contains(expected), "\(e.description)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func filtersAndZoomFunctionsEvaluate() throws {
        let s = try load(##"""
            {"version":8,"layers":[
             {"id":"a","type":"fill","source-layer":"hazard_zones","filter":["all",["==","type","flood"],[">=",["get","level"],2]],
              "paint":{"fill-color":["match",["get","level"],1,"#ff0000",2,"#ff8000","#0000ff"],
                       "fill-opacity":["interpolate",["linear"],["zoom"],8,0.2,12,0.6]}},
             {"id":"b","type":"line","source-layer":"roads","filter":["in",["get","class"],["literal",["national","provincial"]]],
              "paint":{"line-width":["step",["zoom"],1,10,2,14,4],"line-color":{"stops":[[8,"#000000"],[12,"#ffffff"]]}}},
             {"id":"c","type":"circle","source-layer":"shelters","filter":["any",["has","capacity"],["!=",["get","kind"],"school"]]}
            ]}
            """##)
        let a = s.layers[0], b = s.layers[1], c = s.layers[2]
        let flood2 = EvaluationContext(zoom: 10, properties: ["type": "flood", "level": 2])
        #expect(a.filter!.evaluate(flood2) == .bool(true))
        #expect(a.filter!.evaluate(EvaluationContext(zoom: 10, properties: ["type": "flood", "level": 1])) == .bool(false))
        #expect(a.filter!.evaluate(EvaluationContext(zoom: 10, properties: ["type": "fire", "level": 3])) == .bool(false))
        #expect(a.value("fill-color", flood2) == .string("#ff8000"))
        #expect(abs(a.value("fill-opacity", flood2)!.doubleValue! - 0.4) < 1e-9)
        #expect(b.filter!.evaluate(EvaluationContext(zoom: 9, properties: ["class": "provincial"])) == .bool(true))
        #expect(b.filter!.evaluate(EvaluationContext(zoom: 9, properties: ["class": "village"])) == .bool(false))
        #expect(b.value("line-width", EvaluationContext(zoom: 9.5)) == .number(1))
        #expect(b.value("line-width", EvaluationContext(zoom: 12)) == .number(2))
        #expect(b.value("line-width", EvaluationContext(zoom: 15)) == .number(4))
        #expect(b.value("line-color", EvaluationContext(zoom: 10)) == .string("#808080"))
        #expect(c.filter!.evaluate(EvaluationContext(zoom: 9, properties: ["kind": "school"])) == .bool(false))
        #expect(c.filter!.evaluate(EvaluationContext(zoom: 9, properties: ["kind": "square"])) == .bool(true))
    }

    @Test func colours() {
        #expect(Color.parse("#f80") == Color(1, 0x88 / 255.0, 0))
        #expect(Color.parse("rgba(255,0,0,0.5)") == Color(1, 0, 0, 0.5))
        #expect(Color.parse("hsl(120,100%,50%)").map { abs($0.g - 1) < 1e-9 && abs($0.r) < 1e-9 } == true)
        #expect(Color.parse("#12345") == nil)
    }
}

@Suite struct TileCacheTests {
    @Test func editsExpireTheirTilesAtEveryZoomAndKeepTheRest() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path + "/s.sqlite")
        _ = try store.importGeoJSON(at: repoRoot + "/GeoData")
        let cache = try TileCache(path: dir.path + "/c.sqlite")
        try cache.sync(with: store)
        let near = try TileID(parsing: "14/11968/5815"), far = try TileID(parsing: "14/11930/5830")
        let near10 = TileID.containing(Coord(82.98, 46.2), zoom: 10)
        for t in [near, far, try TileID(z: 10, x: near10.x, y: near10.y)] { try cache.put(style: "command", scale: 1, tiles: [t: [1, 2, 3]]) }
        try cache.put(style: "command", scale: 2, tiles: [near: [4]])
        #expect(try cache.count() == 4)
        // A new shelter at the seat: its tiles go at both scales and every zoom; the far tile stays.
        _ = try store.importGeoJSON(text: #"{"type":"Feature","id":"sh-new","geometry":{"type":"Point","coordinates":[82.981,46.201]},"properties":{"name":"新避难点","capacity":50}}"#, layer: "shelters", actor: "test")
        let dropped = try cache.sync(with: store).dropped
        #expect(dropped == 3)
        #expect(try cache.get(style: "command", tile: near, scale: 1) == nil)
        #expect(try cache.get(style: "command", tile: near, scale: 2) == nil)
        #expect(try cache.get(style: "command", tile: far, scale: 1)?.data == [1, 2, 3])
    }

    @Test func exportsMBTiles() throws {
        let dir = TempDir()
        let cache = try TileCache(path: dir.path + "/c.sqlite")
        let t = try TileID(z: 3, x: 5, y: 2)
        try cache.put(style: "command", scale: 1, tiles: [t: [9, 9]])
        let n = try cache.exportMBTiles(style: "command", scale: 1, to: dir.path + "/o.mbtiles", zooms: nil, bbox: nil, name: "x", bounds: BBox(minLon: 82, minLat: 45, maxLon: 83, maxLat: 46))
        #expect(n == 1)
        let c = try Connection(path: dir.path + "/o.mbtiles")
        #expect(try c.scalar("SELECT tile_row FROM tiles") == .int(5))  // TMS: 2^3 - 1 - 2
        #expect(try c.scalar("SELECT value FROM metadata WHERE name = 'format'") == .text("png"))
    }
}

/// MapLibre's symbol collision rules on hand-made candidates: `icon-allow-overlap` lets the
/// icon through but not its text, and `text-variable-anchor` tries each anchor in order.
@Suite struct SymbolPlacementTests {
    /// A name placed first at the point (priority 0); then a POI at the same point whose icon
    /// may overlap, its text beside it (anchors given), placed by the greedy rule and by the
    /// lazy index alike.
    func place(poi layout: String, name: String = "北北北北北北") throws -> (all: [PlacedLabel], poi: PlacedLabel?) {
        let dir = TempDir("symbols")
        let store = try Store(path: dir.file("s.sqlite"))
        _ = try store.importGeoJSON(text: #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"t1","geometry":{"type":"Point","coordinates":[82.5,46.0]},"properties":{"name":"\#(name)","capacity":10}}]}"#, layer: "shelters", actor: "test")
        _ = try store.importGeoJSON(text: #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"f1","geometry":{"type":"Point","coordinates":[82.5,46.0]},"properties":{"name":"消防救援站","kind":"professional"}}]}"#, layer: "fire_stations", actor: "test")
        let style = try MapRenderer.parseStyle(try JSONParser.parse(##"""
            {"version":8,"layers":[
             {"id":"name","type":"symbol","source-layer":"shelters","layout":{"text-field":["get","name"],"text-size":12,"symbol-sort-key":0}},
             {"id":"poi","type":"symbol","source-layer":"fire_stations","layout":\##(layout)}]}
            """##), name: "t")
        let map = MapRenderer(source: store, styles: [style])
        let greedy = try map.allLabels(style, zoom: 12, text: TextEngine())
        let vp = Viewport(zoom: 12, originX: 0, originY: 0, width: 0, height: 0, scale: 1)
        let c = vp.globalPixel(Coord(82.5, 46.0))
        let lazy = try map.labels(style, zoom: 12, in: (c.0 - 300, c.1 - 300, c.0 + 300, c.1 + 300), text: TextEngine())
        #expect(lazy.map(\.text) == greedy.map(\.text) && lazy.map(\.textDX) == greedy.map(\.textDX) && lazy.map(\.textDY) == greedy.map(\.textDY), "the lazy index differs from the greedy rule")
        return (greedy, greedy.first { $0.icon == "fire-station" })
    }

    @Test func anIconThatMayOverlapKeepsItsTextOffOtherLabels() throws {
        // Text right of the icon would run into the name; without other anchors it is dropped.
        let fixed = try place(poi: #"{"icon-image":"fire-station","icon-allow-overlap":true,"text-field":["get","name"],"text-size":12,"text-anchor":"left","text-offset":[0,0],"text-optional":true,"symbol-sort-key":1}"#)
        let f = try #require(fixed.poi, "the icon that may overlap was not placed")
        #expect(f.text == nil, "its text was placed over the name: \(f)")
        #expect(fixed.all.contains { $0.text == "北北北北北北" })
        // Not optional: no place for the text, so no symbol (MapLibre hides both).
        let whole = try place(poi: #"{"icon-image":"fire-station","icon-allow-overlap":true,"text-field":["get","name"],"text-size":12,"text-anchor":"left","text-offset":[0,0],"symbol-sort-key":1}"#)
        #expect(whole.poi == nil)
        // text-allow-overlap too: placed over the name.
        let both = try place(poi: #"{"icon-image":"fire-station","icon-allow-overlap":true,"text-allow-overlap":true,"text-field":["get","name"],"text-size":12,"text-anchor":"left","text-offset":[0,0],"symbol-sort-key":1}"#)
        #expect(both.poi?.text == "消防救援站")
    }

    @Test func aVariableAnchorTakesTheFirstPlaceThatFits() throws {
        // The name is centred on the point, 6 glyphs wide: left and right (text beside the
        // icon, 1 em out) meet it; top (1.5 em below) is free.
        let r = try place(poi: #"{"icon-image":"fire-station","icon-allow-overlap":true,"text-field":["get","name"],"text-size":12,"text-variable-anchor":["left","right","top","bottom"],"text-offset":[1,1.5],"text-optional":true,"symbol-sort-key":1}"#)
        let f = try #require(r.poi)
        #expect(f.text == "消防救援站", "no anchor found room: \(f)")
        #expect(f.textDY == 1.5 * 12 && abs(f.textDX + f.textW / 2) < 0.001, "not below the point (top anchor, 1.5 em): dx \(f.textDX) dy \(f.textDY)")
        let name = try #require(r.all.first { $0.text == "北北北北北北" })
        #expect(!LabelPlacer.meets(try #require(f.textBox), try #require(name.textBox)), "the text meets the name")
        // A short name leaves the first anchor free: beside the icon, 1 em out.
        let short = try place(poi: #"{"icon-image":"fire-station","icon-allow-overlap":true,"text-field":["get","name"],"text-size":12,"text-variable-anchor":["left","right","top","bottom"],"text-offset":[1,1.5],"text-optional":true,"symbol-sort-key":1}"#, name: "北")
        let s = try #require(short.poi)
        #expect(s.textDX == 12 && abs(s.textDY + s.textH / 2) < 0.001, "not right of the icon: dx \(s.textDX) dy \(s.textDY)")
    }
}

/// What each layer type draws, on a hand-made store: sort keys, opacity, unknown icons.
@Suite struct LayerTypeTests {
    /// Two shelters at one spot (a, then b by id), a style from JSON, one rendered 64 px viewport.
    func render(_ layers: String, shelters: [(id: String, props: String)] = [("a", #""capacity":2"#), ("b", #""capacity":1"#)]) throws -> PNGPixels {
        let dir = TempDir("layertypes")
        let store = try Store(path: dir.file("s.sqlite"))
        let features = shelters.map { #"{"type":"Feature","id":"\#($0.id)","geometry":{"type":"Point","coordinates":[82.5,46.0]},"properties":{"name":"\#($0.id)",\#($0.props)}}"# }
        _ = try store.importGeoJSON(text: #"{"type":"FeatureCollection","features":[\#(features.joined(separator: ","))]}"#, layer: "shelters", actor: "test")
        let style = try MapRenderer.parseStyle(try JSONParser.parse(##"{"version":8,"layers":[{"id":"bg","type":"background","paint":{"background-color":"#ffffff"}},\##(layers)]}"##), name: "t")
        let map = MapRenderer(source: store, styles: [style])
        var vp = Viewport(zoom: 12, originX: 0, originY: 0, width: 64, height: 64, scale: 1)
        let c = vp.globalPixel(Coord(82.5, 46.0))
        vp.originX = c.0 - 32; vp.originY = c.1 - 32
        return PNGPixels(png: try map.renderPNG(style: "t", viewport: vp))
    }
    func rgb(_ p: UInt32) -> (Int, Int, Int) { (Int(p >> 16 & 0xff), Int(p >> 8 & 0xff), Int(p & 0xff)) }

    /// `circle-sort-key`: the higher key is drawn on top whatever the feature order.
    @Test func sortKeyPutsTheHigherKeyOnTop() throws {
        let layer = ##"{"id":"c","type":"circle","source-layer":"shelters","paint":{"circle-radius":10,"circle-color":["match",["get","name"],"a","#ff0000","#0000ff"]},"layout":{"circle-sort-key":["get","capacity"]}}"##
        let p = try render(layer)
        #expect(rgb(p.data[32 * 64 + 32]) == (255, 0, 0), "a (capacity 2) must be on top of b")
        let q = try render(layer, shelters: [("a", #""capacity":1"#), ("b", #""capacity":2"#)])
        #expect(rgb(q.data[32 * 64 + 32]) == (0, 0, 255), "b (capacity 2) must be on top of a")
    }

    /// `text-opacity` 0 draws no text; 1 does.
    @Test func textOpacityIsDrawn() throws {
        func layer(_ o: Double) -> String { ##"{"id":"t","type":"symbol","source-layer":"shelters","layout":{"text-field":"避难","text-size":20,"text-allow-overlap":true},"paint":{"text-color":"#000000","text-opacity":\##(o)}}"## }
        let hidden = try render(layer(0))
        #expect(hidden.distinctColours == 1, "\(Set(hidden.data).map { String($0, radix: 16) })")
        #expect(try render(layer(1)).distinctColours > 10)
    }

    /// An icon name that comes from data and does not exist draws a grey marker, never the red
    /// incident star (a style's literal names are checked at load).
    @Test func unknownIconFromDataIsGreyNotAnIncidentStar() throws {
        let p = try render(#"{"id":"i","type":"symbol","source-layer":"shelters","layout":{"icon-image":["get","icon"],"icon-size":2,"icon-allow-overlap":true}}"#,
                           shelters: [("a", #""capacity":1,"icon":"hospital""#)])
        let reddish = p.data.filter { let (r, g, b) = rgb($0); return r > 150 && g < 100 && b < 100 }
        #expect(reddish.isEmpty, "\(reddish.count) red pixels")
        #expect(p.data.contains { let (r, g, b) = rgb($0); return abs(r - 140) < 20 && abs(g - 140) < 20 && abs(b - 140) < 20 }, "no grey marker drawn")
    }
}

@Suite struct HaloTests {
    /// One covered pixel grown by 1.5 px: full within the radius, the rim antialiased.
    @Test func aDotGrowsByTheRadius() {
        var m = [UInt8](repeating: 0, count: 11 * 12)
        m[5 * 12 + 5] = 255
        m.withUnsafeMutableBufferPointer { HaloMask.dilate($0.baseAddress!, stride: 12, width: 11, height: 11, radius: 1.5) }
        func at(_ dx: Int, _ dy: Int) -> Int { Int(m[(5 + dy) * 12 + 5 + dx]) }
        #expect(at(0, 0) == 255 && at(1, 0) == 255 && at(1, 1) == 255 && at(0, -1) == 255)
        // 0.15 px beyond the radius (see `HaloMask.dilate`): 255 − 0.35 × 255, 255 − 0.59 × 255.
        #expect(abs(at(2, 0) - 166) <= 1 && abs(at(2, 1) - 106) <= 2 && at(2, 2) == 0 && at(3, 0) == 0)
        #expect(m.filter { $0 > 0 }.count == 21)
    }

    /// Halos painted from the dilated glyph mask stand in for stroked glyph outlines: the same
    /// labels (Chinese, Latin, Uyghur; straight and rotated; 1 and 2 px) cover the same pixels
    /// give or take the antialiased rim.
    @Test func dilatedHalosMatchStrokedOutlines() throws {
        let text = TextEngine()
        for (i, (s, size, width, angle)) in [("新地乡专职消防队", 12.0, 1.5, 0.0), ("S201 G219", 11.0, 1.0, 0.4), ("ئۈرۈمچى يولى", 13.0, 2.0, -1.1), ("喀拉托别村", 16.0, 2.0, 2.0)].enumerated() {
            var images: [[UInt32]] = []
            for dilated in [true, false] {
                let c = Canvas(width: 200, height: 80)
                c.dilatedHalos = dilated
                c.fillAll(Color(0.2, 0.3, 0.6))
                c.draw(text.layout(s, size: size, bold: false), x: 30.3, y: 25.6, angle: angle, color: Color(0, 0, 0), halo: Color(1, 1, 1), haloWidth: width)
                images.append((0..<(200 * 80)).map { c.pixel(x: $0 % 200, y: $0 / 200) })
            }
            let bright = images.map { $0.filter { ($0 >> 8) & 0xFF > 200 }.count }
            let far = zip(images[0], images[1]).filter { PNGPixels.channelDistance($0, $1) > 96 }.count
            #expect(bright[1] > 100, "label \(i): no halo drawn")
            #expect(abs(bright[0] - bright[1]) <= bright[1] / 12, "label \(i): halo pixels \(bright[0]) dilated vs \(bright[1]) stroked")
            #expect(far <= bright[1] / 6, "label \(i): \(far) pixels differ by more than 96 (the rim's antialiasing)")
        }
    }
}

@Suite struct PNGEncoderTests {
    /// Every colour count picks its PNG form (1-, 2-, 4- or 8-bit palette, RGB, RGBA) and
    /// decodes (by libpng, through Cairo) to exactly the canvas's pixels — widths that do not
    /// fill the last byte of a packed row included, translucent pixels too.
    @Test(arguments: [1, 2, 3, 4, 5, 16, 17, 256, 257, 900])
    func eachColourCountRoundTripsAtItsBitDepth(colours: Int) throws {
        for (w, translucent) in [(13, false), (64, false), (13, true)] {
            let h = 31
            let canvas = Canvas(width: w, height: h)
            for i in 0..<(w * h) {
                let k = i % colours
                canvas.rectangle(Double(i % w), Double(i / w), 1, 1)
                canvas.setSourceRGBA(Double(k % 10) / 9, Double((k / 10) % 10) / 9, Double(k / 100) / 9, translucent && k % 3 == 1 ? 0.5 : 1)
                canvas.fill()
            }
            let png = try canvas.png(x: 0, y: 0, w: w, h: h)
            let (depth, type) = (png[24], png[25])
            let want: (UInt8, UInt8) = colours <= 2 ? (1, 3) : colours <= 4 ? (2, 3) : colours <= 16 ? (4, 3) : colours <= 256 ? (8, 3) : (8, translucent ? 6 : 2)
            if w * h >= colours { #expect(depth == want.0 && type == want.1, "\(colours) colours, \(w) wide: bit depth \(depth), colour type \(type)") }
            let p = PNGPixels(png: png)
            #expect(p.width == w && p.height == h)
            guard p.data.count == w * h else { continue }
            var wrong = 0
            for y in 0..<h { for x in 0..<w where p.data[y * w + x] != canvas.pixel(x: x, y: y) { wrong += 1 } }
            #expect(wrong == 0, "\(colours) colours, \(w) wide, translucent \(translucent): \(wrong) pixels differ")
        }
    }

    /// A part of a larger canvas (a tile of a metatile: rows further apart than its width) in
    /// true colour decodes to that part's pixels — widths of whole 16-pixel steps of the
    /// shuffled conversion and of a remainder after them.
    @Test(arguments: [17, 32, 33, 37, 256])
    func aPartOfALargerCanvasRoundTrips(w: Int) throws {
        let canvas = Canvas(width: w + 21, height: 40)
        for y in 0..<40 {
            for x in 0..<(w + 21) {
                canvas.rectangle(Double(x), Double(y), 1, 1)
                canvas.setSourceRGB(Double(x % 17) / 16, Double(y % 23) / 22, Double((x * 7 + y * 3) % 29) / 28)
                canvas.fill()
            }
        }
        let png = try canvas.png(x: 9, y: 5, w: w, h: 31)
        #expect(png[24] == 8 && png[25] == 2, "true colour expected: bit depth \(png[24]), colour type \(png[25])")
        let p = PNGPixels(png: png)
        #expect(p.width == w && p.height == 31)
        guard p.data.count == w * 31 else { return }
        var wrong = 0
        for y in 0..<31 { for x in 0..<w where p.data[y * w + x] != canvas.pixel(x: x + 9, y: y + 5) { wrong += 1 } }
        #expect(wrong == 0, "\(wrong) pixels differ")
    }

    /// Images decode back to their pixels, paletted and not, whatever colour comes first
    /// (opaque white first once lost its palette entry).
    @Test(arguments: [(1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (0.9, 0.89, 0.87)])
    func roundTripsWhateverColourComesFirst(r: Double, g: Double, b: Double) throws {
        let canvas = Canvas(width: 20, height: 10)
        canvas.fillAll(Color(r, g, b))
        canvas.rectangle(5, 5, 3, 3)
        canvas.setSourceRGB(1, 0, 0)
        canvas.fill()
        let p = PNGPixels(png: try canvas.png(x: 0, y: 0, w: 20, h: 10))
        #expect(p.width == 20 && p.height == 10)
        guard p.data.count == 200 else { return }
        for y in 0..<10 {
            for x in 0..<20 {
                #expect(p.data[y * 20 + x] == canvas.pixel(x: x, y: y), "pixel \(x),\(y)")
            }
        }
    }
}

@Suite struct DataDrivenRangeTests {
    /// A value read from a feature is held to the range its layer type declares, so data cannot
    /// do what a style may not (a 1e308 line width once trapped the renderer).
    @Test func hugeValuesFromDataAreHeldToTheDeclaredRange() throws {
        let dir = TempDir("range")
        let store = try Store(path: dir.file("s.sqlite"))
        _ = try store.importGeoJSON(text: #"{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[82.5,46.0]},"properties":{"name":"a","capacity":1,"w":1e308}}"#, layer: "shelters", actor: "test")
        let style = try MapRenderer.parseStyle(try JSONParser.parse(##"{"version":8,"layers":[{"id":"c","type":"circle","source-layer":"shelters","paint":{"circle-radius":["get","w"],"circle-stroke-width":["get","w"],"circle-color":"#ff0000"}},{"id":"t","type":"symbol","source-layer":"shelters","layout":{"text-field":"x","text-size":["get","w"],"icon-image":"shelter","icon-size":["get","w"]}}]}"##), name: "t")
        let map = MapRenderer(source: store, styles: [style])
        var vp = Viewport(zoom: 12, originX: 0, originY: 0, width: 64, height: 64, scale: 1)
        let c = vp.globalPixel(Coord(82.5, 46.0))
        vp.originX = c.0 - 32; vp.originY = c.1 - 32
        let p = PNGPixels(png: try map.renderPNG(style: "t", viewport: vp))
        #expect(p.width == 64 && p.height == 64 && p.distinctColours > 1, "drew nothing")
    }
}

/// The box around a set of placed labels (@1x global pixels).
func bounds(_ ls: [PlacedLabel]) -> (Double, Double, Double, Double) {
    ls.reduce((Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)) { b, l in (min(b.0, l.box.0), min(b.1, l.box.1), max(b.2, l.box.2), max(b.3, l.box.3)) }
}

/// The direct rasteriser of round strokes (`RoundStroke`) against Cairo stroking the same
/// polylines: random ones (short streets, long bends, closed rings, dots, thin and thick, opaque
/// and translucent, on a plain and on an offset canvas) must come out within the reference-image
/// tolerance; what it cannot take (a transform, a clip, a group) goes to Cairo.
@Suite struct RoundStrokeTests {
    func canvases(offset: Int) -> (Canvas, Canvas) {
        let a = Canvas(width: 256, height: 256, offsetX: offset, offsetY: offset), b = Canvas(width: 256, height: 256, offsetX: offset, offsetY: offset)
        for c in [a, b] { c.fillAll(Color(0.96, 0.95, 0.92)) }
        return (a, b)
    }

    func cairoStroke(_ c: Canvas, _ paths: [[(Double, Double)]], _ w: Double, _ color: Color, _ opacity: Double) {
        c.newPath()
        for p in paths { c.path(p, close: false) }
        c.setLineWidth(w); c.setLineCap(.round); c.setLineJoin(.round); c.setColor(color, opacity: opacity)
        c.stroke()
    }

    /// Fraction of pixels differing by more than 24 in a channel, and the largest difference.
    func compare(_ a: Canvas, _ b: Canvas) -> (bad: Double, worst: Int) {
        var bad = 0, worst = 0
        for y in 0..<256 { for x in 0..<256 {
            let d = PNGPixels.channelDistance(a.pixel(x: x, y: y), b.pixel(x: x, y: y))
            worst = max(worst, d)
            if d > 24 { bad += 1 }
        } }
        return (Double(bad) / 65536, worst)
    }

    @Test(arguments: [0, 1000])
    func randomPolylinesMatchCairo(offset: Int) throws {
        var rng = SeededRandom(seed: 14)
        for round in 0..<12 {
            let (a, b) = canvases(offset: offset)
            let o = Double(offset)
            for _ in 0..<25 {
                let n = 1 + rng.int(7)
                var p = [(o + rng.unit() * 256, o + rng.unit() * 256)]
                let step = [3.0, 12, 60][rng.int(3)]
                for _ in 1..<n { p.append((p.last!.0 + (rng.unit() - 0.5) * 2 * step, p.last!.1 + (rng.unit() - 0.5) * 2 * step)) }
                if rng.int(5) == 0, p.count > 2 { p.append(p[0]) }
                let w = [0.6, 1.0, 1.3, 2.3, 4.0, 9.0][rng.int(6)]
                let color = Color(rng.unit(), rng.unit(), rng.unit())
                let opacity = rng.int(3) == 0 ? 0.5 : 1.0
                cairoStroke(a, [p], w, color, opacity)
                #expect(b.strokeRound([p], lineWidth: w, color: color, opacity: opacity), "round \(round): the canvas refused a plain stroke")
            }
            let (bad, worst) = compare(a, b)
            #expect(bad <= 0.005, "round \(round), offset \(offset): \(String(format: "%.2f", bad * 100))% of pixels differ visibly (worst \(worst))")
        }
    }

    /// Dashed lines with flat (butt) ends, as line layers with `line-dasharray` draw them: the
    /// dashes follow the bends and restart with each path, as Cairo's.
    @Test func dashedButtLinesMatchCairo() throws {
        var rng = SeededRandom(seed: 7)
        for round in 0..<8 {
            let (a, b) = canvases(offset: 0)
            for _ in 0..<20 {
                var p = [(rng.unit() * 256, rng.unit() * 256)]
                for _ in 0..<(1 + rng.int(6)) { p.append((p.last!.0 + (rng.unit() - 0.5) * 80, p.last!.1 + (rng.unit() - 0.5) * 80)) }
                let w = [0.8, 1.2, 2.0, 3.5][rng.int(4)]
                let dash = [[3.0, 2], [1, 1], [2, 1, 0.5], [4, 2, 1, 2]][rng.int(4)].map { $0 * w }
                let color = Color(rng.unit(), rng.unit(), rng.unit())
                a.newPath(); a.path(p, close: false)
                a.setLineWidth(w); a.setLineCap(.butt); a.setLineJoin(.round); a.setDash(dash); a.setColor(color); a.stroke(); a.setDash([])
                #expect(b.strokeRound(RoundStroke.dashes(p, pattern: dash), lineWidth: w, butt: true, color: color, opacity: 1))
            }
            let (bad, worst) = compare(a, b)
            #expect(bad <= 0.005, "round \(round): \(String(format: "%.2f", bad * 100))% of pixels differ visibly (worst \(worst))")
        }
        // The pieces themselves: [3, 2] along a 12-px line, then a bend.
        let d = RoundStroke.dashes([(0, 0), (12, 0), (12, 4)], pattern: [3, 2])
        #expect(d.map { $0.map { [$0.0, $0.1] } } == [[[0, 0], [3, 0]], [[5, 0], [8, 0]], [[10, 0], [12, 0], [12, 1]], [[12, 3], [12, 4]]])
    }

    @Test func oddInputIsDrawnOrSkippedNeverTrapped() {
        let (_, b) = canvases(offset: 0)
        let before = (0..<256).map { b.pixel(x: $0, y: 128) }
        #expect(b.strokeRound([[(.nan, 10), (.infinity, 20)], [], [(1e300, 1e300), (-1e300, 5)]], lineWidth: 3, color: Color(1, 0, 0), opacity: 1))
        #expect((0..<256).map { b.pixel(x: $0, y: 128) } == before)
        // A single point is a round dot, as Cairo draws a zero-length round-capped line.
        #expect(b.strokeRound([[(100.5, 100.5)]], lineWidth: 6, color: Color(1, 0, 0), opacity: 1))
        #expect(b.pixel(x: 100, y: 100) == 0xFFFF_0000 && b.pixel(x: 100, y: 110) != 0xFFFF_0000)
        // Off the canvas entirely: nothing.
        #expect(b.strokeRound([[(-500, -500), (-400, -450)]], lineWidth: 6, color: Color(0, 0, 1), opacity: 1))
    }

    @Test func aTransformOrClipGoesToCairo() {
        let (_, b) = canvases(offset: 0)
        b.withSavedState {
            b.translate(5, 5)
            #expect(!b.strokeRound([[(0, 0), (10, 10)]], lineWidth: 2, color: Color(1, 0, 0), opacity: 1))
        }
        b.withSavedState {
            b.rectangle(0, 0, 100, 100); b.clip()
            #expect(!b.strokeRound([[(0, 0), (10, 10)]], lineWidth: 2, color: Color(1, 0, 0), opacity: 1))
        }
        b.withOpacity(0.5) { #expect(!b.strokeRound([[(0, 0), (10, 10)]], lineWidth: 2, color: Color(1, 0, 0), opacity: 1)) }
        #expect(b.strokeRound([[(0, 0), (10, 10)]], lineWidth: 2, color: Color(1, 0, 0), opacity: 1))
    }
}

/// The direct polygon filler (`PolygonFill`) against Cairo's even–odd fill of the same rings:
/// random polygons (concave, with holes given either way round, partly or wholly off the
/// canvas, tiny and large, opaque and translucent, on a plain and on an offset canvas) within
/// the reference-image tolerance; a canvas it cannot take goes to Cairo.
@Suite struct PolygonFillTests {
    func canvases(offset: Int) -> (Canvas, Canvas) {
        let a = Canvas(width: 256, height: 256, offsetX: offset, offsetY: offset), b = Canvas(width: 256, height: 256, offsetX: offset, offsetY: offset)
        for c in [a, b] { c.fillAll(Color(0.96, 0.95, 0.92)) }
        return (a, b)
    }

    /// A star-ish ring around (cx, cy): `n` points at random radii up to `r`, turning one way.
    func ring(_ rng: inout SeededRandom, _ cx: Double, _ cy: Double, _ r: Double, _ n: Int, clockwise: Bool) -> [(Double, Double)] {
        (0..<n).map { i in
            let t = (clockwise ? -1.0 : 1.0) * 2 * Double.pi * Double(i) / Double(n)
            let rr = r * (0.45 + 0.55 * rng.unit())
            return (cx + rr * cos(t), cy + rr * sin(t))
        }
    }

    @Test(arguments: [0, 1000])
    func randomPolygonsMatchCairo(offset: Int) throws {
        var rng = SeededRandom(seed: 15)
        let o = Double(offset)
        for round in 0..<12 {
            let (a, b) = canvases(offset: offset)
            for _ in 0..<8 {
                let cx = o - 40 + rng.unit() * 336, cy = o - 40 + rng.unit() * 336
                let r = [2.0, 12, 60, 300][rng.int(4)]
                var rings = [ring(&rng, cx, cy, r, 3 + rng.int(14), clockwise: rng.int(2) == 0)]
                if rng.int(3) == 0 { rings.append(ring(&rng, cx, cy, r * 0.3, 3 + rng.int(6), clockwise: rng.int(2) == 0)) }
                let color = Color(rng.unit(), rng.unit(), rng.unit())
                let opacity = rng.int(2) == 0 ? 0.45 : 1.0
                a.newPath()
                for rg in rings { a.path(rg, close: true) }
                a.setFillRule(.evenOdd)
                a.setColor(color, opacity: opacity)
                a.fill()
                #expect(b.fillDirect(PolygonFill.oriented(rings), color: color, opacity: opacity), "round \(round): the canvas refused a plain fill")
            }
            let (bad, worst) = RoundStrokeTests().compare(a, b)
            #expect(bad <= 0.002, "round \(round), offset \(offset): \(String(format: "%.2f", bad * 100))% of pixels differ visibly (worst \(worst))")
        }
    }

    /// Inside a translucent fill (runs of whole coverage, blended eight pixels a step where the
    /// CPU allows) every pixel is exactly `src OVER dst` as the scalar blend computes it, over
    /// opaque and translucent pixels alike, in runs of every length around the step.
    @Test func translucentRunsBlendExactly() {
        var rng = SeededRandom(seed: 16)
        // Runs are w − 2 long (the first and last pixels lie in the edges' cells).
        for w in [1, 7, 9, 10, 11, 17, 18, 37] {
            let c = Canvas(width: w, height: 40)
            var before: [UInt32] = []
            for y in 0..<40 { for x in 0..<w {
                c.rectangle(Double(x), Double(y), 1, 1)
                c.setSourceRGBA(rng.unit(), rng.unit(), rng.unit(), rng.int(3) == 0 ? rng.unit() : 1)
                c.fill()
                before.append(c.pixel(x: x, y: y))
            } }
            let color = Color(0.8, 0.3, 0.1)
            #expect(c.fillDirect([[(0, 0), (Double(w), 0), (Double(w), 40), (0, 40)]], color: color, opacity: 0.55))
            let src = Canvas.premultiplied(color, 0.55), inv = 255 - src >> 24
            var wrong = 0
            for y in 0..<40 { for x in 0..<w where c.pixel(x: x, y: y) != src &+ PixelBlend.scaled(before[y * w + x], inv) { wrong += 1 } }
            #expect(wrong == 0, "\(w) wide: \(wrong) pixels differ from the scalar blend")
        }
    }

    /// Edges crossing the canvas's left side end on x = 0 after the split, and an x worked out
    /// again along such an edge can land an ulp below 0: the row buffer is indexed through a
    /// bounds-checked buffer in debug builds, so a cell −1 traps here (a review found it; it
    /// corrupted the buffer's header silently). Many random triangles across that side.
    @Test func edgesAcrossTheLeftSideStayInTheRow() {
        var rng = SeededRandom(seed: 17)
        let c = Canvas(width: 64, height: 64)
        c.fillAll(Color(1, 1, 1))
        for _ in 0..<4000 {
            let p = (rng.unit() * 30, rng.unit() * 64), q = (-rng.unit() * 30, rng.unit() * 64), r = (rng.unit() * 60 - 30, rng.unit() * 64)
            _ = c.fillDirect([[p, q, r]], color: Color(0.2, 0.4, 0.6), opacity: 0.3)
        }
        #expect(c.pixel(x: 0, y: 32) != 0xFFFF_FFFF, "nothing was drawn at the left side")
    }

    /// A hole stays empty whichever way round the data gives it, and a vector canvas or a
    /// transform goes to Cairo.
    @Test func holesStayEmptyAndOtherCanvasesGoToCairo() {
        for holeClockwise in [false, true] {
            let c = Canvas(width: 64, height: 64)
            c.fillAll(Color(1, 1, 1))
            let outer = [(4.0, 4.0), (60, 4), (60, 60), (4, 60)], hole = [(20.0, 20.0), (44, 20), (44, 44), (20, 44)]
            #expect(c.fillDirect(PolygonFill.oriented([outer, holeClockwise ? hole.reversed() : hole]), color: Color(1, 0, 0), opacity: 1))
            #expect(c.pixel(x: 10, y: 10) == 0xFFFF_0000, "inside the exterior")
            #expect(c.pixel(x: 32, y: 32) == 0xFFFF_FFFF, "inside the hole")
            #expect(c.pixel(x: 2, y: 32) == 0xFFFF_FFFF, "outside")
        }
        let rec = Canvas(recordingWidth: 64, height: 64)
        #expect(!rec.fillDirect([[(0, 0), (10, 0), (0, 10)]], color: Color(1, 0, 0), opacity: 1))
        let t = Canvas(width: 64, height: 64)
        t.translate(3, 3)
        #expect(!t.fillDirect([[(0, 0), (10, 0), (0, 10)]], color: Color(1, 0, 0), opacity: 1))
    }
}
