import CGDAL
import Foundation
import OneMapCore

/// A source that cannot be read as asked: one sentence naming the file and what to do.
public struct SourceError: OneMapError {
    public let category: ErrorCategory
    public let description: String
    public init(_ category: ErrorCategory, _ description: String) { self.category = category; self.description = description }
    /// Bad input: the file or the options given are wrong.
    public init(_ description: String) { self.init(.badInput, description) }
}

/// GDAL's functions, loaded at first use (see CGDAL/shim.h for why it is not linked). Only after
/// `GDAL.ready()` (every `GDALSource` and `CRS` calls it first).
let gdal: onemap_gdal_api = {
    switch GDAL.loaded {
    case .success(let api): return api
    case .failure(let e): preconditionFailure("GDAL used before GDAL.ready(): \(e)")
    }
}()

/// GDAL, registered once per process. GDAL's own messages are silenced; each failing call is
/// turned into a `SourceError` that quotes `CPLGetLastErrorMsg` (GDAL keeps it per thread).
enum GDAL {
    /// The library's functions, or why it could not be loaded (CGDAL/shim.h).
    static let loaded: Result<onemap_gdal_api, SourceError> = {
        // Filled field by field by the loader (the struct has no default value in Swift).
        let api = UnsafeMutablePointer<onemap_gdal_api>.allocate(capacity: 1)
        defer { api.deallocate() }
        if let why = onemap_gdal_load(api) { return .failure(SourceError(.unavailable, String(cString: why))) }
        return .success(api.pointee)
    }()

    static let registered: Result<Void, SourceError> = loaded.map { api in
        api.GDALAllRegister()
        api.CPLSetErrorHandler(api.CPLQuietErrorHandler)
    }

    /// Loads and registers GDAL once per process; call before any `gdal.` function.
    /// - Throws: `SourceError(.unavailable)` when libgdal is missing or too old.
    static func ready() throws(SourceError) { try registered.get() }

    /// Throws when the last GDAL call on this thread failed (after `CPLErrorReset`): a read
    /// that ended on an error, which GDAL reports as the end of the data.
    static func checkRead(_ path: String, layer: String?) throws(SourceError) {
        guard gdal.CPLGetLastErrorType().rawValue >= CE_Failure.rawValue else { return }
        let which = layer.map { " (layer \($0))" } ?? ""
        throw SourceError("\(path)\(which) is damaged or cut short: GDAL stopped reading it (\(lastError)); nothing was imported — copy the file again (a Shapefile's .shp, .shx and .dbf together) and retry")
    }

    static var lastError: String {
        let m = String(cString: gdal.CPLGetLastErrorMsg()!)
        return m.isEmpty ? "GDAL gave no reason" : m
    }

    /// A GDAL string list (`char **`) for open options; free with `CSLDestroy`.
    static func stringList(_ items: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        var list: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = nil
        for i in items { list = gdal.CSLAddString(list, i) }
        return list
    }

    static func constList(_ l: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> UnsafePointer<UnsafePointer<CChar>?>? {
        l.map { UnsafePointer<UnsafePointer<CChar>?>(OpaquePointer($0)) }
    }

    /// Bytes of a C string GDAL owns (not decoded: Shapefile and CSV text is in the file's encoding).
    static func bytes(_ p: UnsafePointer<CChar>?) -> [UInt8] {
        guard let p else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
    }
}

/// One vector dataset opened read-only through GDAL (a Shapefile, a GeoPackage, a .gdb folder, a
/// KML, a CSV, an OSM PBF…). Not thread-safe: use from one thread.
final class VectorDataset {
    let handle: GDALDatasetH
    let path: String
    /// GDAL's short driver name: "ESRI Shapefile", "GPKG", "OpenFileGDB", "KML", "LIBKML", "GPX", "CSV", "GeoJSON", "OSM".
    let driver: String

