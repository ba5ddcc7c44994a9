import Foundation
import Synchronization
import OneMapCore
import OneMapStore

/// A resource reached (or not) from an incident.
public struct ResourceHit: Sendable {
    public var kind: String
    public var id: String
    public var name: String
    public var point: Coord
    public var reachable: Bool
    /// Seconds of driving; nil when unreachable.
    public var driveSeconds: Double?
    public var turnoutSeconds: Double
    public var etaSeconds: Double? { driveSeconds.map { $0 + turnoutSeconds } }
    public var roadMetres: Double?
    public var straightMetres: Double
    public var snapMetres: Double?
    /// Metres from the incident to where this route leaves the road network: more than the
    /// answer's nearest snap when the incident is by a fragment and the route starts on the
    /// larger network nearby.
    public var incidentSnapMetres: Double?
    /// From the resource to the incident.
    public var route: [Coord]
    /// Why it is unreachable, when it is.
    public var note: String?
}

/// The answer to "what reaches this incident first".
public struct NearestAnswer: Sendable {
    public var incident: Coord
    public var snappedTo: Coord
    public var snapMetres: Double
    public var hits: [ResourceHit]
}

/// A point-to-point route.
public struct RouteAnswer: Sendable {
    public var from: Coord
    public var to: Coord
    public var reachable: Bool
    public var seconds: Double?
    public var metres: Double?
    public var route: [Coord]
    public var snapMetres: (from: Double, to: Double)
    /// Why there is no route, when there is none.
    public var note: String?
}

/// A village's fire cover.
public struct CoverageRow: Sendable {
    public var villageID: String
    public var village: String
    public var township: String
    public var point: Coord
    public var bestStation: String?
    public var driveSeconds: Double?
    public var responseSeconds: Double?
    public var meetsStandard: Bool
    /// The village's road point (a junction or road end inside its boundary) that help reaches
    /// last, and the response time there (turnout included); nil when no road lies inside.
    public var farthestPoint: Coord?
    public var farthestResponseSeconds: Double?
    /// Whether every road point of the village is within the standard (the centre alone when no
    /// road lies inside).
    public var meetsStandardEverywhere: Bool
}

/// Options a request may add.
public struct RouteOptions: Sendable {
    /// Road-risk ids to treat as closed.
    public var avoidRisks: [String] = []
    /// Avoid hazard zones of this level or more severe (1 = red only … 4 = all).
    public var avoidZoneLevel: Int?
    public var maxSnap: Double?
    public init(avoidRisks: [String] = [], avoidZoneLevel: Int? = nil, maxSnap: Double? = nil) {
        self.avoidRisks = avoidRisks; self.avoidZoneLevel = avoidZoneLevel; self.maxSnap = maxSnap
    }
}

/// Nearest-resource routing over the store's road network.
///
/// Holds one immutable `RoutingSnapshot`; before each query it checks the store's edit journal
/// and, when roads, road risks, hazard zones or resources changed, builds a new snapshot and
/// swaps it in atomically.
public final class RoadRouter: Sendable {
    public static let resourceKinds = ResourceKind.rawValues
    /// Where roads, road risks, hazard zones and resources come from.
    public let source: any FeatureSource
    public let profile: RoutingProfile
    private let box: SnapshotBox

    /// Builds the road graph and the first snapshot. Throws `StoreError` when the source fails.
    public init(source: any FeatureSource, profile: RoutingProfile = .emergency) throws {
        self.source = source
        self.profile = profile
        let seq = try source.revision()
        let graph = try RoadRouter.loadGraph(source, profile)
        box = SnapshotBox(try RoadRouter.buildSnapshot(source, graph, profile, seq))
    }

    /// The current snapshot, rebuilt first if the store changed since it was taken.
    public func snapshot() throws -> RoutingSnapshot {
        let current = box.value
        let seq = try source.revision()
        guard seq != current.revision else { return current }
        return try box.replace(ifStillAt: current.revision) {
            let layers = try source.layersChanged(since: current.revision)
            let graph = layers.contains("roads") ? try RoadRouter.loadGraph(source, profile) : current.graph
            return try RoadRouter.buildSnapshot(source, graph, profile, seq)
        }
    }

