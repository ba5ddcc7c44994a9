import Foundation
import Hummingbird
import NIOCore
import OneMapCore

/// The methods each route path answers, from the router's own table: 405 with `Allow` for a
/// method a path does not have, and the `Allow` list of OPTIONS and CORS preflights.
struct RouteTable: Sendable {
    private enum Part: Sendable { case literal(String), capture, rest }
    private let routes: [(parts: [Part], methods: Set<HTTPRequest.Method>)]

    /// `routes`: the router's route list ("/tiles/{style}/{z}/{x}/{file}", "/web/**", …).
    init(_ routes: [(path: String, method: HTTPRequest.Method)]) {
        var byPath: [String: Set<HTTPRequest.Method>] = [:]
        for r in routes { byPath[r.path, default: []].insert(r.method) }
        self.routes = byPath.map { path, methods in
            var m = methods
            if m.contains(.get) { m.insert(.head) }
            m.insert(.options)
            let parts: [Part] = path.split(separator: "/").map { c in
                if c == "**" { return .rest }
                if c.hasPrefix("{") && c.hasSuffix("}") { return .capture }
                return .literal(String(c))
            }
            return (parts, m)
        }
    }

    /// The methods of every route whose pattern matches `path`; nil when none does.
    func methods(for path: String) -> Set<HTTPRequest.Method>? {
        let segs = path.split(separator: "/", omittingEmptySubsequences: true)
        var found: Set<HTTPRequest.Method>?
        for r in routes where Self.match(r.parts, segs) { found = (found ?? []).union(r.methods) }
        return found
    }

    private static func match(_ parts: [Part], _ segs: [Substring]) -> Bool {
        var i = 0
        for p in parts {
            switch p {
            case .rest: return i < segs.count
            case .capture: guard i < segs.count else { return false }
            case .literal(let l): guard i < segs.count, segs[i] == l else { return false }
            }
            i += 1
        }
        return i == segs.count
    }

    /// The `Allow` header value, in a stable order.
    static func allowHeader(_ m: Set<HTTPRequest.Method>) -> String {
        let order: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]
        return order.filter(m.contains).map(\.rawValue).joined(separator: ", ")
    }
}

/// Entity-tag comparison as RFC 9110 §8.8.3.2 defines it.
enum EntityTag {
    /// The opaque part of a tag (`W/"x"` and `"x"` both give `"x"`).
    static func opaque<S: StringProtocol>(_ t: S) -> Substring {
        let s = Substring(t).trimmingCharacters(in: .whitespaces)[...]
        return s.hasPrefix("W/") ? s.dropFirst(2) : s
    }

    /// Weak comparison, for If-None-Match: `*`, or any listed tag whose opaque part equals the
    /// current tag's.
    static func noneMatchHits(_ header: String, current: String) -> Bool {
        if header == current { return true }  // the common case, without parsing
        let cur = opaque(current)
        for t in header.split(separator: ",") {
            let o = opaque(t)
            if o == "*" || o == cur { return true }
        }
        return false
    }
}

/// Cross-origin reads and writes (the Fetch standard's CORS protocol).
///
/// Public reads (tiles, TileJSON, WMTS, the read API, prints, health) carry
/// `Access-Control-Allow-Origin: *` unless turned off; an origin the operator configured gets its
/// own origin echoed with `Access-Control-Allow-Credentials: true`, for every route. Every other
/// origin gets no CORS headers for writes and the audit log, so browsers keep them from it.
///
/// Hummingbird's `CORSMiddleware` applies one policy to every route; this one needs a policy per
/// route class and a list of trusted origins, so it is written here (about 60 lines).
public struct CORSConfiguration: Sendable {
    /// `*` on public reads.
    public var publicReads: Bool
    /// Origins (scheme://host[:port]) trusted with credentials and writes.
    public var trustedOrigins: Set<String>

    public init(publicReads: Bool = true, trustedOrigins: Set<String> = []) {
        self.publicReads = publicReads; self.trustedOrigins = trustedOrigins
    }

