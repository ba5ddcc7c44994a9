import OneMapCore

/// The road network as compact arrays.
///
/// Nodes are the road vertices where roads meet (shared vertices, also where roads cross without
/// being split) and road ends. Each edge is the stretch of one road between two nodes, with two
/// arcs: `2e` forward (as digitised) and `2e+1` backward. Adjacency is CSR over arcs, forward by
/// tail and reverse by head.
public struct RoadGraph: Sendable {
    public let nodes: [Coord]
    public let edgeFrom: [Int32]
    public let edgeTo: [Int32]
    /// Metres.
    public let edgeLength: [Double]
    /// Seconds at the profile speed, before risks.
    public let edgeSeconds: [Double]
    public let edgeOneway: [Bool]
    /// Index into `roadIDs`.
    public let edgeRoad: [Int32]
    public let roadIDs: [String]
    /// Geometry of edge e: `coords[coordStart[e] ..< coordStart[e+1]]`, with cumulative metres in `cum`.
    let coords: [Coord]
    let cum: [Double]
    let coordStart: [Int32]
    /// Forward CSR: arcs leaving node n are `fwdArcs[fwdOffsets[n] ..< fwdOffsets[n+1]]`.
    let fwdOffsets: [Int32]
    let fwdArcs: [Int32]
    /// Reverse CSR: arcs entering node n.
    let revOffsets: [Int32]
    let revArcs: [Int32]
    /// Weakly connected component of each edge (dense ids, 0 the largest).
    let edgeComponent: [Int32]
    /// Edges and metres of each component, largest first.
    public let components: [(edges: Int, metres: Double)]
    let grid: EdgeGrid

    public var nodeCount: Int { nodes.count }
    public var edgeCount: Int { edgeFrom.count }

    @inline(__always) func tail(_ arc: Int32) -> Int32 { arc & 1 == 0 ? edgeFrom[Int(arc >> 1)] : edgeTo[Int(arc >> 1)] }
    @inline(__always) func head(_ arc: Int32) -> Int32 { arc & 1 == 0 ? edgeTo[Int(arc >> 1)] : edgeFrom[Int(arc >> 1)] }

    /// Geometry of an edge, as digitised.
    public func geometry(ofEdge e: Int) -> ArraySlice<Coord> { coords[Int(coordStart[e])..<Int(coordStart[e + 1])] }

    /// The part of edge e between `a` and `b` metres from its start (reversed when a > b).
    func slice(edge e: Int, from a: Double, to b: Double) -> [Coord] {
        let s = Int(coordStart[e]), t = Int(coordStart[e + 1])
        let lo = min(a, b), hi = max(a, b)
        func at(_ m: Double) -> Coord {
            var i = s + 1
            while i < t - 1 && cum[i] < m { i += 1 }
            let seg = cum[i] - cum[i - 1]
            let f = seg > 0 ? max(0, min(1, (m - cum[i - 1]) / seg)) : 0
            return Coord(coords[i - 1].lon + f * (coords[i].lon - coords[i - 1].lon), coords[i - 1].lat + f * (coords[i].lat - coords[i - 1].lat))
        }
        var out = [at(lo)]
        for i in s..<t where cum[i] > lo && cum[i] < hi { out.append(coords[i]) }
        out.append(at(hi))
        return a <= b ? out : out.reversed()
    }

    /// A road as the graph builder needs it.
    public struct Road: Sendable {
        public var id: String
        public var parts: [[Coord]]
        public var roadClass: String
        public var oneway: Bool
        public var maxspeed: Double?
        public init(id: String, parts: [[Coord]], roadClass: String, oneway: Bool, maxspeed: Double?) {
            self.id = id; self.parts = parts; self.roadClass = roadClass; self.oneway = oneway; self.maxspeed = maxspeed
        }
    }

