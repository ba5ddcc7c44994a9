import CSpatiaLite
import Foundation
import OneMapCore

/// An error from SQLite or SpatiaLite, with the call that failed, the library's own message and
/// its extended result code (<https://sqlite.org/rescode.html>), so callers branch on codes, not text.
public struct SQLiteError: OneMapError {
    /// The extended result code (the connection has extended codes on); `code & 0xff` is the primary one.
    public var code: Int32
    public var call: String
    public var message: String
    /// The database file, when known: faults of the file or disk name it.
    public var file: String?
    public init(code: Int32, call: String, message: String, file: String? = nil) {
        self.code = code; self.call = call; self.message = message; self.file = file
    }
    /// A sentence for faults of the file or disk (full, read-only, damaged), else the failed call.
    public var description: String { faultSentence(file: file ?? "the database") ?? "\(call) failed (\(code)): \(message)" }

    /// What an operator should read for a fault of the file or disk rather than of a statement:
    /// one sentence naming the file, or nil for other errors. `file`: the database's path.
    public func faultSentence(file: String) -> String? {
        switch primaryCode {
        case SQLITE_FULL: "the disk holding \(file) is full; nothing was written — free some space and try again"
        case SQLITE_READONLY: "the store is read-only (\(file)): check the file's and its folder's permissions and that the filesystem is mounted read-write; nothing was written"
        case SQLITE_PERM: "no permission to use \(file); nothing was written"
        case SQLITE_IOERR: "the disk reported an input/output error on \(file) (\(message)); nothing was written"
        case SQLITE_CORRUPT, SQLITE_NOTADB: "\(file) is damaged or not an onemap store (\(message)); restore it from a backup (onemap restore)"
        case SQLITE_CANTOPEN: "cannot open \(file): check that its folder exists and is writable"
        case SQLITE_BUSY, SQLITE_LOCKED: "\(file) is locked by another writer for too long; try again"
        default: nil
        }
    }

    /// The primary result code (SQLITE_CONSTRAINT, SQLITE_BUSY…).
    public var primaryCode: Int32 { code & 0xff }
    /// A UNIQUE or PRIMARY KEY constraint failed.
    public var isUniqueViolation: Bool { code == 2067 || code == 1555 }  // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
    /// A FOREIGN KEY constraint failed.
    public var isForeignKeyViolation: Bool { code == 787 }  // SQLITE_CONSTRAINT_FOREIGNKEY (macros Swift does not import)

    public var category: ErrorCategory {
        switch primaryCode {
        case SQLITE_FULL: .insufficientStorage
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_IOERR, SQLITE_PERM: .unavailable
        case SQLITE_CONSTRAINT: .conflict
        default: .internal
        }
    }
}

/// A value bound to or read from a statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

private let spatialiteReady: Void = { spatialite_initialize() }()

/// One SQLite connection with SpatiaLite loaded.
///
/// `@unchecked Sendable` invariants: a connection is used by one thread at a time — it is only
/// reached through `ConnectionPool.withConnection`, which hands it out exclusively — and the handle
/// is opened in `init` and closed only in `deinit`, so no other code frees it.
public final class Connection: @unchecked Sendable {
    let db: OpaquePointer
    private let cache: UnsafeMutableRawPointer?
    private var statements: [String: Statement] = [:]
    public let path: String

    /// Opens `path`. `immutable`: read-only media or permissions — opened read-only with
    /// SQLite's `immutable` URI parameter, so no -wal or -shm file has to be created.
    /// `pageCacheKiB`: the most page cache this connection keeps (KiB).
    ///
    /// The file is read, never memory-mapped (`mmap_size=0`): a map's touched pages count in the
    /// process's resident memory, so a server that had drawn tiles across a 110 MB store held
    /// 170 MB of it mapped (issue #14: resident memory follows a budget, not the data size).
    /// Reads then go through the page cache and the kernel's: seeding 1,600 tiles of the
    /// 100-county store took the same time either way (`onemap-bench tiles`, ±5%).
    public init(path: String, readOnly: Bool = false, immutable: Bool = false, pageCacheKiB: Int = 65_536) throws(SQLiteError) {
        _ = spatialiteReady
        var h: OpaquePointer?
        let readOnly = readOnly || immutable
        var flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        var name = path
        if immutable {
            flags |= SQLITE_OPEN_URI
            let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
            name = "file:\(escaped)?immutable=1"
        }
        let rc = sqlite3_open_v2(name, &h, flags, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let h { sqlite3_close_v2(h) }
            throw SQLiteError(code: rc, call: "open \(path)", message: msg, file: path)
        }
        sqlite3_extended_result_codes(h, 1)
        self.db = h
        self.path = path
        self.cache = spatialite_alloc_connection()
        spatialite_init_ex(h, cache, 0)
        sqlite3_busy_timeout(h, 10_000)
        try exec("PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-\(pageCacheKiB); PRAGMA mmap_size=0;")
        if !readOnly {
            try exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        }
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(db)
        if let cache { spatialite_cleanup_ex(cache) }
    }

