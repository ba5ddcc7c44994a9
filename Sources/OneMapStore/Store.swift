import CSpatiaLite
import Foundation
import Synchronization
import OneMapCore

/// The onemap spatial store: one SpatiaLite file in WAL mode.
///
/// Writes go through one writer connection, serialised by a lock; reads take a connection from a
/// small pool, so readers keep reading while a writer imports. All calls block: call them from a
/// thread pool, never from an event loop.
public final class Store: Sendable {
    public let path: String
    /// Opened from read-only media or without write permission: reads work, every write is
    /// refused with "the store is read-only" (`.unavailable`, HTTP 503).
    public let readOnly: Bool
    private let writer: LockedConnection
    private let readers: ReaderPool
    private let writes = WriteCounter()
    /// The shared `StoreLock` a server holds for as long as it uses this store.
    private let serverLock = Mutex<StoreLock?>(nil)

    /// Marks the store as used by a server until this `Store` goes away: an offline
    /// `onemap restore` then refuses. Throws `StoreError(.unavailable)` when the lock file cannot
    /// be made (a read-only folder).
    public func holdServerLock() throws(StoreError) {
        let l = try StoreLock.shared(for: path)
        serverLock.withLock { $0 = l }
    }

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws(StoreError) {
        self.path = path
        // A store the process may not write (its file or folder read-only, a read-only mount)
        // is still served for reading.
        let dir = (path as NSString).deletingLastPathComponent
        let exists = FileManager.default.fileExists(atPath: path)
        readOnly = exists && (access(path, W_OK) != 0 || access(dir.isEmpty ? "." : dir, W_OK) != 0)
        if readOnly {
            do {
                let w = try Connection(path: path, immutable: true)
                let v = w.userVersion
                guard v == Schema.currentVersion else {
                    throw StoreError(.unavailable, "the store at \(path) is read-only and has schema version \(v), not \(Schema.currentVersion); it cannot be upgraded in place — copy it somewhere writable and open it there")
                }
                writer = LockedConnection(w)
                readers = ReaderPool(path: path, immutable: true)
                return
            } catch let e as StoreError { throw e } catch {
                throw StoreError(.unavailable, "cannot open the read-only store at \(path): \((error as? SQLiteError)?.message ?? "\(error)")")
            }
        }
        do {
            let w = try Connection(path: path)
            // Acknowledged edits survive a power cut, not only a killed process: in WAL mode
            // NORMAL may lose the last commits on power loss; FULL syncs the WAL on every commit
            // (measured cost in Benchmarks/RESULTS.txt, `onemap-bench writes`). The tile cache,
            // which can be rebuilt, stays NORMAL.
            try w.exec("PRAGMA synchronous=FULL")
            let before = w.userVersion
            try Schema.migrate(w)
            // A migrated store is other content to every cache: it gets a new generation. So
            // does a store that never had one (created now, or by a release before generations).
            let generation = try w.scalar("SELECT value FROM onemap_meta WHERE key = 'generation'")
            if before != w.userVersion || generation == nil {
                do { try Store.newGeneration(w) } catch let e as SQLiteError where e.primaryCode == SQLITE_READONLY {
                    // A store on read-only media keeps generation 0: it cannot change either.
                }
            }
            writer = LockedConnection(w)
            readers = ReaderPool(path: path)
        } catch let e as StoreError {
            throw e
        } catch let e as SQLiteError {
            if let s = e.faultSentence(file: path) { throw StoreError(e.primaryCode == 13 ? .insufficientStorage : .unavailable, "cannot open the store: \(s)") }
            throw StoreError(.internal, "cannot open the store at \(path): \(e.message)")
        } catch {
            throw StoreError(.internal, "cannot open the store at \(path): \(error)")
        }
    }

    /// The schema version this build of onemap writes.
    public static var schemaVersion: Int { Schema.currentVersion }

    /// Runs `body` with a reader connection.
    public func read<T>(_ body: (Connection) throws -> T) throws(StoreError) -> T {
        do { return try readers.with(body) } catch { throw Store.wrap(error, file: path) }
    }

    /// Runs `body` with the writer connection, one writer at a time.
    public func write<T>(_ body: (Connection) throws -> T) throws(StoreError) -> T {
        if readOnly { throw Store.readOnlyError(path) }
        defer { writes.bump() }
        do { return try writer.with(body) } catch { throw Store.wrap(error, file: path) }
    }

    /// Like `write`, but lets the body's own errors through unchanged.
    func writeUnwrapped<T>(_ body: (Connection) throws -> T) throws -> T {
        if readOnly { throw Store.readOnlyError(path) }
        defer { writes.bump() }
        return try writer.with(body)
    }

    /// Goes up after every write made through this `Store` (an in-memory counter: reading it
    /// costs nothing, so hot paths can tell cheaply whether to look at the journal).
    public var localWrites: Int { writes.value }

    static func readOnlyError(_ path: String) -> StoreError {
        StoreError(.unavailable, "the store is read-only (\(path)): it is served for reading, but nothing can be changed until its file and folder are writable again")
    }

    /// Draws a new generation (see `StoreRevision`): every cache of the old content is void.
    static func newGeneration(_ c: Connection) throws {
        try c.run("INSERT OR REPLACE INTO onemap_meta VALUES ('generation', ?)", [.text(String(Int64.random(in: 1...Int64.max)))])
    }

    static func wrap(_ error: any Error, file: String? = nil) -> StoreError {
        if let e = error as? StoreError { return e }
        if let e = error as? SQLiteError { return .db(e, file: file) }
        return StoreError(.internal, "\(error)")
    }
}

/// A connection behind a lock: the store's writer, the tile cache's connection.
///
/// `@unchecked Sendable`: the connection is only touched inside `with`, which holds the lock.
public final class LockedConnection: @unchecked Sendable {
    private let lock = NSLock()
    private let conn: Connection
    public init(_ c: Connection) { conn = c }
    public func with<T>(_ body: (Connection) throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(conn)
    }
}

/// Idle reader connections; a borrower gets one exclusively and returns it.
///
/// `@unchecked Sendable`: `idle` is only touched under `lock`; a connection is either in `idle`
/// or held by exactly one borrower.
final class ReaderPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [Connection] = []
    private let path: String
    private let immutable: Bool
    private let maxIdle = 16
    /// Page cache per reader (KiB): readers are many (request handlers, render threads, the
    /// tile sync), the writer has 64 MB for imports.
    static let pageCacheKiB = 16_384
    init(path: String, immutable: Bool = false) { self.path = path; self.immutable = immutable }

    func with<T>(_ body: (Connection) throws -> T) throws -> T {
        lock.lock()
        let c = idle.popLast()
        lock.unlock()
        let conn = try c ?? Connection(path: path, immutable: immutable, pageCacheKiB: ReaderPool.pageCacheKiB)
        defer {
            lock.lock()
            if idle.count < maxIdle { idle.append(conn) }
            lock.unlock()
        }
        return try body(conn)
    }
}

/// Writes made through this process's `Store`.
final class WriteCounter: Sendable {
    private let n = Atomic<Int>(0)
    func bump() { n.add(1, ordering: .relaxed) }
    var value: Int { n.load(ordering: .relaxed) }
}
