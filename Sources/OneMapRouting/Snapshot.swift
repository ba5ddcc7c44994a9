import OneMapCore
import OneMapStore

/// A resource (fire station, warehouse …) placed on the graph.
public struct Facility: Sendable {
    public var kind: String
    public var id: String
    public var name: String
    public var point: Coord
    /// Where it joins the network (every candidate position; empty when no road is near).
    var snaps: [Snap] = []
}

/// A road-risk segment and the edges it covers.
public struct RiskCover: Sendable {
    public var id: String
    public var status: RoadRiskStatus
    public var edges: [Int32]
}

/// One immutable view of the network with the road risks of the moment. A new one is built and
/// swapped in when the store changes; queries in flight keep the one they started with.
public final class RoutingSnapshot: Sendable {
    public let graph: RoadGraph
    public let profile: RoutingProfile
    /// Seconds per arc with closures (∞), restrictions and one-ways applied.
    let arcCost: [Double]
    /// The most severe (lowest) hazard level whose zone a point of the edge lies in; 5 when none.
    let edgeZoneLevel: [UInt8]
    public let risks: [String: RiskCover]
    public let facilities: [String: [Facility]]
    /// The same facilities' snap candidates, per kind, as plain values for the hot path.
    let facilitySnaps: [String: [[Snap]]]
    /// The store revision this snapshot reflects.
    public let revision: StoreRevision

    init(graph: RoadGraph, profile: RoutingProfile, risks: [(id: String, status: RoadRiskStatus, line: [[Coord]])], zones: [(level: Int, polygons: [[[Coord]]])],
         facilities: [Facility], revision: StoreRevision)
    {
        self.graph = graph
        self.profile = profile
        self.revision = revision
        let m = graph.edgeCount
        func samples(_ e: Int) -> [Coord] {
            let len = graph.edgeLength[e]
            return [0.25, 0.5, 0.75].map { graph.slice(edge: e, from: 0, to: len * $0).last! }
        }
        // Risks → covered edges.
        var covers: [String: RiskCover] = [:]
        var worst = [Double](repeating: 1, count: m)
        var cost = [Double](repeating: 0, count: 2 * m)
        for e in 0..<m {
            cost[2 * e] = graph.edgeSeconds[e]
            cost[2 * e + 1] = graph.edgeOneway[e] ? .infinity : graph.edgeSeconds[e]
        }
        for r in risks {
            let box = BBox(covering: r.line.flatMap { $0 })
            let radius = Geodesy.distance(Coord(box.minLon, box.minLat), Coord(box.maxLon, box.maxLat)) / 2 + profile.riskTolerance + 10
            var edges: [Int32] = []
            graph.grid.forEachEdge(near: box.center, radius: radius) { e in
                let hit = samples(e).contains { p in
                    r.line.contains { part in
                        part.count > 1 && (1..<part.count).contains { Geodesy.project(p, onto: part[$0 - 1], part[$0]).distance <= profile.riskTolerance }
                    }
                }
                if hit { edges.append(Int32(e)) }
            }
            edges.sort()
            covers[r.id] = RiskCover(id: r.id, status: r.status, edges: edges)
            let factor = profile.factor(for: r.status)
            for e in edges { worst[Int(e)] = max(worst[Int(e)], factor) }
        }
        // The worst status on an edge applies once: two restricted risks do not compound.
        for e in 0..<m where worst[e] > 1 {
            let f = worst[e]
            cost[2 * e] *= f
            cost[2 * e + 1] *= f
        }
        self.arcCost = cost
        self.risks = covers
        // Hazard zones → per-edge most severe level.
        var level = [UInt8](repeating: 5, count: m)
        for z in zones {
            let box = BBox(covering: z.polygons.flatMap { $0.first ?? [] })
            let radius = Geodesy.distance(Coord(box.minLon, box.minLat), Coord(box.maxLon, box.maxLat)) / 2 + 10
            graph.grid.forEachEdge(near: box.center, radius: radius) { e in
                guard UInt8(z.level) < level[e] else { return }
                if samples(e).contains(where: { p in z.polygons.contains { Planar.polygonContains($0, p) } }) { level[e] = UInt8(z.level) }
            }
        }
        edgeZoneLevel = level
        // Facilities join the network where their nearest road is (any network), even when closed:
        // a station whose only road is closed is unreachable, not moved to another road.
        var byKind: [String: [Facility]] = [:]
        for var f in facilities {
            f.snaps = graph.snapCandidates(f.point, maxDistance: profile.maxSnapDistance, minComponentEdges: profile.minComponentEdges) { _ in true }
            byKind[f.kind, default: []].append(f)
        }
        self.facilities = byKind
        self.facilitySnaps = byKind.mapValues { $0.map(\.snaps) }
    }
}