    func check(_ rc: Int32, _ call: @autoclosure () -> String) throws(SQLiteError) {
        guard rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw SQLiteError(code: rc, call: call(), message: String(cString: sqlite3_errmsg(db)), file: path)
        }
    }

    /// Runs one or more statements that return no rows.
    public func exec(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(err)
            throw SQLiteError(code: rc, call: "exec \(sql.prefix(80))", message: msg, file: path)
        }
    }

    /// A prepared statement, cached per connection by its SQL text.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let s = statements[sql] {
            s.reset()
            return s
        }
        let s = try Statement(self, sql)
        statements[sql] = s
        return s
    }

    /// All rows of a query, mapped.
    public func query<T>(_ sql: String, _ args: [SQLValue] = [], _ row: (Statement) throws -> T) throws -> [T] {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(args)
        var out: [T] = []
        while try s.step() { out.append(try row(s)) }
        return out
    }

    /// Runs a statement with arguments; returns the number of changed rows.
    @discardableResult
    public func run(_ sql: String, _ args: [SQLValue] = []) throws(SQLiteError) -> Int {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(args)
        while try s.step() {}
        return Int(sqlite3_changes(db))
    }

    /// The first column of the first row, if any.
    public func scalar(_ sql: String, _ args: [SQLValue] = []) throws(SQLiteError) -> SQLValue? {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(args)
        return try s.step() ? s.value(0) : nil
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let v = try body()
            try exec("COMMIT")
            return v
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// Copies this database into a new file at `path` with the SQLite online backup API.
    /// A copy that fails (a full disk) leaves no partial file behind.
    public func backup(to path: String) throws(SQLiteError) {
        try? FileManager.default.removeItem(atPath: path)
        do {
            let dest = try Connection(path: path)
            try backup(into: dest)
            try dest.exec("PRAGMA journal_mode=DELETE")
        } catch {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            throw error
        }
    }

    /// Copies this database over `dest` (all pages, one step, so it is consistent).
    public func backup(into dest: Connection) throws(SQLiteError) {
        guard let b = sqlite3_backup_init(dest.db, "main", db, "main") else {
            throw SQLiteError(code: sqlite3_errcode(dest.db), call: "backup_init", message: String(cString: sqlite3_errmsg(dest.db)), file: dest.path)
        }
        var rc: Int32
        repeat {
            rc = sqlite3_backup_step(b, -1)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { sqlite3_sleep(20) }
        } while rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED
        let fin = sqlite3_backup_finish(b)
        guard rc == SQLITE_DONE, fin == SQLITE_OK else {
            throw SQLiteError(code: rc, call: "backup_step", message: String(cString: sqlite3_errmsg(dest.db)), file: dest.path)
        }
    }

    public var userVersion: Int {
        get { (try? scalar("PRAGMA user_version")).flatMap { if case .int(let v) = $0 { Int(v) } else { nil } } ?? 0 }
    }
}

/// A prepared statement. Owned by its connection; used only by the thread holding that connection.
public final class Statement {
    let stmt: OpaquePointer
    unowned let conn: Connection
    let sql: String

    init(_ conn: Connection, _ sql: String) throws(SQLiteError) {
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v2(conn.db, sql, -1, &s, nil)
        guard rc == SQLITE_OK, let s else {
            throw SQLiteError(code: rc, call: "prepare \(sql.prefix(120))", message: String(cString: sqlite3_errmsg(conn.db)), file: conn.path)
        }
        self.stmt = s
        self.conn = conn
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    public func bind(_ args: [SQLValue]) throws(SQLiteError) {
        for (k, v) in args.enumerated() {
            let i = Int32(k + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, i)
            case .int(let n): rc = sqlite3_bind_int64(stmt, i, n)
            case .double(let d): rc = sqlite3_bind_double(stmt, i, d)
            // The byte length, never -1: a NUL inside the text must not end it early (ids compare exactly).
            case .text(let t):
                var t = t
                rc = t.withUTF8 { u in
                    // An empty string's buffer may have no address; a null pointer would bind NULL.
                    guard let base = u.baseAddress, u.count > 0 else { return sqlite3_bind_text(stmt, i, "", 0, onemap_sqlite_transient()) }
                    return base.withMemoryRebound(to: CChar.self, capacity: u.count) { sqlite3_bind_text(stmt, i, $0, Int32(u.count), onemap_sqlite_transient()) }
                }
            case .blob(let b):
                rc = b.withUnsafeBytes { sqlite3_bind_blob(stmt, i, $0.baseAddress, Int32(b.count), onemap_sqlite_transient()) }
            }
            try conn.check(rc, "bind \(i) in \(sql.prefix(80))")
        }
    }

    /// Advances; true while a row is available.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw SQLiteError(code: rc, call: "step \(sql.prefix(120))", message: String(cString: sqlite3_errmsg(conn.db)), file: conn.path)
    }

    public var columnCount: Int { Int(sqlite3_column_count(stmt)) }
    public func isNull(_ i: Int) -> Bool { sqlite3_column_type(stmt, Int32(i)) == SQLITE_NULL }
    public func int(_ i: Int) -> Int64 { sqlite3_column_int64(stmt, Int32(i)) }
    public func double(_ i: Int) -> Double { sqlite3_column_double(stmt, Int32(i)) }
    public func text(_ i: Int) -> String? {
        guard let p = sqlite3_column_text(stmt, Int32(i)) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    /// Calls `body` with the blob's bytes without copying them.
    public func withBlob<T>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T? {
        guard let p = sqlite3_column_blob(stmt, Int32(i)) else { return nil }
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        return try body(UnsafeRawBufferPointer(start: p, count: n))
    }
    public func value(_ i: Int) -> SQLValue {
        switch sqlite3_column_type(stmt, Int32(i)) {
        case SQLITE_INTEGER: return .int(int(i))
        case SQLITE_FLOAT: return .double(double(i))
        case SQLITE_TEXT: return .text(text(i) ?? "")
        case SQLITE_BLOB: return .blob(withBlob(i) { Array($0) } ?? [])
        default: return .null
        }
    }
}
