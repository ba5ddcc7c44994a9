import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import OneMapCore
import OneMapRender
import OneMapStore
import Synchronization

/// XYZ tiles (PNG, @1x and @2x), TileJSON and OGC WMTS capabilities.
struct TileController<Context: RequestContext> {
    let service: TileService
    /// Honour Forwarded / X-Forwarded-* in the URLs written into TileJSON and WMTS.
    let trustProxy: Bool

    func addRoutes(to router: Hummingbird.Router<Context>) {
        router.get("/tiles/:style/:z/:x/:file") { request, context -> Response in
            let style = try context.parameters.require("style")
            guard service.map.styles[style] != nil else { throw APIError(.notFound, "unknown style \"\(style)\"; the styles are: \(service.map.styleNames.joined(separator: ", "))") }
            guard let z = Int(try context.parameters.require("z")), let x = Int(try context.parameters.require("x")) else {
                throw APIError(.badRequest, "z and x must be whole numbers")
            }
            let (y, scale) = try parseTileFile(try context.parameters.require("file"))
            let tile: TileID
            do { tile = try TileID(z: z, x: x, y: y) } catch let e as TileID.Invalid { throw APIError(.badRequest, e.description) }
            let hit = try await service.tile(style: style, tile: tile, scale: scale)
            return service.response(hit, request: request, head: request.method == .head)
        }

        router.get("/tiles/:style") { request, context -> Response in
            let file = try context.parameters.require("style")
            guard file.hasSuffix(".json") else { throw APIError(.notFound, "TileJSON is at /tiles/{style}.json") }
            let style = String(file.dropLast(5))
            guard let st = service.map.styles[style] else { throw APIError(.notFound, "unknown style \"\(style)\"; the styles are: \(service.map.styleNames.joined(separator: ", "))") }
            let base = baseURL(request, trustProxy: trustProxy)
            let bounds = try await blocking { try service.source.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) } }
            let origins = try await blocking { try service.source.dataOrigins() }
            let b = bounds.isEmpty ? BBox(minLon: 82.05, minLat: 45.45, maxLon: 83.55, maxLat: 46.55) : bounds
            let doc: JSONValue = [
                "tilejson": "3.0.0",
                "name": .string("onemap \(style)"),
                "description": .string(st.metadata["onemap:description"]?.stringValue ?? "onemap \(style) map"),
                "version": "1.0.0",
                "attribution": .string(origins.attribution),
                "scheme": "xyz",
                "tiles": [.string("\(base)/tiles/\(style)/{z}/{x}/{y}.png?v=\(service.dataVersion)")],
                "minzoom": 0, "maxzoom": 18,
                "bounds": [.number(b.minLon), .number(b.minLat), .number(b.maxLon), .number(b.maxLat)],
                "center": [.number(b.center.lon), .number(b.center.lat), 10],
            ]
            // The document names the data version: clients must not keep it.
            return jsonResponse(doc, headers: [.cacheControl: "no-cache"])
        }

        router.get("/wmts/1.0.0/WMTSCapabilities.xml") { request, _ -> Response in
            let bounds = try await blocking { try service.source.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) } }
            let xml = WMTS.capabilities(baseURL: baseURL(request, trustProxy: trustProxy), styles: service.map.styleNames.map { ($0, service.map.styles[$0]!.metadata["onemap:title"]?.stringValue ?? $0) }, bounds: bounds)
            return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(string: xml)))
        }
    }
}

/// A drawn metatile and the expiry epoch its render started in (tiles of a render that an
/// expiry overlapped are served to the requests that waited for it, never stored or reused).
final class Settling: Sendable {
    let metatile: DrawnMetatile
    let epoch: Int
    init(metatile: DrawnMetatile, epoch: Int) { self.metatile = metatile; self.epoch = epoch }
}

