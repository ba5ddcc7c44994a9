/// A WGS84 longitude/latitude pair in degrees (EPSG:4326; CGCS2000 coincides at map precision).
public struct Coord: Sendable, Hashable, CustomStringConvertible {
    public var lon: Double
    public var lat: Double
    public init(_ lon: Double, _ lat: Double) { self.lon = lon; self.lat = lat }
    public var description: String { "\(lon),\(lat)" }
    /// True when both values are finite and inside the world (−180…180, −90…90).
    public var isInWorld: Bool {
        lon.isFinite && lat.isFinite && lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
    }
}

/// The geometry kinds a layer may accept.
public enum GeometryKind: String, Sendable, CaseIterable {
    case point = "Point", lineString = "LineString", polygon = "Polygon"
    case multiPoint = "MultiPoint", multiLineString = "MultiLineString", multiPolygon = "MultiPolygon"
}

/// A simple-features geometry in lon/lat. Rings of polygons are closed (first == last).
public enum Geometry: Sendable, Equatable {
    case point(Coord)
    case lineString([Coord])
    case polygon([[Coord]])
    case multiPoint([Coord])
    case multiLineString([[Coord]])
    case multiPolygon([[[Coord]]])

    public var kind: GeometryKind {
        switch self {
        case .point: .point
        case .lineString: .lineString
        case .polygon: .polygon
        case .multiPoint: .multiPoint
        case .multiLineString: .multiLineString
        case .multiPolygon: .multiPolygon
        }
    }

    /// Every coordinate, in order.
    public var allCoords: [Coord] {
        switch self {
        case .point(let c): [c]
        case .lineString(let l), .multiPoint(let l): l
        case .polygon(let p), .multiLineString(let p): p.flatMap { $0 }
        case .multiPolygon(let m): m.flatMap { $0.flatMap { $0 } }
        }
    }

    /// The envelope of the geometry.
    public var bbox: BBox { BBox(covering: allCoords) }

    /// The line parts (for lines) or rings (for polygons), flattened; a point gives none.
    public var paths: [[Coord]] {
        switch self {
        case .point, .multiPoint: []
        case .lineString(let l): [l]
        case .polygon(let p), .multiLineString(let p): p
        case .multiPolygon(let m): m.flatMap { $0 }
        }
    }

    /// Polygons as lists of rings (outer first), for polygonal geometries.
    public var polygons: [[[Coord]]] {
        switch self {
        case .polygon(let p): [p]
        case .multiPolygon(let m): m
        default: []
        }
    }

    /// A representative point: the point itself, the middle vertex of a line, the centroid of the outer ring.
    public var representativePoint: Coord {
        switch self {
        case .point(let c): return c
        case .multiPoint(let l): return l.first ?? Coord(0, 0)
        case .lineString(let l): return l.isEmpty ? Coord(0, 0) : Geodesy.pointAlong(l, fraction: 0.5)
        case .multiLineString(let m):
            let longest = m.max { Geodesy.length($0) < Geodesy.length($1) } ?? []
            return longest.isEmpty ? Coord(0, 0) : Geodesy.pointAlong(longest, fraction: 0.5)
        case .polygon, .multiPolygon:
            let outer = polygons.map { $0.first ?? [] }.max { abs(Planar.signedArea($0)) < abs(Planar.signedArea($1)) } ?? []
            return Planar.centroid(outer)
        }
    }
}

/// An axis-aligned box in lon/lat degrees.
public struct BBox: Sendable, Hashable, CustomStringConvertible {
    public var minLon, minLat, maxLon, maxLat: Double
    public init(minLon: Double, minLat: Double, maxLon: Double, maxLat: Double) {
        self.minLon = minLon; self.minLat = minLat; self.maxLon = maxLon; self.maxLat = maxLat
    }
    public init(covering coords: [Coord]) {
        var b = BBox.empty
        for c in coords { b.extend(c) }
        self = b
    }
    public static let empty = BBox(minLon: .infinity, minLat: .infinity, maxLon: -.infinity, maxLat: -.infinity)
    public static let world = BBox(minLon: -180, minLat: -90, maxLon: 180, maxLat: 90)
    public var isEmpty: Bool { minLon > maxLon || minLat > maxLat }
    public var width: Double { maxLon - minLon }
    public var height: Double { maxLat - minLat }
    public var center: Coord { Coord((minLon + maxLon) / 2, (minLat + maxLat) / 2) }
    public mutating func extend(_ c: Coord) {
        minLon = min(minLon, c.lon); minLat = min(minLat, c.lat)
        maxLon = max(maxLon, c.lon); maxLat = max(maxLat, c.lat)
    }
    public func union(_ o: BBox) -> BBox {
        BBox(minLon: min(minLon, o.minLon), minLat: min(minLat, o.minLat), maxLon: max(maxLon, o.maxLon), maxLat: max(maxLat, o.maxLat))
    }
    public func intersects(_ o: BBox) -> Bool {
        !(o.minLon > maxLon || o.maxLon < minLon || o.minLat > maxLat || o.maxLat < minLat)
    }
    public func contains(_ c: Coord) -> Bool {
        c.lon >= minLon && c.lon <= maxLon && c.lat >= minLat && c.lat <= maxLat
    }
    public func expanded(by d: Double) -> BBox {
        BBox(minLon: minLon - d, minLat: minLat - d, maxLon: maxLon + d, maxLat: maxLat + d)
    }
    public var description: String { "\(minLon),\(minLat),\(maxLon),\(maxLat)" }

    /// Parses "minLon,minLat,maxLon,maxLat"; nil when malformed, not finite, out of the world or inverted.
    public static func parse(_ s: String) -> BBox? {
        let parts = s.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let a = parts[0], let b = parts[1], let c = parts[2], let d = parts[3] else { return nil }
        let box = BBox(minLon: a, minLat: b, maxLon: c, maxLat: d)
        guard Coord(a, b).isInWorld, Coord(c, d).isInWorld, a <= c, b <= d else { return nil }
        return box
    }
}

/// A feature: an id, a geometry and its properties.
public struct Feature: Sendable, Equatable {
    public var id: String
    public var geometry: Geometry
    public var properties: [String: JSONValue]
    public init(id: String, geometry: Geometry, properties: [String: JSONValue]) {
        self.id = id; self.geometry = geometry; self.properties = properties
    }
    public subscript(_ key: String) -> JSONValue? { properties[key] }
}
