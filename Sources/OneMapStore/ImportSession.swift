import Foundation
import OneMapCore

/// One feature from a foreign source (Shapefile, GeoPackage, OpenStreetMap…), already mapped to a
/// onemap layer and reprojected to WGS84, but not yet validated.
public struct IncomingFeature {
    public var layer: LayerSpec
    /// A string or integer JSON value; nil is reported as a missing id.
    public var id: JSONValue?
    /// The geometry in EPSG:4326 lon/lat, or why there is none.
    public var geometry: Result<Geometry, Validator.GeometryProblem>
    public var properties: JSONObject
    /// Where it came from, for problems: the file (and source layer) and the feature's index or fid.
    public var file: String
    public var index: Int

    public init(layer: LayerSpec, id: JSONValue?, geometry: Result<Geometry, Validator.GeometryProblem>, properties: JSONObject, file: String, index: Int) {
        self.layer = layer; self.id = id; self.geometry = geometry; self.properties = properties; self.file = file; self.index = index
    }
}

/// Ids and unique columns seen so far in one import's input, per layer, so a duplicate names the
/// feature that used the value first.
struct InputUniqueness {
    private var ids: [String: [String: Int]] = [:]
    private var values: [String: [String: [String: Int]]] = [:]

    /// The problems with `v` (a duplicate id or unique value); empty when it is new, and then remembered.
    mutating func admit(_ v: ValidFeature, layer: LayerSpec, file: String, index: Int) -> [FeatureProblem] {
        let id = v.feature.id
        if let first = ids[layer.name]?[id] {
            return [FeatureProblem(file: file, index: index, featureID: id, property: "id", reason: "duplicate id \"\(id)\" (first used by feature \(first))")]
        }
        var out: [FeatureProblem] = []
        for u in layer.unique {
            guard let key = v.feature.properties[u].map({ JSONWriter.string($0) }) else { continue }
            if let first = values[layer.name, default: [:]][u]?[key] {
                out.append(FeatureProblem(file: file, index: index, featureID: id, property: u, reason: "duplicate \(u) \(key) (first used by feature \(first))"))
            }
        }
        guard out.isEmpty else { return out }
        ids[layer.name, default: [:]][id] = index
        for u in layer.unique {
            if let key = v.feature.properties[u].map({ JSONWriter.string($0) }) { values[layer.name, default: [:]][u, default: [:]][key] = index }
        }
        return []
    }
}

/// An import in progress inside one write transaction: each feature added is validated and
/// written at once, so a source of any size streams through with memory bounded by the number of
/// ids (not the features). Problems are collected; when there are any, nothing is written any more
/// and the whole import is rolled back. Made by `Store.importStream`; use it inside its body only.
public final class ImportSink {
    let c: Connection
    let actor: String
    var problems = ProblemList()
    var uniqueness = InputUniqueness()
    var boxes: [String: BBox] = [:]
    var counts: [String: Int] = [:]
    var sources: [String: [String]] = [:]
    /// For layers with references: the features written, by id, to name them in a reference problem.
    var referencing: [String: [String: (file: String, index: Int)]] = [:]
    let polygonCheck: Statement
    let bulk: DeferredSpatialIndex

    init(_ c: Connection, actor: String) throws {
        self.c = c
        bulk = DeferredSpatialIndex(c)
        self.actor = actor
        polygonCheck = try c.prepare("SELECT IsValid(g), IsValidReason(g) FROM (SELECT GeomFromWKB(?, 4326) AS g)")
    }

    static let hasReferences: [String: Bool] = Dictionary(uniqueKeysWithValues: Layers.all.map { ($0.name, $0.columns.contains { $0.references != nil }) })

    /// How many features were accepted so far.
    public private(set) var accepted = 0
    /// How many problems were found so far.
    public var problemCount: Int { problems.total }

    /// Reports a problem that is not about one feature's content (a file that cannot be read, a
    /// value the mapping does not cover…); the import will be refused.
    public func refuse(_ p: FeatureProblem) { problems.add(p) }

