import OneMapCore

extension ResourceHit {
    /// The hit as the API and `onemap nearest --json` give it: times to 0.1 s, distances to 1 m,
    /// the route as a GeoJSON LineString from the resource to the incident.
    public var json: JSONValue {
        var o = JSONObject([("kind", .string(kind)), ("id", .string(id)), ("name", .string(name)), ("reachable", .bool(reachable))])
        o["location"] = [.number(point.lon), .number(point.lat)]
        o["drive_seconds"] = driveSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null
        o["turnout_seconds"] = .number(turnoutSeconds)
        o["eta_seconds"] = etaSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null
        o["road_metres"] = roadMetres.map { .number($0.rounded()) } ?? .null
        o["straight_metres"] = .number(straightMetres.rounded())
        o["snap_metres"] = snapMetres.map { .number($0.rounded()) } ?? .null
        o["incident_snap_metres"] = incidentSnapMetres.map { .number($0.rounded()) } ?? .null
        if let note { o["note"] = .string(note) }
        o["route"] = reachable ? GeoJSON.json(.lineString(route)) : .null
        return .object(o)
    }
}

extension CoverageRow {
    /// Villages as GeoJSON points with their response times, plus the totals.
    public static func featureCollection(_ rows: [CoverageRow], kind: String, standardSeconds: Double) -> JSONValue {
        let ok = rows.filter(\.meetsStandard).count
        return GeoJSON.collection(rows.map { r in
            var p: [String: JSONValue] = ["village": .string(r.village), "township": .string(r.township), "meets_standard": .bool(r.meetsStandard)]
            p["best"] = r.bestStation.map { .string($0) } ?? .null
            p["response_seconds"] = r.responseSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null
            p["drive_seconds"] = r.driveSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null
            p["farthest_response_seconds"] = r.farthestResponseSeconds.map { .number(($0 * 10).rounded() / 10) } ?? .null
            p["farthest_point"] = r.farthestPoint.map { [.number($0.lon), .number($0.lat)] } ?? .null
            p["meets_standard_everywhere"] = .bool(r.meetsStandardEverywhere)
            return Feature(id: r.villageID, geometry: .point(r.point), properties: p)
        }, extra: [("kind", .string(kind)), ("standard_seconds", .number(standardSeconds)),
                   ("villages_meeting_standard", .number(Double(ok))), ("villages", .number(Double(rows.count)))])
    }
}
