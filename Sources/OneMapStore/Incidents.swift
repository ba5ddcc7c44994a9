import Foundation
import OneMapCore

/// One entry of an incident's timeline: who did what, when.
public struct IncidentUpdate: Sendable, Equatable {
    public var seq: Int64
    public var incidentID: String
    /// ISO 8601 UTC.
    public var at: String
    /// `user:<name>` for people, `server:…` or `cli:…` for programs (as in the audit log).
    public var actor: String
    /// reported, status, update, deleted.
    public var kind: String
    /// Changed properties as {"name": [old, new]} ("location" for a moved incident).
    public var changes: JSONObject?
    public var note: String?

    public var json: JSONValue {
        ["seq": .number(Double(seq)), "incident": .string(incidentID), "at": .string(at), "actor": .string(actor), "kind": .string(kind),
         "changes": changes.map { .object($0) } ?? .null, "note": note.map { .string($0) } ?? .null]
    }
}

extension Store {
    /// Writes an incident's timeline entry, in the transaction of the edit it describes (called
    /// by `journal`, so every edit of the layer has one, whichever route made it).
    static func timeline(_ c: Connection, actor: String, action: String, id: String, before: Feature?, after: Feature?, note: String?) throws {
        if let after {
            if let t = after["title"]?.stringValue, t.count > 200 { throw StoreError(.badInput, "an incident's title is at most 200 characters (this one has \(t.count)); put the rest in \"description\"") }
            if let d = after["description"]?.stringValue, d.count > 4000 { throw StoreError(.badInput, "an incident's description is at most 4000 characters (this one has \(d.count))") }
        }
        // An id whose incident was deleted keeps its timeline: a new incident may not take it over.
        if before == nil, case .int(let n)? = try c.scalar("SELECT count(*) FROM incident_updates WHERE incident_id = ?", [.text(id)]), n > 0 {
            throw StoreError(.conflict, "incident id \"\(id)\" was used before (its timeline is kept); leave \"id\" out and the server assigns a new one")
        }
        if let old = before?["status"]?.stringValue.flatMap(IncidentStatus.init(rawValue:)),
           let new = after?["status"]?.stringValue.flatMap(IncidentStatus.init(rawValue:)), !IncidentStatus.allowed(from: old, to: new) {
            throw StoreError(.unprocessable, "incident \(id) is \(old.rawValue) and cannot go back to \(new.rawValue): an incident goes reported → responding → closed (a closed one may be reopened as responding)")
        }
        var changes = JSONObject()
        if let before, let after {
            for k in Set(before.properties.keys).union(after.properties.keys).sorted() where k != "updated_at" {
                let a = before.properties[k] ?? .null, b = after.properties[k] ?? .null
                if a != b { changes[k] = .array([a, b]) }
            }
            if before.geometry != after.geometry {
                let p = before.geometry.representativePoint, q = after.geometry.representativePoint
                changes["location"] = .array([.array([.number(p.lon), .number(p.lat)]), .array([.number(q.lon), .number(q.lat)])])
            }
        }
        let kind = before == nil ? "reported" : (after == nil ? "deleted" : (changes["status"] != nil ? "status" : "update"))
        try c.run("INSERT INTO incident_updates (incident_id, actor, kind, changes, note) VALUES (?, ?, ?, ?, ?)",
                  [.text(id), .text(actor), .text(kind), changes.keys.isEmpty ? .null : .text(JSONWriter.string(.object(changes))),
                   note.map { .text($0) } ?? .null])
    }

    /// An incident's timeline, oldest first. Throws `.notFound` when no incident has that id
    /// and none had (a deleted incident keeps its timeline).
    public func incidentTimeline(_ id: String) throws(StoreError) -> [IncidentUpdate] {
        let rows = try read { c in
            try c.query("SELECT seq, incident_id, at, actor, kind, changes, note FROM incident_updates WHERE incident_id = ? ORDER BY seq", [.text(id)]) { s in
                var ch: JSONObject?
                if let t = s.text(5), case .object(let o)? = try? JSONParser.parse(t) { ch = o }
                return IncidentUpdate(seq: s.int(0), incidentID: s.text(1) ?? "", at: s.text(2) ?? "", actor: s.text(3) ?? "", kind: s.text(4) ?? "", changes: ch, note: s.text(6))
            }
        }
        if rows.isEmpty, try feature(in: "incidents", id: id) == nil { throw StoreError(.notFound, "no incident with id \"\(id)\"") }
        return rows
    }

    /// Records a new incident from a GeoJSON Feature (a Point); `reported_at` defaults to now,
    /// `reported_by` to the actor's account name and `status` to `reported`; the id is assigned
    /// when absent. Returns the id. Throws like `create` (`ImportFailure` for invalid input).
    public func reportIncident(geojson: String, reporter: String, actor: String) throws -> String {
        var doc: JSONValue
        do { doc = try JSONParser.parse(geojson) } catch { throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, reason: error.description)], total: 1) }
        guard case .object(var o) = doc, o["type"]?.stringValue == "Feature" else {
            throw ImportFailure(problems: [FeatureProblem(file: "<request>", index: nil, property: "type", reason: "an incident is one GeoJSON Feature with a Point geometry")], total: 1)
        }
        if case .object(var p)? = o["properties"] {
            if p["reported_at"] == nil || p["reported_at"] == .null { p["reported_at"] = .string(Store.timestamp()) }
            if p["reported_by"] == nil || p["reported_by"] == .null { p["reported_by"] = .string(reporter) }
            if p["status"] == nil || p["status"] == .null { p["status"] = .string(IncidentStatus.reported.rawValue) }
            o["properties"] = .object(p)
        }
        doc = .object(o)
        return try create(layer: "incidents", geojson: JSONWriter.string(doc), actor: actor)[0]
    }
}
