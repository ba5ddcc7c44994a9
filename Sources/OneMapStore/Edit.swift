import Foundation
import OneMapCore

/// How a write treats features that already exist.
public enum EditMode: Sendable, Equatable {
    /// Import: insert or replace.
    case upsert
    /// Create: the id must be new.
    case create
    /// Replace the whole feature (PUT), optionally only at a known version; `note` goes to an
    /// incident's timeline.
    case replace(ifVersion: Int?, action: String, note: String? = nil)
}

extension Store {
    /// Creates features (a Feature or FeatureCollection) in a layer; every id must be new.
    /// A feature without an `id` gets one from the server (OGC API – Features Part 4): see
    /// `Store.newFeatureID(layer:)`. Validated exactly like import; all or nothing.
    /// Unless `anywhere`, a feature more than 5° from the store's data is refused (swapped
    /// lon/lat, a wrong CRS: `refuseDistant`). Returns the ids, in input order.
    @discardableResult
    public func create(layer: String, geojson: String, actor: String, anywhere: Bool = false) throws -> [String] {
        let spec = try Layers.spec(layer)
        var lf: LayerFile
        do { lf = try Store.parseCollection(Array(geojson.utf8), file: "<request>", layer: spec) } catch let p as FeatureProblem {
            throw ImportFailure(problems: [p], total: 1)
        }
        // Before ids are handed out: a refusal names only ids the caller gave.
        if !anywhere { try refuseDistant(lf) }
        for i in lf.features.indices {
            // Absent only: an explicit null is refused by validation like any other bad id.
            guard case .object(var o) = lf.features[i], o["id"] == nil else { continue }
            o["id"] = .string(Store.newFeatureID(layer: layer))
            lf.features[i] = .object(o)
        }
        _ = try importCollections([lf], problems: ProblemList(), actor: actor, progress: nil, mode: .create)
        return lf.features.compactMap { $0["id"].map { $0.stringValue ?? JSONWriter.string($0) } }
    }

    /// A new feature id the server assigns: the layer's short prefix, the UTC date and 8 random hex
    /// digits, e.g. `inc-20261129-3f9a0c1d` (readable over a radio, unique in practice; a clash is
    /// refused as a conflict by the create itself).
    public static func newFeatureID(layer: String) -> String {
        let prefix: String = switch layer {
        case "incidents": "inc"
        case "hazard_points": "hp"
        case "hazard_zones": "hz"
        case "road_risks": "rr"
        case "shelters": "sh"
        case "warehouses": "wh"
        case "fire_stations": "fs"
        case "micro_fire_stations": "mfs"
        case "info_officers": "io"
        case "base_stations": "bs"
        default: layer
        }
        let day = String(isoUTC(Date()).prefix(10)).replacingOccurrences(of: "-", with: "")
        return "\(prefix)-\(day)-\(randomHex(4))"
    }

