import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore

extension Request {
    func query(_ k: String) -> String? { uri.queryParameters.get(k) }

    func number(_ k: String, required: Bool = true) throws -> Double? {
        guard let v = query(k) else {
            if required { throw APIError(.badRequest, "missing query parameter \"\(k)\"") }
            return nil
        }
        guard let d = Double(v), d.isFinite else { throw APIError(.badRequest, "\"\(k)\" must be a number, got \"\(v)\"") }
        return d
    }

    func integer(_ k: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let v = query(k) else { return d }
        guard let n = Int(v), range.contains(n) else { throw APIError(.badRequest, "\"\(k)\" must be a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(v)\"") }
        return n
    }

    func coord(lon: String, lat: String) throws -> Coord {
        let c = Coord(try number(lon)!, try number(lat)!)
        guard c.isInWorld else { throw APIError(.badRequest, "coordinates \(c.lon),\(c.lat) are outside the world (lon −180…180, lat −90…90)") }
        return c
    }

    func coord(_ k: String) throws -> Coord {
        guard let v = query(k) else { throw APIError(.badRequest, "missing query parameter \"\(k)\" (lon,lat)") }
        let p = v.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 2, let lon = p[0], let lat = p[1] else { throw APIError(.badRequest, "\"\(k)\" must be lon,lat, got \"\(v)\"") }
        let c = Coord(lon, lat)
        guard c.isInWorld else { throw APIError(.badRequest, "\"\(k)\" \(v) is outside the world (lon −180…180, lat −90…90)") }
        return c
    }

    func routeOptions() throws -> RouteOptions {
        var o = RouteOptions()
        if let r = query("avoid_risks") { o.avoidRisks = r.split(separator: ",").map(String.init) }
        if query("avoid_zone_level") != nil { o.avoidZoneLevel = try integer("avoid_zone_level", default: 4, range: 1...4) }
        return o
    }
}

/// The largest bbox a feature query may ask for, in degrees per side.
let maxBBoxDegrees = 5.0


/// Checks bearer tokens against the store's accounts.
struct Authenticator: Sendable {
    let store: Store

    /// The account behind the request's bearer token, if it has at least `role`.
    /// Missing and wrong tokens get the same 401; a valid token with too small a role gets 403.
    /// The scheme is matched without regard to case (RFC 9110 §11.1).
    func authorize(_ request: Request, _ role: Role) async throws -> Account {
        guard let account = try await account(request) else { throw Self.unauthorized }
        guard account.role >= role else { throw APIError(.forbidden, "this needs the \(role.rawValue) role; your account has \(account.role.rawValue)") }
        return account
    }

    /// The account behind the request's credentials; nil without credentials; 401 when
    /// credentials are present but wrong (a mistyped token must not silently read as anonymous).
    func account(_ request: Request) async throws -> Account? {
        guard let h = request.headers[.authorization] else { return nil }
        let parts = h.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw Self.unauthorized }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard let account = try await blocking({ try store.authenticate(token: token) }) else { throw Self.unauthorized }
        return account
    }

    static let unauthorized = APIError(.unauthorized, "a valid bearer token is required (Authorization: Bearer <token>)", headers: [.wwwAuthenticate: "Bearer realm=\"onemap\""])
}

/// Reads the body as text, refusing more than the configured limit.
func bodyText(_ request: Request, maxBytes: Int) async throws -> String {
    let buffer: ByteBuffer
    do { buffer = try await request.body.collect(upTo: maxBytes) } catch {
        throw APIError(.contentTooLarge, "the request body is larger than \(maxBytes / 1024) KB")
    }
    // Strict: a GBK or Latin-1 body is refused with where it breaks, never stored as U+FFFD.
    if let at = UTF8Check.firstInvalidOffset(buffer.readableBytesView) {
        let b = buffer.readableBytesView[buffer.readableBytesView.startIndex + at]
        throw APIError(.unsupportedMediaType, "the request body is not UTF-8 (byte 0x\(String(b, radix: 16, uppercase: true)) at offset \(at) cannot start or continue a UTF-8 character; GBK or Latin-1 text looks like this): send UTF-8 (RFC 8259 and RFC 7946 require it); nothing was stored")
    }
    return String(decoding: buffer.readableBytesView, as: UTF8.self)
}

