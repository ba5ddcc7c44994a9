import Foundation
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
public final class Router: Sendable {
    public static let resourceKinds = ["fire_stations", "micro_fire_stations", "warehouses", "shelters"]
    public let store: Store
    public let profile: RoutingProfile
    private let box: SnapshotBox

    public init(store: Store, profile: RoutingProfile = .emergency) throws {
        self.store = store
        self.profile = profile
        let seq = try store.journalSequence()
        let graph = try Router.loadGraph(store, profile)
        box = SnapshotBox(try Router.buildSnapshot(store, graph, profile, seq))
    }

    /// The current snapshot, rebuilt first if the store changed since it was taken.
    public func snapshot() throws -> RoutingSnapshot {
        let current = box.value
        let seq = try store.journalSequence()
        guard seq != current.journalSeq else { return current }
        return try box.replace(ifStillAt: current.journalSeq) {
            let layers = try store.layersEdited(since: current.journalSeq)
            let graph = layers.contains("roads") ? try Router.loadGraph(store, profile) : current.graph
            return try Router.buildSnapshot(store, graph, profile, seq)
        }
    }

    static func loadGraph(_ store: Store, _ profile: RoutingProfile) throws -> RoadGraph {
        let roads = try store.allFeatures(of: "roads").map { f in
            RoadGraph.Road(id: f.id, parts: f.geometry.paths, roadClass: f["class"]?.stringValue ?? "village",
                           oneway: f["oneway"]?.boolValue ?? false, maxspeed: f["maxspeed"]?.doubleValue)
        }
        return RoadGraph(roads: roads, profile: profile)
    }

    static func buildSnapshot(_ store: Store, _ graph: RoadGraph, _ profile: RoutingProfile, _ seq: Int64) throws -> RoutingSnapshot {
        let risks = try store.allFeatures(of: "road_risks").map { (id: $0.id, status: $0["status"]?.stringValue ?? "open", line: $0.geometry.paths) }
        let zones = try store.allFeatures(of: "hazard_zones").map { (level: $0["level"]?.intValue ?? 4, polygons: $0.geometry.polygons) }
        var facilities: [Facility] = []
        for kind in resourceKinds {
            for f in try store.allFeatures(of: kind) {
                facilities.append(Facility(kind: kind, id: f.id, name: f["name"]?.stringValue ?? f.id, point: f.geometry.representativePoint))
            }
        }
        return RoutingSnapshot(graph: graph, profile: profile, risks: risks, zones: zones, facilities: facilities, journalSeq: seq)
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
        return a
    }

    func snapPoint(_ s: RoutingSnapshot, _ p: Coord, _ what: String, _ avoid: Avoidance, _ maxSnap: Double?) throws -> Snap {
        guard p.isInWorld else { throw RoutingError.invalidRequest("\(what) \(p) is outside the world") }
        guard s.graph.edgeCount > 0 else { throw RoutingError.noRoads }
        let limit = maxSnap ?? profile.maxSnapDistance
        guard let snap = s.graph.snap(p, maxDistance: limit, usable: { s.usable($0, avoid) }) else {
            throw RoutingError.tooFarFromRoad(what: what, point: p, distance: .infinity, limit: limit)
        }
        return snap
    }

    /// The k resources of each kind that reach `incident` first by road, in one reverse search
    /// that stops as soon as k of every kind are settled.
    public func nearest(to incident: Coord, kinds: [String], k: Int, options: RouteOptions = RouteOptions()) throws -> NearestAnswer {
        for kind in kinds where !Router.resourceKinds.contains(kind) { throw RoutingError.unknownKind(kind) }
        guard (1...50).contains(k) else { throw RoutingError.invalidRequest("k must be 1…50, got \(k)") }
        let s = try snapshot()
        let avoid = try avoidance(s, options)
        let target = try snapPoint(s, incident, "the incident", avoid, options.maxSnap)
        var facilities: [Facility] = []
        for kind in kinds { facilities += s.facilities[kind] ?? [] }
        let r = search(s, target: target, facilities: facilities, kinds: kinds, k: k, avoid: avoid)
        var hits: [ResourceHit] = []
        for kind in kinds {
            let mine = facilities.indices.filter { facilities[$0].kind == kind }
            let reached = mine.filter { r.best[$0].isFinite }.sorted { (r.best[$0], facilities[$0].id) < (r.best[$1], facilities[$1].id) }
            for i in reached.prefix(k) { hits.append(hit(s, facilities[i], incident, r.best[i], r.paths[i] ?? [])) }
            if reached.count < k {
                // Flag the nearest unreachable ones (by straight line) so a dispatcher sees why.
                let lost = mine.filter { !r.best[$0].isFinite }.sorted { Geodesy.distance(facilities[$0].point, incident) < Geodesy.distance(facilities[$1].point, incident) }
                for i in lost.prefix(k - reached.count) {
                    var h = hit(s, facilities[i], incident, nil, [])
                    h.note = facilities[i].snap == nil ? "no usable road within \(Int(profile.maxSnapDistance)) m of the resource" : "no open road connects it to the incident"
                    hits.append(h)
                }
            }
        }
        return NearestAnswer(incident: incident, snappedTo: target.point, snapMetres: target.distance, hits: hits)
    }

