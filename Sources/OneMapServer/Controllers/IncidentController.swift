import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore

/// Incidents as shared records (county plan 三(一) 信息报送): report, list, read, change, add to
/// the timeline, analyse and print the duty leader's brief. Incidents are also the feature
/// layer `incidents` (`/api/features/incidents`); every change through either API writes the
/// incident's timeline and the audit log in one transaction.
struct IncidentController {
    let store: Store
    let auth: Authenticator
    let personal: PersonalDataPolicy
    let router: RoadRouter
    let map: MapRenderer
    let maxBodyBytes: Int

    /// The incident with its version and timeline, as every incident route answers it.
    /// Anonymous readers see neither `reported_by` nor the timeline's accounts (people's names).
    func incident(_ id: String, _ request: Request, status: HTTPResponse.Status = .ok) async throws -> Response {
        let (f, timeline) = try await blocking { (try store.feature(in: "incidents", id: id), try store.incidentTimeline(id)) }
        guard let f else { throw APIError(.notFound, "no incident with id \"\(id)\"") }
        let allowed = personal.allowed(request)
        var j = GeoJSON.json(personal.view(f.feature, layer: "incidents", request))
        if case .object(var o) = j {
            o["version"] = .number(Double(f.version))
            o["timeline"] = .array(timeline.map { u in
                var u = u
                if !allowed { u.actor = "" }
                guard case .object(var e) = u.json else { return u.json }
                if !allowed { e["actor"] = .null }
                return .object(e)
            })
            j = .object(o)
        }
        var h: HTTPFields = [.eTag: "\"\(f.version)\"", .contentType: "application/geo+json", .cacheControl: "no-cache"]
        if status == .created { h[.location] = "/api/incidents/\(percentEncodedPathSegment(id))" }
        return jsonResponse(j, status: status, headers: h)
    }

    func incidentID(_ context: BasicRequestContext) throws -> String { try featureID(context) }

    func addRoutes(to r: Hummingbird.Router<BasicRequestContext>) {
        r.post("/api/incidents") { request, _ -> Response in
            let user = try await auth.authorize(request, .editor)
            let body = try await bodyText(request, maxBytes: maxBodyBytes)
            let id = try await blocking { try store.reportIncident(geojson: body, reporter: user.name, actor: "user:\(user.name)") }
            return try await incident(id, request, status: .created)
        }

        r.get("/api/incidents") { request, _ -> Response in
            var wanted: Set<String>?
            if let s = request.query("status") {
                let list = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                for x in list where IncidentStatus(rawValue: x) == nil {
                    throw APIError(.badRequest, "status must be one or more of \(IncidentStatus.rawValues.joined(separator: ", ")) (comma-separated), got \"\(x)\"")
                }
                wanted = Set(list)
            }
            let limit = try request.integer("limit", default: 500, range: 1...10000)
            let all = try await blocking { try store.features(in: "incidents", bbox: .world, limit: 100_000, offset: 0) }
            let chosen = all.filter { f in wanted.map { $0.contains(f["status"]?.stringValue ?? "") } ?? true }
                .sorted { ($0["reported_at"]?.stringValue ?? "", $0.id) > ($1["reported_at"]?.stringValue ?? "", $1.id) }
            let visible = chosen.prefix(limit).map { personal.view($0, layer: "incidents", request) }
            return jsonResponse(GeoJSON.collection(visible, extra: [("returned", .number(Double(min(limit, chosen.count)))), ("matched", .number(Double(chosen.count)))]),
                                headers: [.contentType: "application/geo+json"])
        }

        r.get("/api/incidents/:id") { request, context -> Response in try await incident(try incidentID(context), request) }

        r.patch("/api/incidents/:id") { request, context -> Response in
            let id = try incidentID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, "incidents", id)
            let anywhere = try request.flag("anywhere")
            let body = try await jsonBody(request, maxBytes: maxBodyBytes)
            guard case .object(var o) = body else { throw APIError(.badRequest, "a change is a JSON object: {\"properties\": {…}, \"geometry\": …, \"note\": \"…\"}") }
            let note = try Self.note(o["note"])
            o["note"] = nil
            let changes: JSONValue = .object(o)
            try await editing(store, "incidents", id) {
                try store.patch(layer: "incidents", id: id, changes: changes, ifVersion: version, actor: "user:\(user.name)", note: note, anywhere: anywhere)
            }
            return try await incident(id, request)
        }