    static func loadGraph(_ source: any FeatureSource, _ profile: RoutingProfile) throws -> RoadGraph {
        let roads = try source.all("roads", attributes: ["class", "oneway", "maxspeed"]).map { f in
            RoadGraph.Road(id: f.id, parts: f.geometry.paths, roadClass: f["class"]?.stringValue ?? "village",
                           oneway: f["oneway"]?.boolValue ?? false, maxspeed: f["maxspeed"]?.doubleValue)
        }
        return RoadGraph(roads: roads, profile: profile)
    }

    static func buildSnapshot(_ source: any FeatureSource, _ graph: RoadGraph, _ profile: RoutingProfile, _ seq: StoreRevision) throws -> RoutingSnapshot {
        let risks = try source.all("road_risks", attributes: ["status"]).map { (id: $0.id, status: $0["status"]?.stringValue.flatMap(RoadRiskStatus.init(rawValue:)) ?? .open, line: $0.geometry.paths) }
        let zones = try source.all("hazard_zones", attributes: ["level"]).map { (level: $0["level"]?.intValue ?? 4, polygons: $0.geometry.polygons) }
        var facilities: [Facility] = []
        for kind in resourceKinds {
            for f in try source.all(kind, attributes: ["name"]) {
                facilities.append(Facility(kind: kind, id: f.id, name: f["name"]?.stringValue ?? f.id, point: f.geometry.representativePoint))
            }
        }
        return RoutingSnapshot(graph: graph, profile: profile, risks: risks, zones: zones, facilities: facilities, revision: seq)
    }

    func avoidance(_ s: RoutingSnapshot, _ o: RouteOptions) throws -> Avoidance {
        var a = Avoidance()
        for id in o.avoidRisks {
            guard let r = s.risks[id] else { throw RoutingError.invalidRequest("unknown road-risk id \"\(id)\"") }
            a.edges.formUnion(r.edges)
        }
        if let l = o.avoidZoneLevel {
            guard (1...4).contains(l) else { throw RoutingError.invalidRequest("avoid zone level must be 1…4, got \(l)") }
            a.zoneLevel = l
        }
        if let m = o.maxSnap, !(m > 0 && m <= 50_000) {
            throw RoutingError.invalidRequest("the snapping limit must be more than 0 and at most 50,000 m, got \(m)")
        }
        return a
    }

    /// Where a point joins the network: every candidate position (see `RoadGraph.snapCandidates`)
    /// on edges usable under the avoidance. Throws `RoutingError.tooFarFromRoad` when none is
    /// within the snapping limit (metres).
    func snapPoint(_ s: RoutingSnapshot, _ p: Coord, _ what: String, _ avoid: Avoidance, _ maxSnap: Double?) throws -> [Snap] {
        guard p.isInWorld else { throw RoutingError.invalidRequest("\(what) \(p) is outside the world") }
        guard s.graph.edgeCount > 0 else { throw RoutingError.noRoads }
        let limit = maxSnap ?? profile.maxSnapDistance
        let snaps = s.graph.snapCandidates(p, maxDistance: limit, minComponentEdges: profile.minComponentEdges) { s.usable($0, avoid) }
        guard !snaps.isEmpty else { throw RoutingError.tooFarFromRoad(what: what, point: p, distance: .infinity, limit: limit) }
        return snaps
    }

