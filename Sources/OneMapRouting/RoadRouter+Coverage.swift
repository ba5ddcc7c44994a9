import OneMapCore
import OneMapStore

extension RoadRouter {
    /// Each village's best response time from all resources of `kind` (one multi-source forward
    /// search) and whether it meets the standard. Response = turnout + drive.
    public func coverage(kind: String = "fire_stations", standardSeconds: Double, options: RouteOptions = RouteOptions()) throws -> [CoverageRow] {
        guard RoadRouter.resourceKinds.contains(kind) else { throw RoutingError.unknownKind(kind) }
        guard standardSeconds > 0, standardSeconds.isFinite else { throw RoutingError.invalidRequest("the standard must be a positive number of minutes") }
        let s = try snapshot()
        let avoid = try avoidance(s, options)
        let g = s.graph
        let facilities = (s.facilities[kind] ?? []).filter { $0.snaps.contains { s.usable(Int($0.edge), avoid) } }
        var seeds: [(Int32, Double, Int32)] = []
        for (i, f) in facilities.enumerated() { seeds += s.seeds(at: f.snaps, arriving: false, avoid: avoid, label: Int32(i)) }
        let st = s.dijkstra(seeds: seeds, reverse: false, avoid: avoid)
        let turnout = profile.turnout[kind] ?? 0
        let townships = Dictionary(try source.all("townships", attributes: ["code", "name"]).map { ($0["code"]?.stringValue ?? "", $0["name"]?.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
        return try source.all("villages").map { v in
            let p = v["center"]?.arrayValue.flatMap { a in a.count == 2 ? Coord(a[0].doubleValue ?? 0, a[1].doubleValue ?? 0) : nil } ?? v.geometry.representativePoint
            var best = Double.infinity
            var station: Int32 = -1
            let snaps = g.snapCandidates(p, maxDistance: options.maxSnap ?? profile.maxSnapDistance, minComponentEdges: profile.minComponentEdges) { s.usable($0, avoid) }
            for (node, c, _) in s.seeds(at: snaps, arriving: true, avoid: avoid) where st.dist[Int(node)] + c < best {
                best = st.dist[Int(node)] + c
                station = st.label[Int(node)]
            }
            for snap in snaps {
                for (i, f) in facilities.enumerated() {
                    for fs in f.snaps where fs.edge == snap.edge {
                        let c = s.sameEdgeCost(edge: Int(snap.edge), from: fs.offset, to: snap.offset, avoid: avoid)
                        if c < best { best = c; station = Int32(i) }
                    }
                }
            }
            let reachable = best.isFinite
            // The village's worst road point: of the junctions and road ends inside its boundary,
            // the one reached last (unreachable ones count as never reached).
            var farthest: (Coord, Double)?
            let box = v.geometry.bbox
            if !v.geometry.polygons.isEmpty {
                for (i, c) in g.nodes.enumerated() where box.contains(c) && v.geometry.polygons.contains(where: { Planar.polygonContains($0, c) }) {
                    if st.dist[i] > (farthest?.1 ?? -1) { farthest = (c, st.dist[i]) }
                }
            }
            let worst = max(best, farthest?.1 ?? best)
            return CoverageRow(villageID: v.id, village: v["name"]?.stringValue ?? v.id, township: townships[v["township"]?.stringValue ?? ""] ?? "",
                               point: p, bestStation: reachable && station >= 0 ? facilities[Int(station)].name : nil,
                               driveSeconds: reachable ? best : nil, responseSeconds: reachable ? best + turnout : nil,
                               meetsStandard: reachable && best + turnout <= standardSeconds,
                               farthestPoint: farthest?.0, farthestResponseSeconds: farthest.flatMap { $0.1.isFinite ? $0.1 + turnout : nil },
                               meetsStandardEverywhere: worst.isFinite && worst + turnout <= standardSeconds)
        }
    }

    /// The road network reachable from `origin` within `seconds` of driving, as line pieces; edges
    /// at the limit are cut where the time runs out.
    public func isochrone(from origin: Coord, seconds limit: Double, options: RouteOptions = RouteOptions()) throws -> [[Coord]] {
        guard limit > 0, limit.isFinite, limit <= 4 * 3600 else { throw RoutingError.invalidRequest("the time limit must be 0…240 minutes") }
        let s = try snapshot()
        let avoid = try avoidance(s, options)
        let g = s.graph
        let start = try snapPoint(s, origin, "the origin", avoid, options.maxSnap)
        let st = s.dijkstra(seeds: s.seeds(at: start, arriving: false, avoid: avoid), reverse: false, avoid: avoid, limit: limit)
        // Reached stretches per edge, in metres from the edge's start, merged before slicing.
        var spans: [Int: [(Double, Double)]] = [:]
        for c in start {
            let e0 = Int(c.edge), len0 = g.edgeLength[e0]
            guard len0 > 0 else { continue }
            let f = s.cost(Int32(2 * e0), avoid), b = s.cost(Int32(2 * e0 + 1), avoid)
            if f.isFinite { spans[e0, default: []].append((c.offset, min(len0, c.offset + limit / f * len0))) }
            if b.isFinite { spans[e0, default: []].append((max(0, c.offset - limit / b * len0), c.offset)) }
        }
        for u in 0..<g.nodeCount where st.dist[u] <= limit {
            for i in Int(g.fwdOffsets[u])..<Int(g.fwdOffsets[u + 1]) {
                let a = g.fwdArcs[i]
                let c = s.cost(a, avoid)
                guard c.isFinite else { continue }
                let e = Int(a >> 1), len = g.edgeLength[e]
                let part = min(len, (limit - st.dist[u]) / c * len)
                spans[e, default: []].append(a & 1 == 0 ? (0, part) : (len - part, len))
            }
        }
        var pieces: [[Coord]] = []
        for e in spans.keys.sorted() {
            var merged: [(Double, Double)] = []
            for sp in spans[e]!.sorted(by: { $0.0 < $1.0 }) {
                if let last = merged.last, sp.0 <= last.1 { merged[merged.count - 1].1 = max(last.1, sp.1) } else { merged.append(sp) }
            }
            for (lo, hi) in merged where hi - lo > 0.5 { pieces.append(g.slice(edge: e, from: lo, to: hi)) }
        }
        return pieces
    }
}
