import Foundation
import OneMapCore

/// What an import loaded.
public struct ImportReport: Sendable {
    public var counts: [(layer: String, features: Int)]
    public var total: Int { counts.reduce(0) { $0 + $1.features } }
}

/// An import refused: every problem found (up to `ImportFailure.keep`) and how many there were.
public struct ImportFailure: OneMapError {
    public var category: ErrorCategory { .badInput }
    public static let keep = 1000
    public var problems: [FeatureProblem]
    public var total: Int
    public var description: String {
        "import refused, nothing was changed: \(total) problem\(total == 1 ? "" : "s") found; first: \(problems.first?.description ?? "?")"
    }
}

/// Phases reported to a progress callback.
public enum ImportPhase: String, Sendable { case reading = "reading", validating = "validating", writing = "writing" }

/// GeoJSON files, parsed and assigned to layers.
struct LayerFile {
    var layer: LayerSpec
    var file: String
    var features: [JSONValue]
    /// The CRS the document declares in a legacy "crs" member, when not WGS84.
    var declaredCRS: String? = nil
}

extension Store {
    /// Imports GeoJSON: a directory of `<layer>.geojson` files or one such file. Every feature is
    /// validated first; the import is one transaction, so on any problem nothing changes. Features
    /// whose id already exists are replaced (their version goes up). `layer` names the layer of a
    /// single file whose name does not.
    /// Unless `anywhere`, features far from the rest are refused as a likely wrong CRS or swapped
    /// lon/lat (`distantFeatures`), as the GDAL import does.
    public func importGeoJSON(at path: String, actor: String = "import", crs: String? = nil, layer: String? = nil, anywhere: Bool = false,
                              progress: ((ImportPhase, Int, Int) -> Void)? = nil) throws -> ImportReport {
        let files = try Store.geoJSONFiles(at: path)
        let forcedLayer = try layer.map { (l: String) throws(StoreError) -> LayerSpec in try Layers.spec(l) }
        // A CRS given by the caller wins; otherwise a file's own "crs" member; otherwise WGS84.
        let forced = try crs.map { (c: String) throws(StoreError) -> Reprojector in try Reprojector(from: c) }
        var loaded: [LayerFile] = []
        var problems = ProblemList()
        for (k, f) in files.enumerated() {
            progress?(.reading, k, files.count)
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: f))
                var lf = try Store.parseCollection(Array(data), file: f, layer: files.count == 1 ? forcedLayer : nil)
                if let r = try forced ?? lf.declaredCRS.map({ (c: String) throws(StoreError) -> Reprojector in try Reprojector(from: c) }) {
                    let points = lf.layer.pointColumns.map(\.name)
                    lf.features = lf.features.map { r.transformFeature($0, pointProperties: points) }
                }
                loaded.append(lf)
            } catch let p as FeatureProblem {
                problems.add(p)
            } catch {
                problems.add(FeatureProblem(file: f, index: nil, reason: "cannot read the file: \(error.localizedDescription)"))
            }
        }
        progress?(.reading, files.count, files.count)
        if !anywhere {
            let stored = try layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) }
            for p in Store.distantFeatures(loaded, stored: stored, crs: crs) { problems.add(p) }
        }
        return try importCollections(loaded, problems: problems, actor: actor, progress: progress)
    }

    /// Features more than 5° (some 500 km) from where they should be: a file whose features lie
    /// around a point that far from the largest file's, and features that far from the data
    /// already in the store (`stored`, empty for a new store). A wrong CRS or swapped lon/lat
    /// puts features hundreds to thousands of kilometres away; each problem says the distance
    /// and what to check. Positions are read from the raw GeoJSON (after reprojection).
    static func distantFeatures(_ files: [LayerFile], stored: BBox, crs: String?) -> [FeatureProblem] {
        let read = crs ?? "WGS84 lon/lat"
        var out: [FeatureProblem] = []
        let centres = files.map { $0.features.map(Store.rawCentre) }
        let boxes = centres.map { $0.compactMap { $0 }.reduce(BBox.empty) { $0.union(BBox(minLon: $1.lon, minLat: $1.lat, maxLon: $1.lon, maxLat: $1.lat)) } }
        if let ref = files.indices.filter({ !boxes[$0].isEmpty }).max(by: { files[$0].features.count < files[$1].features.count }) {
            for k in files.indices where !boxes[k].isEmpty {
                guard let why = Nearby.apart(boxes[k], from: boxes[ref], named: (files[ref].file as NSString).lastPathComponent, crs: read) else { continue }
                out.append(FeatureProblem(file: files[k].file, index: nil, property: "geometry", reason: why))
            }
        }
        guard !stored.isEmpty else { return out }
        let nearby = Nearby(extent: stored)
        for (k, lf) in files.enumerated() {
            for (i, c) in centres[k].enumerated() {
                guard let c, let why = nearby.problem(at: c, crs: read) else { continue }
                out.append(FeatureProblem(file: lf.file, index: i, featureID: lf.features[i]["id"]?.stringValue, property: "geometry", reason: why))
            }
        }
        return out
    }

    /// The centre of a raw GeoJSON feature's coordinates (its bounding box's), nil when it has none.
    static func rawCentre(_ f: JSONValue) -> Coord? {
        var b = BBox.empty
        func walk(_ v: JSONValue) {
            guard let a = v.arrayValue else { return }
            if a.count >= 2, let x = a[0].doubleValue, let y = a[1].doubleValue, x.isFinite, y.isFinite {
                b = b.union(BBox(minLon: x, minLat: y, maxLon: x, maxLat: y))
            } else {
                for e in a { walk(e) }
            }
        }
        f["geometry"]?["coordinates"].map(walk)
        for g in f["geometry"]?["geometries"]?.arrayValue ?? [] { g["coordinates"].map(walk) }
        return b.isEmpty ? nil : b.center
    }

    /// Imports one GeoJSON document (a FeatureCollection or a Feature) into `layer`.
    public func importGeoJSON(text: String, layer: String, name: String = "<request>", actor: String) throws -> ImportReport {
        let spec = try Layers.spec(layer)
        var problems = ProblemList()
        var loaded: [LayerFile] = []
        do {
            var lf = try Store.parseCollection(Array(text.utf8), file: name, layer: spec)
            lf.layer = spec
            loaded.append(lf)
        } catch let p as FeatureProblem {
            problems.add(p)
        }
        return try importCollections(loaded, problems: problems, actor: actor, progress: nil)
    }

    static func geoJSONFiles(at path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw StoreError(.notFound, "no such file or directory: \(path)")
        }
        guard isDir.boolValue else { return [path] }
        let names = try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { $0.hasSuffix(".geojson") || $0.hasSuffix(".json") }
        guard !names.isEmpty else { throw StoreError(.badInput, "\(path) holds no .geojson files") }
        return names.map { (path as NSString).appendingPathComponent($0) }
            .sorted { (Layers.order(layerName(of: $0)), $0) < (Layers.order(layerName(of: $1)), $1) }
    }

    static func layerName(of file: String) -> String {
        var n = (file as NSString).lastPathComponent
        for ext in [".geojson", ".json"] where n.hasSuffix(ext) { n.removeLast(ext.count) }
        return n
    }

    static func parseCollection(_ bytes: [UInt8], file: String, layer: LayerSpec? = nil) throws -> LayerFile {
        let doc: JSONValue
        do { doc = try JSONParser.parse(bytes) } catch {
            throw FeatureProblem(file: file, index: nil, reason: error.description)
        }
        let spec: LayerSpec
        if let layer {
            spec = layer
        } else {
            let stem = layerName(of: file)
            let declared = doc["name"]?.stringValue
            guard let s = Layers.byName[stem] ?? declared.flatMap({ Layers.byName[$0] }) else {
                throw FeatureProblem(file: file, index: nil, reason: "cannot tell the layer: name the file <layer>.geojson, one of \(Layers.names.joined(separator: ", "))")
            }
            spec = s
        }
        switch doc["type"]?.stringValue {
        case "FeatureCollection":
            guard let fs = doc["features"]?.arrayValue else {
                throw FeatureProblem(file: file, index: nil, property: "features", reason: "a FeatureCollection needs a \"features\" array")
            }
            return LayerFile(layer: spec, file: file, features: fs, declaredCRS: Reprojector.declaredCRS(doc))
        case "Feature":
            return LayerFile(layer: spec, file: file, features: [doc])
        default:
            throw FeatureProblem(file: file, index: nil, property: "type", reason: "expected a GeoJSON FeatureCollection or Feature")
        }
    }

    func importCollections(_ files: [LayerFile], problems initial: ProblemList, actor: String, progress: ((ImportPhase, Int, Int) -> Void)?,
                           mode: EditMode = .upsert) throws -> ImportReport {
        var problems = initial
        let total = files.reduce(0) { $0 + $1.features.count }
        var done = 0
        // 1. Validate every feature against its layer; duplicates within the input.
        var valid: [(LayerFile, [ValidFeature])] = []
        var uniqueness = InputUniqueness()
        for lf in files {
            var ok: [ValidFeature] = []
            ok.reserveCapacity(lf.features.count)
            for (i, raw) in lf.features.enumerated() {
                done += 1
                if done % 2000 == 0 { progress?(.validating, done, total) }
                switch Validator.validate(raw, layer: lf.layer, file: lf.file, index: i) {
                case .invalid(let ps): problems.add(contentsOf: ps)
                case .valid(let v):
                    let dup = uniqueness.admit(v, layer: lf.layer, file: lf.file, index: i)
                    if dup.isEmpty { ok.append(v) } else { problems.add(contentsOf: dup) }
                }
            }
            valid.append((lf, ok))
        }
        progress?(.validating, total, total)
        // 2. Polygon validity through GEOS (self-intersections, ring orientation problems, holes).
        try read { c in
            let s = try c.prepare("SELECT IsValid(g), IsValidReason(g) FROM (SELECT GeomFromWKB(?, 4326) AS g)")
            for (lf, features) in valid where lf.layer.geometry.contains(.polygon) {
                for v in features {
                    s.reset()
                    try s.bind([.blob(WKB.encode(v.feature.geometry))])
                    guard try s.step() else { continue }
                    if s.int(0) != 1 {
                        let index = lf.features.firstIndex { $0["id"].map { JSONWriter.string($0) } == JSONWriter.string(.string(v.feature.id)) || $0["id"]?.intValue.map(String.init) == v.feature.id }
                        problems.add(FeatureProblem(file: lf.file, index: index, featureID: v.feature.id, property: "geometry", reason: "invalid polygon: \(s.text(1) ?? "GEOS says invalid")"))
                    }
                }
            }
            s.reset()
        }
        if problems.total > 0 { throw problems.failure }

        // 3. One transaction: references checked against input + database, then upserts.
        return try writeUnwrapped { c in
            try c.transaction {
                var referenced: [String: Set<String>] = [:]
                func keys(_ layer: String, _ column: String) throws -> Set<String> {
                    let k = layer + "." + column
                    if let s = referenced[k] { return s }
                    var s = Set(try c.query("SELECT \"\(column)\" FROM \(layer)") { $0.text(0) ?? "" })
                    for (lf, fs) in valid where lf.layer.name == layer { for f in fs { if let v = f.feature.properties[column]?.stringValue { s.insert(v) } } }
                    referenced[k] = s
                    return s
                }
                for (lf, features) in valid {
                    for p in lf.layer.columns {
                        guard let r = p.references else { continue }
                        let known = try keys(r.layer, r.column)
                        for (i, v) in features.enumerated() {
                            if let value = v.feature.properties[p.name]?.stringValue, !known.contains(value) {
                                problems.add(FeatureProblem(file: lf.file, index: i, featureID: v.feature.id, property: p.name, reason: "\(r.layer) has no \(r.column) \"\(value)\""))
                            }
                        }
                    }
                }
                if problems.total > 0 { throw problems.failure }

                var counts: [(String, Int)] = []
                var written = 0
                let bulk = mode == .upsert ? DeferredSpatialIndex(c) : nil
                for (lf, features) in valid {
                    let codec = FeatureCodec.all[lf.layer.name]!
                    var box = BBox.empty
                    for v in features {
                        if mode != .upsert {
                            try Store.editOne(c, codec, v, mode: mode, actor: actor)
                            written += 1
                            continue
                        }
                        try Store.upsert(c, lf.layer, v, file: lf.file, index: lf.features.firstIndex { $0["id"] == .string(v.feature.id) } ?? 0, bulk: bulk)
                        box = box.union(v.feature.geometry.bbox)
                        written += 1
                        if written % 2000 == 0 { progress?(.writing, written, total) }
                    }
                    if !features.isEmpty && mode == .upsert {
                        try Store.journalImport(c, actor: actor, layer: lf.layer.name, box: box, note: "\(features.count) features from \(lf.file)")
                    }
                    counts.append((lf.layer.name, features.count))
                }
                try bulk?.finish()
                progress?(.writing, total, total)
                return ImportReport(counts: counts)
            }
        }
    }

    static func replaceStock(_ c: Connection, _ f: Feature) throws {
        try c.run("DELETE FROM warehouse_stock WHERE warehouse_id = ?", [.text(f.id)])
        for row in f.properties["stock"]?.arrayValue ?? [] {
            try c.run(
                "INSERT INTO warehouse_stock (warehouse_id, item, unit, quantity) VALUES (?, ?, ?, ?)",
                [.text(f.id), .text(row["item"]?.stringValue ?? ""), .text(row["unit"]?.stringValue ?? ""), .double(row["quantity"]?.doubleValue ?? 0)])
        }
    }
}


