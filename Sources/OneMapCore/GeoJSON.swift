/// Why a GeoJSON geometry was refused.
public struct GeometryError: OneMapError, Equatable {
    public var category: ErrorCategory { .badInput }
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Reading and writing GeoJSON (RFC 7946) geometries and features.
public enum GeoJSON {
    /// Decodes a geometry object. Coordinates must be finite and inside the world; rings must be
    /// closed with at least four positions; lines need two positions.
    public static func geometry(from v: JSONValue) throws(GeometryError) -> Geometry {
        guard let o = v.objectValue else { throw GeometryError("geometry must be an object, got \(v.typeName)") }
        guard let type = o["type"]?.stringValue else { throw GeometryError("geometry has no \"type\" string") }
        guard let coords = o["coordinates"] else {
            throw GeometryError("\(type) geometry has no \"coordinates\"")
        }
        switch type {
        case "Point": return .point(try position(coords, at: "coordinates"))
        case "MultiPoint": return .multiPoint(try positions(coords, at: "coordinates"))
        case "LineString": return .lineString(try line(coords, at: "coordinates"))
        case "MultiLineString":
            guard let parts = coords.arrayValue, !parts.isEmpty else { throw GeometryError("MultiLineString needs a non-empty array of lines") }
            var out: [[Coord]] = []
            for (k, p) in parts.enumerated() { out.append(try line(p, at: "coordinates[\(k)]")) }
            return .multiLineString(out)
        case "Polygon": return .polygon(try polygon(coords, at: "coordinates"))
        case "MultiPolygon":
            guard let parts = coords.arrayValue, !parts.isEmpty else { throw GeometryError("MultiPolygon needs a non-empty array of polygons") }
            var out: [[[Coord]]] = []
            for (k, p) in parts.enumerated() { out.append(try polygon(p, at: "coordinates[\(k)]")) }
            return .multiPolygon(out)
        case "GeometryCollection": throw GeometryError("GeometryCollection is not supported; use one feature per geometry")
        default: throw GeometryError("unknown geometry type \"\(type)\"")
        }
    }

    /// Decodes a position [lon, lat]; `path` names it in errors.
    public static func position(_ v: JSONValue, at path: String) throws(GeometryError) -> Coord {
        guard let a = v.arrayValue, a.count >= 2, a.count <= 3 else {
            throw GeometryError("\(path) must be a position [lon, lat]")
        }
        guard let lon = a[0].doubleValue, let lat = a[1].doubleValue else {
            throw GeometryError("\(path) must hold numbers")
        }
        let c = Coord(lon, lat)
        guard lon.isFinite, lat.isFinite else { throw GeometryError("\(path) is not finite") }
        guard c.isInWorld else { throw GeometryError("\(path) [\(lon), \(lat)] is outside the world (lon −180…180, lat −90…90)") }
        return c
    }

    static func positions(_ v: JSONValue, at path: String) throws(GeometryError) -> [Coord] {
        guard let a = v.arrayValue, !a.isEmpty else { throw GeometryError("\(path) must be a non-empty array of positions") }
        var out: [Coord] = []
        out.reserveCapacity(a.count)
        for (k, p) in a.enumerated() { out.append(try position(p, at: "\(path)[\(k)]")) }
        return out
    }

    static func line(_ v: JSONValue, at path: String) throws(GeometryError) -> [Coord] {
        let l = try positions(v, at: path)
        guard l.count >= 2 else { throw GeometryError("\(path): a line needs at least 2 positions") }
        guard Set(l).count >= 2 else { throw GeometryError("\(path): a line needs 2 distinct positions") }
        return l
    }

    static func polygon(_ v: JSONValue, at path: String) throws(GeometryError) -> [[Coord]] {
        guard let rings = v.arrayValue, !rings.isEmpty else { throw GeometryError("\(path) must be a non-empty array of rings") }
        var out: [[Coord]] = []
        for (k, r) in rings.enumerated() {
            let ring = try positions(r, at: "\(path)[\(k)]")
            guard ring.count >= 4 else { throw GeometryError("\(path)[\(k)]: a ring needs at least 4 positions") }
            guard ring.first == ring.last else { throw GeometryError("\(path)[\(k)]: ring is not closed (first and last positions differ)") }
            out.append(ring)
        }
        return out
    }

    /// Encodes a geometry as a GeoJSON object.
    public static func json(_ g: Geometry) -> JSONValue {
        func pos(_ c: Coord) -> JSONValue { .array([.number(c.lon), .number(c.lat)]) }
        func line(_ l: [Coord]) -> JSONValue { .array(l.map(pos)) }
        func poly(_ p: [[Coord]]) -> JSONValue { .array(p.map(line)) }
        let coords: JSONValue
        switch g {
        case .point(let c): coords = pos(c)
        case .multiPoint(let l), .lineString(let l): coords = line(l)
        case .polygon(let p), .multiLineString(let p): coords = poly(p)
        case .multiPolygon(let m): coords = .array(m.map(poly))
        }
        return ["type": .string(g.kind.rawValue), "coordinates": coords]
    }

    /// Encodes a feature as a GeoJSON Feature object.
    public static func json(_ f: Feature) -> JSONValue {
        var props = JSONObject()
        for k in f.properties.keys.sorted() { props[k] = f.properties[k] }
        return ["type": "Feature", "id": .string(f.id), "geometry": json(f.geometry), "properties": .object(props)]
    }

    /// A FeatureCollection of features.
    public static func collection(_ features: [Feature], extra: [(String, JSONValue)] = []) -> JSONValue {
        var o = JSONObject([("type", "FeatureCollection")])
        for (k, v) in extra { o[k] = v }
        o["features"] = .array(features.map(json))
        return .object(o)
    }
}