/// Tiles served from memory (one tier, bounded in bytes), the SQLite tile cache, or rendered
/// once per metatile on a bounded pool: the state the tile routes share.
///
/// Cache policy (an emergency map: a closed road must show at once on every screen):
/// - `/tiles/{style}/{z}/{x}/{y}.png` answers `Cache-Control: no-cache` with a strong ETag, so
///   browsers and QGIS revalidate each time and get 304 while nothing changed;
/// - TileJSON's URLs carry `?v=<data version>` (the store's edit-journal position); a tile asked
///   for at the current version may be kept a day (`immutable`): a later edit changes the
///   version, and clients that follow TileJSON ask for new URLs. A stale `v` gets `no-cache`.
///
/// Expiry runs off the request path: a background task follows the store's edit journal every
/// half second (another process may write), and a request after a write made through this
/// server waits for that write's expiry first (read-your-writes), found by one atomic compare.
public final class TileService: Sendable {
    public let map: MapRenderer
    public let tiles: TileRenderer
    public let cache: TileCache
    let store: Store
    var source: any FeatureSource { store }
    let metrics: ServerMetrics
    let memory: TileMemory
    let flights = MetatileFlights()
    /// Metatiles drawn whose tiles are still being encoded and stored, by flight key.
    private let settling = Mutex<[String: Settling]>([:])
    /// Drawn metatiles whose encoding was put after the answer, and how many may be at once.
    private let pendingEncodes = Atomic<Int>(0)
    let maxPendingEncodes: Int
    /// The most metatiles ever waiting to be encoded at once (tests check the bound).
    let peakPendingEncodes = Atomic<Int>(0)
    let queue: RenderQueue
    let renderPool: NIOThreadPool
    /// Style name → index in tile keys.
    private let styleIndex: [String: Int]
    /// Style names as bytes, in index order (the fast path compares bytes).
    private let styleBytes: [[UInt8]]
    /// The store's local-write counter as of the last sync.
    private let syncedWrites = Atomic<Int>(-1)
    /// The edit-journal position the cache has caught up with.
    private let version = Atomic<Int64>(0)
    /// Counts syncs that expired something (a render that overlaps one does not enter memory).
    private let expiries = Atomic<Int>(0)
    private let syncLock = Mutex(())
    /// Tests: while set, a render stops between drawing and storing (so an edit can land in that
    /// window on purpose); `rendersHeldForTesting` counts the renders waiting there.
    let holdRendersForTesting = Atomic<Bool>(false)
    let rendersHeldForTesting = Atomic<Int>(0)

    init(map: MapRenderer, cache: TileCache, store: Store, metrics: ServerMetrics, renderThreads: Int, queueLimit: Int, memoryBytes: Int, maxWait: Double = 2) throws {
        self.map = map; tiles = TileRenderer(map: map); self.cache = cache; self.store = store; self.metrics = metrics
        memory = TileMemory(budget: memoryBytes)
        styleIndex = Dictionary(uniqueKeysWithValues: map.styleNames.enumerated().map { ($0.element, $0.offset) })
        styleBytes = map.styleNames.map { Array($0.utf8) }
        queue = RenderQueue(limit: queueLimit, workers: renderThreads, maxWait: maxWait)
        maxPendingEncodes = 2 * max(1, renderThreads)
        renderPool = NIOThreadPool(numberOfThreads: max(1, renderThreads))
        renderPool.start()
        try syncNow()
        Task.detached { [weak self] in
            while true {
                try? await Task.sleep(for: .milliseconds(500))
                guard let s = self else { return }
                do { try await blocking { try s.syncNow() } } catch {
                    // The next round tries again; requests after local writes retry themselves.
                }
            }
        }
    }

    deinit { try? renderPool.syncShutdownGracefully() }

    /// The data version tile URLs carry (`StoreRevision.token`: new after every edit and restore).
    public var dataVersion: Int64 { version.load(ordering: .relaxed) }

    /// Brings the file cache and the memory tier up to the store's journal.
    func syncNow() throws {
        try syncLock.withLock { _ in
            let writes = store.localWrites
            let names = map.styleNames
            let front = Set(memory.styleZooms.compactMap { k in k[0] < names.count ? StyleZoom(style: names[k[0]], zoom: k[1]) : nil })
            let r = try cache.sync(with: store, map: map, front: front)
            if r.changed {
                expiries.add(1, ordering: .relaxed)
                metrics.tilesExpired.increment()
                let expired = r.expired()
                memory.remove { k in
                    let a = TileMemory.address(k)
                    return expired(a.z, a.x, a.y)
                }
            }
            version.store(r.revision.token, ordering: .relaxed)
            syncedWrites.store(writes, ordering: .releasing)
            let u = memory.usage
            metrics.tileMemoryBytes.set(Double(u.bytes))
            metrics.tileMemoryEntries.set(Double(u.count))
            metrics.tileCacheBytes.set(Double(cache.dataBytes))
        }
    }