    /// Opens `path`. Shapefiles are opened without GDAL's recoding (open option ENCODING=""), so
    /// onemap decodes their text itself and can refuse what does not decode; CSVs find lon/lat or
    /// WKT columns by their usual names.
    /// - Throws: `SourceError` when the file is missing or GDAL cannot read it as vector data.
    init(path: String) throws(SourceError) {
        try GDAL.ready()
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw SourceError(.notFound, "no such file or directory: \(path)") }
        let ext = (path as NSString).pathExtension.lowercased()
        if ext == "shp" {
            let stem = (path as NSString).deletingPathExtension
            let dir = (path as NSString).deletingLastPathComponent
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
            let base = (stem as NSString).lastPathComponent.lowercased()
            for needed in ["dbf", "shx"] where !names.contains(where: { $0.lowercased() == base + "." + needed }) {
                let what = needed == "dbf" ? "the attributes (names, classes, codes…)" : "the index of the shapes"
                throw SourceError("\(path) has no \((stem as NSString).lastPathComponent).\(needed) beside it: a Shapefile keeps \(what) there; copy the .shp, .shx, .dbf, .prj and .cpg files together")
            }
        }
        var options: [String] = []
        var rawOptions: [[UInt8]] = []
        var drivers: [String]? = nil
        switch ext {
        case "shp", "dbf":
            options = ["ENCODING="]
            drivers = ["ESRI Shapefile"]
        case "csv", "tsv":
            // GDAL matches header names as bytes: the Chinese names also in GBK (经度 BE AD B6 C8,
            // 纬度 CE B3 B6 C8), since county CSVs are often GBK.
            rawOptions = [
                Array("X_POSSIBLE_NAMES=lon,lng,long,longitude,x,经度,X坐标,".utf8) + [0xBE, 0xAD, 0xB6, 0xC8, 0x2C, 0x58, 0xD7, 0xF8, 0xB1, 0xEA],
                Array("Y_POSSIBLE_NAMES=lat,latitude,y,纬度,Y坐标,".utf8) + [0xCE, 0xB3, 0xB6, 0xC8, 0x2C, 0x59, 0xD7, 0xF8, 0xB1, 0xEA],
            ]
            // No AUTODETECT_TYPE: it turned ids like 00012 and 18-digit ID numbers into numbers.
            // Every CSV value stays text; the mapping makes numbers of number-typed properties.
            options = ["GEOM_POSSIBLE_NAMES=wkt,geometry,geom,the_geom", "KEEP_GEOM_COLUMNS=NO"]
            drivers = ["CSV"]
        default: break
        }
        var opts = GDAL.stringList(options)
        for raw in rawOptions { opts = (raw + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { gdal.CSLAddString(opts, $0.baseAddress) } } }
        defer { gdal.CSLDestroy(opts) }
        let allowed = drivers.map { GDAL.stringList($0) } ?? nil
        defer { gdal.CSLDestroy(allowed) }
        gdal.CPLErrorReset()
        guard let h = gdal.GDALOpenEx(path, UInt32(GDAL_OF_VECTOR | GDAL_OF_READONLY), GDAL.constList(allowed), GDAL.constList(opts), nil) else {
            let why = String(cString: gdal.CPLGetLastErrorMsg()!)
            throw SourceError("GDAL cannot read \(path) as vector data (Shapefile, GeoPackage, FileGDB, KML, GPX, CSV, GeoJSON or OpenStreetMap)\(why.isEmpty ? "" : ": " + why)")
        }
        handle = h
        driver = String(cString: gdal.GDALGetDriverShortName(gdal.GDALGetDatasetDriver(h))!)
    }

    deinit { gdal.GDALClose(handle) }

    var layers: [VectorLayer] {
        (0..<gdal.GDALDatasetGetLayerCount(handle)).compactMap { i in gdal.GDALDatasetGetLayer(handle, i).map { VectorLayer(dataset: self, handle: $0) } }
    }

    /// Whether features must be read through the dataset in file order (OpenStreetMap: GDAL reads
    /// points, lines and polygons in one interleaved pass).
    var interleaved: Bool { driver == "OSM" }

    /// The next feature in file order and its layer, for interleaved drivers; nil at the end.
    /// The next feature of any layer (OpenStreetMap files interleave them), or nil at the end.
    /// - Throws: `SourceError` when GDAL stopped on a read error (a truncated file).
    func nextInterleaved() throws(SourceError) -> (OGRFeatureH, OGRLayerH)? {
        var layer: OGRLayerH? = nil
        gdal.CPLErrorReset()
        guard let f = gdal.GDALDatasetGetNextFeature(handle, &layer, nil, nil, nil), let layer else {
            try GDAL.checkRead(path, layer: nil)
            return nil
        }
        return (f, layer)
    }
}

/// A field of a source layer: its raw name bytes (decoded with the layer's text encoding) and GDAL type.
struct SourceField {
    var rawName: [UInt8]
    var type: OGRFieldType
    var typeName: String {
        switch type {
        case OFTInteger, OFTInteger64: "integer"
        case OFTReal: "real"
        case OFTString: "text"
        case OFTDate: "date"
        case OFTDateTime: "datetime"
        case OFTTime: "time"
        default: String(cString: gdal.OGR_GetFieldTypeName(type)!)
        }
    }
}

