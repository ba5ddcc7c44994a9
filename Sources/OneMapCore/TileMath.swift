import Foundation

/// An XYZ tile address in the Web Mercator (EPSG:3857) pyramid.
public struct TileID: Sendable, Hashable, CustomStringConvertible {
    public let z: Int, x: Int, y: Int
    public static let maxZoom = 22

    /// Why a z/x/y triple is not a tile.
    public struct Invalid: OneMapError {
        public var description: String
        public var category: ErrorCategory { .badInput }
    }

    public init(z: Int, x: Int, y: Int) throws(Invalid) {
        guard z >= 0, z <= TileID.maxZoom else { throw Invalid(description: "zoom \(z) is outside 0…\(TileID.maxZoom)") }
        let n = 1 << z
        guard x >= 0, x < n else { throw Invalid(description: "x \(x) is outside 0…\(n - 1) at zoom \(z)") }
        guard y >= 0, y < n else { throw Invalid(description: "y \(y) is outside 0…\(n - 1) at zoom \(z)") }
        self.z = z; self.x = x; self.y = y
    }

    /// Parses "z/x/y".
    public init(parsing s: String) throws(Invalid) {
        let p = s.split(separator: "/", omittingEmptySubsequences: false)
        guard p.count == 3, let z = Int(p[0]), let x = Int(p[1]), let y = Int(p[2]) else {
            throw Invalid(description: "tile \"\(s)\" is not z/x/y with whole numbers")
        }
        try self.init(z: z, x: x, y: y)
    }

    public var description: String { "\(z)/\(x)/\(y)" }

    /// The tile's extent in lon/lat.
    public var bbox: BBox {
        let nw = WebMercator.lonLat(tileX: Double(x), tileY: Double(y), zoom: z)
        let se = WebMercator.lonLat(tileX: Double(x + 1), tileY: Double(y + 1), zoom: z)
        return BBox(minLon: nw.lon, minLat: se.lat, maxLon: se.lon, maxLat: nw.lat)
    }

    /// The tile containing a lon/lat point at zoom z.
    public static func containing(_ c: Coord, zoom z: Int) -> (x: Int, y: Int) {
        let t = WebMercator.tile(c, zoom: z)
        let n = (1 << z) - 1
        return (min(n, max(0, Int(t.x.rounded(.down)))), min(n, max(0, Int(t.y.rounded(.down)))))
    }

    /// All tiles at zoom z covering a box.
    public static func covering(_ b: BBox, zoom z: Int) -> [TileID] {
        let a = containing(Coord(b.minLon, b.maxLat), zoom: z), c = containing(Coord(b.maxLon, b.minLat), zoom: z)
        var out: [TileID] = []
        for x in a.x...c.x { for y in a.y...c.y { out.append(try! TileID(z: z, x: x, y: y)) } }
        return out
    }
}

/// Spherical Web Mercator (EPSG:3857) formulas.
public enum WebMercator {
    public static let maxLatitude = 85.0511287798066
    public static let originShift = 20037508.342789244

    /// Fractional tile coordinates of a point at zoom z.
    public static func tile(_ c: Coord, zoom z: Int) -> (x: Double, y: Double) {
        let n = Double(1 << z)
        let lat = max(-maxLatitude, min(maxLatitude, c.lat)) * .pi / 180
        return ((c.lon + 180) / 360 * n, (1 - log(tan(lat) + 1 / cos(lat)) / .pi) / 2 * n)
    }

    /// The lon/lat of fractional tile coordinates.
    public static func lonLat(tileX: Double, tileY: Double, zoom z: Int) -> Coord {
        let n = Double(1 << z)
        let lon = tileX / n * 360 - 180
        let lat = atan(sinh(.pi * (1 - 2 * tileY / n))) * 180 / .pi
        return Coord(lon, lat)
    }

    /// Projected metres.
    public static func project(_ c: Coord) -> (x: Double, y: Double) {
        let lat = max(-maxLatitude, min(maxLatitude, c.lat)) * .pi / 180
        return (c.lon * originShift / 180, log(tan(.pi / 4 + lat / 2)) * 6378137)
    }
}
