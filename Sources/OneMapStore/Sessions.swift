import Foundation
import HummingbirdBcrypt
import OneMapCore

/// A signed-in browser: the account, its CSRF token and when the session ends.
public struct Session: Sendable, Equatable {
    public var account: Account
    /// Sent back by the browser in `X-CSRF-Token` on every write made with the session cookie.
    public var csrf: String
    /// ISO 8601 UTC, e.g. 2026-11-30T08:00:00Z.
    public var expiresAt: String
}

/// A new session: its secret token (for the cookie; only its SHA-256 is kept) and its record.
public struct NewSession: Sendable {
    public var token: String
    public var session: Session
}

extension Store {
    /// bcrypt's cost (2^10 rounds, ≈ 60 ms on this class of machine): the common default, slow
    /// enough that a stolen store's hashes resist guessing, fast enough for a sign-in.
    static let bcryptCost: UInt8 = 10
    /// How long a web-map session lasts (12 hours: one command-centre shift).
    public static let sessionSeconds = 12 * 3600

    /// Sets (or replaces) an account's password for signing in to the web map, as a bcrypt hash;
    /// the account's open sessions end. Throws `.badInput` for a password outside 8–200
    /// characters, `.notFound` for an unknown name.
    public func setPassword(name: String, password: String) throws(StoreError) {
        guard password.count >= 8, password.utf8.count <= 72 else {
            // bcrypt reads 72 bytes at most: a longer password would be silently cut.
            throw StoreError(.badInput, "a password must be 8–72 bytes long (bcrypt reads no more than 72)")
        }
        if let why = TextRules.problem(password, "a password") { throw StoreError(.badInput, why) }
        let hash = Bcrypt.hash(password, cost: Store.bcryptCost)
        try write { c in
            guard let id = try c.query("SELECT id FROM users WHERE name = ?", [.text(name)], { $0.text(0) ?? "" }).first else {
                throw StoreError(.notFound, "no user named \"\(name)\"")
            }
            try c.transaction {
                try c.run("UPDATE users SET password_hash = ? WHERE id = ?", [.text(hash), .text(id)])
                try c.run("DELETE FROM sessions WHERE user_id = ?", [.text(id)])
            }
        }
    }

    /// Checks a name and password and opens a session; nil when either is wrong (the same work
    /// is done for an unknown name, so timing does not tell which names exist).
    public func signIn(name: String, password: String, seconds: Int = Store.sessionSeconds) throws(StoreError) -> NewSession? {
        let row = try read { c in
            try c.query("SELECT id, name, role, created_at, password_hash FROM users WHERE name = ?", [.text(name)]) { s in
                (Account(id: s.text(0) ?? "", name: s.text(1) ?? "", role: Role(rawValue: s.text(2) ?? "") ?? .viewer, createdAt: s.text(3) ?? ""), s.text(4))
            }.first
        }
        guard let row, let hash = row.1 else {
            _ = Bcrypt.verify(password, hash: Store.dummyHash)
            return nil
        }
        guard Bcrypt.verify(password, hash: hash) else { return nil }
        let token = "oms_" + Store.randomHex(32)
        let csrf = Store.randomHex(24)
        let expires = Store.isoUTC(Date().addingTimeInterval(TimeInterval(seconds)))
        try write { c in
            try c.run("DELETE FROM sessions WHERE expires_at <= strftime('%Y-%m-%dT%H:%M:%SZ','now')")
            try c.run("INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
                      [.blob(SHA256.hash(Array(token.utf8))), .text(row.0.id), .text(csrf), .text(expires)])
        }
        return NewSession(token: token, session: Session(account: row.0, csrf: csrf, expiresAt: expires))
    }

    /// The live session a cookie's token names, or nil (unknown, ended or expired).
    public func session(token: String) throws(StoreError) -> Session? {
        guard token.hasPrefix("oms_"), token.utf8.count == 68 else { return nil }
        return try read { c in
            try c.query("""
                SELECT u.id, u.name, u.role, u.created_at, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = ? AND s.expires_at > strftime('%Y-%m-%dT%H:%M:%SZ','now')
                """, [.blob(SHA256.hash(Array(token.utf8)))]) { s in
                Session(account: Account(id: s.text(0) ?? "", name: s.text(1) ?? "", role: Role(rawValue: s.text(2) ?? "") ?? .viewer, createdAt: s.text(3) ?? ""),
                        csrf: s.text(4) ?? "", expiresAt: s.text(5) ?? "")
            }.first
        }
    }

    /// How many accounts have a password (can sign in to the web map).
    public func passwordAccounts() throws(StoreError) -> Int {
        try read { c in
            if case .int(let n)? = try c.scalar("SELECT count(*) FROM users WHERE password_hash IS NOT NULL") { return Int(n) }
            return 0
        }
    }

    /// Ends a session (signing out); nothing happens for an unknown token.
    public func signOut(token: String) throws(StoreError) {
        try write { c in _ = try c.run("DELETE FROM sessions WHERE token_hash = ?", [.blob(SHA256.hash(Array(token.utf8)))]) }
    }

    /// A bcrypt hash of a random password, verified against when the name is unknown.
    static let dummyHash = Bcrypt.hash(randomHex(16), cost: bcryptCost)

    static func randomHex(_ bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    static func isoUTC(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: d)
    }
}
