import Foundation
import Synchronization
import OneMapCore
import OneMapStore

/// A tile cache in an SQLite file, keyed by style, scale and z/x/y, kept in step with the store:
/// every change in the store's edit journal expires the tiles whose area (grown by one tile for
/// labels and symbols reaching over) intersects the change's bounding box, at every zoom.
public final class TileCache: Sendable {
    public let path: String
    private let conn: LockedConnection
    /// The hottest tiles in memory, in front of the SQLite file.
    private let memory: TileMemory
    private let syncState = SyncState()

    public init(path: String, memoryTiles: Int = 8192) throws {
        self.path = path
        memory = TileMemory(capacity: memoryTiles)
        let c = try Connection(path: path)
        try c.exec("""
            CREATE TABLE IF NOT EXISTS tiles (style TEXT NOT NULL, scale INTEGER NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
              data BLOB NOT NULL, etag TEXT NOT NULL, PRIMARY KEY (style, scale, z, x, y)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """)
        conn = LockedConnection(c)
    }

    /// A tile held in memory, without touching the file (safe to call on an event loop).
    public func memoryGet(style: String, tile t: TileID, scale: Int) -> (data: [UInt8], etag: String)? {
        memory.get(TileMemory.Key(style: style, scale: scale, z: t.z, x: t.x, y: t.y))
    }

    /// A tile and its entity tag, if cached.
    public func get(style: String, tile t: TileID, scale: Int) throws -> (data: [UInt8], etag: String)? {
        let key = TileMemory.Key(style: style, scale: scale, z: t.z, x: t.x, y: t.y)
        if let m = memory.get(key) { return m }
        let hit = try conn.with { c in
            try c.query("SELECT data, etag FROM tiles WHERE style = ? AND scale = ? AND z = ? AND x = ? AND y = ?",
                        [.text(style), .int(Int64(scale)), .int(Int64(t.z)), .int(Int64(t.x)), .int(Int64(t.y))]) { s in
                (s.withBlob(0) { Array($0) } ?? [], s.text(1) ?? "")
            }.first
        }
        if let hit { memory.put(key, hit) }
        return hit
    }

    /// Stores tiles in one transaction; returns their entity tags.
    @discardableResult
    public func put(style: String, scale: Int, tiles: [TileID: [UInt8]]) throws -> [TileID: String] {
        try conn.with { c in
            try c.transaction {
                var tags: [TileID: String] = [:]
                for (t, data) in tiles {
                    let tag = TileCache.etag(data)
                    tags[t] = tag
                    memory.put(TileMemory.Key(style: style, scale: scale, z: t.z, x: t.x, y: t.y), (data, tag))
                    try c.run("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?, ?, ?)",
                              [.text(style), .int(Int64(scale)), .int(Int64(t.z)), .int(Int64(t.x)), .int(Int64(t.y)), .blob(data), .text(tag)])
                }
                return tags
            }
        }
    }

    /// A strong entity tag from the bytes (FNV-1a 64, hex).
    public static func etag(_ data: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "\"" + String(h, radix: 16) + "-" + String(data.count, radix: 16) + "\""
    }

    /// Deletes every cached tile (all styles and scales) whose area, grown by one tile, meets `box`.
    @discardableResult
    public func expire(_ box: BBox, zooms: ClosedRange<Int> = 0...TileID.maxZoom) throws -> Int {
        memory.remove { k in
            guard zooms.contains(k.z) else { return false }
            let a = TileID.containing(Coord(box.minLon, box.maxLat), zoom: k.z), b = TileID.containing(Coord(box.maxLon, box.minLat), zoom: k.z)
            return k.x >= a.x - 1 && k.x <= b.x + 1 && k.y >= a.y - 1 && k.y <= b.y + 1
        }
        return try conn.with { c in
            try c.transaction {
                var n = 0
                for z in zooms {
                    let a = TileID.containing(Coord(box.minLon, box.maxLat), zoom: z), b = TileID.containing(Coord(box.maxLon, box.minLat), zoom: z)
                    let maxI = Int64((1 << z) - 1)
                    n += try c.run("DELETE FROM tiles WHERE z = ? AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?", [
                        .int(Int64(z)), .int(max(0, Int64(a.x) - 1)), .int(min(maxI, Int64(b.x) + 1)), .int(max(0, Int64(a.y) - 1)), .int(min(maxI, Int64(b.y) + 1)),
                    ])
                }
                return n
            }
        }
    }

    /// Brings the cache up to the store's journal: expires the areas of all edits since the last
    /// sync. Returns how many tiles were dropped.
    @discardableResult
    public func sync(with store: Store) throws -> Int {
        let last = try conn.with { c in
            try c.scalar("SELECT value FROM cache_meta WHERE key = 'journal_seq'").flatMap { if case .text(let t) = $0 { Int64(t) } else { nil } }
        }
        let now = try store.journalSequence()
        guard last != now else { return 0 }
        var dropped = 0
        if let last {
            for box in try store.editedAreas(since: last) { dropped += try expire(box) }
        } else {
            // A cache that never saw this store: nothing in it can be trusted.
            memory.remove { _ in true }
            dropped = try conn.with { c in try c.run("DELETE FROM tiles") }
        }
        try conn.with { c in _ = try c.run("INSERT OR REPLACE INTO cache_meta VALUES ('journal_seq', ?)", [.text(String(now))]) }
        return dropped
    }