    /// The k resources of each kind that reach `incident` first by road, in one reverse search
    /// that stops as soon as k of every kind are settled. Resources no road connects to the
    /// incident are listed after the reachable ones (nearest first by straight line) with the
    /// reason, until there are k per kind.
    public func nearest(to incident: Coord, kinds: [String], k: Int, options: RouteOptions = RouteOptions()) throws -> NearestAnswer {
        for kind in kinds where !RoadRouter.resourceKinds.contains(kind) { throw RoutingError.unknownKind(kind) }
        guard (1...50).contains(k) else { throw RoutingError.invalidRequest("k must be 1…50, got \(k)") }
        let s = try snapshot()
        let avoid = try avoidance(s, options)
        let target = try snapPoint(s, incident, "the incident", avoid, options.maxSnap)
        var places: [[Snap]] = [], kindOf: [Int] = [], ranges: [Range<Int>] = []
        for (q, kind) in kinds.enumerated() {
            let snaps = s.facilitySnaps[kind] ?? []
            ranges.append(places.count..<(places.count + snaps.count))
            places += snaps
            kindOf += [Int](repeating: q, count: snaps.count)
        }
        let r = search(s, target: target, places: places, kindOf: kindOf, kinds: kinds.count, k: k, avoid: avoid)
        let targetComponents = Set(target.map { s.graph.component(ofEdge: $0.edge) })
        var hits: [ResourceHit] = []
        for (q, kind) in kinds.enumerated() {
            let facilities = s.facilities[kind] ?? []
            let base = ranges[q].lowerBound
            let mine = Array(facilities.indices)
            let reached = mine.filter { r.best[base + $0].isFinite }.sorted { (r.best[base + $0], facilities[$0].id) < (r.best[base + $1], facilities[$1].id) }
            for i in reached.prefix(k) {
                var h = hit(s, facilities[i], r.used(base + i), incident, r.best[base + i], r.path(base + i, s))
                h.incidentSnapMetres = r.arrival(base + i, s).map { target[$0].distance }
                hits.append(h)
            }
            if reached.count < k {
                // Flag the nearest unreachable ones (by straight line) so a dispatcher sees why.
                let lost = mine.filter { !r.best[base + $0].isFinite }.sorted { Geodesy.distance(facilities[$0].point, incident) < Geodesy.distance(facilities[$1].point, incident) }
                for i in lost.prefix(k - reached.count) {
                    let f = facilities[i]
                    var h = hit(s, f, nil, incident, nil, ([], 0))
                    if f.snaps.isEmpty {
                        h.note = "no usable road within \(Int(profile.maxSnapDistance)) m of the resource"
                    } else if targetComponents.isDisjoint(with: f.snaps.map { s.graph.component(ofEdge: $0.edge) }) {
                        h.note = String(format: "not connected by road (%.1f km in a straight line)", h.straightMetres / 1000)
                    } else {
                        h.note = "no open road connects it to the incident (closed roads or avoided zones)"
                    }
                    hits.append(h)
                }
            }
        }
        // The snap the answer reports is where the first reachable resource's route meets the
        // incident: by a fragment, that can be the larger network farther off.
        var near = target[0]
        if let first = hits.first(where: \.reachable), let m = first.incidentSnapMetres, let t = target.first(where: { $0.distance == m }) { near = t }
        return NearestAnswer(incident: incident, snappedTo: near.point, snapMetres: near.distance, hits: hits)
    }

    /// The fastest route from one point to another.
    public func route(from a: Coord, to b: Coord, options: RouteOptions = RouteOptions()) throws -> RouteAnswer {
        let s = try snapshot()
        let avoid = try avoidance(s, options)
        let target = try snapPoint(s, b, "the destination", avoid, options.maxSnap)
        let origin = try snapPoint(s, a, "the origin", avoid, options.maxSnap)
        let r = search(s, target: target, places: [origin], kindOf: [0], kinds: 1, k: 1, avoid: avoid)
        let secs = r.best[0].isFinite ? r.best[0] : nil
        let path = r.path(0, s)
        let from = r.used(0) ?? origin[0], to = r.arrival(0, s).map { target[$0] } ?? target[0]
        var note: String?
        if secs == nil {
            let a = Set(origin.map { s.graph.component(ofEdge: $0.edge) }), b = Set(target.map { s.graph.component(ofEdge: $0.edge) })
            note = a.isDisjoint(with: b) ? "the two points are on road networks that do not connect"
                : "no road leads from the origin to the destination (one-way roads, closed roads or avoided zones)"
        }
        return RouteAnswer(from: a, to: b, reachable: secs != nil, seconds: secs, metres: secs == nil ? nil : path.metres, route: path.coords,
                           snapMetres: (from.distance, to.distance), note: note)
    }