    /// An origin as browsers send it (RFC 6454 serialisation): lower-case scheme and host, no
    /// default port, no path, user or query; nil when `s` is not an http(s) origin.
    public static func normalisedOrigin(_ s: String) -> String? {
        guard let u = URLComponents(string: s), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host?.lowercased(), !host.isEmpty, u.user == nil, u.password == nil, u.query == nil, u.fragment == nil,
              u.path.isEmpty || u.path == "/"
        else { return nil }
        let port = u.port.flatMap { (scheme == "http" && $0 == 80) || (scheme == "https" && $0 == 443) ? nil : $0 }
        return "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")"
    }

    static let allowHeaders = "Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID, X-CSRF-Token, X-Request-Id"
    static let exposeHeaders = "ETag, Location, Retry-After, X-Request-Id"

    /// Reads anyone may make from another origin.
    static func isPublicRead(_ method: HTTPRequest.Method, _ rawPath: String) -> Bool {
        guard method == .get || method == .head else { return false }
        // As the router sees it: empty segments do not count ("/api//audit" is "/api/audit").
        let path = rawPath.contains("//") ? "/" + rawPath.split(separator: "/").joined(separator: "/") : rawPath
        if path.hasPrefix("/api/audit") { return false }
        return path.hasPrefix("/tiles/") || path.hasPrefix("/wmts/") || path.hasPrefix("/api/") || path.hasPrefix("/print/")
            || path == "/openapi.yaml" || path == "/healthz" || path == "/readyz"
    }

    /// Adds the CORS headers a response to `request` (method `method`) needs.
    func decorate(_ headers: inout HTTPFields, request: Request, method: HTTPRequest.Method) {
        decorate(&headers, origin: request.headers[.origin], method: method, path: request.uri.path)
    }

    /// Adds the CORS headers a response to a request from `origin` for `path` needs.
    func decorate(_ headers: inout HTTPFields, origin: String?, method: HTTPRequest.Method, path: String) {
        if let origin, trustedOrigins.contains(origin) {
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowCredentials] = "true"
            headers[.accessControlExposeHeaders] = Self.exposeHeaders
            headers[values: .vary].append("Origin")
        } else {
            if publicReads, Self.isPublicRead(method, path) {
                headers[.accessControlAllowOrigin] = "*"
                if origin != nil { headers[.accessControlExposeHeaders] = Self.exposeHeaders }
            }
            if !trustedOrigins.isEmpty { headers[values: .vary].append("Origin") }
        }
    }

    /// The answer to OPTIONS on a path that has `allowed` methods: a CORS preflight when the
    /// request carries `Access-Control-Request-Method`, else 204 with `Allow`.
    func preflight(_ request: Request, allowed: Set<HTTPRequest.Method>) throws -> Response {
        let allow = RouteTable.allowHeader(allowed)
        guard let asked = request.headers[.accessControlRequestMethod] else {
            return Response(status: .noContent, headers: [.allow: allow])
        }
        guard let method = HTTPRequest.Method(asked), allowed.contains(method) else {
            throw APIError(.methodNotAllowed, "\(request.uri.path) does not answer \(asked); it answers \(allow)", headers: [.allow: allow])
        }
        let origin = request.headers[.origin] ?? ""
        var h: HTTPFields = [.allow: allow, .accessControlAllowHeaders: Self.allowHeaders, .accessControlMaxAge: "600"]
        if trustedOrigins.contains(origin) {
            h[.accessControlAllowOrigin] = origin
            h[.accessControlAllowCredentials] = "true"
            h[.accessControlAllowMethods] = allow
            h[values: .vary].append("Origin")
        } else if publicReads, Self.isPublicRead(method, request.uri.path) {
            h[.accessControlAllowOrigin] = "*"
            h[.accessControlAllowMethods] = "GET, HEAD, OPTIONS"
        } else {
            throw APIError(.forbidden, "origin \(origin.isEmpty ? "(none)" : origin) may not \(asked) \(request.uri.path) from a browser; the operator can allow it with serve --cors-origin \(origin.isEmpty ? "ORIGIN" : origin)")
        }
        return Response(status: .noContent, headers: h)
    }
}