    /// Whether a write through this server has not been expired yet.
    private var behind: Bool { syncedWrites.load(ordering: .acquiring) != store.localWrites }

    /// `Cache-Control` for a tile asked for with `?v=` (or without).
    /// `current`: the URL names the current data version.
    func cacheControl(current: Bool) -> String { current ? "public, max-age=86400, immutable" : "no-cache" }

    /// A tile answer independent of the transport: status, headers and body (nil for 304 and HEAD).
    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: ByteBuffer?
        var response: Response { Response(status: status, headers: headers, body: body.map { .init(byteBuffer: $0) } ?? .init()) }
    }

    /// The answer for a tile: 304 when If-None-Match names its tag (weak comparison), else the
    /// bytes; HEAD gets the headers alone. `v`: the `?v=` of the URL.
    func answer(_ hit: TileMemory.Hit, current: Bool, ifNoneMatch: String?, head: Bool) -> Answer {
        var h: HTTPFields = [.eTag: hit.etag, .cacheControl: cacheControl(current: current)]
        if let inm = ifNoneMatch, EntityTag.noneMatchHits(inm, current: hit.etag) {
            return Answer(status: .notModified, headers: h, body: nil)
        }
        h[.contentType] = "image/png"
        h[.contentLength] = String(hit.body.readableBytes)
        return Answer(status: .ok, headers: h, body: head ? nil : hit.body)
    }

    func response(_ hit: TileMemory.Hit, request: Request, head: Bool) -> Response {
        answer(hit, current: request.uri.queryParameters.getAll("v").last.flatMap { Int64($0) } == dataVersion, ifNoneMatch: request.headers[.ifNoneMatch], head: head).response
    }

    /// A cached tile answered from memory, before routing: nil unless the request is a GET or
    /// HEAD of a tile URL without credentials, whose tile is in memory, and no local write waits
    /// for expiry. `target`: the request target (path and query).
    func fastAnswer(method: HTTPRequest.Method, target: String, headers: HTTPFields) -> Answer? {
        guard method == .get || method == .head, target.hasPrefix("/tiles/"), !behind, headers[.authorization] == nil else { return nil }
        var target = target
        // One pass over the bytes, no allocation: a profile of 304 answers had the split-and-hash
        // version of this parse at about 7% of the server's time.
        guard let t = target.withUTF8({ parseTileTarget($0) }),
              let k = TileMemory.key(style: t.style, scale: t.scale, z: t.z, x: t.x, y: t.y), let hit = memory.get(k) else { return nil }
        metrics.tilesFromCache.increment()
        let a = answer(hit, current: t.v == dataVersion, ifNoneMatch: headers[.ifNoneMatch], head: method == .head)
        metrics.fastTile(status: a.status.code)
        return a
    }

    /// "/tiles/{style}/{z}/{x}/{y}[@2x].png[?…v=N…]" → its parts (v: -1 when absent or not a
    /// whole number; the last `v` wins).
    private func parseTileTarget(_ b: UnsafeBufferPointer<UInt8>) -> (style: Int, scale: Int, z: Int, x: Int, y: Int, v: Int64)? {
        let slash = UInt8(ascii: "/")
        var i = 7  // after "/tiles/"
        var end = i
        while end < b.count, b[end] != slash { end += 1 }
        let start = i
        guard end < b.count, let style = styleBytes.firstIndex(where: { name in
            name.count == end - start && name.withUnsafeBufferPointer { n in memcmp(n.baseAddress!, b.baseAddress! + start, n.count) == 0 }
        }) else { return nil }
        i = end + 1
        func digits() -> Int? {
            var n = 0, count = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39, count < 8 { n = n * 10 + Int(b[i] - 0x30); i += 1; count += 1 }
            return count > 0 ? n : nil
        }
        guard let z = digits(), i < b.count, b[i] == slash else { return nil }
        i += 1
        guard let x = digits(), i < b.count, b[i] == slash else { return nil }
        i += 1
        guard let y = digits() else { return nil }
        var scale = 1
        if i + 3 <= b.count, b[i] == UInt8(ascii: "@"), b[i + 1] == UInt8(ascii: "2"), b[i + 2] == UInt8(ascii: "x") { scale = 2; i += 3 }
        guard i + 4 <= b.count, b[i] == UInt8(ascii: "."), b[i + 1] == UInt8(ascii: "p"), b[i + 2] == UInt8(ascii: "n"), b[i + 3] == UInt8(ascii: "g") else { return nil }
        i += 4
        guard z <= TileID.maxZoom, x < 1 << z, y < 1 << z else { return nil }
        var v: Int64 = -1
        if i < b.count {
            guard b[i] == UInt8(ascii: "?") else { return nil }
            var p = i + 1
            while p < b.count {
                var e = p
                while e < b.count, b[e] != UInt8(ascii: "&") { e += 1 }
                if e - p >= 2, b[p] == UInt8(ascii: "v"), b[p + 1] == UInt8(ascii: "=") {
                    var n: Int64 = 0
                    var ok = e - p > 2 && e - p <= 20
                    for j in (p + 2)..<e where ok {
                        if b[j] >= 0x30, b[j] <= 0x39 { n = n * 10 + Int64(b[j] - 0x30) } else { ok = false }
                    }
                    v = ok ? n : -1
                }
                p = e + 1
            }
        }
        return (style, scale, z, x, y, v)
    }

    /// The tile: from memory, else the file cache, else rendered once per metatile.
    func tile(style: String, tile: TileID, scale: Int) async throws -> TileMemory.Hit {
        if behind { try await blocking { try self.syncNow() } }
        let key = styleIndex[style].flatMap { TileMemory.key(style: $0, scale: scale, z: tile.z, x: tile.x, y: tile.y) }
        if let key, let hit = memory.get(key) {
            metrics.tilesFromCache.increment()
            return hit
        }
        let epoch = expiries.load(ordering: .relaxed)
        // The file is a cache: when it fails (a full disk, an I/O error) tiles are rendered and
        // served all the same, and readiness reports the fault.
        let cache = self.cache
        let fromFile = cache.readable ? try await blocking { () -> (data: [UInt8], etag: String)? in
            do { return try cache.get(style: style, tile: tile, scale: scale) } catch {
                cache.noteWriteFault(error)
                return nil
            }
        } : nil
        if let hit = fromFile {
            metrics.tilesFromCache.increment()
            if hit.data.count < 1024, tiles.isEmptyTile(hit.data, style: style, scale: scale) { metrics.emptyTiles.increment() }
            let h = TileMemory.Hit(body: ByteBuffer(bytes: hit.data), etag: hit.etag)
            if let key { remember(key, h, epoch: epoch) }
            return h
        }
        let meta = MetatileID(containing: tile)
        let flightKey = "\(style)@\(scale)/\(meta.z)/\(meta.x)/\(meta.y)"
        // A metatile drawn a moment ago whose tiles are still being encoded and stored.
        if let drawn = settling.withLock({ $0[flightKey] }), drawn.epoch == epoch {
            // Already encoded (or the empty tile): no hop to the blocking pool.
            let bytes: [UInt8]
            if let ready = drawn.metatile.encoded(tile) { bytes = ready } else { bytes = try await blocking { try drawn.metatile.png(tile) } }
            metrics.tilesFromCache.increment()
            let h = TileMemory.Hit(body: ByteBuffer(bytes: bytes), etag: TileCache.etag(bytes))
            if let key { remember(key, h, epoch: epoch) }
            return h
        }
        // A render started before an expiry this request has seen is not joined: it may show
        // the state before a write this client made.
        let flight = try await flights.run(flightKey, epoch: epoch) { () -> Settling? in
            // A request that missed the file just before this metatile's tiles were stored (and
            // its settling entry dropped) would otherwise draw it again: look once more.
            if cache.readable, (try? await blocking { try cache.get(style: style, tile: tile, scale: scale) }) != nil { return nil }
            let expected: Double
            switch self.queue.enter(zoom: meta.z) {
            case .admitted(let e): expected = e
            case .full:
                self.metrics.rejected.increment()
                throw APIError(.serviceUnavailable, "the renderer is busy (\(self.queue.limit) metatiles queued); retry shortly", headers: [.retryAfter: "2"])
            case .tooLong(let wait):
                self.metrics.rejected.increment()
                throw APIError(.serviceUnavailable, String(format: "the renderer is busy: this tile would wait about %.1f s (the limit is %.1f s); retry shortly", wait, self.queue.maxWait),
                               headers: [.retryAfter: String(max(1, Int(wait.rounded(.up))))])
            }
            self.metrics.queueDepth.set(Double(self.queue.depth))
            let took = Mutex<Double?>(nil)
            // The queue counts a metatile until it is drawn and the asked tile encoded: the other
            // tiles' encoding follows on the pool, uncounted (about a third of a render), so a
            // client asking tile after tile is not told the renderer is busy with its own work.
            defer {
                self.queue.leave(zoom: meta.z, expected: expected, rendered: took.withLock { $0 })
                self.metrics.queueDepth.set(Double(self.queue.depth))
            }
            let (drawn, deferred) = try await self.renderPool.runIfActive { () -> (DrawnMetatile, Bool) in
                let t0 = DispatchTime.now().uptimeNanoseconds
                let d = try self.tiles.draw(style: style, metatile: meta, scale: scale)
                if self.holdRendersForTesting.load(ordering: .acquiring) {
                    self.rendersHeldForTesting.add(1, ordering: .releasing)
                    while self.holdRendersForTesting.load(ordering: .acquiring) { usleep(2000) }
                    self.rendersHeldForTesting.subtract(1, ordering: .releasing)
                }
                // The tile asked for first: its answer does not wait for the other 63 — unless
                // too many drawn metatiles already wait to be encoded (each holds its canvas,
                // 16 MB, 64 MB at @2x): then all of this one now, so memory stays bounded.
                let pending = self.pendingEncodes.add(1, ordering: .relaxed).newValue
                let deferred = pending <= self.maxPendingEncodes
                if deferred {
                    self.peakPendingEncodes.max(pending, ordering: .relaxed)
                    _ = try d.png(tile)
                } else {
                    self.pendingEncodes.subtract(1, ordering: .relaxed)
                    _ = try d.all()
                }
                took.withLock { $0 = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
                return (d, deferred)
            }
            self.metrics.metatilesRendered.increment()
            // The other tiles are encoded and stored after the answer, on the render pool.
            // Meanwhile requests for them take them from `settling` rather than drawing the
            // metatile again.
            let entry = Settling(metatile: drawn, epoch: epoch)
            self.settling.withLock { $0[flightKey] = entry }
            Task.detached {
                defer {
                    self.settling.withLock { if $0[flightKey] === entry { $0[flightKey] = nil } }
                    if deferred { self.pendingEncodes.subtract(1, ordering: .relaxed) }
                }
                guard let all = try? await self.renderPool.runIfActive({ try drawn.all() }) else { return }
                // A render that overlapped an expiry may have read the state before the edit:
                // it is served once but never stored. Checked under the sync lock, so an expiry
                // is either seen here or comes after the store and deletes what was stored.
                self.syncLock.withLock { _ in
                    guard self.expiries.load(ordering: .relaxed) == epoch, self.cache.readable else { return }
                    do { try self.cache.put(style: style, scale: scale, tiles: all) } catch { self.cache.noteWriteFault(error) }
                }
            }
            return entry
        }
        guard let drawn = flight else { return try await self.tile(style: style, tile: tile, scale: scale) }
        metrics.tilesRendered.increment()
        // Already encoded (or the empty tile): no hop to the blocking pool.
        let bytes: [UInt8]
        if let ready = drawn.metatile.encoded(tile) { bytes = ready } else { bytes = try await blocking { try drawn.metatile.png(tile) } }
        let h = TileMemory.Hit(body: ByteBuffer(bytes: bytes), etag: TileCache.etag(bytes))
        // Kept only when no expiry ran since the render started (not just since this request).
        if let key { remember(key, h, epoch: drawn.epoch) }
        return h
    }

    /// Waits until every metatile drawn so far has all its tiles encoded and stored in the
    /// cache file (they are stored after the asked tile is answered).
    public func settle() async {
        while !settling.withLock({ $0.isEmpty }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Keeps a tile in memory unless an expiry ran since `epoch` (when it was read or rendered).
    private func remember(_ key: UInt64, _ h: TileMemory.Hit, epoch: Int) {
        syncLock.withLock { _ in
            if expiries.load(ordering: .relaxed) == epoch { memory.put(key, body: h.body, etag: h.etag) }
        }
    }
}
