import Foundation
import OneMapCore

/// Who may do what.
public enum Role: String, Sendable, CaseIterable, Comparable {
    case viewer, editor, admin
    var rank: Int { switch self { case .viewer: 0; case .editor: 1; case .admin: 2 } }
    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
}

/// An account as the service sees it.
public struct Account: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: Role
    public var createdAt: String
}

extension Store {
    /// Adds an account and returns its token, which is shown once: only a salted hash is kept.
    /// Tokens look like `om_<id>_<secret>`: the id finds the account, the secret proves it.
    public func addUser(name: String, role: Role) throws(StoreError) -> (account: Account, token: String) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 100 else { throw StoreError(.badInput, "a user name must be 1–100 characters") }
        var rng = SystemRandomNumberGenerator()
        let id = (0..<5).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let token = "om_\(id)_" + SHA256.hex(secret)
        let hash = SHA256.hash(salt + Array(token.utf8))
        try write { c in
            do {
                try c.run("INSERT INTO users (id, name, role, salt, token_hash) VALUES (?, ?, ?, ?, ?)", [.text(id), .text(trimmed), .text(role.rawValue), .blob(salt), .blob(hash)])
            } catch let e as SQLiteError where e.isUniqueViolation {
                throw StoreError(.conflict, "a user named \"\(trimmed)\" already exists")
            }
        }
        return (Account(id: id, name: trimmed, role: role, createdAt: Store.timestamp()), token)
    }

    /// The account a bearer token belongs to, or nil (whatever was wrong with it).
    public func authenticate(token: String) throws(StoreError) -> Account? {
        let parts = token.split(separator: "_", maxSplits: 2)
        guard parts.count == 3, parts[0] == "om", parts[1].count == 10, parts[2].count == 64 else { return nil }
        return try read { c in
            guard let row = try c.query("SELECT id, name, role, salt, token_hash, created_at FROM users WHERE id = ?", [.text(String(parts[1]))], { s in
                (Account(id: s.text(0) ?? "", name: s.text(1) ?? "", role: Role(rawValue: s.text(2) ?? "") ?? .viewer, createdAt: s.text(5) ?? ""),
                 s.withBlob(3) { Array($0) } ?? [], s.withBlob(4) { Array($0) } ?? [])
            }).first else {
                _ = SHA256.hash(Array(token.utf8))  // same work whether or not the id exists
                return nil
            }
            return SHA256.equal(SHA256.hash(row.1 + Array(token.utf8)), row.2) ? row.0 : nil
        }
    }

    public func users() throws(StoreError) -> [Account] {
        try read { c in
            try c.query("SELECT id, name, role, created_at FROM users ORDER BY name") { s in
                Account(id: s.text(0) ?? "", name: s.text(1) ?? "", role: Role(rawValue: s.text(2) ?? "") ?? .viewer, createdAt: s.text(3) ?? "")
            }
        }
    }

    public func removeUser(name: String) throws(StoreError) {
        let n = try write { c in try c.run("DELETE FROM users WHERE name = ?", [.text(name)]) }
        if n == 0 { throw StoreError(.notFound, "no user named \"\(name)\"") }
    }
}

extension Store {
    /// An online copy of the store (SQLite backup API) that stays consistent while writers write.
    public func backup(to path: String) throws(StoreError) {
        try read { c in try c.backup(to: path) }
    }

