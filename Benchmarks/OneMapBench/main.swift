// onemap benchmarks: run through Benchmarks/*.sh (see README). Not part of the test suite.
import Foundation
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore



func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? .nan : s[min(s.count - 1, Int(Double(s.count - 1) * p + 0.5))]
}

struct Rng {
    var s: UInt64
    mutating func next() -> Double {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}

func ms(_ s: Double) -> String { String(format: "%.3f ms", s * 1000) }

let args = CommandLine.arguments
guard args.count >= 2 else {
    print("usage: onemap-bench store GEODATA BENCHFILE | routing STOREPATH LABEL [N]")
    exit(2)
}

switch args[1] {
case "import":
    // A store in this build's schema from a GeoJSON folder (for before/after comparisons).
    let st = try Store(path: args[3])
    let r = try st.importGeoJSON(at: args[2])
    print("imported \(r.total)")
case "store":
    let geo = args[2], big = args[3]
    let tmp = NSTemporaryDirectory() + "onemap-bench-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    var times: [Double] = []
    var store: Store!
    for k in 0..<3 {
        let path = "\(tmp)/demo\(k).sqlite"
        let t0 = now()
        store = try Store(path: path)
        let r = try store.importGeoJSON(at: geo)
        times.append(now() - t0)
        if k == 0 { print("demo data: \(r.total) features") }
    }
    print(String(format: "import demo data (create + import, median of 3): %.3f s", percentile(times, 0.5)))
    let bigStore = try Store(path: "\(tmp)/big.sqlite")
    let t1 = now()
    let rb = try bigStore.importGeoJSON(at: big)
    let dt = now() - t1
    print(String(format: "import generated file: %d features in %.2f s (%.0f features/s)", rb.total, dt, Double(rb.total) / dt))
    var rng = Rng(s: 99)
    for (layer, size) in [("roads", 0.05), ("roads", 0.2), ("hazard_zones", 0.2), ("base_stations", 0.2)] {
        var lat: [Double] = []
        var n = 0
        for _ in 0..<1000 {
            let lon = 82.1 + rng.next() * (1.4 - size), la = 45.5 + rng.next() * (1.0 - size)
            let box = BBox(minLon: lon, minLat: la, maxLon: lon + size, maxLat: la + size)
            let t = now()
            n += try store.features(in: layer, bbox: box).count
            lat.append(now() - t)
        }
        print(String(format: "bbox %@ %.2f° boxes: p50 %@ p99 %@ (%.1f features per box)", layer, size, ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), Double(n) / 1000))
    }

case "writes":
    // Acknowledged-edit latency with synchronous=FULL (the store's setting: an edit survives a
    // power cut) against NORMAL (survives a killed process only), same store, same edits, one run.
    let geo = args[2]
    let dir = args.count > 3 ? args[3] : NSTemporaryDirectory()
    let tmp = "\(dir)/onemap-bench-writes-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let st = try Store(path: "\(tmp)/w.sqlite")
    _ = try st.importGeoJSON(at: geo)
    let ids = try st.allFeatures(of: "shelters").map(\.id)
    for mode in ["FULL", "NORMAL", "FULL"] {
        try st.write { c in try c.exec("PRAGMA synchronous=\(mode)") }
        var lat: [Double] = []
        for k in 0..<400 {
            let t = now()
            try st.patch(layer: "shelters", id: ids[k % ids.count], changes: ["properties": ["capacity": .number(Double(100 + k))]], ifVersion: nil, actor: "bench")
            lat.append(now() - t)
        }
        print(String(format: "edit (patch one shelter) synchronous=%@: p50 %@ p99 %@ (%.0f edits/s)", mode, ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), Double(lat.count) / lat.reduce(0, +)))
    }
    try st.write { c in try c.exec("PRAGMA synchronous=FULL") }

