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

    /// A yes/no query parameter: absent, `false` or `0` is false; `true` or `1` is true;
    /// anything else is a 400.
    func flag(_ k: String) throws -> Bool {
        switch query(k) {
        case nil, "0", "false": return false
        case "1", "true": return true
        case let other?: throw APIError(.badRequest, "\(k) must be true, false, 1 or 0, got \"\(other)\"")
        }
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


/// Who a request comes from, resolved once per request by `AuthMiddleware`: a bearer token
/// (scripts, QGIS) or the web map's session cookie.
struct Caller: Sendable {
    var account: Account
    /// The browser session, when the request came with the session cookie (not a token).
    var session: Session?
}

enum RequestAuth {
    /// The caller of the request being handled (nil: anonymous).
    @TaskLocal static var caller: Caller?
    /// The name of the web map's session cookie.
    static let cookie = "onemap_session"

    /// The session cookie's value, if the request carries one.
    static func sessionToken(_ request: Request) -> String? {
        for h in request.headers[values: .cookie] {
            for part in h.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == cookie { return kv[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return nil
    }
}

/// Checks bearer tokens and session cookies against the store's accounts.
struct Authenticator: Sendable {
    let store: Store

    /// The request's caller, if it has at least `role`. Missing and wrong credentials get the
    /// same 401; a valid account with too small a role gets 403. A write made with the session
    /// cookie must carry the session's CSRF token in `X-CSRF-Token` (403 otherwise), so another
    /// site cannot make a signed-in browser write.
    func authorize(_ request: Request, _ role: Role) async throws -> Account {
        guard let caller = RequestAuth.caller else { throw Self.unauthorized }
        if let session = caller.session, ![.get, .head, .options].contains(request.method) {
            try Self.checkCSRF(request, session, "a write from the web map needs the session's X-CSRF-Token header (GET /api/session gives it); nothing was stored")
        }
        guard caller.account.role >= role else { throw APIError(.forbidden, "this needs the \(role.rawValue) role; your account has \(caller.account.role.rawValue)") }
        return caller.account
    }

    /// The caller behind the request's credentials; nil without credentials (and for a session
    /// cookie that has ended: the page then shows "signed out"); 401 when a bearer token is
    /// present but wrong (a mistyped token must not silently read as anonymous).
    func caller(_ request: Request) async throws -> Caller? {
        if let h = request.headers[.authorization] {
            let parts = h.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw Self.unauthorized }
            let token = parts[1].trimmingCharacters(in: .whitespaces)
            guard let account = try await blocking({ try store.authenticate(token: token) }) else { throw Self.unauthorized }
            return Caller(account: account)
        }
        if let token = RequestAuth.sessionToken(request), let s = try await blocking({ try store.session(token: token) }) {
            return Caller(account: s.account, session: s)
        }
        return nil
    }

    /// 403 with `why` unless the request's `X-CSRF-Token` is the session's (compared in constant time).
    static func checkCSRF(_ request: Request, _ session: Session, _ why: String) throws {
        guard let sent = request.headers[.init("X-CSRF-Token")!], SHA256.equal(Array(sent.utf8), Array(session.csrf.utf8)) else {
            throw APIError(.forbidden, why)
        }
    }

    static let unauthorized = APIError(.unauthorized, "sign in first: a valid bearer token (Authorization: Bearer <token>) or the web map's session is required", headers: [.wwwAuthenticate: "Bearer realm=\"onemap\""])
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


/// Resolves credentials before any route (`RequestAuth.caller` for the handlers): a request that
/// carries a token must carry a valid one (401 otherwise, on every route: a mistyped token never
/// reads as anonymous), and when the server asks for sign-in on reads too, reads without a token
/// or session get 401 — except health, sign-in and the web map's files.
struct AuthMiddleware: RouterMiddleware {
    let auth: Authenticator
    let required: Bool
    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        let caller = try await auth.caller(request)
        let read = request.method == .get || request.method == .head
        if required, read, caller == nil {
            let p = request.uri.path
            let open = p == "/" || p == "/healthz" || p == "/readyz" || p.hasPrefix("/web/") || p.hasPrefix("/vendor/") || p == "/openapi.yaml" || p == "/api/session"
            if !open { throw Authenticator.unauthorized }
        }
        return try await RequestAuth.$caller.withValue(caller) { try await next(request, context) }
    }
}

/// Who may read people's names and phones: signed-in users (any valid token; `ReadAuthMiddleware`
/// has already refused wrong ones), or everyone when the operator published them.
struct PersonalDataPolicy: Sendable {
    let publicByDefault: Bool
    func allowed(_ request: Request) -> Bool { publicByDefault || RequestAuth.caller != nil }

    /// The feature as this request may see it.
    func view(_ f: Feature, layer: String, _ request: Request) -> Feature {
        allowed(request) ? f : Layers.redact(f, layer: layer)
    }
}

/// Runs a feature write; a 412 (the feature changed since the client read it) says who changed
/// it and when, and carries the feature as it now is in `error.current` (with its version), so
/// the editor can show "changed by X meanwhile" and the new state without another request.
func editing<T: Sendable>(_ store: Store, _ layer: String, _ id: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    do { return try await blocking(body) } catch let e as StoreError where e.category == .preconditionFailed {
        let (now, last) = try await blocking { (try store.feature(in: layer, id: id), try store.audit(layer: layer, featureID: id, limit: 1).first) }
        guard let now else { throw e }
        var j = GeoJSON.json(now.feature)
        if case .object(var o) = j { o["version"] = .number(Double(now.version)); j = .object(o) }
        let who = last.map { l in "\(l.actor.hasPrefix("user:") ? String(l.actor.dropFirst(5)) : l.actor) at \(l.at)" } ?? "someone"
        var err = APIError(.preconditionFailed, "\(layer)/\(id) was changed by \(who) meanwhile (now version \(now.version)); your change was not stored: look at the current state and try again",
                           headers: [.eTag: "\"\(now.version)\""])
        err.detail = [("current", j), ("changed_by", last.map { .string($0.actor) } ?? .null), ("changed_at", last.map { .string($0.at) } ?? .null)]
        throw err
    }
}

/// A feature id as one URL path segment (RFC 3986 unreserved characters kept, the rest %XX).
func percentEncodedPathSegment(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
    allowed.insert(charactersIn: "-._~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}