/// A field value as GDAL holds it; text stays bytes until the layer's encoding decodes it.
enum SourceValue {
    case text([UInt8])
    case integer(Int64)
    case real(Double)
    /// A date or date-time, already ISO 8601.
    case date(String)
}

/// One layer of a `VectorDataset`.
struct VectorLayer {
    let dataset: VectorDataset
    let handle: OGRLayerH

    var name: String { String(cString: gdal.OGR_L_GetName(handle)!) }
    /// Features GDAL counts (may scan the file; -1 when unknown).
    var featureCount: Int64 { gdal.OGR_L_GetFeatureCount(handle, 1) }
    var geometryTypeName: String { String(cString: gdal.OGRGeometryTypeToName(gdal.OGR_L_GetGeomType(handle))!) }
    var fields: [SourceField] {
        let defn = gdal.OGR_L_GetLayerDefn(handle)
        return (0..<gdal.OGR_FD_GetFieldCount(defn)).map { i in
            let fd = gdal.OGR_FD_GetFieldDefn(defn, i)
            return SourceField(rawName: GDAL.bytes(gdal.OGR_Fld_GetNameRef(fd)), type: gdal.OGR_Fld_GetType(fd))
        }
    }
    /// Whether the driver promises UTF-8 text (GeoPackage, GeoJSON, KML, FileGDB, OSM do).
    var stringsAreUTF8: Bool { gdal.OGR_L_TestCapability(handle, OLCStringsAsUTF8) != 0 }
    var spatialReference: OGRSpatialReferenceH? { gdal.OGR_L_GetSpatialRef(handle) }

    func metadata(_ key: String, domain: String) -> String? {
        guard let p = gdal.GDALGetMetadataItem(handle, key, domain) else { return nil }
        let s = String(cString: p)
        return s.isEmpty ? nil : s
    }

    /// The layer's extent in its own coordinates, or nil when empty or unknown.
    var extent: (minX: Double, minY: Double, maxX: Double, maxY: Double)? {
        var e = OGREnvelope()
        guard gdal.OGR_L_GetExtent(handle, &e, 1) == OGRERR_NONE, e.MinX <= e.MaxX else { return nil }
        return (e.MinX, e.MinY, e.MaxX, e.MaxY)
    }

    /// The layer's extent in WGS84 lon/lat: its corners and centre through `transform` (nil when
    /// the layer is already lon/lat), or nil when empty or not transformable.
    func extentWGS84(_ transform: CRS.Transform?) -> BBox? {
        guard let e = extent else { return nil }
        var xs = [e.minX, e.maxX, e.minX, e.maxX, (e.minX + e.maxX) / 2]
        var ys = [e.minY, e.minY, e.maxY, e.maxY, (e.minY + e.maxY) / 2]
        if let t = transform {
            var zs = [Double](repeating: 0, count: 5)
            guard gdal.OCTTransform(t.handle, 5, &xs, &ys, &zs) != 0 else { return nil }
        }
        let cs = zip(xs, ys).map { Coord($0, $1) }
        guard cs.allSatisfy({ $0.lon.isFinite && $0.lat.isFinite && abs($0.lon) <= 180 && abs($0.lat) <= 90 }) else { return nil }
        return BBox(covering: cs)
    }

    func reset() { gdal.OGR_L_ResetReading(handle) }
    /// The next feature, or nil at the end of the layer.
    /// - Throws: `SourceError` when GDAL stopped on a read error rather than at the end: a
    ///   truncated .dbf or .shp ends the layer early, and its features must not import in part.
    func next() throws(SourceError) -> OGRFeatureH? {
        gdal.CPLErrorReset()
        if let f = gdal.OGR_L_GetNextFeature(handle) { return f }
        try GDAL.checkRead(dataset.path, layer: name)
        return nil
    }
}

/// Reading one feature GDAL handed over (the caller destroys it with `OGR_F_Destroy`).
enum SourceFeature {
    static func fid(_ f: OGRFeatureH) -> Int64 { gdal.OGR_F_GetFID(f) }

