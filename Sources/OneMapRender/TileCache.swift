import Foundation
import Synchronization
import OneMapCore
import OneMapStore

/// A tile cache in an SQLite file, keyed by style, scale and z/x/y, kept in step with the store:
/// every change in the store's edit journal expires the tiles whose area (grown by one tile for
/// labels and symbols reaching over) intersects the change's bounding box, at every zoom.
///
/// The file is the only tier here: the server keeps its own in-memory tier of ready-to-send
/// buffers (one tier, bounded in bytes) and expires it with the areas `sync` reports.
public final class TileCache: Sendable {
    public let path: String
    private let conn: LockedConnection
    /// The journal position this process last synced to. Processes sharing the file each keep
    /// their own: the file's mark says what the file has caught up with, this one what the tiers
    /// in front of it (a server's memory) have.
    private let seenHere = Mutex<StoreRevision?>(nil)

    public init(path: String) throws {
        self.path = path
        let c = try Connection(path: path)
        try c.exec("""
            CREATE TABLE IF NOT EXISTS tiles (style TEXT NOT NULL, scale INTEGER NOT NULL, z INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
              data BLOB NOT NULL, etag TEXT NOT NULL, PRIMARY KEY (style, scale, z, x, y)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS cache_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            """)
        conn = LockedConnection(c)
    }

    /// A tile and its entity tag, if cached.
    public func get(style: String, tile t: TileID, scale: Int) throws -> (data: [UInt8], etag: String)? {
        try conn.with { c in
            try c.query("SELECT data, etag FROM tiles WHERE style = ? AND scale = ? AND z = ? AND x = ? AND y = ?",
                        [.text(style), .int(Int64(scale)), .int(Int64(t.z)), .int(Int64(t.x)), .int(Int64(t.y))]) { s in
                (s.withBlob(0) { Array($0) } ?? [], s.text(1) ?? "")
            }.first
        }
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

    /// The tile range at zoom `z` that an edit inside `box` can change: the tiles meeting the box,
    /// grown by one tile on each side (labels and symbols reach over tile edges). The one rule
    /// every tier expires by.
    public static func reach(of box: BBox, zoom z: Int) -> (minX: Int, minY: Int, maxX: Int, maxY: Int) {
        let a = TileID.containing(Coord(box.minLon, box.maxLat), zoom: z), b = TileID.containing(Coord(box.maxLon, box.minLat), zoom: z)
        let maxI = (1 << z) - 1
        return (max(0, a.x - 1), max(0, a.y - 1), min(maxI, b.x + 1), min(maxI, b.y + 1))
    }

    /// Deletes every cached tile (all styles and scales) whose area, grown by one tile, meets `box`.
    @discardableResult
    public func expire(_ box: BBox, zooms: ClosedRange<Int> = 0...TileID.maxZoom) throws -> Int {
        try conn.with { c in
            try c.transaction {
                var n = 0
                for z in zooms {
                    let r = TileCache.reach(of: box, zoom: z)
                    n += try c.run("DELETE FROM tiles WHERE z = ? AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?", [
                        .int(Int64(z)), .int(Int64(r.minX)), .int(Int64(r.maxX)), .int(Int64(r.minY)), .int(Int64(r.maxY)),
                    ])
                }
                return n
            }
        }
    }

    /// What one `sync` did: the journal position it reached, the areas whose tiles it dropped
    /// (empty with `everything` when the cache had never seen this store) and how many tiles.
    public struct Sync: Sendable {
        public var revision: StoreRevision
        public var areas: [BBox] = []
        public var everything = false
        public var dropped = 0
        /// Whether anything was expired.
        public var changed: Bool { everything || !areas.isEmpty }
    }

    /// Brings the cache up to the store's revision: expires the areas of all edits since the last
    /// sync, and reports them so that tiers in front of the file can expire the same tiles. A
    /// store of another generation (restored, migrated, or a cache file that never saw it)
    /// empties the cache: nothing in it can be trusted.
    @discardableResult
    public func sync(with store: Store) throws -> Sync {
        let last: StoreRevision? = try conn.with { c in
            let m = Dictionary(try c.query("SELECT key, value FROM cache_meta WHERE key IN ('generation', 'journal_seq')") { ($0.text(0) ?? "", $0.text(1) ?? "") }) { a, _ in a }
            guard let g = m["generation"].flatMap({ Int64($0) }), let s = m["journal_seq"].flatMap({ Int64($0) }) else { return nil }
            return StoreRevision(generation: g, sequence: s)
        }
        let now = try store.storeRevision()
        let here = seenHere.withLock { $0 }
        var result = Sync(revision: now)
        if last != now {
            if let last, last.generation == now.generation, last.sequence <= now.sequence {
                for box in try store.editedAreas(since: last.sequence) { result.dropped += try expire(box) }
            } else {
                result.everything = true
                result.dropped = try conn.with { c in try c.run("DELETE FROM tiles") }
            }
            try conn.with { c in
                try c.transaction {
                    try c.run("INSERT OR REPLACE INTO cache_meta VALUES ('journal_seq', ?)", [.text(String(now.sequence))])
                    try c.run("INSERT OR REPLACE INTO cache_meta VALUES ('generation', ?)", [.text(String(now.generation))])
                }
            }
        }
        // What this process's front tiers must drop: everything since it last looked, even when
        // another process already brought the file up to date.
        if let from = here ?? last, from != now {
            if from.generation == now.generation, from.sequence <= now.sequence {
                result.areas = try store.editedAreas(since: from.sequence)
            } else {
                result.everything = true
            }
        }
        seenHere.withLock { $0 = now }
        return result
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
