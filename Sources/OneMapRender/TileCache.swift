import Foundation
import Synchronization
import OneMapCore
import OneMapStore

/// A tile cache in an SQLite file, keyed by style, scale and z/x/y, kept in step with the store:
/// every change in the store's edit journal expires, at every zoom, the tiles meeting the
/// change's bounding box grown by one tile (strokes and circles reaching over), and — given the
/// renderer — exactly the tiles whose labels appeared, vanished, moved or changed because of it,
/// however far the knock-ons reach (`MapRenderer.labelChanges`).
///
/// The file is the only tier here: the server keeps its own in-memory tier of ready-to-send
/// buffers (one tier, bounded in bytes) and expires it with the areas `sync` reports.
///
/// The file is bounded too: tiles smaller than `sharedBelow` bytes (the empty background tile
/// of a style and other blank ones, which are most tiles of a large extent) are stored once by
/// content and referred to by their tag; when the tiles' bytes pass `budget`, the least recently
/// used go first (down to 90 %), and freed pages go back to the filesystem (incremental vacuum).
public final class TileCache: Sendable {
    public let path: String
    /// The most bytes of tile data the file keeps (default 2 GiB).
    public let budget: Int
    /// Tiles smaller than this are stored once per distinct content.
    public static let sharedBelow = 2048
    private let conn: LockedConnection
    /// The journal position this process last synced to. Processes sharing the file each keep
    /// their own: the file's mark says what the file has caught up with, this one what the tiers
    /// in front of it (a server's memory) have.
    private let seenHere = Mutex<StoreRevision?>(nil)
    /// Bytes of tile data in the file as this process counts them (recounted after evictions).
    private let bytes = Atomic<Int>(0)
    /// A coarse clock for "last used" (minutes), so a cache hit rarely writes.
    private static func minute() -> Int64 { Int64(Date().timeIntervalSince1970 / 60) }

    /// The file layout this code reads; a file of another layout is a cache: it starts over.
    static let format = "3"

    /// Opens (creating if needed) the cache file. Throws `SQLiteError` when it cannot be opened.
    public init(path: String, budget: Int = 2 << 30) throws {
        self.path = path
        self.budget = budget
        let c = try Connection(path: path)
        let format = try? c.scalar("SELECT value FROM cache_meta WHERE key = 'format'")
        if format != .text(TileCache.format) {
            try c.exec("DROP TABLE IF EXISTS tiles; DROP TABLE IF EXISTS shared; DROP TABLE IF EXISTS cache_meta;")
            // Set before the tables exist, so freed pages can be handed back (incremental vacuum).
            try c.exec("PRAGMA journal_mode=DELETE; PRAGMA auto_vacuum=INCREMENTAL; VACUUM; PRAGMA journal_mode=WAL;")
            try c.exec("""
                CREATE TABLE tiles (style TEXT NOT NULL, scale INTEGER NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
                  data BLOB, etag TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (style, scale, z, x, y)) WITHOUT ROWID;
                CREATE INDEX tiles_used ON tiles (used);
                CREATE INDEX tiles_zxy ON tiles (z, x, y);
                CREATE TABLE shared (etag TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT INTO cache_meta VALUES ('format', '\(TileCache.format)');
                """)
        }
        // The write-ahead log counts against the disk too: cut back after checkpoints.
        try c.exec("PRAGMA journal_size_limit=\(min(max(budget / 4, 1 << 20), 64 << 20)); PRAGMA wal_autocheckpoint=256")
        // Tiles are copied out once read and the server keeps its own tier of hot ones: no memory
        // map and a small page cache here (with the store's defaults, a 2 GiB cache file held
        // up to 320 MB of the server's resident memory).
        try c.exec("PRAGMA mmap_size=0; PRAGMA cache_size=-8192")
        conn = LockedConnection(c)
        bytes.store(try conn.with { c in try TileCache.countBytes(c) }, ordering: .relaxed)
    }

    private static func countBytes(_ c: Connection) throws -> Int {
        if case .int(let n)? = try c.scalar("SELECT coalesce((SELECT sum(length(data)) FROM tiles), 0) + coalesce((SELECT sum(length(data)) FROM shared), 0)") { return Int(n) }
        return 0
    }

    /// Tiles read since the last `flushUsage`, whose "last used" minute is to be written.
    private let touched = Mutex<[[SQLValue]]>([])