    /// Validates `f` against its layer (types, ranges, required properties, ids unique in the
    /// input, polygon validity through GEOS) and writes it when valid and nothing was refused yet.
    public func add(_ f: IncomingFeature) throws {
        let v: ValidFeature
        switch Validator.validate(id: f.id, geometry: f.geometry, properties: f.properties, layer: f.layer, file: f.file, index: f.index) {
        case .invalid(let ps):
            problems.add(contentsOf: ps)
            return
        case .valid(let ok): v = ok
        }
        let dup = uniqueness.admit(v, layer: f.layer, file: f.file, index: f.index)
        guard dup.isEmpty else { problems.add(contentsOf: dup); return }
        if f.layer.geometry.contains(.polygon), let reason = try invalidPolygonReason(v.feature.geometry) {
            problems.add(FeatureProblem(file: f.file, index: f.index, featureID: v.feature.id, property: "geometry", reason: "invalid polygon: \(reason)"))
            return
        }
        accepted += 1
        let name = f.layer.name
        if Self.hasReferences[name] == true { referencing[name, default: [:]][v.feature.id] = (f.file, f.index) }
        if sources[name]?.last != f.file { sources[name, default: []].append(f.file) }
        guard problems.total == 0 else { return }
        do {
            try Store.upsert(c, f.layer, v, file: f.file, index: f.index, bulk: bulk)
        } catch let taken as ImportFailure {
            problems.add(contentsOf: taken.problems)
            return
        }
        boxes[name] = (boxes[name] ?? .empty).union(v.feature.geometry.bbox)
        counts[name, default: 0] += 1
    }

    func invalidPolygonReason(_ g: Geometry) throws -> String? {
        polygonCheck.reset()
        try polygonCheck.bind([.blob(WKB.encode(g))])
        guard try polygonCheck.step(), polygonCheck.int(0) != 1 else { return nil }
        return polygonCheck.text(1) ?? "GEOS says invalid"
    }

    /// References of the written features to other layers (a village's township code…), checked
    /// in SQL against the store as it now is, input included.
    func checkReferences() throws {
        for (name, written) in referencing.sorted(by: { Layers.order($0.key) < Layers.order($1.key) }) {
            let spec = Layers.byName[name]!
            for p in spec.columns {
                guard let r = p.references else { continue }
                let rows = try c.query(
                    "SELECT id, \"\(p.name)\" FROM \(name) WHERE \"\(p.name)\" IS NOT NULL AND \"\(p.name)\" NOT IN (SELECT \"\(r.column)\" FROM \(r.layer) WHERE \"\(r.column)\" IS NOT NULL)"
                ) { ($0.text(0) ?? "", $0.text(1) ?? "") }
                for (id, value) in rows {
                    guard let at = written[id] else { continue }
                    problems.add(FeatureProblem(file: at.file, index: at.index, featureID: id, property: p.name, reason: "\(r.layer) has no \(r.column) \"\(value)\""))
                }
            }
        }
    }

    func finish() throws -> ImportReport {
        try checkReferences()
        if problems.total > 0 { throw problems.failure }
        try bulk.finish()
        var report: [(layer: String, features: Int)] = []
        for (name, n) in counts.sorted(by: { Layers.order($0.key) < Layers.order($1.key) }) where n > 0 {
            let box = boxes[name] ?? .empty
            try Store.journalImport(c, actor: actor, layer: name, box: box, note: "\(n) features from \(sources[name, default: []].joined(separator: ", "))")
            report.append((name, n))
        }
        return ImportReport(counts: report)
    }
}

extension Store {
    /// Imports features streamed by `body` into the store in one transaction: all or nothing. Each
    /// feature `body` adds to the sink is validated and written at once (upsert by id, as the
    /// GeoJSON import); when `body` throws, or any feature or reference was refused, everything is
    /// rolled back and an `ImportFailure` lists the problems. The write lock is held throughout.
    public func importStream(actor: String, _ body: (ImportSink) throws -> Void) throws -> ImportReport {
        try writeUnwrapped { c in
            try c.transaction {
                let sink = try ImportSink(c, actor: actor)
                try body(sink)
                return try sink.finish()
            }
        }
    }