    /// Builds the graph, joining roads wherever they share a vertex.
    public init(roads: [Road], profile: RoutingProfile) {
        @inline(__always) func key(_ c: Coord) -> Int64 {
            (Int64((c.lon * 1e7).rounded()) &* 4_000_000_007) &+ Int64((c.lat * 1e7).rounded())
        }
        // 1. How often each vertex is used; ends always count as junctions.
        var uses: [Int64: Int32] = [:]
        for r in roads {
            for p in r.parts {
                for (i, c) in p.enumerated() {
                    let k = key(c)
                    let isEnd = i == 0 || i == p.count - 1
                    uses[k, default: 0] += isEnd ? 2 : 1
                }
            }
        }
        var nodeIndex: [Int64: Int32] = [:]
        var nodes: [Coord] = []
        func node(_ c: Coord) -> Int32 {
            let k = key(c)
            if let n = nodeIndex[k] { return n }
            let n = Int32(nodes.count)
            nodes.append(c)
            nodeIndex[k] = n
            return n
        }
        // 2. Split each part at junction vertices.
        var eFrom: [Int32] = [], eTo: [Int32] = [], eLen: [Double] = [], eSec: [Double] = [], eOne: [Bool] = [], eRoad: [Int32] = []
        var coords: [Coord] = [], cum: [Double] = [], start: [Int32] = []
        var roadIDs: [String] = []
        for r in roads {
            let ri = Int32(roadIDs.count)
            roadIDs.append(r.id)
            for p in r.parts where p.count >= 2 {
                var segStart = 0
                for i in 1..<p.count {
                    let isJunction = i == p.count - 1 || (uses[key(p[i])] ?? 0) >= 2
                    guard isJunction else { continue }
                    let piece = Array(p[segStart...i])
                    segStart = i
                    let a = node(piece[0]), b = node(piece[piece.count - 1])
                    var len = 0.0
                    start.append(Int32(coords.count))
                    for (j, c) in piece.enumerated() {
                        if j > 0 { len += Geodesy.distance(piece[j - 1], c) }
                        coords.append(c)
                        cum.append(len)
                    }
                    if a == b && len == 0 { coords.removeLast(piece.count); cum.removeLast(piece.count); start.removeLast(); continue }
                    eFrom.append(a); eTo.append(b); eLen.append(len); eSec.append(profile.seconds(metres: len, roadClass: r.roadClass, maxspeed: r.maxspeed)); eOne.append(r.oneway); eRoad.append(ri)
                }
            }
        }
        start.append(Int32(coords.count))
        self.nodes = nodes
        edgeFrom = eFrom; edgeTo = eTo; edgeLength = eLen; edgeSeconds = eSec; edgeOneway = eOne; edgeRoad = eRoad
        self.roadIDs = roadIDs
        self.coords = coords; self.cum = cum; coordStart = start
        // 3. CSR adjacency over arcs.
        let n = nodes.count, m = eFrom.count
        func csr(by end: (Int32) -> Int32) -> ([Int32], [Int32]) {
            var off = [Int32](repeating: 0, count: n + 1)
            for a in 0..<(2 * m) { off[Int(end(Int32(a))) + 1] += 1 }
            for i in 0..<n { off[i + 1] += off[i] }
            var fill = off
            var arcs = [Int32](repeating: 0, count: 2 * m)
            for a in 0..<(2 * m) {
                let u = Int(end(Int32(a)))
                arcs[Int(fill[u])] = Int32(a)
                fill[u] += 1
            }
            return (off, arcs)
        }
        let tailOf: (Int32) -> Int32 = { a in a & 1 == 0 ? eFrom[Int(a >> 1)] : eTo[Int(a >> 1)] }
        let headOf: (Int32) -> Int32 = { a in a & 1 == 0 ? eTo[Int(a >> 1)] : eFrom[Int(a >> 1)] }
        (fwdOffsets, fwdArcs) = csr(by: tailOf)
        (revOffsets, revArcs) = csr(by: headOf)
        // 4. Components (union-find over edges).
        var parent = Array(0..<Int32(n))
        func find(_ x: Int32) -> Int32 {
            var x = x
            while parent[Int(x)] != x { parent[Int(x)] = parent[Int(parent[Int(x)])]; x = parent[Int(x)] }
            return x
        }
        for e in 0..<m {
            let a = find(eFrom[e]), b = find(eTo[e])
            if a != b { parent[Int(a)] = b }
        }
        var root = [Int32](repeating: 0, count: m)
        var size: [Int32: (edges: Int, metres: Double)] = [:]
        for e in 0..<m {
            root[e] = find(eFrom[e])
            size[root[e], default: (0, 0)].edges += 1
            size[root[e]]!.metres += eLen[e]
        }
        // Dense ids by size (largest first), ties by root for a stable order.
        let order = size.sorted { ($0.value.edges, $0.value.metres, -$0.key) > ($1.value.edges, $1.value.metres, -$1.key) }
        let dense = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element.key, Int32($0.offset)) })
        edgeComponent = root.map { dense[$0]! }
        components = order.map { $0.value }
        grid = EdgeGrid(coords: coords, coordStart: start)
    }

    /// How close to the nearest distance another edge position must be to count as the same
    /// place (a point on a junction is on every edge there), metres.
    static let candidateTolerance = 0.5

    /// Where a point joins the network ("phantom nodes", as OSRM calls them): every edge
    /// position within `candidateTolerance` of the nearest usable one, so a point on a junction
    /// or a shared vertex belongs to each edge there, each usable in the directions its edge
    /// allows. When none of those lies in a component of at least `minComponentEdges` edges, the
    /// nearest positions in such a component are added too, so a fragment of track does not cut
    /// an incident off. Empty when no usable edge is within `maxDistance` metres.
    func snapCandidates(_ p: Coord, maxDistance: Double, minComponentEdges: Int, usable: (Int) -> Bool) -> [Snap] {
        var out = nearestPositions(p, maxDistance: maxDistance, usable: usable)
        if !out.isEmpty, minComponentEdges > 1, !out.contains(where: { components[Int(edgeComponent[Int($0.edge)])].edges >= minComponentEdges }) {
            let big = nearestPositions(p, maxDistance: maxDistance) { e in usable(e) && self.components[Int(self.edgeComponent[e])].edges >= minComponentEdges }
            out += big.filter { b in !out.contains { $0.edge == b.edge && $0.offset == b.offset } }
        }
        return out
    }

    /// The nearest usable position of each edge whose distance is within the tolerance of the
    /// nearest of all, nearest first; the window widens only when it holds no usable edge.
    private func nearestPositions(_ p: Coord, maxDistance: Double, usable: (Int) -> Bool) -> [Snap] {
        var radius = min(300, maxDistance)
        while true {
            let found = positions(p, within: radius, usable: usable)
            if let best = found.min(by: { $0.distance < $1.distance }) {
                let cut = best.distance + RoadGraph.candidateTolerance
                // The window must hold every edge that close: widen once more if it might not.
                if cut > radius && radius < maxDistance { radius = min(maxDistance, cut + 1); continue }
                return found.filter { $0.distance <= cut }.sorted { ($0.distance, $0.edge, $0.offset) < ($1.distance, $1.edge, $1.offset) }
            }
            if radius >= maxDistance { return [] }
            radius = min(maxDistance, radius * 4)
        }
    }

    /// Per usable edge within `radius`: its nearest position to `p`. A closed loop touched at its
    /// node gives both ends (offset 0 and its length), so both directions can leave from there.
    private func positions(_ p: Coord, within radius: Double, usable: (Int) -> Bool) -> [Snap] {
        var out: [Snap] = []
        grid.forEachEdge(near: p, radius: radius) { e in
            guard usable(e) else { return }
            let s = Int(coordStart[e]), t = Int(coordStart[e + 1])
            var best: Snap?
            for i in (s + 1)..<t {
                let pr = Geodesy.project(p, onto: coords[i - 1], coords[i])
                if pr.distance <= radius, pr.distance < (best?.distance ?? .infinity) {
                    let along = cum[i - 1] + pr.t * (cum[i] - cum[i - 1])
                    best = Snap(edge: Int32(e), offset: along, point: pr.point, distance: pr.distance)
                }
            }
            guard let b = best else { return }
            out.append(b)
            let len = edgeLength[e]
            if edgeFrom[e] == edgeTo[e], len > 0 {
                if b.offset <= 1e-9 { out.append(Snap(edge: b.edge, offset: len, point: b.point, distance: b.distance)) }
                else if b.offset >= len - 1e-9 { out.append(Snap(edge: b.edge, offset: 0, point: b.point, distance: b.distance)) }
            }
        }
        return out
    }

    /// The component of an edge (0 is the largest).
    func component(ofEdge e: Int32) -> Int32 { edgeComponent[Int(e)] }

    /// The node nearest to a point (for node-to-node comparisons).
    public func nearestNode(to p: Coord) -> Int {
        var best = 0, bd = Double.infinity
        for (i, c) in nodes.enumerated() {
            let d = Geodesy.distance(c, p)
            if d < bd { bd = d; best = i }
        }
        return best
    }
}

