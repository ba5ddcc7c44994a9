import Foundation

/// Distances on the WGS84 sphere approximation (mean radius), good to ~0.5% — enough for
/// straight-line comparisons, snapping and scale bars.
public enum Geodesy {
    public static let earthRadius = 6_371_008.8

    /// Great-circle distance in metres.
    public static func distance(_ a: Coord, _ b: Coord) -> Double {
        let p1 = a.lat * .pi / 180, p2 = b.lat * .pi / 180
        let dp = p2 - p1, dl = (b.lon - a.lon) * .pi / 180
        let h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2)
        return 2 * earthRadius * asin(min(1, sqrt(h)))
    }

    /// Length of a path in metres.
    public static func length(_ path: [Coord]) -> Double {
        guard path.count > 1 else { return 0 }
        var s = 0.0
        for i in 1..<path.count { s += distance(path[i - 1], path[i]) }
        return s
    }

    /// The point at `fraction` (0…1) of a path's length.
    public static func pointAlong(_ path: [Coord], fraction: Double) -> Coord {
        guard path.count > 1 else { return path.first ?? Coord(0, 0) }
        let target = length(path) * max(0, min(1, fraction))
        var walked = 0.0
        for i in 1..<path.count {
            let d = distance(path[i - 1], path[i])
            if walked + d >= target, d > 0 {
                let t = (target - walked) / d
                return Coord(path[i - 1].lon + t * (path[i].lon - path[i - 1].lon), path[i - 1].lat + t * (path[i].lat - path[i - 1].lat))
            }
            walked += d
        }
        return path[path.count - 1]
    }

    /// Metres per degree of longitude and latitude near `lat` (local equirectangular frame).
    public static func metresPerDegree(atLat lat: Double) -> (lon: Double, lat: Double) {
        let m = earthRadius * .pi / 180
        return (m * cos(lat * .pi / 180), m)
    }

    /// The closest point on segment a–b to p in a local metric frame, with the parameter t (0…1)
    /// and the distance in metres.
    public static func project(_ p: Coord, onto a: Coord, _ b: Coord) -> (point: Coord, t: Double, distance: Double) {
        let k = metresPerDegree(atLat: p.lat)
        let ax = (a.lon - p.lon) * k.lon, ay = (a.lat - p.lat) * k.lat
        let bx = (b.lon - p.lon) * k.lon, by = (b.lat - p.lat) * k.lat
        let dx = bx - ax, dy = by - ay
        let len2 = dx * dx + dy * dy
        var t = len2 > 0 ? -(ax * dx + ay * dy) / len2 : 0
        t = max(0, min(1, t))
        let x = ax + t * dx, y = ay + t * dy
        let q = Coord(a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat))
        return (q, t, (x * x + y * y).squareRoot())
    }
}

/// Planar computations in degree space (for validity and containment, not for measurement).
public enum Planar {
    /// Shoelace signed area of a ring (positive counter-clockwise).
    public static func signedArea(_ ring: [Coord]) -> Double {
        guard ring.count > 2 else { return 0 }
        var s = 0.0
        for i in 0..<(ring.count - 1) { s += ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat }
        return s / 2
    }

    /// Area centroid of a ring; falls back to the vertex mean for degenerate rings.
    public static func centroid(_ ring: [Coord]) -> Coord {
        guard !ring.isEmpty else { return Coord(0, 0) }
        let a = signedArea(ring)
        if abs(a) < 1e-15 {
            let n = Double(ring.count)
            return Coord(ring.reduce(0) { $0 + $1.lon } / n, ring.reduce(0) { $0 + $1.lat } / n)
        }
        var cx = 0.0, cy = 0.0
        for i in 0..<(ring.count - 1) {
            let f = ring[i].lon * ring[i + 1].lat - ring[i + 1].lon * ring[i].lat
            cx += (ring[i].lon + ring[i + 1].lon) * f
            cy += (ring[i].lat + ring[i + 1].lat) * f
        }
        return Coord(cx / (6 * a), cy / (6 * a))
    }

    /// Even-odd point-in-ring test.
    public static func ringContains(_ ring: [Coord], _ p: Coord) -> Bool {
        var inside = false
        var j = ring.count - 1
        for i in 0..<ring.count {
            let a = ring[i], b = ring[j]
            if (a.lat > p.lat) != (b.lat > p.lat),
                p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
            {
                inside.toggle()
            }
            j = i
        }
        return inside
    }

    /// Point in polygon (outer ring minus holes).
    public static func polygonContains(_ rings: [[Coord]], _ p: Coord) -> Bool {
        guard let outer = rings.first, ringContains(outer, p) else { return false }
        return !rings.dropFirst().contains { ringContains($0, p) }
    }

    /// Whether closed segments p1–p2 and p3–p4 touch or cross.
    public static func segmentsIntersect(_ p1: Coord, _ p2: Coord, _ p3: Coord, _ p4: Coord) -> Bool {
        func orient(_ a: Coord, _ b: Coord, _ c: Coord) -> Double {
            (b.lon - a.lon) * (c.lat - a.lat) - (b.lat - a.lat) * (c.lon - a.lon)
        }
        func onSeg(_ a: Coord, _ b: Coord, _ c: Coord) -> Bool {
            min(a.lon, b.lon) <= c.lon && c.lon <= max(a.lon, b.lon) && min(a.lat, b.lat) <= c.lat && c.lat <= max(a.lat, b.lat)
        }
        let d1 = orient(p3, p4, p1), d2 = orient(p3, p4, p2), d3 = orient(p1, p2, p3), d4 = orient(p1, p2, p4)
        if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) { return true }
        if d1 == 0 && onSeg(p3, p4, p1) { return true }
        if d2 == 0 && onSeg(p3, p4, p2) { return true }
        if d3 == 0 && onSeg(p1, p2, p3) { return true }
        if d4 == 0 && onSeg(p1, p2, p4) { return true }
        return false
    }

    /// Whether a geometry intersects a box (exact, not just envelopes).
    public static func intersects(_ g: Geometry, _ box: BBox) -> Bool {
        guard g.bbox.intersects(box) else { return false }
        let corners = [Coord(box.minLon, box.minLat), Coord(box.maxLon, box.minLat), Coord(box.maxLon, box.maxLat), Coord(box.minLon, box.maxLat)]
        let edges = (0..<4).map { (corners[$0], corners[($0 + 1) % 4]) }
        switch g {
        case .point(let c): return box.contains(c)
        case .multiPoint(let l): return l.contains { box.contains($0) }
        default: break
        }
        for path in g.paths {
            if path.contains(where: { box.contains($0) }) { return true }
            for i in 1..<max(1, path.count) {
                for e in edges where segmentsIntersect(path[i - 1], path[i], e.0, e.1) { return true }
            }
        }
        // The box may lie wholly inside a polygon.
        return g.polygons.contains { polygonContains($0, corners[0]) }
    }
}