/// The server's front door, in front of the router: cached tiles straight from memory, OPTIONS
/// and CORS preflights, 405 with `Allow`, conditional GETs on any response with an ETag, and
/// CORS headers on every answer.
struct FrontResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    typealias Context = BasicRequestContext
    let inner: Inner
    let routes: RouteTable
    let cors: CORSConfiguration
    /// Cached tiles answered here without the router (nil when reads need a token).
    let tiles: TileService?

    func respond(to request: Request, context: Context) async throws -> Response {
        let method = request.method
        if let tiles, var a = tiles.fastAnswer(method: method, target: request.head.path ?? "", headers: request.headers) {
            cors.decorate(&a.headers, request: request, method: method)
            return a.response
        }
        if let why = Self.badTarget(request.head.path ?? "") {
            // Read what the client sends (bounded) so the connection stays usable for its next request.
            _ = try? await request.body.collect(upTo: 4 * 1024 * 1024)
            return try error(APIError(.badRequest, why), request, context)
        }
        if method == .options {
            guard let allowed = routes.methods(for: request.uri.path) else {
                return try error(APIError(.notFound, "no such resource: \(request.uri.path)"), request, context)
            }
            do {
                var r = try cors.preflight(request, allowed: allowed)
                r.headers[.init("X-Request-Id")!] = context.id
                return r
            } catch let e as APIError { return try error(e, request, context) }
        }
        var response = try await inner.respond(to: request, context: context)
        if response.status == .notFound, let allowed = routes.methods(for: request.uri.path), !allowed.contains(method) {
            let allow = RouteTable.allowHeader(allowed)
            return try error(APIError(.methodNotAllowed, "\(request.uri.path) does not answer \(method.rawValue); it answers \(allow)", headers: [.allow: allow]), request, context)
        }
        if (method == .get || method == .head), response.status == .ok, let tag = response.headers[.eTag],
           let inm = request.headers[.ifNoneMatch], EntityTag.noneMatchHits(inm, current: tag)
        {
            var h = response.headers
            h[.contentLength] = nil
            h[.contentType] = nil
            response = Response(status: .notModified, headers: h)
        }
        if method == .get || method == .head, request.uri.path.hasPrefix("/api/") || request.uri.path.hasPrefix("/print/") {
            // Answers here may depend on the token (personal data): shared caches must keep them
            // apart, and a signed-in user's answer is for that user only.
            for v in ["Authorization", "Cookie"] where !response.headers[values: .vary].contains(where: { $0.caseInsensitiveCompare(v) == .orderedSame }) {
                response.headers[values: .vary].append(v)
            }
            if response.headers[.cacheControl] == "no-store" {
                // Kept: answers that must never be stored (the session and its CSRF token).
            } else if request.headers[.authorization] != nil || RequestAuth.sessionToken(request) != nil {
                response.headers[.cacheControl] = "private, no-cache"
            } else if response.headers[.cacheControl] == nil {
                response.headers[.cacheControl] = "no-cache"
            }
        }
        cors.decorate(&response.headers, request: request, method: method)
        return response
    }

    /// Why a request target is refused before routing: a path or query that, percent-decoded, is
    /// not UTF-8 or holds a control character (a NUL in an id once reached a C string and named
    /// another feature). Nil for a good target.
    static func badTarget(_ target: String) -> String? {
        var t = target
        return t.withUTF8 { raw -> String? in
            // Fast path: plain printable ASCII without escapes needs no decoding.
            if !raw.contains(where: { $0 == 0x25 || $0 < 0x21 || $0 >= 0x7F }) { return nil }
            let s = Substring(target)
            let q = s.firstIndex(of: "?")
            for (part, text) in [("path", q.map { s[..<$0] } ?? s), ("query", q.map { s[s.index(after: $0)...] } ?? "")] where !text.isEmpty {
                // "+" stays: it only means a space in form-encoded queries, and a space is allowed.
                guard let bytes = UTF8Check.percentDecoded(text.utf8) else { return "the URL's \(part) has a malformed percent escape (% must be followed by two hex digits)" }
                if let at = UTF8Check.firstInvalidOffset(bytes) { return "the URL's \(part) is not UTF-8 once percent-decoded (byte 0x\(String(bytes[at], radix: 16, uppercase: true)) at \(at)); encode text as UTF-8" }
                let decoded = String(decoding: bytes, as: UTF8.self)
                if let u = TextRules.forbiddenControl(in: decoded) { return "the URL's \(part) contains the control character \(TextRules.name(u)); control characters are not allowed in ids, names or parameters" }
            }
            return nil
        }
    }

    private func error(_ e: APIError, _ request: Request, _ context: Context) throws -> Response {
        var e = e
        e.requestID = context.id
        var r = try e.response(from: request, context: context)
        r.headers[.init("X-Request-Id")!] = context.id
        cors.decorate(&r.headers, request: request, method: request.method)
        return r
    }
}