    /// The fastest route from one point to another.
    public func route(from a: Coord, to b: Coord, options: RouteOptions = RouteOptions()) throws -> RouteAnswer {
        let s = try snapshot()
        let avoid = try avoidance(s, options)
        let target = try snapPoint(s, b, "the destination", avoid, options.maxSnap)
        let origin = try snapPoint(s, a, "the origin", avoid, options.maxSnap)
        let f = Facility(kind: "origin", id: "origin", name: "origin", point: a, snap: origin)
        let r = search(s, target: target, facilities: [f], kinds: ["origin"], k: 1, avoid: avoid)
        let secs = r.best[0].isFinite ? r.best[0] : nil
        let path = r.paths[0] ?? []
        return RouteAnswer(from: a, to: b, reachable: secs != nil, seconds: secs, metres: secs == nil ? nil : Geodesy.length(path), route: path,
                           snapMetres: (origin.distance, target.distance))
    }

    struct SearchResult {
        var best: [Double]
        var paths: [[Coord]?]
    }

    /// The reverse search shared by `nearest` and `route`.
    func search(_ s: RoutingSnapshot, target: Snap, facilities: [Facility], kinds: [String], k: Int, avoid: Avoidance) -> SearchResult {
        let g = s.graph
        var best = [Double](repeating: .infinity, count: facilities.count)
        var via = [Int32](repeating: -2, count: facilities.count)  // exit node, or -1 for same-edge
        // Exits: node → (facility, cost from facility to that node).
        var exits: [Int32: [(Int, Double)]] = [:]
        var open = [Int](repeating: 0, count: kinds.count)
        let kindIndex = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, $0) })
        for (i, f) in facilities.enumerated() {
            guard let fs = f.snap, s.usable(Int(fs.edge), avoid) else { continue }
            open[kindIndex[f.kind]!] += 1
            for (node, c, _) in s.seeds(at: fs, arriving: false, avoid: avoid) { exits[node, default: []].append((i, c)) }
            if fs.edge == target.edge {
                let c = s.sameEdgeCost(edge: Int(fs.edge), from: fs.offset, to: target.offset, avoid: avoid)
                if c < best[i] { best[i] = c; via[i] = -1 }
            }
        }
        // Candidates per kind, settled once the search frontier passes their cost.
        var candidates = [MinHeap](repeating: MinHeap(), count: kinds.count)
        for i in facilities.indices where best[i].isFinite { candidates[kindIndex[facilities[i].kind]!].push(best[i], Int32(i)) }
        var settled = [Int](repeating: 0, count: kinds.count)
        var done = [Bool](repeating: false, count: facilities.count)
        func settle(upTo d: Double) -> Bool {
            var allDone = true
            for q in 0..<kinds.count {
                while !candidates[q].isEmpty && candidates[q].minKey <= d {
                    let (_, i) = candidates[q].pop()
                    if !done[Int(i)] { done[Int(i)] = true; settled[q] += 1 }
                }
                if settled[q] < min(k, open[q]) { allDone = false }
            }
            return allDone
        }
        var stoppedEarly = false
        let st = s.dijkstra(seeds: s.seeds(at: target, arriving: true, avoid: avoid), reverse: true, avoid: avoid) { node, d in
            for (i, c) in exits[node] ?? [] where d + c < best[i] {
                best[i] = d + c
                via[i] = node
                candidates[kindIndex[facilities[i].kind]!].push(d + c, Int32(i))
            }
            stoppedEarly = settle(upTo: d)
            return stoppedEarly
        }
        // An exhausted search leaves every candidate final; an early stop only the settled ones,
        // which are then the k best of each kind.
        if !stoppedEarly { _ = settle(upTo: .infinity) }
        var paths = [[Coord]?](repeating: nil, count: facilities.count)
        for i in facilities.indices {
            guard done[i], best[i].isFinite, let fs = facilities[i].snap else { best[i] = .infinity; continue }
            let e = Int(fs.edge)
            if via[i] == -1 {
                paths[i] = g.slice(edge: e, from: fs.offset, to: target.offset)
            } else {
                let node = via[i]
                let forward = node == g.edgeTo[e] && s.cost(Int32(2 * e), avoid).isFinite
                var p = g.slice(edge: e, from: fs.offset, to: forward ? g.edgeLength[e] : 0)
                s.append(&p, s.pathToTarget(from: node, state: st, target: target))
                paths[i] = p
            }
        }
        return SearchResult(best: best, paths: paths)
    }

    func hit(_ s: RoutingSnapshot, _ f: Facility, _ incident: Coord, _ secs: Double?, _ path: [Coord]) -> ResourceHit {
        var route = path
        if let snap = f.snap, secs != nil {
            route = [f.point, snap.point] + path.dropFirst(path.first == snap.point ? 1 : 0)
            if route.last != incident { route.append(incident) }
        }
        return ResourceHit(kind: f.kind, id: f.id, name: f.name, point: f.point, reachable: secs != nil, driveSeconds: secs,
                           turnoutSeconds: profile.turnout[f.kind] ?? 0, roadMetres: secs == nil ? nil : Geodesy.length(path),
                           straightMetres: Geodesy.distance(f.point, incident), snapMetres: f.snap?.distance, route: secs == nil ? [] : route)
    }
}

/// Holds the current snapshot; replaced atomically under a lock.
///
/// `@unchecked Sendable`: `current` is only read and written under `lock`, and snapshots are
/// immutable.
final class SnapshotBox: @unchecked Sendable {
    private let lock = NSLock()
    private var current: RoutingSnapshot
    init(_ s: RoutingSnapshot) { current = s }
    var value: RoutingSnapshot { lock.withLock { current } }

    /// Builds and installs a new snapshot unless another thread already moved past `seq`.
    func replace(ifStillAt seq: Int64, _ build: () throws -> RoutingSnapshot) throws -> RoutingSnapshot {
        let fresh = try build()
        return lock.withLock {
            if current.journalSeq == seq || fresh.journalSeq > current.journalSeq { current = fresh }
            return current
        }
    }
}