    struct SearchResult {
        var best: [Double]
        /// Per place: the exit node of its best route, or -1 when it stays on one edge.
        var via: [Int32]
        /// Per place: which of its candidates the best route leaves from, and in which direction
        /// (0 forward along the edge, 1 backward) — needed on loops, where both ends are one node.
        var viaCandidate: [Int32]
        var viaDirection: [UInt8]
        /// Per place on a single-edge route: the target candidate it arrives at.
        var sameEdgeTarget: [Int32]
        var state: SearchState
        /// For each seed node of the reverse search: which target candidate (label >> 1) and which
        /// end of its edge (label & 1: 0 its start, driving forward to it; 1 its end, backward).
        let seedLabel: [Int32: Int32]
        let target: [Snap]
        let avoid: Avoidance
        let places: [[Snap]]

        /// The candidate place i's best route leaves from.
        func used(_ i: Int) -> Snap? { best[i].isFinite && viaCandidate[i] >= 0 ? places[i][Int(viaCandidate[i])] : nil }

        /// The target candidate place i's best route arrives at.
        func arrival(_ i: Int, _ s: RoutingSnapshot) -> Int? {
            guard best[i].isFinite else { return nil }
            if via[i] == -1 { return Int(sameEdgeTarget[i]) }
            return Int(seedLabel[s.seed(from: via[i], state: state)] ?? 0) >> 1
        }

        /// The route of place i to the target and its length in metres (built only for the
        /// answers shown; lengths come from the edges, not recomputed from coordinates).
        func path(_ i: Int, _ s: RoutingSnapshot) -> (coords: [Coord], metres: Double) {
            guard best[i].isFinite, let fs = used(i) else { return ([], 0) }
            let g = s.graph
            let e = Int(fs.edge)
            if via[i] == -1 {
                let t = target[Int(sameEdgeTarget[i])]
                return (g.slice(edge: e, from: fs.offset, to: t.offset), abs(t.offset - fs.offset))
            }
            let exit = viaDirection[i] == 0 ? g.edgeLength[e] : 0
            var p = g.slice(edge: e, from: fs.offset, to: exit)
            let rest = s.pathToTarget(from: via[i], state: state, targets: target, seedLabel: seedLabel)
            s.append(&p, rest.coords)
            return (p, abs(exit - fs.offset) + rest.metres)
        }
    }