case "routing":
    let path = args[2], label = args[3]
    let count = args.count > 4 ? Int(args[4])! : 1000
    let store = try Store(path: path)
    let t0 = now()
    let router = try RoadRouter(source: store)
    let s = try router.snapshot()
    print(String(format: "[%@] graph: %d nodes, %d edges; load + snapshot %.1f ms", label, s.graph.nodeCount, s.graph.edgeCount, (now() - t0) * 1000))
    // Incidents: random points within 1.5 km of a road.
    var rng = Rng(s: 7)
    let box = BBox(covering: s.graph.nodes)
    var incidents: [Coord] = []
    while incidents.count < count {
        let p = Coord(box.minLon + rng.next() * box.width, box.minLat + rng.next() * box.height)
        if (try? router.nearest(to: p, kinds: ["shelters"], k: 1, options: RouteOptions(maxSnap: 1500))) != nil { incidents.append(p) }
    }
    let kinds = RoadRouter.resourceKinds
    for p in incidents.prefix(50) { _ = try router.nearest(to: p, kinds: kinds, k: 3) }
    var snapTimes: [Double] = []
    for _ in 0..<1000 { let t = now(); _ = try router.snapshot(); snapTimes.append(now() - t) }
    print("  (snapshot freshness check p50 \(ms(percentile(snapTimes, 0.5))))")
    var ours: [Double] = []
    for p in incidents {
        let t = now()
        _ = try router.nearest(to: p, kinds: kinds, k: 3)
        ours.append(now() - t)
    }
    if ProcessInfo.processInfo.environment["ONEMAP_BENCH_OURS_ONLY"] != nil {
        // onemap alone (before/after comparisons, profiling): the timing, then more of the same load.
        print("[\(label)] onemap nearest k=3 × \(kinds.count) kinds over \(count) incidents: p50 \(ms(percentile(ours, 0.5)))  p99 \(ms(percentile(ours, 0.99)))")
        if ProcessInfo.processInfo.environment["ONEMAP_BENCH_PROFILE"] != nil { for _ in 0..<20 { for p in incidents { _ = try router.nearest(to: p, kinds: kinds, k: 3) } } }
        exit(0)
    }
    let tmp = NSTemporaryDirectory() + "onemap-vr-\(getpid()).sqlite"
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let vr = try VirtualRoutingNetwork(snapshot: s, path: tmp, reversed: true)
    // VirtualRouting: one multi-destination query per incident on the reversed network (each
    // facility's cost *to* the incident), then the 3 best per kind. Node snapping is done outside
    // the timing, which favours VirtualRouting.
    let facilityNodes = kinds.map { s.facilityNodes(kind: $0) }
    let allNodes = Array(Set(facilityNodes.flatMap { $0.map(\.node) })).sorted()
    var theirs: [Double] = []
    var agree = 0
    for (i, p) in incidents.enumerated() {
        let node = s.graph.nearestNode(to: p)
        let t = now()
        let costs = try vr.costs(from: node, to: allNodes)
        var picked = 0
        for fs in facilityNodes { picked += fs.map { costs[$0.node] ?? .infinity }.sorted().prefix(3).count }
        theirs.append(now() - t)
        if i < 200, picked > 0 { agree += 1 }
    }
    let p50o = percentile(ours, 0.5), p99o = percentile(ours, 0.99), p50v = percentile(theirs, 0.5), p99v = percentile(theirs, 0.99)
    print("[\(label)] nearest k=3 × \(kinds.count) kinds over \(count) incidents:")
    print("  onemap          p50 \(ms(p50o))  p99 \(ms(p99o))")
    print("  VirtualRouting  p50 \(ms(p50v))  p99 \(ms(p99v))")
    print(String(format: "  ratio (VirtualRouting / onemap): p50 %.1f×  p99 %.1f×", p50v / p50o, p99v / p99o))

case "png":
    // png DIR: encodes every 256×256 Cairo ARGB32 dump (*.argb, 262,144 bytes) in DIR 20 times;
    // prints µs and bytes per tile (the encoder alone, without drawing).
    let dir = args[2]
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".argb") }.sorted()
    let images = try files.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0))) }
    var best = Double.infinity, bytes = 0
    for _ in 0..<20 {
        let t0 = now()
        bytes = 0
        for im in images { im.withUnsafeBytes { bytes += PNGEncoder.encode(base: $0.baseAddress!, stride: 1024, w: 256, h: 256).count } }
        best = min(best, now() - t0)
    }
    print(String(format: "png: %d tiles, %.0f µs per tile (best of 20), %.1f KB per tile", images.count, best * 1e6 / Double(images.count), Double(bytes) / Double(max(1, images.count)) / 1024))