    /// Replaces one feature; `ifVersion` (from If-Match) must be its current version when given.
    /// `note` is written to an incident's timeline. Unless `anywhere`, a geometry more than 5°
    /// from the store's data is refused (`refuseDistant`).
    public func replace(layer: String, id: String, geojson: String, ifVersion: Int?, actor: String, action: String = "replace", note: String? = nil,
                        anywhere: Bool = false) throws {
        let spec = try Layers.spec(layer)
        var doc: JSONValue
        do { doc = try JSONParser.parse(geojson) } catch { throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, reason: error.description)], total: 1) }
        guard case .object(var o) = doc, o["type"]?.stringValue == "Feature" else {
            throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, property: "type", reason: "expected one GeoJSON Feature")], total: 1)
        }
        if let given = o["id"], given.stringValue ?? given.intValue.map(String.init) != id {
            throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: 0, featureID: id, property: "id", reason: "the body's id \(JSONWriter.string(given)) differs from the URL's \"\(id)\"")], total: 1)
        }
        o["id"] = .string(id)
        doc = .object(o)
        let lf = LayerFile(layer: spec, file: "<request>", features: [doc])
        if !anywhere { try refuseDistant(lf) }
        _ = try importCollections([lf], problems: ProblemList(), actor: actor, progress: nil, mode: .replace(ifVersion: ifVersion, action: action, note: note))
    }

    /// Changes some properties (null removes one) and/or the geometry of a feature, then
    /// validates the result as a whole.
    /// `note` is written to an incident's timeline; `action` names the change in the audit log.
    /// `anywhere` as for `replace`.
    public func patch(layer: String, id: String, changes: JSONValue, ifVersion: Int?, actor: String, action: String = "patch", note: String? = nil,
                      anywhere: Bool = false) throws {
        guard case .object(let ch) = changes else {
            throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, reason: "a patch is a JSON object with \"properties\" and/or \"geometry\"")], total: 1)
        }
        for (k, _) in ch where !["properties", "geometry", "type", "id"].contains(k) {
            throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, property: k, reason: "a patch may change \"properties\" and \"geometry\" only")], total: 1)
        }
        guard let current = try feature(in: layer, id: id) else { throw StoreError(.notFound, "\(layer) has no feature with id \"\(id)\"") }
        var f = GeoJSON.json(current.feature)
        guard case .object(var o) = f, case .object(var props)? = o["properties"] else { return }
        if let p = ch["properties"] {
            guard case .object(let pc) = p else {
                throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, property: "properties", reason: "must be an object")], total: 1)
            }
            for (k, v) in pc { props[k] = v.isNull ? nil : v }
        }
        o["properties"] = .object(props)
        if let g = ch["geometry"] { o["geometry"] = g }
        f = .object(o)
        try replace(layer: layer, id: id, geojson: JSONWriter.string(f), ifVersion: ifVersion ?? current.version, actor: actor, action: action, note: note,
                    anywhere: anywhere)
    }

    /// Refuses (`ImportFailure`, every such feature listed) features of an edit with no data of
    /// the store within 5° (some 500 km) of their centre — swapped lon/lat put a point in Yumin
    /// (82.9°E, 46.2°N) at 46.2°E, 82.9°N, in the Arctic Ocean — as imports refuse them. Asked of
    /// the spatial indexes around each feature (one R-tree probe per layer), not of the store's
    /// overall extent: one feature taken far away with `anywhere` must not widen what counts as
    /// near for every later edit. An empty store takes anything; a position outside the world is
    /// left to validation, which names it as such.
    func refuseDistant(_ lf: LayerFile) throws {
        var far: [(Int, Coord)] = []
        try read { c in
            let probes = try Layers.all.map { l in
                try c.prepare("SELECT pkid FROM idx_\(l.name)_geom WHERE xmax >= ? AND xmin <= ? AND ymax >= ? AND ymin <= ?")
            }
            for (i, f) in lf.features.enumerated() {
                guard let at = Store.rawCentre(f), at.isInWorld else { continue }
                var near = false
                for s in probes where !near {
                    s.reset()
                    try s.bind([.double(at.lon - 5), .double(at.lon + 5), .double(at.lat - 5), .double(at.lat + 5)])
                    near = try s.step()
                }
                if !near { far.append((i, at)) }
            }
            for s in probes { s.reset() }
        }
        // Only now the store's extent (for the message; an empty store takes anything).
        guard !far.isEmpty else { return }
        let stored = try extent(of: Set(Layers.names))
        guard !stored.isEmpty else { return }
        let problems = far.prefix(ImportFailure.keep).map { i, at in
            FeatureProblem(file: lf.file, index: lf.features.count > 1 ? i : nil, featureID: lf.features[i]["id"]?.stringValue, property: "geometry",
                           reason: String(format: "lies at longitude %.5f, latitude %.5f, with no data of the store within 5° (some 500 km; its data lies within %.2f…%.2f°E, %.2f…%.2f°N): GeoJSON positions are [longitude, latitude] in WGS84 — if these are swapped or in another coordinate system, fix them; if the feature really is there, send it again with ?anywhere=true",
                                          at.lon, at.lat, stored.minLon, stored.maxLon, stored.minLat, stored.maxLat))
        }
        throw ImportFailure(problems: Array(problems), total: far.count)
    }

    /// Deletes a feature; `ifVersion` must match when given. Refused while other features refer to it.
    public func delete(layer: String, id: String, ifVersion: Int?, actor: String) throws {
        let codec = try FeatureCodec.of(layer)
        try writeUnwrapped { c in
            try c.transaction {
                guard let old = try c.query("SELECT \(codec.select) FROM \(layer) WHERE id = ?", [.text(id)], { try codec.decode($0) }).first else {
                    throw StoreError(.notFound, "\(layer) has no feature with id \"\(id)\"")
                }
                if let v = ifVersion, v != old.version {
                    throw StoreError(.preconditionFailed, "\(layer)/\(id) is at version \(old.version), not \(v): it changed since you read it; reload and try again")
                }
                var before = old.feature
                if codec.layer.hasStock { before = try attachStock(c, [before])[0] }
                do { try c.run("DELETE FROM \(layer) WHERE id = ?", [.text(id)]) } catch let e as SQLiteError where e.isForeignKeyViolation {
                    throw StoreError(.conflict, "\(layer)/\(id) is still referred to by other features (e.g. villages, shelters or officers); change those first")
                }
                try Store.journal(c, actor: actor, action: "delete", layer: layer, id: id, box: before.geometry.bbox, before: before, after: nil)
            }
        }
    }

    /// Sets a road-risk segment's status (open / restricted / closed), with an optional note.
    public func setRoadRiskStatus(id: String, status: RoadRiskStatus, note: String?, ifVersion: Int?, actor: String) throws {
        var props: JSONObject = JSONObject([("status", .string(status.rawValue)), ("updated_at", .string(Store.timestamp()))])
        if let note { props["note"] = .string(note) }
        try patch(layer: "road_risks", id: id, changes: .object(JSONObject([("properties", .object(props))])), ifVersion: ifVersion, actor: actor)
    }

    /// Changes one stock line of a warehouse: add `delta` (may be negative) or `set` a quantity.
    /// The largest quantity one stock line may hold (a billion units: far above any county
    /// warehouse, low enough that a typo like 1e300 is refused).
    public static let maxStockQuantity = 1e9

    public func changeStock(warehouse id: String, item: String, unit: String?, delta: Double?, set: Double?, ifVersion: Int?, actor: String) throws {
        guard (delta == nil) != (set == nil) else { throw StoreError(.badInput, "give exactly one of \"delta\" or \"set\"") }
        if let set, !(set >= 0 && set <= Store.maxStockQuantity) { throw StoreError(.badInput, "\"set\" must be a quantity 0…\(Int(Store.maxStockQuantity)), got \(set)") }
        if let delta, !(abs(delta) <= Store.maxStockQuantity) { throw StoreError(.badInput, "\"delta\" must be at most \(Int(Store.maxStockQuantity)) either way, got \(delta)") }
        guard !item.trimmingCharacters(in: .whitespaces).isEmpty else { throw StoreError(.badInput, "\"item\" must be a non-empty string") }
        guard let current = try feature(in: "warehouses", id: id) else { throw StoreError(.notFound, "warehouses has no feature with id \"\(id)\"") }
        var rows = current.feature["stock"]?.arrayValue ?? []
        if let i = rows.firstIndex(where: { $0["item"]?.stringValue == item }) {
            let q = (set ?? ((rows[i]["quantity"]?.doubleValue ?? 0) + (delta ?? 0)))
            guard q >= 0 else { throw StoreError(.badInput, "\(item): only \(rows[i]["quantity"]?.doubleValue ?? 0) in stock, cannot take \(-(delta ?? 0))") }
            rows[i] = ["item": .string(item), "unit": .string(unit ?? rows[i]["unit"]?.stringValue ?? ""), "quantity": .number(q)]
        } else {
            let q = set ?? delta ?? 0
            guard q >= 0 else { throw StoreError(.badInput, "\(item) is not in stock at \(id)") }
            guard let unit, !unit.isEmpty else { throw StoreError(.badInput, "a new item needs a \"unit\"") }
            rows.append(["item": .string(item), "unit": .string(unit), "quantity": .number(q)])
        }
        try patch(layer: "warehouses", id: id, changes: ["properties": ["stock": .array(rows)]], ifVersion: ifVersion ?? current.version, actor: actor)
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date())
    }

    /// One feature written in create/replace mode, with its journal row.
    static func editOne(_ c: Connection, _ codec: FeatureCodec, _ v: ValidFeature, mode: EditMode, actor: String) throws {
        let layer = codec.layer.name
        let old = try c.query("SELECT \(codec.select) FROM \(layer) WHERE id = ?", [.text(v.feature.id)], { try codec.decode($0) }).first
        var action = "create"
        var note: String?
        switch mode {
        case .create:
            if old != nil { throw StoreError(.conflict, "\(layer) already has a feature with id \"\(v.feature.id)\"; replace it with PUT") }
        case .replace(let ifVersion, let a, let n):
            action = a; note = n
            guard let old else { throw StoreError(.notFound, "\(layer) has no feature with id \"\(v.feature.id)\"") }
            if let ifVersion, ifVersion != old.version {
                throw StoreError(.preconditionFailed, "\(layer)/\(v.feature.id) is at version \(old.version), not \(ifVersion): it changed since you read it; reload and try again")
            }
        case .upsert: break
        }
        var before = old?.feature
        if codec.layer.hasStock, let b = before { before = try Store.attachStockRows(c, b) }
        try c.run(codec.upsert, codec.bindings(v))
        if codec.layer.hasStock { try Store.replaceStock(c, v.feature) }
        let box = before.map { $0.geometry.bbox.union(v.feature.geometry.bbox) } ?? v.feature.geometry.bbox
        var after = v.feature
        for (k, x) in v.extra { after.properties[k] = x }
        try journal(c, actor: actor, action: action, layer: layer, id: v.feature.id, box: box, before: before, after: after, note: note)
    }

    static func attachStockRows(_ c: Connection, _ f: Feature) throws -> Feature {
        var f = f
        let rows = try stockRows(c, f.id)
        if !rows.isEmpty { f.properties["stock"] = .array(rows) }
        return f
    }

    static func journal(_ c: Connection, actor: String, action: String, layer: String, id: String, box: BBox, before: Feature?, after: Feature?, note: String? = nil) throws {
        if layer == "incidents" { try timeline(c, actor: actor, action: action, id: id, before: before, after: after, note: note) }
        try c.run(
            "INSERT INTO edit_journal (actor, action, layer, feature_id, min_lon, min_lat, max_lon, max_lat, before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(actor), .text(action), .text(layer), .text(id), .double(box.minLon), .double(box.minLat), .double(box.maxLon), .double(box.maxLat),
             before.map { .text(JSONWriter.string(GeoJSON.json($0))) } ?? .null, after.map { .text(JSONWriter.string(GeoJSON.json($0))) } ?? .null])
    }
}