/// Problems found so far: the first `ImportFailure.keep` kept, all counted.
struct ProblemList {
    private(set) var items: [FeatureProblem] = []
    private(set) var total = 0
    mutating func add(_ p: FeatureProblem) {
        total += 1
        if items.count < ImportFailure.keep { items.append(p) }
    }
    mutating func add(contentsOf ps: [FeatureProblem]) { for p in ps { add(p) } }
    var failure: ImportFailure { ImportFailure(problems: items, total: total) }
}

/// Where features may land without `--anywhere`: within 5° (some 500 km) of the data already in
/// the store. A wrong CRS (metres read in the wrong zone, Web Mercator for Gauss–Krüger) or
/// swapped lon/lat puts features hundreds to thousands of kilometres away; they are refused with
/// the distance and what to check. Shared by the GeoJSON, GDAL and OpenStreetMap imports.
package struct Nearby {
    package let extent: BBox
    package init(extent: BBox) { self.extent = extent }
    var allowed: BBox { extent.expanded(by: 5) }

    /// The reason `g` is refused, or nil when it is near enough. `crs` (how the source was read)
    /// nil: OpenStreetMap (lon/lat by definition).
    package func problem(_ g: Geometry, crs: String?) -> String? { problem(at: g.bbox.center, crs: crs) }

    package func problem(at c: Coord, crs: String?) -> String? {
        guard !allowed.contains(c) else { return nil }
        let km = Geodesy.distance(c, extent.center) / 1000
        guard let crs else {
            return String(format: "lies at %.5f, %.5f, %.0f km from the data already in the store (%.2f…%.2f°E, %.2f…%.2f°N): an extract of another area; pass --anywhere to import it there",
                          c.lon, c.lat, km, extent.minLon, extent.maxLon, extent.minLat, extent.maxLat)
        }
        return String(format: "lies at %.5f, %.5f, %.0f km from the data already in the store (%.2f…%.2f°E, %.2f…%.2f°N): if the coordinate reference system is wrong (read as %@), pass --crs EPSG:N; if lon and lat are swapped, fix the file; if the data really is there, pass --anywhere",
                      c.lon, c.lat, km, extent.minLon, extent.maxLon, extent.minLat, extent.maxLat, crs)
    }

    /// For a file whose data lies in `box`, when its centre is over 5° from `reference` (the
    /// largest file of the same import, named `name`): why it is refused.
    package static func apart(_ box: BBox, from reference: BBox, named name: String, crs: String) -> String? {
        guard !reference.expanded(by: 5).contains(box.center) else { return nil }
        let c = box.center, km = Geodesy.distance(c, reference.center) / 1000
        return String(format: "lies around %.3f, %.3f, %.0f km from %@ (around %.3f, %.3f): if its coordinate reference system is wrong (read as %@), pass the right one with --crs, or fix swapped lon/lat; if it really is there, pass --anywhere",
                      c.lon, c.lat, km, name, reference.center.lon, reference.center.lat, crs)
    }
}
