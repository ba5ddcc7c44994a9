import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapStore
import Synchronization

/// Signing in to the web map: `POST /api/session` with a name and password sets an HttpOnly,
/// SameSite=Strict session cookie and answers the CSRF token writes must carry;
/// `GET /api/session` says who is signed in; `DELETE /api/session` signs out. Bearer tokens
/// keep working for scripts. Repeated failed sign-ins for a name are slowed down (429).
struct SessionController {
    let store: Store
    let throttle: SignInThrottle
    let trustProxy: Bool

    func addRoutes(to router: Hummingbird.Router<BasicRequestContext>) {
        router.post("/api/session") { request, _ -> Response in
            // JSON only: another site's form cannot post it without a CORS preflight (which an
            // untrusted origin fails), so no page can sign a browser in to an account it chose.
            guard let type = request.headers[.contentType], type.lowercased().hasPrefix("application/json") else {
                throw APIError(.unsupportedMediaType, "sign in with Content-Type: application/json and {\"name\": \"…\", \"password\": \"…\"}")
            }
            let body = try await jsonBody(request, maxBytes: 16 * 1024)
            guard case .string(let name)? = body["name"], case .string(let password)? = body["password"], !name.isEmpty, !password.isEmpty else {
                throw APIError(.badRequest, "body must be {\"name\": \"…\", \"password\": \"…\"}")
            }
            if let wait = throttle.wait(for: name) {
                throw APIError(.tooManyRequests, "too many failed sign-ins for \"\(name)\": try again in \(wait) s", headers: [.retryAfter: String(wait)])
            }
            guard let s = try await blocking({ try store.signIn(name: name, password: password) }) else {
                throttle.failed(name)
                throw APIError(.unauthorized, "wrong name or password (an account signs in once an admin has set its password: onemap user passwd NAME)")
            }
            throttle.succeeded(name)
            var r = jsonResponse(Self.json(s.session, via: "session"))
            r.headers[.setCookie] = cookie(s.token, maxAge: Store.sessionSeconds, request: request)
            r.headers[.cacheControl] = "no-store"
            return r
        }

        router.get("/api/session") { _, _ -> Response in
            guard let c = RequestAuth.caller else { return jsonResponse(["signed_in": .bool(false)], headers: [.cacheControl: "no-store"]) }
            if let s = c.session { return jsonResponse(Self.json(s, via: "session"), headers: [.cacheControl: "no-store"]) }
            return jsonResponse(["signed_in": .bool(true), "name": .string(c.account.name), "role": .string(c.account.role.rawValue), "via": .string("token")], headers: [.cacheControl: "no-store"])
        }

        router.delete("/api/session") { request, _ -> Response in
            if let token = RequestAuth.sessionToken(request), let session = RequestAuth.caller?.session {
                // Like every write made with the cookie: only the page holding the session's CSRF token.
                try Authenticator.checkCSRF(request, session, "signing out needs the session's X-CSRF-Token header (GET /api/session gives it)")
                try await blocking { try store.signOut(token: token) }
            }
            var r = Response(status: .noContent)
            r.headers[.setCookie] = cookie("", maxAge: 0, request: request)
            return r
        }
    }

    static func json(_ s: Session, via: String) -> JSONValue {
        ["signed_in": .bool(true), "name": .string(s.account.name), "role": .string(s.account.role.rawValue), "csrf": .string(s.csrf),
         "expires_at": .string(s.expiresAt), "via": .string(via)]
    }

    /// The session cookie: HttpOnly (scripts cannot read it), SameSite=Strict (never sent by
    /// another site's requests), Secure when the request came over HTTPS through a trusted proxy.
    func cookie(_ value: String, maxAge: Int, request: Request) -> String {
        var c = "\(RequestAuth.cookie)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
        if baseURL(request, trustProxy: trustProxy).hasPrefix("https:") { c += "; Secure" }
        return c
    }
}

/// Failed sign-ins per account name: after 5 in a row, further tries wait 15 s from the last
/// failure, doubling with each failure after that (30, 60 … at most 5 minutes); a success clears
/// the count. Kept in memory: a restart forgets it (bcrypt still costs ≈ 60 ms a guess).
final class SignInThrottle: Sendable {
    private struct Entry { var failures: Int; var last: ContinuousClock.Instant }
    private let entries = Mutex<[String: Entry]>([:])
    let free = 5

    /// Seconds to wait before this name may try again, or nil.
    func wait(for name: String) -> Int? {
        let key = name.lowercased()
        return entries.withLock { m -> Int? in
            guard let e = m[key], e.failures >= free else { return nil }
            let lock = Duration.seconds(min(300, 15 << min(5, e.failures - free)))
            let left = e.last + lock - .now
            return left > .zero ? max(1, Int(left.components.seconds) + 1) : nil
        }
    }

    func failed(_ name: String) {
        let key = name.lowercased()
        entries.withLock { m in
            if m.count > 10_000 { m.removeAll() }  // bounded: a flood of made-up names cannot grow it
            m[key] = Entry(failures: (m[key]?.failures ?? 0) + 1, last: .now)
        }
    }

    func succeeded(_ name: String) { _ = entries.withLock { $0.removeValue(forKey: name.lowercased()) } }
}