/// A point placed on an edge: `offset` metres from the edge's start.
struct Snap: Sendable {
    var edge: Int32
    var offset: Double
    var point: Coord
    var distance: Double
}

/// A uniform grid over edge segments, for snapping.
struct EdgeGrid: Sendable {
    static let cell = 0.01
    var cells: [Int64: [Int32]] = [:]

    init(coords: [Coord], coordStart: [Int32]) {
        for e in 0..<(coordStart.count - 1) {
            var seen = Set<Int64>()
            for i in (Int(coordStart[e]) + 1)..<Int(coordStart[e + 1]) {
                let a = coords[i - 1], b = coords[i]
                for x in EdgeGrid.index(min(a.lon, b.lon))...EdgeGrid.index(max(a.lon, b.lon)) {
                    for y in EdgeGrid.index(min(a.lat, b.lat))...EdgeGrid.index(max(a.lat, b.lat)) {
                        let k = EdgeGrid.key(x, y)
                        if seen.insert(k).inserted { cells[k, default: []].append(Int32(e)) }
                    }
                }
            }
        }
    }

    static func index(_ d: Double) -> Int { Int((d / cell).rounded(.down)) }
    static func key(_ x: Int, _ y: Int) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: y))) }

    func forEachEdge(near p: Coord, radius: Double, _ body: (Int) -> Void) {
        let m = Geodesy.metresPerDegree(atLat: min(89, abs(p.lat) + 0.05))
        let dx = radius / max(m.lon, 1), dy = radius / m.lat
        // Small windows dedupe with a short array (no hashing); large ones with a set.
        var seenList: [Int32] = []
        var seenSet = Set<Int32>()
        let small = radius <= 1000
        for x in EdgeGrid.index(p.lon - dx)...EdgeGrid.index(p.lon + dx) {
            for y in EdgeGrid.index(p.lat - dy)...EdgeGrid.index(p.lat + dy) {
                for e in cells[EdgeGrid.key(x, y)] ?? [] {
                    if small {
                        if seenList.contains(e) { continue }
                        seenList.append(e)
                    } else if !seenSet.insert(e).inserted {
                        continue
                    }
                    body(Int(e))
                }
            }
        }
    }
}
