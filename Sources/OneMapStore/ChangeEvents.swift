import Foundation
import OneMapCore

/// One change of the store as the live event stream (`GET /api/events`) tells it: an edit
/// journal row with the feature's current version and, for the layers the command centre
/// watches, the properties a screen shows without reloading (never people's names or phones).
public struct ChangeEvent: Sendable {
    public var seq: Int64
    /// ISO 8601 UTC.
    public var at: String
    public var actor: String
    public var action: String
    public var layer: String
    public var featureID: String?
    /// Old and new geometry's envelope, WGS84 degrees.
    public var bbox: BBox?
    /// The feature's version now (nil once deleted).
    public var version: Int?
    /// incident, road_risk, shelter, stock or feature.
    public var kind: String
    /// Non-personal properties after the change (status, level, occupancy, title…).
    public var summary: JSONObject

    public var json: JSONValue {
        // No actor: the stream is public, and account names are people's names.
        var o = JSONObject([("seq", .number(Double(seq))), ("at", .string(at)), ("action", .string(action)),
                            ("kind", .string(kind)), ("layer", .string(layer)), ("id", featureID.map { .string($0) } ?? .null)])
        o["bbox"] = bbox.map { [.number($0.minLon), .number($0.minLat), .number($0.maxLon), .number($0.maxLat)] } ?? .null
        o["version"] = version.map { .number(Double($0)) } ?? .null
        o["properties"] = .object(summary)
        return .object(o)
    }

    static let shown: [String: [String]] = [
        "incidents": ["title", "type", "level", "status", "casualties", "reported_at"],
        "road_risks": ["name", "risk_type", "level", "status", "note"],
        "shelters": ["name", "status", "occupancy", "capacity"],
        "warehouses": ["name"],
    ]
}

extension Store {
    /// The changes after journal position `seq`, oldest first, at most `limit`.
    public func changes(after seq: Int64, limit: Int = 500) throws(StoreError) -> [ChangeEvent] {
        try read { c in
            let rows = try c.query("SELECT seq, at, actor, action, layer, feature_id, min_lon, min_lat, max_lon, max_lat, before, after FROM edit_journal WHERE seq > ? ORDER BY seq LIMIT ?",
                                   [.int(seq), .int(Int64(max(1, limit)))]) { s in
                (s.int(0), s.text(1) ?? "", s.text(2) ?? "", s.text(3) ?? "", s.text(4) ?? "", s.text(5),
                 s.isNull(6) ? nil : BBox(minLon: s.double(6), minLat: s.double(7), maxLon: s.double(8), maxLat: s.double(9)), s.text(10), s.text(11))
            }
            var out: [ChangeEvent] = []
            for r in rows {
                var version: Int?
                if let id = r.5, Layers.byName[r.4] != nil, case .int(let v)? = try c.scalar("SELECT version FROM \(r.4) WHERE id = ?", [.text(id)]) { version = Int(v) }
                func props(_ t: String?) -> JSONObject? {
                    guard let t, case .object(let f)? = try? JSONParser.parse(t), case .object(let p)? = f["properties"] else { return nil }
                    return p
                }
                let after = props(r.8), before = props(r.7)
                var summary = JSONObject()
                for k in ChangeEvent.shown[r.4] ?? [] { if let v = after?[k] { summary[k] = v } }
                var kind = "feature"
                switch r.4 {
                case "incidents": kind = "incident"
                case "road_risks": kind = "road_risk"
                case "shelters": kind = "shelter"
                case "warehouses" where after?["stock"] != before?["stock"]: kind = "stock"
                default: break
                }
                out.append(ChangeEvent(seq: r.0, at: r.1, actor: r.2, action: r.3, layer: r.4, featureID: r.5, bbox: r.6, version: version, kind: kind, summary: summary))
            }
            return out
        }
    }
}
