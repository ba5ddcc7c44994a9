import Foundation
import OneMapCore
import OneMapStore

/// One thing in the road data that routing would silently get wrong.
public struct TopologyProblem: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A road end within the tolerance of another road it does not share a vertex with.
        case gap = "dangling_end_near_road"
        /// Two roads cross without a shared vertex, at the same level (neither a bridge nor a tunnel).
        case crossing = "crossing_without_junction"
        /// Two roads run between the same junctions along the same line.
        case duplicate = "duplicate_segment"
        /// A road of no length.
        case zeroLength = "zero_length"
        /// A one-way road ends where no road leads on.
        case onewayDeadEnd = "oneway_leads_nowhere"
        /// A one-way road starts where no road leads in.
        case onewayNoEntry = "oneway_cannot_be_entered"
        /// A network of fewer roads than the profile's `min_component_edges`, joined to nothing.
        case fragment = "isolated_fragment"
    }
    public var kind: Kind
    /// Where it is (EPSG:4326).
    public var at: Coord
    /// The ids of the roads involved.
    public var roads: [String]
    /// The gap's width, metres (for `gap`).
    public var metres: Double?
    /// One sentence for a GIS officer.
    public var description: String
}

/// What `RoadTopology.check` found: problems, and the networks (connected components) with
/// their sizes, largest first.
public struct TopologyReport: Sendable {
    public var roads: Int
    public var problems: [TopologyProblem]
    public var networks: [(edges: Int, metres: Double)]
    public func count(_ k: TopologyProblem.Kind) -> Int { problems.filter { $0.kind == k }.count }
}

/// Checks a road layer the way GRASS `v.clean` and the QGIS Topology Checker do, for the
/// mistakes that make routing answers wrong without an error: gaps, crossings without a
/// junction, duplicates, zero-length roads, one-ways that lead nowhere, isolated fragments.
public enum RoadTopology {
    /// Roads with their level (`layer`, bridge and tunnel) for the crossing test.
    public struct Road: Sendable {
        public var id: String
        public var parts: [[Coord]]
        public var oneway: Bool
        /// Bridges and tunnels cross other roads without meeting them.
        public var grade: Bool
        public var layer: Int
        public init(id: String, parts: [[Coord]], oneway: Bool, grade: Bool = false, layer: Int = 0) {
            self.id = id; self.parts = parts; self.oneway = oneway; self.grade = grade; self.layer = layer
        }
    }

    /// The road layer's features as checker input.
    public static func roads(_ features: [Feature]) -> [Road] {
        features.map { f in
            Road(id: f.id, parts: f.geometry.paths, oneway: f["oneway"]?.boolValue ?? false,
                 grade: (f["bridge"]?.boolValue ?? false) || (f["tunnel"]?.boolValue ?? false), layer: f["layer"]?.intValue ?? 0)
        }
    }

    /// The road networks (connected components): segments and metres each, largest first —
    /// without the checks (cheap enough for `onemap info`).
    public static func networks(_ roads: [Road], profile: RoutingProfile = .emergency) -> [(edges: Int, metres: Double)] {
        RoadGraph(roads: roads.map { RoadGraph.Road(id: $0.id, parts: $0.parts, roadClass: "village", oneway: $0.oneway, maxspeed: nil) }, profile: profile).components
    }