    /// Writes the "last used" minute of the tiles read since the last call, in one transaction
    /// (best effort: a failing disk loses only eviction order). `sync` calls it.
    public func flushUsage() {
        // At most 2,000 a call (the server calls every 0.5 s), so a warm-up's backlog is spread out.
        let keys = touched.withLock { t -> [[SQLValue]] in
            let n = min(t.count, 2_000)
            defer { t.removeFirst(n) }
            return Array(t.prefix(n))
        }
        guard !keys.isEmpty else { return }
        let now = TileCache.minute()
        _ = try? conn.with { c in
            try c.transaction {
                for k in keys { try c.run("UPDATE tiles SET used = ? WHERE style = ? AND scale = ? AND z = ? AND x = ? AND y = ?", [.int(now)] + k) }
            }
        }
    }

    /// Bytes of tile data in the file (the figure the budget bounds).
    public var dataBytes: Int { bytes.load(ordering: .relaxed) }

    /// A tile and its entity tag, if cached.
    public func get(style: String, tile t: TileID, scale: Int) throws -> (data: [UInt8], etag: String)? {
        try conn.with { c in
            let key: [SQLValue] = [.text(style), .int(Int64(scale)), .int(Int64(t.z)), .int(Int64(t.x)), .int(Int64(t.y))]
            let now = TileCache.minute()
            let hit = try c.query("SELECT coalesce(tiles.data, shared.data), tiles.etag, tiles.used FROM tiles LEFT JOIN shared ON tiles.data IS NULL AND shared.etag = tiles.etag WHERE style = ? AND scale = ? AND z = ? AND x = ? AND y = ?", key) { s in
                (s.withBlob(0) { Array($0) } ?? [], s.text(1) ?? "", s.int(2))
            }.first
            guard let hit, !hit.0.isEmpty else { return nil }
            if hit.2 < now {
                // Recently used: survives evictions. Written in batches by `flushUsage` (a write per
                // hit made a cold server's warm-up measurably slower), at most once a minute per tile.
                touched.withLock { if $0.count < 100_000 { $0.append(key) } }
            }
            return (hit.0, hit.1)
        }
    }

    /// Stores tiles in one transaction; returns their entity tags. Evicts the least recently
    /// used tiles first when the file would pass its budget. Throws `SQLiteError` (SQLITE_FULL
    /// when the disk is full; nothing of the call is stored then).
    @discardableResult
    public func put(style: String, scale: Int, tiles: [TileID: [UInt8]]) throws -> [TileID: String] {
        try conn.with { c in
            let now = TileCache.minute()
            let (tags, added) = try c.transaction { () -> ([TileID: String], Int) in
                var tags: [TileID: String] = [:]
                var added = 0
                for (t, data) in tiles {
                    let tag = TileCache.etag(data)
                    tags[t] = tag
                    let key: [SQLValue] = [.text(style), .int(Int64(scale)), .int(Int64(t.z)), .int(Int64(t.x)), .int(Int64(t.y))]
                    if case .int(let old)? = try c.scalar("SELECT length(data) FROM tiles WHERE style = ? AND scale = ? AND z = ? AND x = ? AND y = ?", key) { added -= Int(old) }
                    if data.count < TileCache.sharedBelow {
                        added += try c.run("INSERT OR IGNORE INTO shared VALUES (?, ?)", [.text(tag), .blob(data)]) * data.count
                        try c.run("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?, NULL, ?, ?)", key + [.text(tag), .int(now)])
                    } else {
                        added += data.count
                        try c.run("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", key + [.blob(data), .text(tag), .int(now)])
                    }
                }
                return (tags, added)
            }
            faultState.withLock { if $0?.1 == true { $0 = nil } }
            if bytes.add(added, ordering: .relaxed).newValue > budget { try evict(c) }
            return tags
        }
    }

    /// Drops the least recently used tiles until the data is at most 90 % of the budget, then
    /// unreferenced shared tiles, and hands freed pages back to the filesystem.
    private func evict(_ c: Connection) throws {
        let target = budget / 10 * 9
        var total = try TileCache.countBytes(c)
        while total > target {
            let removed = try c.transaction { () -> Int in
                // About 1 % of the tiles per round, oldest first (references to shared tiles too:
                // a shared tile goes once nothing refers to it).
                let n = try c.run("""
                    DELETE FROM tiles WHERE (style, scale, z, x, y) IN
                      (SELECT style, scale, z, x, y FROM tiles ORDER BY used LIMIT max(64, (SELECT count(*) FROM tiles) / 100))
                    """)
                try c.run("DELETE FROM shared WHERE etag NOT IN (SELECT etag FROM tiles WHERE data IS NULL)")
                return n
            }
            total = try TileCache.countBytes(c)
            if removed == 0 { break }
        }
        // Freed pages back to the filesystem, and the write-ahead log cut back to its limit.
        try? c.exec("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE)")
        bytes.store(total, ordering: .relaxed)
    }