    /// The reverse search shared by `nearest` and `route`: from every candidate of the target,
    /// backwards, until k places of each kind are settled (or the network is exhausted).
    func search(_ s: RoutingSnapshot, target: [Snap], places: [[Snap]], kindOf: [Int], kinds: Int, k: Int, avoid: Avoidance) -> SearchResult {
        let g = s.graph
        let n = g.nodeCount
        var best = [Double](repeating: .infinity, count: places.count)
        var via = [Int32](repeating: -2, count: places.count)  // exit node, or -1 for same-edge
        var viaCandidate = [Int32](repeating: -1, count: places.count)
        var viaDirection = [UInt8](repeating: 0, count: places.count)
        var sameEdgeTarget = [Int32](repeating: -1, count: places.count)
        // Exits: node → (place, candidate and direction, cost from the place to that node), as
        // linked lists in arrays.
        var exitHead = [Int32](repeating: -1, count: n)
        var exitNext: [Int32] = [], exitPlace: [Int32] = [], exitCost: [Double] = [], exitWhich: [Int32] = []
        exitNext.reserveCapacity(2 * places.count); exitPlace.reserveCapacity(2 * places.count); exitCost.reserveCapacity(2 * places.count)
        exitWhich.reserveCapacity(2 * places.count)
        var open = [Int](repeating: 0, count: kinds)
        let targetComponents = target.map { g.component(ofEdge: $0.edge) }
        for (i, candidates) in places.enumerated() {
            var usable = false, connected = false
            for (ci, fs) in candidates.enumerated() {
                let e = Int(fs.edge), len = g.edgeLength[e]
                let fwd = s.cost(Int32(2 * e), avoid), bwd = s.cost(Int32(2 * e + 1), avoid)
                guard fwd.isFinite || bwd.isFinite else { continue }
                usable = true
                if targetComponents.contains(g.component(ofEdge: fs.edge)) { connected = true }
                let q = len > 0 ? fs.offset / len : 0
                for (node, c, dir) in [(g.edgeTo[e], (1 - q) * fwd, Int32(0)), (g.edgeFrom[e], q * bwd, Int32(1))] where c.isFinite {
                    exitNext.append(exitHead[Int(node)]); exitPlace.append(Int32(i)); exitCost.append(c); exitWhich.append(Int32(ci) << 1 | dir)
                    exitHead[Int(node)] = Int32(exitCost.count - 1)
                }
                for (ti, t) in target.enumerated() where t.edge == fs.edge {
                    let c = s.sameEdgeCost(edge: e, from: fs.offset, to: t.offset, avoid: avoid)
                    if c < best[i] { best[i] = c; via[i] = -1; viaCandidate[i] = Int32(ci); sameEdgeTarget[i] = Int32(ti) }
                }
            }
            // Only places the target's networks reach count towards "k found": the search need
            // not exhaust a network waiting for a resource in another one.
            if usable && connected { open[kindOf[i]] += 1 }
        }
        // Candidates per kind, settled once the search frontier passes their cost.
        var candidates = [MinHeap](repeating: MinHeap(), count: kinds)
        var pending = Double.infinity  // the smallest candidate cost not yet settled
        for i in places.indices where best[i].isFinite {
            candidates[kindOf[i]].push(best[i], Int32(i))
            pending = min(pending, best[i])
        }
        var settled = [Int](repeating: 0, count: kinds)
        var done = [Bool](repeating: false, count: places.count)
        var need = (0..<kinds).map { min(k, open[$0]) }
        func settle(upTo d: Double) -> Bool {
            var allDone = true
            pending = .infinity
            for q in 0..<kinds {
                while !candidates[q].isEmpty && candidates[q].minKey <= d {
                    let (_, i) = candidates[q].pop()
                    if !done[Int(i)] { done[Int(i)] = true; settled[q] += 1 }
                }
                if !candidates[q].isEmpty { pending = min(pending, candidates[q].minKey) }
                if settled[q] < need[q] { allDone = false }
            }
            return allDone
        }
        // The reverse Dijkstra, written out here so the per-node work needs no closure. Which
        // target candidate a route arrives by is kept per seed, not per node: a path's end seed
        // is found by following `pred` when the path is drawn.
        var st = SearchState(dist: [Double](repeating: .infinity, count: n), pred: [Int32](repeating: -1, count: n), label: [])
        var heap = MinHeap(capacity: n)
        var seedLabel: [Int32: Int32] = [:]
        for (ti, t) in target.enumerated() {
            let te = Int(t.edge), tl = g.edgeLength[te], tq = tl > 0 ? t.offset / tl : 0
            for (node, c, end) in [(g.edgeFrom[te], tq * s.cost(Int32(2 * te), avoid), Int32(0)), (g.edgeTo[te], (1 - tq) * s.cost(Int32(2 * te + 1), avoid), Int32(1))]
            where c.isFinite && c < st.dist[Int(node)] {
                st.dist[Int(node)] = c
                seedLabel[node] = Int32(ti) << 1 | end
                heap.push(c, node)
            }
        }
        let plain = avoid.isEmpty
        var stoppedEarly = need.allSatisfy { $0 == 0 } || settle(upTo: -1)
        g.revOffsets.withUnsafeBufferPointer { offsets in
        g.revArcs.withUnsafeBufferPointer { arcs in
        s.arcCost.withUnsafeBufferPointer { arcCost in
        g.edgeFrom.withUnsafeBufferPointer { from in
        g.edgeTo.withUnsafeBufferPointer { to in
        st.dist.withUnsafeMutableBufferPointer { dist in
        st.pred.withUnsafeMutableBufferPointer { pred in
            while !stoppedEarly && !heap.isEmpty {
                let (d, u) = heap.pop()
                if d > dist[Int(u)] { continue }
                var x = exitHead[Int(u)]
                while x >= 0 {
                    let i = Int(exitPlace[Int(x)]), c = d + exitCost[Int(x)]
                    if c < best[i] {
                        best[i] = c
                        via[i] = u
                        viaCandidate[i] = exitWhich[Int(x)] >> 1
                        viaDirection[i] = UInt8(exitWhich[Int(x)] & 1)
                        candidates[kindOf[i]].push(c, Int32(i))
                        if c < pending { pending = c }
                    }
                    x = exitNext[Int(x)]
                }
                if d >= pending && settle(upTo: d) { stoppedEarly = true; break }
                for j in Int(offsets[Int(u)])..<Int(offsets[Int(u) + 1]) {
                    let a = arcs[j]
                    let c = plain ? arcCost[Int(a)] : s.cost(a, avoid)
                    if !c.isFinite { continue }
                    let v = a & 1 == 0 ? from[Int(a >> 1)] : to[Int(a >> 1)]  // the arc's tail
                    let nd = d + c
                    if nd < dist[Int(v)] {
                        dist[Int(v)] = nd
                        pred[Int(v)] = a
                        heap.push(nd, v)
                    }
                }
            }
        }}}}}}}
        // An exhausted search leaves every candidate final; an early stop only the settled ones,
        // which are then the k best of each kind.
        if !stoppedEarly { _ = settle(upTo: .infinity) }
        for i in places.indices where !done[i] { best[i] = .infinity }
        need.removeAll()
        return SearchResult(best: best, via: via, viaCandidate: viaCandidate, viaDirection: viaDirection, sameEdgeTarget: sameEdgeTarget,
                            state: st, seedLabel: seedLabel, target: target, avoid: avoid, places: places)
    }