    static func value(_ f: OGRFeatureH, _ i: Int32, _ type: OGRFieldType) -> SourceValue? {
        guard gdal.OGR_F_IsFieldSetAndNotNull(f, i) != 0 else { return nil }
        switch type {
        case OFTInteger, OFTInteger64: return .integer(gdal.OGR_F_GetFieldAsInteger64(f, i))
        case OFTReal: return .real(gdal.OGR_F_GetFieldAsDouble(f, i))
        case OFTDate, OFTDateTime:
            var y: Int32 = 0, mo: Int32 = 0, d: Int32 = 0, h: Int32 = 0, mi: Int32 = 0, tz: Int32 = 0
            var s: Float = 0
            guard gdal.OGR_F_GetFieldAsDateTimeEx(f, i, &y, &mo, &d, &h, &mi, &s, &tz) != 0 else { return .text(GDAL.bytes(gdal.OGR_F_GetFieldAsString(f, i))) }
            if type == OFTDate { return .date(String(format: "%04d-%02d-%02d", y, mo, d)) }
            var iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, h, mi, Int(s))
            // GDAL's TZ flag: 100 = UTC, 100±4n = offset in quarter hours; 0/1 unknown/local.
            if tz >= 100 {
                let q = Int(tz) - 100
                iso += q == 0 ? "Z" : String(format: "%@%02d:%02d", q < 0 ? "-" : "+", abs(q) / 4, abs(q) % 4 * 15)
            }
            return .date(iso)
        default:
            return .text(GDAL.bytes(gdal.OGR_F_GetFieldAsString(f, i)))
        }
    }

    /// The feature's geometry in WGS84 lon/lat: curves made linear, Z and M dropped, transformed
    /// with `transform` (nil when the source is already lon/lat). Every position must be finite
    /// and inside ±180/±90 after the transform.
    static func geometry(_ f: OGRFeatureH, transform: OGRCoordinateTransformationH?, crsName: String) -> Result<Geometry, SourceGeometryProblem> {
        guard let g0 = gdal.OGR_F_GetGeometryRef(f) else { return .failure(.init("missing geometry")) }
        var g = g0
        var owned: OGRGeometryH? = nil
        defer { if let owned { gdal.OGR_G_DestroyGeometry(owned) } }
        if gdal.OGR_GT_IsNonLinear(gdal.OGR_G_GetGeometryType(g)) != 0, let lin = gdal.OGR_G_GetLinearGeometry(g, 0, nil) {
            owned = lin
            g = lin
        }
        if gdal.OGR_G_IsEmpty(g) != 0 { return .failure(.init("empty geometry")) }
        if let transform, gdal.OGR_G_Transform(g, transform) != OGRERR_NONE {
            return .failure(.init("cannot transform from \(crsName) to WGS84: \(GDAL.lastError)"))
        }
        gdal.OGR_G_FlattenTo2D(g)
        let n = Int(gdal.OGR_G_WkbSize(g))
        var buf = [UInt8](repeating: 0, count: n)
        guard gdal.OGR_G_ExportToIsoWkb(g, wkbNDR, &buf) == OGRERR_NONE else { return .failure(.init("GDAL cannot export the geometry: \(GDAL.lastError)")) }
        let geom: Geometry
        do { geom = try WKB.decode(buf) } catch {
            return .failure(.init("unsupported geometry \(String(cString: gdal.OGRGeometryTypeToName(gdal.OGR_G_GetGeometryType(g))!)) (\(error.description))"))
        }
        if geom.kind == .lineString || geom.kind == .multiLineString, geom.paths.contains(where: { Set($0).count < 2 }) {
            return .failure(.init("a line needs at least two distinct positions"))
        }
        for c in geom.allCoords where !(c.lon.isFinite && c.lat.isFinite && abs(c.lon) <= 180 && abs(c.lat) <= 90) {
            return .failure(.init("position \(c.lon), \(c.lat) is not a longitude/latitude after reading it as \(crsName); if the file's coordinate reference system is missing or wrong, pass --crs EPSG:N (e.g. EPSG:4537 for CGCS2000 3-degree Gauss–Krüger CM 84°E)"))
        }
        return .success(geom)
    }

    /// A point on the surface of the feature's geometry (GEOS through GDAL), already in WGS84.
    static func pointOnSurface(_ g: Geometry) -> Coord? {
        let wkb = WKB.encode(g)
        var geom: OGRGeometryH? = nil
        let rc = wkb.withUnsafeBufferPointer { b -> OGRErr in
            gdal.OGR_G_CreateFromWkbEx(b.baseAddress, nil, &geom, b.count)
        }
        guard rc == OGRERR_NONE, let geom else { return nil }
        defer { gdal.OGR_G_DestroyGeometry(geom) }
        guard let p = gdal.OGR_G_PointOnSurface(geom) else { return nil }
        defer { gdal.OGR_G_DestroyGeometry(p) }
        return Coord(gdal.OGR_G_GetX(p, 0), gdal.OGR_G_GetY(p, 0))
    }
}