        r.post("/api/incidents/:id/updates") { request, context -> Response in
            let id = try incidentID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, "incidents", id)
            let body = try await jsonBody(request, maxBytes: maxBodyBytes)
            guard case .object(let o) = body else { throw APIError(.badRequest, "an update is {\"note\": \"…\", \"status\": \"responding\", \"level\": 2, \"casualties\": 0}") }
            let allowed: Set<String> = ["note", "status", "level", "casualties", "description", "title", "type"]
            for k in o.keys where !allowed.contains(k) {
                throw APIError(.badRequest, "an update may carry \(allowed.sorted().joined(separator: ", ")); \"\(k)\" is not one of them")
            }
            let note = try Self.note(o["note"])
            var props = JSONObject()
            for (k, v) in o where k != "note" { props[k] = v }
            guard note != nil || !props.keys.isEmpty else { throw APIError(.badRequest, "an update needs a \"note\" or a change (status, level, casualties…)") }
            let changes: JSONValue = .object(JSONObject([("properties", .object(props))]))
            try await editing(store, "incidents", id) { try store.patch(layer: "incidents", id: id, changes: changes, ifVersion: version, actor: "user:\(user.name)", note: note) }
            let timeline = try await blocking { try store.incidentTimeline(id) }
            var resp = try await incident(id, request, status: .created)
            resp.headers[.location] = "/api/incidents/\(percentEncodedPathSegment(id))#update-\(timeline.last?.seq ?? 0)"
            return resp
        }

        r.get("/api/incidents/:id/analysis") { request, context -> Response in
            let id = try incidentID(context)
            let (radius, k) = try Self.analysisOptions(request)
            let a = try await analyse(id, radius: radius, k: k)
            let allowed = personal.allowed(request)
            return jsonResponse(a.json(redact: { f, layer in allowed ? f : Layers.redact(f, layer: layer) }), headers: [.cacheControl: "no-cache"])
        }

        r.get("/api/incidents/:id/brief.pdf") { request, context -> Response in
            let id = try incidentID(context)
            let (radius, k) = try Self.analysisOptions(request)
            let a = try await analyse(id, radius: radius, k: k)
            let allowed = personal.allowed(request)
            let timeline = try await blocking { try store.incidentTimeline(id) }
            var shown = a
            if !allowed { shown.incident = Layers.redact(a.incident, layer: "incidents") }
            let brief = IncidentBrief(analysis: shown, timeline: timeline, personalData: allowed)
            let pdf = try await blocking { try brief.pdf(map: map) }
            return Response(status: .ok, headers: [.contentType: "application/pdf", .contentDisposition: "inline; filename=\"incident-\(id).pdf\"", .cacheControl: "no-cache"],
                            body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        }
    }

    func analyse(_ id: String, radius: Double, k: Int) async throws -> IncidentAnalysis {
        try await blocking {
            guard let f = try store.feature(in: "incidents", id: id) else { throw APIError(.notFound, "no incident with id \"\(id)\"") }
            return try IncidentAnalysis.analyse(f.feature, source: store, router: router, radiusMetres: radius, k: k)
        }
    }

    /// `radius` in metres (100…50,000, default 5,000) and `k` resources per kind (1…10, default 3).
    static func analysisOptions(_ request: Request) throws -> (Double, Int) {
        let radius = try request.number("radius", required: false) ?? 5000
        guard radius >= 100, radius <= 50_000 else { throw APIError(.badRequest, "radius must be 100…50000 metres, got \(radius)") }
        return (radius, try request.integer("k", default: 3, range: 1...10))
    }

    static func note(_ v: JSONValue?) throws -> String? {
        switch v {
        case nil, .null?: return nil
        case .string(let s)?:
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            guard t.count <= 4000 else { throw APIError(.badRequest, "a note is at most 4000 characters") }
            if let why = TextRules.problem(t, "the note", allowingLineBreaks: true) { throw APIError(.badRequest, why) }
            return t.isEmpty ? nil : t
        default: throw APIError(.badRequest, "\"note\" must be text")
        }
    }
}
