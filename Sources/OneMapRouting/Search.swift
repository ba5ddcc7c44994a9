import OneMapCore

/// A min-heap of (cost, node) with lazy deletion: one array of pairs, sifted through an unsafe
/// buffer (the hot loop of every search).
struct MinHeap {
    struct Entry { var key: Double; var val: Int32 }
    private var items: [Entry] = []
    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var minKey: Double { items[0].key }

    init(capacity: Int = 0) { items.reserveCapacity(capacity) }

    mutating func push(_ k: Double, _ v: Int32) {
        items.append(Entry(key: k, val: v))
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let p = (i - 1) >> 1
                if h[p].key <= k { break }
                h[i] = h[p]
                i = p
            }
            h[i] = Entry(key: k, val: v)
        }
    }

    mutating func pop() -> (Double, Int32) {
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items.withUnsafeMutableBufferPointer { h in
                var i = 0
                let n = h.count
                while true {
                    let l = 2 * i + 1
                    if l >= n { break }
                    let c = l + 1 < n && h[l + 1].key < h[l].key ? l + 1 : l
                    if h[c].key >= last.key { break }
                    h[i] = h[c]
                    i = c
                }
                h[i] = last
            }
        }
        return (top.key, top.val)
    }
}

/// What a request may not drive through, beyond the snapshot's closures.
struct Avoidance {
    var edges: Set<Int32> = []
    /// Block edges in hazard zones of this level or more severe (1…4); nil for none.
    var zoneLevel: Int?

    var isEmpty: Bool { edges.isEmpty && zoneLevel == nil }
}

/// One Dijkstra run's state.
struct SearchState {
    var dist: [Double]
    var pred: [Int32]
    var label: [Int32]
}

extension RoutingSnapshot {
    @inline(__always) func cost(_ arc: Int32, _ avoid: Avoidance) -> Double {
        let c = arcCost[Int(arc)]
        if avoid.isEmpty { return c }
        let e = arc >> 1
        if let l = avoid.zoneLevel, Int(edgeZoneLevel[Int(e)]) <= l { return .infinity }
        if avoid.edges.contains(e) { return .infinity }
        return c
    }

    /// Dijkstra from seeds (node, initial cost, label). `reverse` walks arcs backwards, giving the
    /// cost from each node *to* the seeds. `onSettle(node, dist)` returns true to stop.
    func dijkstra(seeds: [(Int32, Double, Int32)], reverse: Bool, avoid: Avoidance, limit: Double = .infinity,
                  onSettle: (Int32, Double) -> Bool = { _, _ in false }) -> SearchState
    {
        let g = graph
        var st = SearchState(dist: [Double](repeating: .infinity, count: g.nodeCount), pred: [Int32](repeating: -1, count: g.nodeCount),
                             label: [Int32](repeating: -1, count: g.nodeCount))
        var heap = MinHeap()
        for (n, c, l) in seeds where c < st.dist[Int(n)] {
            st.dist[Int(n)] = c
            st.label[Int(n)] = l
            st.pred[Int(n)] = -1
            heap.push(c, n)
        }
        let offsets = reverse ? g.revOffsets : g.fwdOffsets
        let arcs = reverse ? g.revArcs : g.fwdArcs
        let plain = avoid.isEmpty
        while !heap.isEmpty {
            let (d, u) = heap.pop()
            if d > st.dist[Int(u)] { continue }
            if d > limit { break }
            if onSettle(u, d) { break }
            for i in Int(offsets[Int(u)])..<Int(offsets[Int(u) + 1]) {
                let a = arcs[i]
                let c = plain ? arcCost[Int(a)] : cost(a, avoid)
                if !c.isFinite { continue }
                let v = reverse ? g.tail(a) : g.head(a)
                let nd = d + c
                if nd < st.dist[Int(v)] {
                    st.dist[Int(v)] = nd
                    st.pred[Int(v)] = a
                    st.label[Int(v)] = st.label[Int(u)]
                    heap.push(nd, v)
                }
            }
        }
        return st
    }

