import CProj
import Foundation
import OneMapCore

/// Converts coordinates from another CRS to WGS84 lon/lat with PROJ — for data delivered in
/// CGCS2000 Gauss–Krüger, Web Mercator or the like. One PROJ context per instance; use an
/// instance from one thread at a time.
public final class Reprojector {
    private let ctx: OpaquePointer
    private let pj: OpaquePointer
    public let source: String

    /// `source` is anything PROJ understands: "EPSG:4549", "EPSG:3857", "urn:ogc:def:crs:EPSG::4490", a PROJ string.
    public init(from source: String) throws(StoreError) {
        self.source = source
        guard let c = proj_context_create() else { throw StoreError(.internal, "cannot create a PROJ context") }
        guard let raw = proj_create_crs_to_crs(c, source, "EPSG:4326", nil) else {
            let why = String(cString: proj_context_errno_string(c, proj_context_errno(c)))
            proj_context_destroy(c)
            throw StoreError(.badInput, "unknown coordinate reference system \"\(source)\": \(why)")
        }
        // Axis order lon, lat whatever the CRS definitions say.
        guard let norm = proj_normalize_for_visualization(c, raw) else {
            proj_destroy(raw)
            proj_context_destroy(c)
            throw StoreError(.badInput, "cannot normalise the axis order of \"\(source)\"")
        }
        proj_destroy(raw)
        ctx = c
        pj = norm
    }

    deinit {
        proj_destroy(pj)
        proj_context_destroy(ctx)
    }

    /// One position; nil when PROJ cannot transform it.
    public func transform(_ x: Double, _ y: Double) -> Coord? {
        let r = proj_trans(pj, PJ_FWD, proj_coord(x, y, 0, 0))
        let lon = r.xy.x, lat = r.xy.y
        guard lon.isFinite, lat.isFinite, lon != .infinity else { return nil }
        return Coord(lon, lat)
    }

    /// A GeoJSON Feature with its geometry and point-valued properties transformed. Positions
    /// PROJ cannot transform become non-finite, so validation reports them where they are.
    func transformFeature(_ v: JSONValue, pointProperties: [String]) -> JSONValue {
        guard case .object(var o) = v else { return v }
        func coords(_ c: JSONValue) -> JSONValue {
            guard case .array(let a) = c else { return c }
            if a.count >= 2, let x = a[0].doubleValue, let y = a[1].doubleValue {
                guard let p = transform(x, y) else { return [.number(.infinity), .number(.infinity)] }
                return [.number(p.lon), .number(p.lat)]
            }
            return .array(a.map(coords))
        }
        if case .object(var g)? = o["geometry"], let c = g["coordinates"] {
            g["coordinates"] = coords(c)
            o["geometry"] = .object(g)
        }
        if case .object(var props)? = o["properties"] {
            for k in pointProperties { if let p = props[k] { props[k] = coords(p) } }
            o["properties"] = .object(props)
        }
        return .object(o)
    }

    /// The CRS a (2008-style) GeoJSON document declares in its "crs" member, if any.
    static func declaredCRS(_ doc: JSONValue) -> String? {
        guard let name = doc["crs"]?["properties"]?["name"]?.stringValue else { return nil }
        let isWGS84 = ["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326", "EPSG:4326", "CRS84"].contains(name)
        return isWGS84 ? nil : name
    }
}
