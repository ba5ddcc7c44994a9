import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapStore

/// The account behind the request's bearer token, if it has at least `role`.
/// Missing and wrong tokens get the same 401; a valid token with too small a role gets 403.
func authorize(_ request: Request, _ s: OneMapServices, _ role: Role) async throws -> Account {
    let unauthorized = APIError(.unauthorized, "a valid bearer token is required (Authorization: Bearer <token>)", headers: [.wwwAuthenticate: "Bearer realm=\"onemap\""])
    guard let h = request.headers[.authorization], h.hasPrefix("Bearer ") else { throw unauthorized }
    let token = String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    guard let account = try await s.blocking({ try s.store.authenticate(token: token) }) else { throw unauthorized }
    guard account.role >= role else { throw APIError(.forbidden, "this needs the \(role.rawValue) role; your account has \(account.role.rawValue)") }
    return account
}

/// Reads the body as text, refusing more than the configured limit.
func bodyText(_ request: Request, _ s: OneMapServices) async throws -> String {
    let buffer: ByteBuffer
    do { buffer = try await request.body.collect(upTo: s.config.maxBodyBytes) } catch {
        throw APIError(.contentTooLarge, "the request body is larger than \(s.config.maxBodyBytes / 1024) KB")
    }
    guard let text = buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes) else { throw APIError(.badRequest, "the body is not UTF-8 text") }
    return text
}

/// The body parsed as JSON (400 with the parser's line and column when it is not).
func jsonBody(_ request: Request, _ s: OneMapServices) async throws -> JSONValue {
    let text = try await bodyText(request, s)
    do { return try JSONParser.parse(text) } catch { throw APIError(.badRequest, error.description) }
}

/// The version an If-Match header names ("3", 3 or W/"3"), if any.
func ifMatch(_ request: Request) throws -> Int? {
    guard let v = request.headers[.ifMatch] else { return nil }
    let t = v.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    guard let n = Int(t) else { throw APIError(.badRequest, "If-Match must carry a feature version such as \"3\", got \(v)") }
    return n
}

func knownLayer(_ context: BasicRequestContext) throws -> String {
    let layer = try context.parameters.require("layer")
    guard Layers.byName[layer] != nil else { throw StoreError.unknownLayer(layer) }
    return layer
}

func featureID(_ context: BasicRequestContext) throws -> String {
    let raw = try context.parameters.require("id")
    return raw.removingPercentEncoding ?? raw
}

/// The feature as it now is, with its version as body field and ETag.
func currentFeature(_ s: OneMapServices, _ layer: String, _ id: String, status: HTTPResponse.Status = .ok) async throws -> Response {
    guard let f = try await s.blocking({ try s.store.feature(in: layer, id: id) }) else { throw APIError(.notFound, "\(layer) has no feature with id \"\(id)\"") }
    var j = GeoJSON.json(f.feature)
    if case .object(var o) = j { o["version"] = .number(Double(f.version)); j = .object(o) }
    return jsonResponse(j, status: status, headers: [.eTag: "\"\(f.version)\""])
}

