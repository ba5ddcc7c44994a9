import Foundation
import NIOCore
import Synchronization

/// The server's one in-memory tier of tiles: ready-to-send buffers and their entity tags, the
/// least recently used dropped first, bounded in bytes (body, tag and bookkeeping).
///
/// Keys are packed into 64 bits (`TileMemory.key`) so a lookup hashes one integer; the
/// recency list lives in arrays of slot indices, so a hit moves nothing but two links. A hit
/// hands out the stored `ByteBuffer` (reference counted, never copied per response).
final class TileMemory: Sendable {
    struct Hit { let body: ByteBuffer; let etag: String }

    private struct Slot {
        var key: UInt64
        var body: ByteBuffer
        var etag: String
        var cost: Int
        var prev: Int32
        var next: Int32
    }

    private struct State {
        var index: [UInt64: Int32] = [:]
        var slots: [Slot] = []
        var free: [Int32] = []
        /// Most recently used.
        var head: Int32 = -1
        /// Least recently used: the next to go.
        var tail: Int32 = -1
        var bytes = 0

        mutating func unlink(_ i: Int32) {
            let p = slots[Int(i)].prev, n = slots[Int(i)].next
            if p >= 0 { slots[Int(p)].next = n } else { head = n }
            if n >= 0 { slots[Int(n)].prev = p } else { tail = p }
        }

        mutating func pushFront(_ i: Int32) {
            slots[Int(i)].prev = -1
            slots[Int(i)].next = head
            if head >= 0 { slots[Int(head)].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func drop(_ i: Int32) {
            unlink(i)
            index[slots[Int(i)].key] = nil
            bytes -= slots[Int(i)].cost
            slots[Int(i)].body = ByteBuffer()
            slots[Int(i)].etag = ""
            free.append(i)
        }
    }

    private let state = Mutex(State())
    /// The budget, bytes.
    let budget: Int

    /// `budget`: bytes the tier may hold (0 turns it off).
    init(budget: Int) { self.budget = max(0, budget) }

    /// Bookkeeping per entry beyond body and tag (slot, index entry), bytes.
    static let overhead = 96

    /// A tile address in 64 bits: style index (8 bits), scale (2), z (5), x (22), y (22).
    /// Zoom ≤ 22 (TileID.maxZoom) fits; `nil` for addresses that do not.
    @inline(__always)
    static func key(style: Int, scale: Int, z: Int, x: Int, y: Int) -> UInt64? {
        guard style >= 0, style < 256, scale >= 1, scale <= 3, z >= 0, z < 32, x >= 0, x < (1 << 22), y >= 0, y < (1 << 22) else { return nil }
        return UInt64(style) << 51 | UInt64(scale) << 49 | UInt64(z) << 44 | UInt64(x) << 22 | UInt64(y)
    }

    /// The zoom, x and y of a packed key.
    static func address(_ k: UInt64) -> (z: Int, x: Int, y: Int) {
        (Int((k >> 44) & 31), Int((k >> 22) & 0x3F_FFFF), Int(k & 0x3F_FFFF))
    }

    func get(_ k: UInt64) -> Hit? {
        state.withLock { s in
            guard let i = s.index[k] else { return nil }
            if s.head != i { s.unlink(i); s.pushFront(i) }
            return Hit(body: s.slots[Int(i)].body, etag: s.slots[Int(i)].etag)
        }
    }

    func put(_ k: UInt64, body: ByteBuffer, etag: String) {
        let cost = body.readableBytes + etag.utf8.count + TileMemory.overhead
        guard cost <= budget else { return }
        state.withLock { s in
            if let i = s.index[k] { s.drop(i) }
            while s.bytes + cost > budget, s.tail >= 0 { s.drop(s.tail) }
            let slot = Slot(key: k, body: body, etag: etag, cost: cost, prev: -1, next: -1)
            let i: Int32
            if let f = s.free.popLast() { i = f; s.slots[Int(f)] = slot } else { i = Int32(s.slots.count); s.slots.append(slot) }
            s.index[k] = i
            s.bytes += cost
            s.pushFront(i)
        }
    }

    /// Drops every entry whose key matches; returns how many.
    @discardableResult
    func remove(where match: (UInt64) -> Bool) -> Int {
        state.withLock { s in
            let doomed = s.index.filter { match($0.key) }.map(\.value)
            for i in doomed { s.drop(i) }
            return doomed.count
        }
    }

    /// The style indexes and zooms of the entries held now.
    var styleZooms: Set<[Int]> { state.withLock { Set($0.index.keys.map { [Int($0 >> 51), TileMemory.address($0).z] }) } }

    /// Entries and bytes held now.
    var usage: (count: Int, bytes: Int) { state.withLock { ($0.index.count, $0.bytes) } }
}