struct SourceGeometryProblem: Error {
    let reason: String
    init(_ r: String) { reason = r }
}

/// A coordinate reference system (through GDAL's OGRSpatialReference, which uses PROJ).
final class CRS {
    let handle: OGRSpatialReferenceH

    /// Parses anything GDAL understands: "EPSG:4537", a WKT, a PROJ string, "urn:ogc:def:crs:EPSG::4490".
    /// - Throws: `SourceError` naming the text when GDAL does not know it.
    init(_ text: String) throws(SourceError) {
        try GDAL.ready()
        let h = gdal.OSRNewSpatialReference(nil)!
        // Only a parsed CRS becomes `handle` (deinit destroys it; a failed init must not leave it twice).
        guard gdal.OSRSetFromUserInput(h, text) == OGRERR_NONE else {
            gdal.OSRDestroySpatialReference(h)
            throw SourceError("unknown coordinate reference system \"\(text)\"; give it as EPSG:N, e.g. EPSG:4490 (CGCS2000) or EPSG:4537 (CGCS2000 3-degree Gauss–Krüger CM 84°E)")
        }
        handle = h
        gdal.OSRSetAxisMappingStrategy(handle, OAMS_TRADITIONAL_GIS_ORDER)
    }

    /// A copy of a layer's CRS (GDAL owns the original).
    init(copying h: OGRSpatialReferenceH) {
        handle = gdal.OSRClone(h)!
        gdal.OSRSetAxisMappingStrategy(handle, OAMS_TRADITIONAL_GIS_ORDER)
    }

    deinit { gdal.OSRDestroySpatialReference(handle) }

    /// WGS84 lon/lat (EPSG:4326, traditional axis order). A new object each time: GDAL objects are not shared across threads.
    static var wgs84: CRS { try! CRS("EPSG:4326") }

    var name: String { gdal.OSRGetName(handle).map { String(cString: $0) } ?? "unnamed CRS" }
    var isGeographic: Bool { gdal.OSRIsGeographic(handle) != 0 }

    /// "EPSG:4537" when the CRS is (or closely matches, as a .prj written by ArcGIS does) an EPSG one.
    var epsg: String? {
        if let a = gdal.OSRGetAuthorityName(handle, nil), String(cString: a) == "EPSG", let c = gdal.OSRGetAuthorityCode(handle, nil) {
            return "EPSG:" + String(cString: c)
        }
        var count: Int32 = 0
        var confidences: UnsafeMutablePointer<Int32>? = nil
        guard let matches = gdal.OSRFindMatches(handle, nil, &count, &confidences) else { return nil }
        defer { gdal.OSRFreeSRSArray(matches); gdal.VSIFree(confidences) }
        guard count > 0, let conf = confidences, conf[0] >= 70, let m = matches[0],
              let a = gdal.OSRGetAuthorityName(m, nil), String(cString: a) == "EPSG", let c = gdal.OSRGetAuthorityCode(m, nil) else { return nil }
        return "EPSG:" + String(cString: c)
    }

    /// "CGCS2000 / 3-degree Gauss-Kruger CM 84E (EPSG:4537)".
    var label: String { epsg.map { "\(name) (\($0))" } ?? name }

    /// Whether this CRS is WGS84 lon/lat itself (no transform needed).
    var isWGS84: Bool {
        let w = CRS.wgs84
        return withExtendedLifetime(w) { gdal.OSRIsSame(handle, w.handle) != 0 }
    }

    /// A transformation from this CRS to WGS84 lon/lat.
    /// - Throws: `SourceError` when PROJ has no way between them.
    func transformToWGS84() throws(SourceError) -> Transform {
        let w = CRS.wgs84
        guard let ct = withExtendedLifetime(w, { gdal.OCTNewCoordinateTransformation(handle, w.handle) }) else {
            throw SourceError("cannot transform from \(label) to WGS84: \(GDAL.lastError)")
        }
        return Transform(handle: ct)
    }

    final class Transform {
        let handle: OGRCoordinateTransformationH
        init(handle: OGRCoordinateTransformationH) { self.handle = handle }
        deinit { gdal.OCTDestroyCoordinateTransformation(handle) }
    }
}
