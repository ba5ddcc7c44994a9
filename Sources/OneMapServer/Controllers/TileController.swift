import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import OneMapCore
import OneMapRender
import OneMapStore

/// XYZ tiles (PNG, @1x and @2x), TileJSON and OGC WMTS capabilities.
struct TileController<Context: RequestContext> {
    let service: TileService

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
            let (buffer, etag) = try await service.tileBuffer(style: style, tile: tile, scale: scale)
            var headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=300, must-revalidate"]
            if let inm = request.headers[.ifNoneMatch], inm.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).contains(where: { $0 == etag || $0 == "*" }) {
                return Response(status: .notModified, headers: headers)
            }
            headers[.contentType] = "image/png"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
        }

        router.get("/tiles/:style") { request, context -> Response in
            let file = try context.parameters.require("style")
            guard file.hasSuffix(".json") else { throw APIError(.notFound, "TileJSON is at /tiles/{style}.json") }
            let style = String(file.dropLast(5))
            guard let st = service.map.styles[style] else { throw APIError(.notFound, "unknown style \"\(style)\"; the styles are: \(service.map.styleNames.joined(separator: ", "))") }
            let base = baseURL(request)
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
                "tiles": [.string("\(base)/tiles/\(style)/{z}/{x}/{y}.png")],
                "minzoom": 0, "maxzoom": 18,
                "bounds": [.number(b.minLon), .number(b.minLat), .number(b.maxLon), .number(b.maxLat)],
                "center": [.number(b.center.lon), .number(b.center.lat), 10],
            ]
            return jsonResponse(doc)
        }

        router.get("/wmts/1.0.0/WMTSCapabilities.xml") { request, _ -> Response in
            let bounds = try await blocking { try service.source.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) } }
            let xml = WMTS.capabilities(baseURL: baseURL(request), styles: service.map.styleNames.map { ($0, service.map.styles[$0]!.metadata["onemap:title"]?.stringValue ?? $0) }, bounds: bounds)
            return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: xml)))
        }
    }
}

/// Tiles served from memory, the SQLite tile cache, or rendered once per metatile on a bounded
/// pool: the state the tile routes share.
public final class TileService: Sendable {
    public let map: MapRenderer
    public let tiles: TileRenderer
    public let cache: TileCache
    let store: Store
    var source: any FeatureSource { store }
    let metrics: ServerMetrics
    let hot = HotTiles()
    let flights = MetatileFlights()
    let queue: RenderQueue
    let renderPool: NIOThreadPool

    init(map: MapRenderer, cache: TileCache, store: Store, metrics: ServerMetrics, renderThreads: Int, queueLimit: Int) {
        self.map = map; tiles = TileRenderer(map: map); self.cache = cache; self.store = store; self.metrics = metrics
        queue = RenderQueue(limit: queueLimit)
        renderPool = NIOThreadPool(numberOfThreads: max(1, renderThreads))
        renderPool.start()
    }

    deinit { try? renderPool.syncShutdownGracefully() }

    /// The tile as a ready buffer: from the hot set, else from `tilePNG`.
    func tileBuffer(style: String, tile: TileID, scale: Int) async throws -> (ByteBuffer, String) {
        if try cache.syncIfNeeded(with: store) > 0 {
            metrics.tilesExpired.increment()
            hot.clear()
        }
        let key = HotTiles.Key(style: style, scale: scale, z: tile.z, x: tile.x, y: tile.y)
        if let hit = hot.get(key) {
            metrics.tilesFromCache.increment()
            return hit
        }
        let (bytes, etag) = try await tilePNG(style: style, tile: tile, scale: scale)
        let v = (ByteBuffer(bytes: bytes), etag)
        hot.put(key, v)
        return v
    }

    /// The tile's bytes and entity tag: from the cache, or rendered once per metatile.
    func tilePNG(style: String, tile: TileID, scale: Int) async throws -> ([UInt8], String) {
        // Hot path: the journal check is an in-memory counter most of the time and the tile comes
        // from memory, so a cached tile never leaves the event loop.
        if let hit = cache.memoryGet(style: style, tile: tile, scale: scale) {
            metrics.tilesFromCache.increment()
            if hit.data.count < 1024, tiles.isEmptyTile(hit.data, style: style, scale: scale) { metrics.emptyTiles.increment() }
            return (hit.data, hit.etag)
        }
        if let hit = try await blocking({ try self.cache.get(style: style, tile: tile, scale: scale) }) {
            metrics.tilesFromCache.increment()
            return (hit.data, hit.etag)
        }
        let meta = MetatileID(containing: tile)
        let key = "\(style)@\(scale)/\(meta.z)/\(meta.x)/\(meta.y)"
        let rendered = try await flights.run(key) {
            guard self.queue.enter() else {
                self.metrics.rejected.increment()
                throw APIError(.serviceUnavailable, "the renderer is busy (\(self.queue.limit) metatiles queued); retry shortly", headers: [.retryAfter: "2"])
            }
            self.metrics.queueDepth.set(Double(self.queue.depth))
            defer {
                self.queue.leave()
                self.metrics.queueDepth.set(Double(self.queue.depth))
            }
            let out = try await self.renderPool.runIfActive {
                let t = try self.tiles.renderMetatile(style: style, metatile: meta, scale: scale)
                try self.cache.put(style: style, scale: scale, tiles: t)
                return t
            }
            self.metrics.metatilesRendered.increment()
            return Dictionary(uniqueKeysWithValues: out.map { (TileIDKey(z: $0.key.z, x: $0.key.x, y: $0.key.y), $0.value) })
        }
        metrics.tilesRendered.increment()
        guard let bytes = rendered[TileIDKey(z: tile.z, x: tile.x, y: tile.y)] else { throw APIError(.internalServerError, "metatile \(meta) lacks tile \(tile)") }
        return (bytes, TileCache.etag(bytes))
    }
}