    /// Writes one valid feature: its row (insert or replace by id) and its stock rows.
    /// - Throws: `ImportFailure` naming the value when a unique column (a village's code…) is taken
    ///   by another feature in the store, or a reference (a village's township) names nothing;
    ///   `SQLiteError` otherwise.
    /// With `bulk`, SpatiaLite's per-row triggers are deferred to the end of the import.
    static func upsert(_ c: Connection, _ layer: LayerSpec, _ v: ValidFeature, file: String, index: @autoclosure () -> Int,
                       bulk: DeferredSpatialIndex? = nil) throws {
        let codec = FeatureCodec.all[layer.name]!
        do {
            if let bulk {
                try bulk.begin(layer.name)
                let row = try c.query(codec.upsertReturningFid, codec.bindings(v)) { ($0.int(0), $0.int(1)) }
                if let (fid, version) = row.first {
                    try bulk.wrote(layer.name, fid: fid, replaced: version > 1) { column in
                        if column == "geom" { return v.feature.geometry.bbox }
                        guard let p = v.feature.properties[column]?.arrayValue, p.count == 2, let x = p[0].doubleValue, let y = p[1].doubleValue else { return nil }
                        return BBox(minLon: x, minLat: y, maxLon: x, maxLat: y)
                    }
                }
            } else {
                try c.run(codec.upsert, codec.bindings(v))
            }
        } catch {
            if let p = try constraintProblem(c, error, layer, v) {
                var located = p
                located.file = file
                located.index = index()
                throw ImportFailure(problems: [located], total: 1)
            }
            throw error
        }
        if layer.hasStock { try replaceStock(c, v.feature) }
    }

    /// The user's reason for a UNIQUE or FOREIGN KEY failure on writing `v`, or nil for other errors.
    static func constraintProblem(_ c: Connection, _ error: any Error, _ layer: LayerSpec, _ v: ValidFeature) throws -> FeatureProblem? {
        guard let e = error as? SQLiteError else { return nil }
        func value(_ name: String) -> String? { v.feature.properties[name].map { $0.stringValue ?? JSONWriter.string($0) } }
        if e.isUniqueViolation {
            for u in layer.unique {
                guard let text = value(u) else { continue }
                let other = try c.query("SELECT id FROM \(layer.name) WHERE \"\(u)\" = ? AND id <> ?", [.text(text), .text(v.feature.id)]) { $0.text(0) ?? "" }
                if let o = other.first {
                    return FeatureProblem(file: "", index: nil, featureID: v.feature.id, property: u,
                        reason: "\(u) \"\(text)\" is already used by \(layer.name) feature \(o) in the store; give this feature the id \(o) to replace it (a mapping's \"id\"), or change the \(u)")
                }
            }
        }
        if e.isForeignKeyViolation {
            for p in layer.columns {
                guard let r = p.references, let text = value(p.name) else { continue }
                if try c.query("SELECT 1 FROM \(r.layer) WHERE \"\(r.column)\" = ?", [.text(text)], { _ in 1 }).isEmpty {
                    return FeatureProblem(file: "", index: nil, featureID: v.feature.id, property: p.name, reason: "\(r.layer) has no \(r.column) \"\(text)\"")
                }
            }
        }
        return nil
    }

    /// The journal entry for features of one layer imported together, so caches and routers see them.
    static func journalImport(_ c: Connection, actor: String, layer: String, box: BBox, note: String) throws {
        try c.run(
            "INSERT INTO edit_journal (actor, action, layer, min_lon, min_lat, max_lon, max_lat, after) VALUES (?, 'import', ?, ?, ?, ?, ?, ?)",
            [.text(actor), .text(layer), .double(box.minLon), .double(box.minLat), .double(box.maxLon), .double(box.maxLat), .text(note)])
    }
}