    func hit(_ s: RoutingSnapshot, _ f: Facility, _ used: Snap?, _ incident: Coord, _ secs: Double?, _ found: (coords: [Coord], metres: Double)) -> ResourceHit {
        let path = found.coords
        var route = path
        if let snap = used, secs != nil {
            route = [f.point, snap.point] + path.dropFirst(path.first == snap.point ? 1 : 0)
            if route.last != incident { route.append(incident) }
        }
        return ResourceHit(kind: f.kind, id: f.id, name: f.name, point: f.point, reachable: secs != nil, driveSeconds: secs,
                           turnoutSeconds: profile.turnout[f.kind] ?? 0, roadMetres: secs == nil ? nil : found.metres,
                           straightMetres: Geodesy.distance(f.point, incident), snapMetres: (used ?? f.snaps.first)?.distance, route: secs == nil ? [] : route)
    }
}

/// Holds the current snapshot; replaced atomically.
final class SnapshotBox: Sendable {
    private let current: Mutex<RoutingSnapshot>
    init(_ s: RoutingSnapshot) { current = Mutex(s) }
    var value: RoutingSnapshot { current.withLock { $0 } }

    /// Builds and installs a new snapshot unless another thread already replaced the one at
    /// `seq` (revisions of different generations are not ordered, so the first replacement wins;
    /// a later call sees the store's revision move again and rebuilds).
    func replace(ifStillAt seq: StoreRevision, _ build: () throws -> RoutingSnapshot) throws -> RoutingSnapshot {
        let fresh = try build()
        return current.withLock { c in
            if c.revision == seq || (c.revision.generation == fresh.revision.generation && fresh.revision.sequence > c.revision.sequence) { c = fresh }
            return c
        }
    }
}