    /// Every problem, in a stable order (kind, then place). `gapTolerance` in metres.
    public static func check(_ roads: [Road], profile: RoutingProfile = .emergency, gapTolerance: Double = 2) -> TopologyReport {
        let g = RoadGraph(roads: roads.map { RoadGraph.Road(id: $0.id, parts: $0.parts, roadClass: "village", oneway: $0.oneway, maxspeed: nil) }, profile: profile)
        let byID = Dictionary(roads.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var problems: [TopologyProblem] = []
        func fmt(_ c: Coord) -> String { String(format: "%.6f,%.6f", c.lon, c.lat) }

        // Zero-length roads (the graph leaves them out).
        for r in roads where r.parts.allSatisfy({ Geodesy.length($0) == 0 }) {
            let at = r.parts.first?.first ?? Coord(0, 0)
            problems.append(TopologyProblem(kind: .zeroLength, at: at, roads: [r.id], description: "road \(r.id) at \(fmt(at)) has no length"))
        }
        // Node degrees and one-way in/out counts.
        let n = g.nodeCount
        var degree = [Int](repeating: 0, count: n), outs = [Int](repeating: 0, count: n), ins = [Int](repeating: 0, count: n)
        for e in 0..<g.edgeCount {
            let a = Int(g.edgeFrom[e]), b = Int(g.edgeTo[e])
            degree[a] += 1; degree[b] += 1
            outs[a] += 1; ins[b] += 1
            if !g.edgeOneway[e] { outs[b] += 1; ins[a] += 1 }
        }
        // Gaps: a dead end near another road it does not touch at a vertex.
        for e in 0..<g.edgeCount {
            for end in [g.edgeFrom[e], g.edgeTo[e]] where degree[Int(end)] == 1 {
                let p = g.nodes[Int(end)]
                var best: (distance: Double, road: Int32)?
                g.grid.forEachEdge(near: p, radius: gapTolerance + 1) { o in
                    guard o != e, g.edgeRoad[o] != g.edgeRoad[e] else { return }
                    let geometry = g.geometry(ofEdge: o)
                    var i = geometry.startIndex + 1
                    while i < geometry.endIndex {
                        let d = Geodesy.project(p, onto: geometry[i - 1], geometry[i]).distance
                        if d <= gapTolerance, d < (best?.distance ?? .infinity) { best = (d, g.edgeRoad[o]) }
                        i += 1
                    }
                }
                if let best {
                    let mine = g.roadIDs[Int(g.edgeRoad[e])], other = g.roadIDs[Int(best.road)]
                    problems.append(TopologyProblem(kind: .gap, at: p, roads: [mine, other], metres: best.distance,
                                                    description: String(format: "road %@ ends %.2f m from road %@ at %@ without meeting it", mine, best.distance, other, fmt(p))))
                }
            }
        }
        // Crossings without a junction, and duplicate segments, from segment pairs in shared grid cells.
        var seen = Set<Int64>()
        var duplicates = Set<Int64>()
        for e in 0..<g.edgeCount {
            let ge = g.geometry(ofEdge: e)
            let re = roads.isEmpty ? nil : byID[g.roadIDs[Int(g.edgeRoad[e])]]
            var i = ge.startIndex + 1
            while i < ge.endIndex {
                let a = ge[i - 1], b = ge[i]
                let mid = Coord((a.lon + b.lon) / 2, (a.lat + b.lat) / 2)
                g.grid.forEachEdge(near: mid, radius: Geodesy.distance(a, b) / 2 + 1) { o in
                    guard o > e else { return }
                    let ro = byID[g.roadIDs[Int(g.edgeRoad[o])]]
                    // Same junction pair along the same line: a duplicate.
                    let sameEnds = (g.edgeFrom[e] == g.edgeFrom[o] && g.edgeTo[e] == g.edgeTo[o]) || (g.edgeFrom[e] == g.edgeTo[o] && g.edgeTo[e] == g.edgeFrom[o])
                    if sameEnds {
                        let go = g.geometry(ofEdge: o)
                        if Array(ge) == Array(go) || Array(ge) == Array(go.reversed()) {
                            if duplicates.insert(Int64(e) << 32 | Int64(o)).inserted {
                                let ids = [g.roadIDs[Int(g.edgeRoad[e])], g.roadIDs[Int(g.edgeRoad[o])]]
                                problems.append(TopologyProblem(kind: .duplicate, at: ge[ge.startIndex], roads: ids,
                                                                description: "roads \(ids[0]) and \(ids[1]) run along the same line from \(fmt(ge[ge.startIndex])) to \(fmt(ge[ge.endIndex - 1]))"))
                            }
                            return
                        }
                    }
                    if let re, let ro, re.grade || ro.grade || re.layer != ro.layer { return }
                    let go = g.geometry(ofEdge: o)
                    var j = go.startIndex + 1
                    while j < go.endIndex {
                        if let x = properIntersection(a, b, go[j - 1], go[j]) {
                            let key = Int64(e) << 32 | Int64(o)
                            if seen.insert(key).inserted {
                                let ids = [g.roadIDs[Int(g.edgeRoad[e])], g.roadIDs[Int(g.edgeRoad[o])]]
                                problems.append(TopologyProblem(kind: .crossing, at: x, roads: ids,
                                                                description: "roads \(ids[0]) and \(ids[1]) cross at \(fmt(x)) without a junction (add a shared vertex, or mark one as a bridge or tunnel)"))
                            }
                        }
                        j += 1
                    }
                }
                i += 1
            }
        }
        // One-ways that lead nowhere or cannot be entered.
        for e in 0..<g.edgeCount where g.edgeOneway[e] {
            let a = Int(g.edgeFrom[e]), b = Int(g.edgeTo[e])
            let id = g.roadIDs[Int(g.edgeRoad[e])]
            if outs[b] == 0 { problems.append(TopologyProblem(kind: .onewayDeadEnd, at: g.nodes[b], roads: [id], description: "one-way road \(id) ends at \(fmt(g.nodes[b])) where no road leads on")) }
            if ins[a] == 0 { problems.append(TopologyProblem(kind: .onewayNoEntry, at: g.nodes[a], roads: [id], description: "one-way road \(id) starts at \(fmt(g.nodes[a])) where no road leads in")) }
        }
        // Isolated fragments: every network but the largest that is below the profile's size.
        if g.components.count > 1 {
            var firstEdge = [Int32: Int](), roadsOf = [Int32: Set<String>]()
            for e in 0..<g.edgeCount {
                let c = g.edgeComponent[e]
                if firstEdge[c] == nil { firstEdge[c] = e }
                roadsOf[c, default: []].insert(g.roadIDs[Int(g.edgeRoad[e])])
            }
            for (c, size) in g.components.enumerated().dropFirst() where size.edges < profile.minComponentEdges {
                let ids = roadsOf[Int32(c)]!.sorted()
                let at = g.nodes[Int(g.edgeFrom[firstEdge[Int32(c)]!])]
                problems.append(TopologyProblem(kind: .fragment, at: at, roads: ids,
                                                description: String(format: "%d road%@ (%.0f m) at %@ join%@ no other road: %@", ids.count, ids.count == 1 ? "" : "s", size.metres, fmt(at), ids.count == 1 ? "s" : "", ids.prefix(5).joined(separator: ", "))))
            }
        }
        let order = Dictionary(uniqueKeysWithValues: TopologyProblem.Kind.allCases.enumerated().map { ($1, $0) })
        problems.sort { (order[$0.kind]!, $0.at.lon, $0.at.lat, $0.roads.joined()) < (order[$1.kind]!, $1.at.lon, $1.at.lat, $1.roads.joined()) }
        return TopologyReport(roads: roads.count, problems: problems, networks: g.components)
    }

    /// Where segments ab and cd cross at a point inside both (not at an end of either), if they do.
    static func properIntersection(_ a: Coord, _ b: Coord, _ c: Coord, _ d: Coord) -> Coord? {
        let r = (b.lon - a.lon, b.lat - a.lat), s = (d.lon - c.lon, d.lat - c.lat)
        let den = r.0 * s.1 - r.1 * s.0
        guard abs(den) > 1e-18 else { return nil }
        let t = ((c.lon - a.lon) * s.1 - (c.lat - a.lat) * s.0) / den
        let u = ((c.lon - a.lon) * r.1 - (c.lat - a.lat) * r.0) / den
        let eps = 1e-9
        guard t > eps, t < 1 - eps, u > eps, u < 1 - eps else { return nil }
        return Coord(a.lon + t * r.0, a.lat + t * r.1)
    }
}

extension TopologyReport {
    /// The report as JSON: networks and problems with kind, position, roads and sentence.
    public var json: JSONValue {
        [
            "roads": .number(Double(roads)),
            "networks": .array(networks.map { ["segments": .number(Double($0.edges)), "metres": .number($0.metres.rounded())] }),
            "problems": .array(problems.map { p in
                var o = JSONObject([("kind", .string(p.kind.rawValue)), ("at", [.number(p.at.lon), .number(p.at.lat)]),
                                    ("roads", .array(p.roads.map { .string($0) })), ("description", .string(p.description))])
                if let m = p.metres { o["metres"] = .number((m * 100).rounded() / 100) }
                return .object(o)
            }),
        ]
    }
}

extension TopologyReport {
    /// One paragraph: networks and problem counts by kind.
    public var summary: String {
        if roads == 0 { return "no roads to check: import a roads layer first" }
        let nets = networks.prefix(5).map { String(format: "%d segment%@ / %.1f km", $0.edges, $0.edges == 1 ? "" : "s", $0.metres / 1000) }.joined(separator: "; ")
        var s = "roads: \(roads); networks: \(networks.count) (\(nets)\(networks.count > 5 ? "; …" : ""))"
        let counts = TopologyProblem.Kind.allCases.compactMap { k in count(k) > 0 ? "\(count(k)) \(k.rawValue)" : nil }
        s += counts.isEmpty ? "; no topology problems found" : "; problems: " + counts.joined(separator: ", ")
        return s
    }
}