/// One audit record.
public struct AuditEntry: Sendable {
    public var seq: Int64
    public var at: String
    public var actor: String
    public var action: String
    public var layer: String
    public var featureID: String?
    public var before: JSONValue?
    public var after: JSONValue?
    /// What an import records instead of a feature ("387 features from shelters.geojson");
    /// nil for feature edits.
    public var note: String?
}

extension Store {
    /// The edit journal, newest first, optionally for one layer and/or feature.
    public func audit(layer: String? = nil, featureID: String? = nil, since: Int64 = 0, limit: Int = 100) throws(StoreError) -> [AuditEntry] {
        if let layer { _ = try Layers.spec(layer) }
        return try read { c in
            var sql = "SELECT seq, at, actor, action, layer, feature_id, before, after FROM edit_journal WHERE seq > ?"
            var args: [SQLValue] = [.int(since)]
            if let layer { sql += " AND layer = ?"; args.append(.text(layer)) }
            if let featureID { sql += " AND feature_id = ?"; args.append(.text(featureID)) }
            sql += " ORDER BY seq DESC LIMIT ?"
            args.append(.int(Int64(max(1, min(limit, 10000)))))
            return try c.query(sql, args) { s in
                // An import's row holds a line of text where an edit's holds the feature after it.
                let afterText = s.text(7), after = afterText.flatMap { try? JSONParser.parse($0) }
                return AuditEntry(seq: s.int(0), at: s.text(1) ?? "", actor: s.text(2) ?? "", action: s.text(3) ?? "", layer: s.text(4) ?? "", featureID: s.text(5),
                                  before: s.text(6).flatMap { try? JSONParser.parse($0) }, after: after, note: after == nil ? afterText : nil)
            }
        }
    }
}