    /// A strong entity tag from the bytes (FNV-1a 64, hex).
    public static func etag(_ data: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in data { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "\"" + String(h, radix: 16) + "-" + String(data.count, radix: 16) + "\""
    }

    /// The tile range at zoom `z` that an edit's strokes and circles inside `box` can change:
    /// the tiles meeting the box, grown by `grow` tiles on each side (one: the widest stroke of
    /// any style is far narrower than a tile). Labels are `MapRenderer.labelChanges`'s.
    public static func reach(of box: BBox, zoom z: Int, grow: Int = 1) -> TileRange {
        let a = TileID.containing(Coord(box.minLon, box.maxLat), zoom: z), b = TileID.containing(Coord(box.maxLon, box.minLat), zoom: z)
        let maxI = (1 << z) - 1
        return TileRange(z: z, minX: max(0, a.x - grow), minY: max(0, a.y - grow), maxX: min(maxI, b.x + grow), maxY: min(maxI, b.y + grow))
    }

    /// Deletes every cached tile (all styles and scales) in the ranges, in one transaction.
    @discardableResult
    public func expire(_ ranges: [TileRange]) throws -> Int {
        guard !ranges.isEmpty else { return 0 }
        return try conn.with { c in
            let (n, freed) = try c.transaction { () -> (Int, Int) in
                var n = 0, freed = 0
                for r in Set(ranges) {
                    let range: [SQLValue] = [.int(Int64(r.z)), .int(Int64(r.minX)), .int(Int64(r.maxX)), .int(Int64(r.minY)), .int(Int64(r.maxY))]
                    if case .int(let b)? = try c.scalar("SELECT sum(length(data)) FROM tiles WHERE z = ? AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?", range) { freed += Int(b) }
                    n += try c.run("DELETE FROM tiles WHERE z = ? AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?", range)
                }
                return (n, freed)
            }
            bytes.subtract(freed, ordering: .relaxed)
            return n
        }
    }

    /// The styles and zooms the file holds any tile of (`styles`: the names to look for).
    public func cached(styles: [String]) throws -> Set<StyleZoom> {
        try conn.with { c in
            var out = Set<StyleZoom>()
            for s in styles {
                for z in 0...TileID.maxZoom where try [1, 2].contains(where: { scale in
                    try c.scalar("SELECT EXISTS (SELECT 1 FROM tiles WHERE style = ? AND scale = ? AND z = ?)", [.text(s), .int(Int64(scale)), .int(Int64(z))]) == .int(1)
                }) { out.insert(StyleZoom(style: s, zoom: z)) }
            }
            return out
        }
    }

    /// What one `sync` did: the journal position it reached, the tile ranges tiers in front of
    /// the file must expire (empty with `everything` when the cache had never seen this store)
    /// and how many tiles it dropped from the file.
    public struct Sync: Sendable {
        public var revision: StoreRevision
        public var ranges: [TileRange] = []
        public var everything = false
        public var dropped = 0
        /// Whether anything was expired.
        public var changed: Bool { everything || !ranges.isEmpty }
        /// Whether the tile at z/x/y must go (the ranges grouped by zoom first: `expired()`).
        public func expired() -> (Int, Int, Int) -> Bool {
            if everything { return { _, _, _ in true } }
            let byZoom = Dictionary(grouping: Set(ranges), by: \.z)
            return { z, x, y in byZoom[z]?.contains { $0.contains(z: z, x: x, y: y) } ?? false }
        }
    }

    /// Brings the cache up to the store's revision: expires the tiles all edits since the last
    /// sync can have changed, and reports them so that tiers in front of the file can expire the
    /// same tiles. With `map` (the renderer of the tiles), edits of properties no style draws
    /// expire nothing, and label changes are followed exactly (for the styles and zooms the
    /// file holds tiles of, plus `front`, the front tiers'); without it, a label is assumed to
    /// reach two tiles beyond its feature (knock-on chains are not followed). Imports expire
    /// their box grown by three tiles at every zoom. A
    /// store of another generation (restored, migrated, or a cache file that never saw it)
    /// empties the cache: nothing in it can be trusted.
    ///
    /// A failing file (a full disk, an I/O error) does not fail the sync: the areas for the
    /// front tiers come from the store alone, the fault is kept in `fault`, and the file is not
    /// read until a later sync brings it up to date. Throws only when the store cannot be read.
    @discardableResult
    public func sync(with store: Store, map: MapRenderer? = nil, front: Set<StyleZoom> = []) throws -> Sync {
        flushUsage()
        let now = try store.storeRevision()
        var result = Sync(revision: now)
        let drawn = map?.drawnAttributes
        var memo: [Int64: [TileRange]] = [:]
        // The tiles the edits after `seq` can have changed.
        func ranges(since seq: Int64) throws -> [TileRange] {
            if let r = memo[seq] { return r }
            let edits = try store.edits(since: seq).filter { $0.seq <= now.sequence && $0.changesDrawn(drawn) }
            var out: [TileRange] = []
            for e in edits {
                let grow = e.bulk || map == nil ? 3 : 1
                for z in 0...TileID.maxZoom { out.append(TileCache.reach(of: e.box, zoom: z, grow: grow)) }
            }
            if let map, !edits.isEmpty {
                let all = Set(map.styleNames.flatMap { s in (0...TileID.maxZoom).map { StyleZoom(style: s, zoom: $0) } })
                let pairs = front.union((try? cached(styles: map.styleNames)) ?? all)
                out += try map.labelChanges(undoing: edits, from: StoreRevision(generation: now.generation, sequence: seq), to: now, at: pairs)
            }
            memo[seq] = out
            return out
        }
        var last: StoreRevision?
        do {
            last = try conn.with { c in
                let m = Dictionary(try c.query("SELECT key, value FROM cache_meta WHERE key IN ('generation', 'journal_seq')") { ($0.text(0) ?? "", $0.text(1) ?? "") }) { a, _ in a }
                guard let g = m["generation"].flatMap({ Int64($0) }), let s = m["journal_seq"].flatMap({ Int64($0) }) else { return nil }
                return StoreRevision(generation: g, sequence: s)
            }
            if last != now {
                if let last, last.generation == now.generation, last.sequence <= now.sequence {
                    result.dropped += try expire(try ranges(since: last.sequence))
                } else {
                    result.everything = true
                    result.dropped = try conn.with { c in
                        try c.transaction {
                            let n = try c.run("DELETE FROM tiles")
                            try c.run("DELETE FROM shared")
                            return n
                        }
                    }
                    bytes.store(0, ordering: .relaxed)
                }
                try conn.with { c in
                    try c.transaction {
                        try c.run("INSERT OR REPLACE INTO cache_meta VALUES ('journal_seq', ?)", [.text(String(now.sequence))])
                        try c.run("INSERT OR REPLACE INTO cache_meta VALUES ('generation', ?)", [.text(String(now.generation))])
                    }
                }
            }
            // Caught up: an expiry fault is over (a write fault ends with the next stored tile).
            faultState.withLock { if $0?.1 == false { $0 = nil } }
        } catch {
            let why = (error as? SQLiteError)?.faultSentence(file: path) ?? "\(error)"
            faultState.withLock { $0 = (why, false) }
        }
        // What this process's front tiers must drop: everything since it last looked, even when
        // another process already brought the file up to date.
        if let from = seenHere.withLock({ $0 }) ?? last, from != now {
            if from.generation == now.generation, from.sequence <= now.sequence {
                result.ranges = try ranges(since: from.sequence)
            } else {
                result.everything = true
            }
        }
        seenHere.withLock { $0 = now }
        return result
    }

    /// Why the file is not working fully, if it is not: a sentence, and whether tiles may still be
    /// read from it (a failed store of tiles leaves the file consistent; a failed expiry does not).
    private let faultState = Mutex<(String, Bool)?>(nil)
    public var fault: String? { faultState.withLock { $0?.0 } }
    /// Whether tiles may be read from the file.
    public var readable: Bool { faultState.withLock { $0?.1 ?? true } }
    /// Records a failed store of tiles (the file stays readable).
    public func noteWriteFault(_ error: any Error) {
        let why = (error as? SQLiteError)?.faultSentence(file: path) ?? "\(error)"
        faultState.withLock { if $0 == nil || $0!.1 { $0 = (why, true) } }
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
            try c.query("SELECT z, x, y, coalesce(tiles.data, shared.data) FROM tiles LEFT JOIN shared ON tiles.data IS NULL AND shared.etag = tiles.etag WHERE style = ? AND scale = ? ORDER BY z, x, y", [.text(style), .int(Int64(scale))]) { s in
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

/// A block of tiles at one zoom: x in minX…maxX, y in minY…maxY (XYZ numbering).
public struct TileRange: Sendable, Hashable {
    public var z: Int, minX: Int, minY: Int, maxX: Int, maxY: Int
    public init(z: Int, minX: Int, minY: Int, maxX: Int, maxY: Int) { self.z = z; self.minX = minX; self.minY = minY; self.maxX = maxX; self.maxY = maxY }
    public func contains(z: Int, x: Int, y: Int) -> Bool { z == self.z && x >= minX && x <= maxX && y >= minY && y <= maxY }
    public func contains(_ t: TileID) -> Bool { contains(z: t.z, x: t.x, y: t.y) }
}

/// A style and a zoom (what a label placement is made for).
public struct StyleZoom: Sendable, Hashable {
    public var style: String
    public var zoom: Int
    public init(style: String, zoom: Int) { self.style = style; self.zoom = zoom }
}