func addWriteRoutes(_ router: Hummingbird.Router<BasicRequestContext>, _ s: OneMapServices) {
    router.post("/api/features/:layer") { request, context -> Response in
        let layer = try knownLayer(context)
        let user = try await authorize(request, s, .editor)
        let body = try await bodyText(request, s)
        let ids = try await s.blocking { try s.store.create(layer: layer, geojson: body, actor: "user:\(user.name)") }
        if ids.count == 1 { return try await currentFeature(s, layer, ids[0], status: .created) }
        return jsonResponse(["created": .array(ids.map { .string($0) })], status: .created)
    }

    router.put("/api/features/:layer/:id") { request, context -> Response in
        let layer = try knownLayer(context), id = try featureID(context)
        let user = try await authorize(request, s, .editor)
        let version = try ifMatch(request)
        let body = try await bodyText(request, s)
        try await s.blocking { try s.store.replace(layer: layer, id: id, geojson: body, ifVersion: version, actor: "user:\(user.name)") }
        return try await currentFeature(s, layer, id)
    }

    router.patch("/api/features/:layer/:id") { request, context -> Response in
        let layer = try knownLayer(context), id = try featureID(context)
        let user = try await authorize(request, s, .editor)
        let version = try ifMatch(request)
        let changes = try await jsonBody(request, s)
        try await s.blocking { try s.store.patch(layer: layer, id: id, changes: changes, ifVersion: version, actor: "user:\(user.name)") }
        return try await currentFeature(s, layer, id)
    }

    router.delete("/api/features/:layer/:id") { request, context -> Response in
        let layer = try knownLayer(context), id = try featureID(context)
        let user = try await authorize(request, s, .editor)
        let version = try ifMatch(request)
        try await s.blocking { try s.store.delete(layer: layer, id: id, ifVersion: version, actor: "user:\(user.name)") }
        return Response(status: .noContent)
    }

    router.post("/api/road_risks/:id/status") { request, context -> Response in
        let id = try featureID(context)
        let user = try await authorize(request, s, .editor)
        let version = try ifMatch(request)
        let body = try await jsonBody(request, s)
        guard let status = body["status"]?.stringValue, ["open", "restricted", "closed"].contains(status) else {
            throw APIError(.badRequest, "body must be {\"status\": \"open\" | \"restricted\" | \"closed\", \"note\": \"…\"}")
        }
        let note = body["note"]?.stringValue
        try await s.blocking { try s.store.setRoadRiskStatus(id: id, status: status, note: note, ifVersion: version, actor: "user:\(user.name)") }
        return try await currentFeature(s, "road_risks", id)
    }

    router.post("/api/warehouses/:id/stock") { request, context -> Response in
        let id = try featureID(context)
        let user = try await authorize(request, s, .editor)
        let version = try ifMatch(request)
        let body = try await jsonBody(request, s)
        guard let item = body["item"]?.stringValue else { throw APIError(.badRequest, "body must be {\"item\": \"帐篷\", \"delta\": -20} or {\"item\": …, \"set\": 100, \"unit\": \"顶\"}") }
        let delta = body["delta"]?.doubleValue, set = body["set"]?.doubleValue
        if let d = delta ?? set, !d.isFinite { throw APIError(.badRequest, "quantities must be finite numbers") }
        try await s.blocking {
            try s.store.changeStock(warehouse: id, item: item, unit: body["unit"]?.stringValue, delta: delta, set: set, ifVersion: version, actor: "user:\(user.name)")
        }
        return try await currentFeature(s, "warehouses", id)
    }

    router.get("/api/audit") { request, _ -> Response in
        _ = try await authorize(request, s, .editor)
        let layer = request.query("layer"), feature = request.query("feature")
        if let layer, Layers.byName[layer] == nil { throw StoreError.unknownLayer(layer) }
        let limit = try request.integer("limit", default: 100, range: 1...10000)
        let since = Int64(try request.integer("since", default: 0, range: 0...Int.max))
        let rows = try await s.blocking { try s.store.audit(layer: layer, featureID: feature, since: since, limit: limit) }
        return jsonResponse(.array(rows.map { e in
            ["seq": .number(Double(e.seq)), "at": .string(e.at), "actor": .string(e.actor), "action": .string(e.action), "layer": .string(e.layer),
             "feature_id": e.featureID.map { .string($0) } ?? .null, "before": e.before ?? .null, "after": e.after ?? .null]
        }))
    }
}

/// When the server asks for a token on reads too: everything but health and the web map's files.
struct ReadAuthMiddleware: RouterMiddleware {
    let services: OneMapServices
    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let p = request.uri.path
        let open = p == "/" || p == "/healthz" || p == "/readyz" || p.hasPrefix("/web/") || p.hasPrefix("/vendor/") || p == "/openapi.yaml"
        if services.config.readsRequireToken && !open && request.method == .get { _ = try await authorize(request, services, .viewer) }
        return try await next(request, context)
    }
}