    /// `sync`, but only when this process wrote to the store since the last look or `interval`
    /// seconds have passed (another process may have written): cheap enough for every request.
    @discardableResult
    public func syncIfNeeded(with store: Store, interval: Double = 0.5) throws -> Int {
        guard syncState.due(writes: store.localWrites, interval: interval) else { return 0 }
        return try sync(with: store)
    }

    public func count(style: String? = nil) throws -> Int {
        try conn.with { c in
            let v = style == nil ? try c.scalar("SELECT count(*) FROM tiles") : try c.scalar("SELECT count(*) FROM tiles WHERE style = ?", [.text(style!)])
            if case .int(let n)? = v { return Int(n) }
            return 0
        }
    }

    /// Writes the cached tiles of a style and scale (optionally limited to zooms and a box) into
    /// an MBTiles 1.3 file (TMS row order).
    public func exportMBTiles(style: String, scale: Int, to out: String, zooms: ClosedRange<Int>?, bbox: BBox?, name: String, bounds: BBox) throws -> Int {
        try? FileManager.default.removeItem(atPath: out)
        let m = try Connection(path: out)
        try m.exec("""
            PRAGMA journal_mode=DELETE;
            CREATE TABLE metadata (name TEXT, value TEXT);
            CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
            CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);
            """)
        var n = 0
        var zmin = Int.max, zmax = Int.min
        let rows = try conn.with { c in
            try c.query("SELECT z, x, y, data FROM tiles WHERE style = ? AND scale = ? ORDER BY z, x, y", [.text(style), .int(Int64(scale))]) { s in
                (Int(s.int(0)), Int(s.int(1)), Int(s.int(2)), s.withBlob(3) { Array($0) } ?? [])
            }
        }
        _ = try m.transaction {
            for (z, x, y, data) in rows {
                if let zooms, !zooms.contains(z) { continue }
                if let bbox, let t = try? TileID(z: z, x: x, y: y), !t.bbox.intersects(bbox) { continue }
                try m.run("INSERT INTO tiles VALUES (?, ?, ?, ?)", [.int(Int64(z)), .int(Int64(x)), .int(Int64((1 << z) - 1 - y)), .blob(data)])
                zmin = min(zmin, z); zmax = max(zmax, z)
                n += 1
            }
            let b = bbox ?? bounds
            let meta: [(String, String)] = [
                ("name", name), ("format", "png"), ("type", "baselayer"), ("version", "1.3"), ("scheme", "tms"),
                ("description", "onemap \(style) tiles\(scale == 2 ? " @2x" : "")"), ("attribution", "onemap demonstration data (synthetic)"),
                ("bounds", "\(b.minLon),\(b.minLat),\(b.maxLon),\(b.maxLat)"), ("center", "\(b.center.lon),\(b.center.lat),\(zmin == .max ? 10 : zmin)"),
                ("minzoom", String(zmin == .max ? 0 : zmin)), ("maxzoom", String(zmax == .min ? 0 : zmax)),
            ]
            for (k, v) in meta { try m.run("INSERT INTO metadata VALUES (?, ?)", [.text(k), .text(v)]) }
        }
        return n
    }
}


/// When the cache last looked at the store's journal.
///
final class SyncState: Sendable {
    private let state = Mutex((writes: -1, at: Date.distantPast))
    func due(writes w: Int, interval: Double) -> Bool {
        state.withLock { s in
            let now = Date()
            guard w != s.writes || now.timeIntervalSince(s.at) >= interval else { return false }
            s = (w, now)
            return true
        }
    }
}

final class TileMemory: Sendable {
    struct Key: Hashable, Sendable { let style: String; let scale: Int; let z: Int; let x: Int; let y: Int }
    private struct State {
        var entries: [Key: (data: [UInt8], etag: String, used: Bool)] = [:]
        var order: [Key] = []
        var hand = 0
    }
    private let state = Mutex(State())
    let capacity: Int
    init(capacity: Int) { self.capacity = max(0, capacity) }

    func get(_ k: Key) -> (data: [UInt8], etag: String)? {
        state.withLock { s in
            guard let e = s.entries[k] else { return nil }
            if !e.used { s.entries[k]!.used = true }
            return (e.data, e.etag)
        }
    }

    func put(_ k: Key, _ v: (data: [UInt8], etag: String)) {
        guard capacity > 0 else { return }
        state.withLock { s in
            if s.entries[k] != nil { s.entries[k] = (v.data, v.etag, true); return }
            if s.order.count >= capacity {
                // Clock: skip recently used entries once, evict the first unused one.
                while true {
                    s.hand %= s.order.count
                    let victim = s.order[s.hand]
                    if s.entries[victim]?.used == true { s.entries[victim]!.used = false; s.hand += 1; continue }
                    s.entries[victim] = nil
                    s.order[s.hand] = k
                    s.hand += 1
                    break
                }
            } else {
                s.order.append(k)
            }
            s.entries[k] = (v.data, v.etag, false)
        }
    }

    func remove(where pred: (Key) -> Bool) {
        state.withLock { s in
            for k in s.entries.keys where pred(k) { s.entries[k] = nil }
            let entries = s.entries
            s.order.removeAll { entries[$0] == nil }
            s.hand = 0
        }
    }
}