    /// Replaces the store's content with a backup after checking it (integrity, schema version),
    /// under the store's write lock, so no write lands half before and half after.
    ///
    /// The content it replaces is first copied to `<store>.before-restore-<UTC time>.sqlite`
    /// (refused, store untouched, when that copy cannot be written), and the report says how many
    /// journalled edits the backup lacks. The restored store gets a new generation
    /// (`StoreRevision`): every tile cache, router snapshot and event stream sees the change,
    /// even when the journal lands on the number it had before.
    /// Throws `StoreError(.badInput)` for a missing, damaged or too new backup, and the store's
    /// faults (`.insufficientStorage` for a full disk).
    @discardableResult
    public func restore(from path: String) throws(StoreError) -> RestoreReport {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.badInput, "no such backup file: \(path)") }
        let src: Connection
        do { src = try Connection(path: path, readOnly: true) } catch { throw StoreError(.badInput, "\(path) is not a SQLite database: \(error.message)") }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stamp = f.string(from: Date())
        let stem = (self.path.hasSuffix(".sqlite") ? String(self.path.dropLast(7)) : self.path) + ".before-restore-\(stamp)"
        var saved = stem + ".sqlite"
        var n = 1
        while FileManager.default.fileExists(atPath: saved) { n += 1; saved = stem + "-\(n).sqlite" }  // two restores in one second
        do {
            guard case .text("ok")? = try src.scalar("PRAGMA integrity_check") else { throw StoreError(.badInput, "\(path) fails PRAGMA integrity_check") }
            let v = src.userVersion
            guard v >= 1, v <= Schema.currentVersion else { throw StoreError(.badInput, "\(path) has schema version \(v); this onemap reads 1…\(Schema.currentVersion)") }
            func revision(_ c: Connection) throws -> StoreRevision {
                let gen = try c.query("SELECT value FROM onemap_meta WHERE key = 'generation'") { $0.text(0).flatMap { Int64($0) } ?? 0 }.first ?? 0
                var seq: Int64 = 0
                if v >= 2 || c !== src, case .int(let n)? = try c.scalar("SELECT max(seq) FROM edit_journal") { seq = n }
                return StoreRevision(generation: gen, sequence: seq)
            }
            let backupRevision = try revision(src)
            return try writeUnwrapped { c in
                let before = try revision(c)
                var discarded: Int?
                if before.generation == backupRevision.generation, case .int(let n)? = try c.scalar("SELECT count(*) FROM edit_journal WHERE seq > ?", [.int(backupRevision.sequence)]) {
                    discarded = Int(n)
                }
                do { try c.backup(to: saved) } catch {
                    try? FileManager.default.removeItem(atPath: saved)
                    throw Store.wrap(error, file: saved)
                }
                try src.backup(into: c)
                try Schema.migrate(c)
                try c.transaction {
                    try Store.newGeneration(c)
                    try c.run("INSERT OR REPLACE INTO onemap_meta VALUES ('restored_from', ?)", [.text((path as NSString).lastPathComponent)])
                    try c.run("INSERT OR REPLACE INTO onemap_meta VALUES ('restored_at', strftime('%Y-%m-%dT%H:%M:%SZ','now'))")
                }
                return RestoreReport(backup: path, backupRevision: backupRevision, replaced: before, discardedEdits: discarded, savedTo: saved, now: try revision(c))
            }
        } catch let e as StoreError { throw e } catch { throw Store.wrap(error, file: self.path) }
    }
}

/// What a restore did: which revision it brought back, which it replaced, and where the replaced
/// content was kept.
public struct RestoreReport: Sendable, CustomStringConvertible {
    public var backup: String
    public var backupRevision: StoreRevision
    public var replaced: StoreRevision
    /// Journalled edits in the replaced content that the backup lacks (nil when the backup is of
    /// another generation, so the two journals cannot be compared).
    public var discardedEdits: Int?
    /// The copy of the replaced content.
    public var savedTo: String
    /// The store's revision after the restore (a new generation).
    public var now: StoreRevision

    public var description: String {
        let lost = discardedEdits.map { $0 == 0 ? "no edits were lost" : "\($0) edit\($0 == 1 ? " made after the backup (journal \(backupRevision.sequence + 1)…\(replaced.sequence)) is" : "s made after the backup (journal \(backupRevision.sequence + 1)…\(replaced.sequence)) are") no longer in the store" }
            ?? "the backup is of other content (generation \(String(backupRevision.generation, radix: 16))), so the replaced journal cannot be compared with it"
        return "restored from \(backup) (journal position \(backupRevision.sequence)); \(lost); the replaced content is kept in \(savedTo)"
    }
}