/// The body parsed as JSON (400 with the parser's line and column when it is not).
func jsonBody(_ request: Request, maxBytes: Int) async throws -> JSONValue {
    let text = try await bodyText(request, maxBytes: maxBytes)
    do { return try JSONParser.parse(text) } catch { throw APIError(.badRequest, error.description) }
}

/// The version an If-Match header names ("3"), if any. If-Match uses the strong comparison
/// (RFC 9110 §13.1.1): a weak tag such as W/"3" never matches, so it answers 412 — after a 404
/// when the feature does not exist (a precondition is not evaluated for a missing resource).
func ifMatch(_ request: Request, _ store: Store, _ layer: String, _ id: String) async throws -> Int? {
    guard let v = request.headers[.ifMatch] else { return nil }
    let t = v.trimmingCharacters(in: .whitespaces)
    if t == "*" {
        // Any current representation: only the feature's existence is required.
        guard try await blocking({ try store.feature(in: layer, id: id) }) != nil else { throw APIError(.preconditionFailed, "If-Match: * needs an existing feature; \(layer) has none with id \"\(id)\"") }
        return nil
    }
    if t.hasPrefix("W/") {
        guard try await blocking({ try store.feature(in: layer, id: id) }) != nil else { throw APIError(.notFound, "\(layer) has no feature with id \"\(id)\"") }
        throw APIError(.preconditionFailed, "If-Match compares strong entity tags only; the weak tag \(t) never matches (send the ETag as given, e.g. \"3\")")
    }
    guard t.count >= 3, t.hasPrefix("\""), t.hasSuffix("\""), let n = Int(t.dropFirst().dropLast()) else {
        if let n = Int(t) { return n }  // a bare number, as earlier clients sent it
        throw APIError(.badRequest, "If-Match must carry a feature version such as \"3\", got \(v)")
    }
    return n
}

func knownLayer(_ context: BasicRequestContext) throws -> String {
    let layer = try context.parameters.require("layer")
    guard Layers.byName[layer] != nil else { throw StoreError.unknownLayer(layer) }
    return layer
}

func featureID(_ context: BasicRequestContext) throws -> String {
    let raw = try context.parameters.require("id")
    let id = raw.removingPercentEncoding ?? raw
    // Checked here as well as before routing: ids compare exactly, never through a C string.
    if let why = TextRules.problem(id, "the feature id in the URL") { throw APIError(.badRequest, why) }
    return id
}

/// The feature as it now is, with its version as body field and ETag.
func currentFeature(_ store: Store, _ layer: String, _ id: String, status: HTTPResponse.Status = .ok) async throws -> Response {
    guard let f = try await blocking({ try store.feature(in: layer, id: id) }) else { throw APIError(.notFound, "\(layer) has no feature with id \"\(id)\"") }
    var j = GeoJSON.json(f.feature)
    if case .object(var o) = j { o["version"] = .number(Double(f.version)); j = .object(o) }
    return jsonResponse(j, status: status, headers: [.eTag: "\"\(f.version)\"", .contentType: "application/geo+json"])
}


/// Checks credentials before any route: a request that carries a token must carry a valid one
/// (401 otherwise, on every route: a mistyped token never reads as anonymous), and when the
/// server asks for a token on reads too, reads without one get 401 — except health and the
/// web map's files.
struct ReadAuthMiddleware: RouterMiddleware {
    let auth: Authenticator
    let required: Bool
    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let read = request.method == .get || request.method == .head
        // Writes check their token (and role) in their handlers: checked here only for reads, so
        // no request pays for two token lookups.
        if read, request.headers[.authorization] != nil {
            _ = try await auth.authorize(request, .viewer)
        } else if required, read {
            let p = request.uri.path
            let open = p == "/" || p == "/healthz" || p == "/readyz" || p.hasPrefix("/web/") || p.hasPrefix("/vendor/") || p == "/openapi.yaml"
            if !open { throw Authenticator.unauthorized }
        }
        return try await next(request, context)
    }
}

/// Who may read people's names and phones: signed-in users (any valid token; `ReadAuthMiddleware`
/// has already refused wrong ones), or everyone when the operator published them.
struct PersonalDataPolicy: Sendable {
    let publicByDefault: Bool
    func allowed(_ request: Request) -> Bool { publicByDefault || request.headers[.authorization] != nil }

    /// The feature as this request may see it.
    func view(_ f: Feature, layer: String, _ request: Request) -> Feature {
        allowed(request) ? f : Layers.redact(f, layer: layer)
    }
}