    /// Whether a point on edge e can be entered or left at all under the avoidance.
    func usable(_ e: Int, _ avoid: Avoidance) -> Bool {
        cost(Int32(2 * e), avoid).isFinite || cost(Int32(2 * e + 1), avoid).isFinite
    }

    /// Seeds for arriving at any of a point's candidates (reverse search) or leaving from them
    /// (forward search).
    func seeds(at candidates: [Snap], arriving: Bool, avoid: Avoidance, label: Int32 = 0) -> [(Int32, Double, Int32)] {
        candidates.flatMap { seeds(at: $0, arriving: arriving, avoid: avoid, label: label) }
    }

    /// Seeds for arriving at a snapped point (reverse search) or leaving it (forward search).
    func seeds(at s: Snap, arriving: Bool, avoid: Avoidance, label: Int32 = 0) -> [(Int32, Double, Int32)] {
        let e = Int(s.edge)
        let len = graph.edgeLength[e]
        let q = len > 0 ? s.offset / len : 0
        let fwd = cost(Int32(2 * e), avoid), bwd = cost(Int32(2 * e + 1), avoid)
        var out: [(Int32, Double, Int32)] = []
        if arriving {
            // Reach the point from the edge's start going forward, or from its end going backward.
            if fwd.isFinite { out.append((graph.edgeFrom[e], q * fwd, label)) }
            if bwd.isFinite { out.append((graph.edgeTo[e], (1 - q) * bwd, label)) }
        } else {
            if fwd.isFinite { out.append((graph.edgeTo[e], (1 - q) * fwd, label)) }
            if bwd.isFinite { out.append((graph.edgeFrom[e], q * bwd, label)) }
        }
        return out
    }

    /// Cost of driving along one edge between two snapped offsets, if the direction is allowed.
    func sameEdgeCost(edge e: Int, from a: Double, to b: Double, avoid: Avoidance) -> Double {
        let len = graph.edgeLength[e]
        guard len > 0 else { return 0 }
        let c = a <= b ? cost(Int32(2 * e), avoid) : cost(Int32(2 * e + 1), avoid)
        return c * abs(b - a) / len
    }

    /// The seed a reverse search's path from `node` ends at (following `pred`).
    func seed(from node: Int32, state st: SearchState) -> Int32 {
        var u = node, guardCount = 0
        while st.pred[Int(u)] >= 0 && guardCount <= graph.nodeCount {
            u = graph.head(st.pred[Int(u)])
            guardCount += 1
        }
        return u
    }

    /// The path's coordinates from node `start` following `pred` of a reverse search to its seed,
    /// then along the seed's target edge to the target candidate its label names.
    func pathToTarget(from start: Int32, state st: SearchState, targets: [Snap], seedLabel: [Int32: Int32]) -> (coords: [Coord], metres: Double) {
        var out: [Coord] = []
        var metres = 0.0
        var u = start
        var guardCount = 0
        while st.pred[Int(u)] >= 0 && guardCount <= graph.nodeCount {
            let a = st.pred[Int(u)]
            let e = Int(a >> 1)
            let len = graph.edgeLength[e]
            append(&out, a & 1 == 0 ? graph.slice(edge: e, from: 0, to: len) : graph.slice(edge: e, from: len, to: 0))
            metres += len
            u = graph.head(a)
            guardCount += 1
        }
        // u is a seed: the start of the target's edge (drive forward to it) or its end (backward).
        let label = seedLabel[u] ?? 0
        let target = targets[Int(label >> 1)]
        let e = Int(target.edge)
        let len = graph.edgeLength[e]
        if label & 1 == 0 {
            append(&out, graph.slice(edge: e, from: 0, to: target.offset))
            metres += target.offset
        } else {
            append(&out, graph.slice(edge: e, from: len, to: target.offset))
            metres += len - target.offset
        }
        return (out, metres)
    }

    func append(_ out: inout [Coord], _ part: [Coord]) {
        for c in part where out.last != c { out.append(c) }
    }
}
