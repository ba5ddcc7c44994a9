import Foundation
import OneMapCore
import OneMapStore

/// SpatiaLite's own VirtualRouting built over exactly our network and weights: the reference our
/// costs are checked against and the anchor our speed is compared with.
///
/// The network is written *reversed* (arcs head → tail) when `reversed` is set, so one
/// VirtualRouting query from the incident to many destinations gives each facility's cost to the
/// incident — the fastest way to ask VirtualRouting the nearest-resource question.
public final class VirtualRoutingNetwork {
    let conn: Connection
    public let reversed: Bool

    public init(snapshot: RoutingSnapshot, path: String, reversed: Bool = false) throws {
        try? FileManager.default.removeItem(atPath: path)
        conn = try Connection(path: path)
        self.reversed = reversed
        try conn.exec("PRAGMA journal_mode=OFF; SELECT InitSpatialMetadata(1, 'WGS84');")
        try conn.exec("CREATE TABLE arcs (id INTEGER PRIMARY KEY, node_from INTEGER NOT NULL, node_to INTEGER NOT NULL, cost DOUBLE NOT NULL, ft INTEGER NOT NULL, tf INTEGER NOT NULL)")
        let g = snapshot.graph
        _ = try conn.transaction {
            for e in 0..<g.edgeCount {
                let f = snapshot.arcCost[2 * e], b = snapshot.arcCost[2 * e + 1]
                guard f.isFinite || b.isFinite else { continue }
                let (from, to) = reversed ? (g.edgeTo[e], g.edgeFrom[e]) : (g.edgeFrom[e], g.edgeTo[e])
                try conn.run("INSERT INTO arcs VALUES (?, ?, ?, ?, ?, ?)", [
                    .int(Int64(e + 1)), .int(Int64(from) + 1), .int(Int64(to) + 1), .double(f.isFinite ? f : b),
                    .int(f.isFinite ? 1 : 0), .int(b.isFinite ? 1 : 0),
                ])
            }
        }
        let ok = try conn.scalar("SELECT CreateRouting('arcs_data', 'arcs_vr', 'arcs', 'node_from', 'node_to', NULL, 'cost', NULL, 0, 1, 'ft', 'tf', 1)")
        guard ok == .int(1) else {
            let why = try conn.scalar("SELECT CreateRouting_GetLastError()")
            throw RoutingError.invalidRequest("CreateRouting failed: \(String(describing: why))")
        }
    }

    /// Node-to-node costs from one origin (node indices of our graph) to many destinations.
    public func costs(from origin: Int, to destinations: [Int]) throws -> [Int: Double] {
        guard !destinations.isEmpty else { return [:] }
        let list = destinations.map { String($0 + 1) }.joined(separator: ",")
        // Like LIMIT, any filter on Role reaching the VirtualRouting SELECT (even from an outer
        // query, which SQLite flattens) empties the answer: filter the rows here instead.
        let rows = try conn.query("SELECT Role, NodeTo, Cost FROM arcs_vr WHERE NodeFrom = ? AND NodeTo IN (\(list))", [.int(Int64(origin + 1))]) { s in
            (s.text(0) == "Route", Int(s.int(1)) - 1, s.double(2))
        }.filter(\.0).map { ($0.1, $0.2) }
        var out: [Int: Double] = [:]
        for (n, c) in rows { out[n] = c }
        return out
    }
}

extension VirtualRoutingNetwork {
    /// The cost of the direct arc u → v in VirtualRouting's input table, if there is one.
    public func arcCost(from u: Int, to v: Int) throws -> Double? {
        let (a, b) = reversed ? (v, u) : (u, v)
        let s = try conn.scalar("SELECT min(cost) FROM arcs WHERE (node_from = ? AND node_to = ? AND ft = 1) OR (node_from = ? AND node_to = ? AND tf = 1)",
                                [.int(Int64(a + 1)), .int(Int64(b + 1)), .int(Int64(b + 1)), .int(Int64(a + 1))])
        if case .double(let d)? = s { return d }
        return nil
    }
}

extension RoutingSnapshot {
    /// Our fastest node path from a to b (empty when unreachable).
    public func nodePath(from a: Int, to b: Int) -> [Int] {
        let st = dijkstra(seeds: [(Int32(a), 0, 0)], reverse: false, avoid: Avoidance()) { n, _ in n == Int32(b) }
        guard st.dist[b].isFinite else { return [] }
        var out = [b]
        var u = Int32(b)
        while st.pred[Int(u)] >= 0 { u = graph.tail(st.pred[Int(u)]); out.append(Int(u)) }
        return out.reversed()
    }

    /// Every finite arc as (tail, head, seconds), for independent checks.
    public var arcList: [(Int, Int, Double)] {
        (0..<(2 * graph.edgeCount)).compactMap { a in
            let c = arcCost[a]
            return c.isFinite ? (Int(graph.tail(Int32(a))), Int(graph.head(Int32(a))), c) : nil
        }
    }

    /// Our cost between two graph nodes (∞ when unreachable), for comparisons.
    public func nodeCost(from a: Int, to b: Int) -> Double {
        let st = dijkstra(seeds: [(Int32(a), 0, 0)], reverse: false, avoid: Avoidance()) { n, _ in n == Int32(b) }
        return st.dist[b]
    }

    /// Costs from node a to every node.
    public func nodeCosts(from a: Int) -> [Double] {
        dijkstra(seeds: [(Int32(a), 0, 0)], reverse: false, avoid: Avoidance()).dist
    }

    /// Nodes where facilities of `kind` meet the graph (the nearer end of their edge).
    public func facilityNodes(kind: String) -> [(facility: String, node: Int)] {
        (facilities[kind] ?? []).compactMap { f in
            guard let s = f.snaps.first else { return nil }
            let e = Int(s.edge)
            return (f.id, Int(s.offset * 2 < graph.edgeLength[e] ? graph.edgeFrom[e] : graph.edgeTo[e]))
        }
    }
}