/// The scheme and authority clients reach this server at, for URLs written into TileJSON and
/// WMTS capabilities. With `trustProxy`, `Forwarded` (RFC 7239) or `X-Forwarded-Proto`/`-Host`/
/// `-Prefix` from the reverse proxy win; without it they are ignored (a client could forge them).
/// Values that are not a plain host[:port] or http/https are ignored too.
func baseURL(_ request: Request, trustProxy: Bool) -> String {
    var proto = "http"
    var host = request.head.authority.flatMap(validHost) ?? "127.0.0.1:8080"
    var prefix = ""
    if trustProxy {
        // The last element: the one our proxy added (earlier ones came from the client).
        if let fwd = request.headers[values: .init("Forwarded")!].last?.split(separator: ",").last {
            for pair in fwd.split(separator: ";") {
                let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                guard kv.count == 2 else { continue }
                if kv[0].lowercased() == "proto", kv[1] == "https" || kv[1] == "http" { proto = kv[1] }
                if kv[0].lowercased() == "host", let h = validHost(kv[1]) { host = h }
            }
        }
        func last(_ name: String) -> String? {
            request.headers[values: .init(name)!].last?.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let p = last("X-Forwarded-Proto")?.lowercased(), p == "https" || p == "http" { proto = p }
        if let h = last("X-Forwarded-Host").flatMap(validHost) { host = h }
        if let p = request.headers[values: .init("X-Forwarded-Prefix")!].last?.trimmingCharacters(in: .whitespaces), validPrefix(p) {
            prefix = p.hasSuffix("/") ? String(p.dropLast()) : p
        }
    }
    return "\(proto)://\(host)\(prefix)"
}

/// `h` if it is a DNS name, an IPv4 address or a [bracketed] IPv6 address, with an optional port.
private func validHost(_ h: String) -> String? {
    let t = h.trimmingCharacters(in: .whitespaces)
    guard !t.isEmpty, t.utf8.count <= 255 else { return nil }
    var name = Substring(t), port: Substring?
    if t.hasPrefix("[") {
        guard let close = t.firstIndex(of: "]") else { return nil }
        let inside = t[t.index(after: t.startIndex)..<close]
        guard !inside.isEmpty, inside.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        let rest = t[t.index(after: close)...]
        if !rest.isEmpty { guard rest.hasPrefix(":") else { return nil }; port = rest.dropFirst() }
        name = ""
    } else if let colon = t.firstIndex(of: ":") {
        name = t[..<colon]
        port = t[t.index(after: colon)...]
    }
    if let port { guard !port.isEmpty, port.count <= 5, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber), Int(port)! <= 65535 else { return nil } }
    if !t.hasPrefix("[") {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty, labels.allSatisfy({ l in
            !l.isEmpty && l.count <= 63 && !l.hasPrefix("-") && !l.hasSuffix("-") && l.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "-") }
        }) else { return nil }
    }
    return t
}

/// A path prefix made of plain segments ("/onemap", "/gis/tiles"): letters, digits, "-", "_", ".", "~".
private func validPrefix(_ p: String) -> Bool {
    guard p.hasPrefix("/"), p.utf8.count <= 200 else { return false }
    return p.split(separator: "/").allSatisfy { seg in
        seg != "." && seg != ".." && seg.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "~") }
    }
}