case "tiles":
    // tiles STORE STYLES METATILES_FILE THREADS: renders every metatile listed (z x y per line),
    // all 64 tiles each, PNG included; prints tiles/s per zoom.
    let store = try Store(path: args[2])
    let map = try MapRenderer(source: store, stylesDirectory: args[3])
    let metas = try String(contentsOfFile: args[4], encoding: .utf8).split(separator: "\n").compactMap { line -> (Int, Int, Int)? in
        let p = line.split(separator: " ").compactMap { Int($0) }
        return p.count == 3 ? (p[0], p[1], p[2]) : nil
    }
    let threads = Int(args[5]) ?? 1
    let renderer = TileRenderer(map: map)
    _ = try renderer.emptyTile(style: "command", scale: 1)
    for z in Set(metas.map(\.0)).sorted() {
        let mine = metas.filter { $0.0 == z }.map { MetatileID(containing: try! TileID(z: $0.0, x: $0.1 * 8, y: $0.2 * 8)) }
        // Warm-up, as the Mapnik side does (each worker process renders the first metatile
        // before the clock starts): the first metatile on every thread — each thread has its
        // own Pango font map and glyph caches, ~20 ms on its first z12 metatile on the
        // 100-county store — and the labels around it.
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            _ = try! renderer.renderMetatile(style: "command", metatile: mine[0], scale: 1)
        }
        let counter = Counter()
        let each = ProcessInfo.processInfo.environment["ONEMAP_BENCH_EACH"] != nil
        let t0 = now()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while let i = counter.take(limit: mine.count) {
                let tm = now()
                let out = try! renderer.renderMetatile(style: "command", metatile: mine[i], scale: 1)
                if each { FileHandle.standardError.write(String(format: "  metatile %d: %.0f ms\n", i, 1000 * (now() - tm)).data(using: .utf8)!) }
                counter.add(tiles: out.count, bytes: out.values.reduce(0) { $0 + $1.count })
                // ONEMAP_BENCH_DUMP=DIR keeps the PNGs (for `png DIR`, after converting them to .argb).
                if let dir = ProcessInfo.processInfo.environment["ONEMAP_BENCH_DUMP"] {
                    for (t, png) in out { FileManager.default.createFile(atPath: "\(dir)/\(t.z)-\(t.x)-\(t.y).png", contents: Data(png)) }
                }
            }
        }
        let dt = now() - t0
        let (tiles, bytes) = counter.totals
        if threads == 1, ProcessInfo.processInfo.environment["ONEMAP_BENCH_SPLIT"] != "0" {
            // Where one metatile's time goes: drawing (store, labels, Cairo) and PNG encoding.
            // The best of three passes (this machine's noise is ±30% between runs).
            var draw = Double.infinity, encode = Double.infinity
            for _ in 0..<3 {
                var d0 = 0.0, e0 = 0.0
                for m in mine {
                    let t1 = now()
                    let d = try renderer.draw(style: "command", metatile: m, scale: 1)
                    let t2 = now()
                    _ = try d.all()
                    d0 += t2 - t1; e0 += now() - t2
                }
                draw = min(draw, d0); encode = min(encode, e0)
            }
            FileHandle.standardError.write(String(format: "  z%d per metatile: draw %.0f ms, encode %.0f ms\n", z, 1000 * draw / Double(mine.count), 1000 * encode / Double(mine.count)).data(using: .utf8)!)
        }
        print(String(format: "onemap z%d threads=%d: %d tiles in %.3f s = %.1f tiles/s (avg %.1f KB)", z, threads, tiles, dt, Double(tiles) / dt, Double(bytes) / Double(max(1, tiles)) / 1024))
    }

case "print":
    // print STORE STYLES: seconds per A3 page on one core, the whole atlas on all cores, KB per page.
    let store = try Store(path: args[2])
    let map = try MapRenderer(source: store, stylesDirectory: args[3])
    let atlas = try VillageAtlas(source: store, router: try RoadRouter(source: store), map: map)
    let villages = try atlas.villages()
    var options = PageOptions()
    options.paper = .a3
    _ = try atlas.pdf(village: villages[0].id, options: options)  // warm-up: label placement, fonts
    var times: [Double] = []
    var sizes: [Double] = []
    for v in villages {
        let t = now()
        let pdf = try atlas.writePDF(try atlas.record(v, options), options: options)
        times.append(now() - t)
        sizes.append(Double(pdf.count) / 1024)
    }
    print(String(format: "A3 page, one core: mean %.3f s, p50 %.3f s, max %.3f s over %d villages; PDF %.0f KB/page (max %.0f KB)",
                 times.reduce(0, +) / Double(times.count), percentile(times, 0.5), times.max()!, times.count, sizes.reduce(0, +) / Double(sizes.count), sizes.max()!))
    for threads in [1, ProcessInfo.processInfo.activeProcessorCount] {
        let t = now()
        let pages = try atlas.recordPages(villages, options: options, threads: threads).flatMap { $0 }
        let tr = now() - t
        let pdf = try atlas.writePDF(pages, options: options)
        let dt = now() - t
        print(String(format: "  (record %.2f s, write %.2f s)", tr, dt - tr))
        print(String(format: "atlas of %d villages, %d thread%@: %.2f s (%.3f s/page over %d pages), %.1f MB (%.0f KB/page)", villages.count, threads, threads == 1 ? "" : "s", dt, dt / Double(pages.count), pages.count,
                     Double(pdf.count) / 1_048_576, Double(pdf.count) / 1024 / Double(pages.count)))
    }

default:
    print("unknown benchmark \(args[1])")
    exit(2)
}

/// `@unchecked Sendable`: all state under `lock`.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0, tiles = 0, bytes = 0
    func take(limit: Int) -> Int? { lock.withLock { guard next < limit else { return nil }; defer { next += 1 }; return next } }
    func add(tiles t: Int, bytes b: Int) { lock.withLock { tiles += t; bytes += b } }
    var totals: (Int, Int) { lock.withLock { (tiles, bytes) } }
}
