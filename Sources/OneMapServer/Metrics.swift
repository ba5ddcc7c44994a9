import Foundation
import Synchronization
import Hummingbird
import NIOCore
import Prometheus

/// The service's Prometheus metrics, in its own registry (nothing global, so several servers
/// can run in one test process).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let tilesFromCache: Counter
    let tilesRendered: Counter
    let metatilesRendered: Counter
    let emptyTiles: Counter
    let queueDepth: Gauge
    let rejected: Counter
    let tilesExpired: Counter
    let tileMemoryBytes: Gauge
    let tileMemoryEntries: Gauge
    /// Bytes of tile data in the tile-cache file (bounded by `--tile-cache-size`).
    let tileCacheBytes: Gauge

    init() {
        tilesFromCache = registry.makeCounter(name: "onemap_tiles_served_total", labels: [("source", "cache")])
        tilesRendered = registry.makeCounter(name: "onemap_tiles_served_total", labels: [("source", "render")])
        metatilesRendered = registry.makeCounter(name: "onemap_metatiles_rendered_total")
        emptyTiles = registry.makeCounter(name: "onemap_empty_tiles_served_total")
        queueDepth = registry.makeGauge(name: "onemap_render_queue_depth")
        rejected = registry.makeCounter(name: "onemap_render_rejected_total")
        tilesExpired = registry.makeCounter(name: "onemap_cache_expiries_total")
        tileMemoryBytes = registry.makeGauge(name: "onemap_tile_memory_bytes")
        tileMemoryEntries = registry.makeGauge(name: "onemap_tile_memory_tiles")
        tileCacheBytes = registry.makeGauge(name: "onemap_tile_cache_bytes")
        fastTileOK = registry.makeCounter(name: "http_requests_total", labels: [("route", Self.tileRoute), ("method", "GET"), ("status", "200")])
        fastTileNotModified = registry.makeCounter(name: "http_requests_total", labels: [("route", Self.tileRoute), ("method", "GET"), ("status", "304")])
    }

    private let series = SeriesCache()

    func request(route: String, method: String, status: Int, seconds: Double) {
        // The registry builds and hashes label arrays on every lookup; keep the handles instead.
        let (counter, histogram) = series.get(route: route, method: method, status: status) {
            (registry.makeCounter(name: "http_requests_total", labels: [("route", route), ("method", method), ("status", String(status))]),
             registry.makeDurationHistogram(
                name: "http_request_duration_seconds", labels: [("route", route)],
                buckets: Self.buckets))
        }
        counter.increment()
        histogram.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Cached tiles answered before routing count under the tile route like any other request
    /// (counts only; their latency is below the first bucket). Handles resolved once.
    func fastTile(status: Int) {
        switch status {
        case 200: fastTileOK.increment()
        case 304: fastTileNotModified.increment()
        default: request(route: Self.tileRoute, method: "GET", status: status, seconds: 0)
        }
    }

    static let tileRoute = "/tiles/{style}/{z}/{x}/{file}"
    private let fastTileOK: Counter
    private let fastTileNotModified: Counter

    static let buckets: [Duration] = [.milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)]

    /// The exposition text.
    public func text() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Counts requests and their latency by matched route.
struct MetricsRecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func record(_ status: Int) {
            let d = ContinuousClock.now - start
            let secs = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            metrics.request(route: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: status, seconds: secs)
        }
        do {
            let r = try await next(request, context)
            record(r.status.code)
            return r
        } catch let e as any HTTPResponseError {
            record(e.status.code)
            throw e
        } catch {
            record(500)
            throw error
        }
    }
}

/// How many metatile renders are running or waiting; refuses beyond the limit.
///
///
/// Sheds by expected waiting time, not only by length: a request whose metatile would wait more
/// than `maxWait` seconds behind the renders already admitted (the sum of their expected render
/// times — the recent mean at their zoom — over the render threads) gets 503 at once, with a
/// Retry-After of about that wait, instead of queueing for many seconds. Means are kept per zoom:
/// cheap low-zoom or empty renders must not make a queue of dense ones look short.
final class RenderQueue: Sendable {
    private let state = Mutex((depth: 0, queued: 0.0, mean: [Double](repeating: 0.25, count: 32)))
    let limit: Int
    let workers: Int
    let maxWait: Double
    init(limit: Int, workers: Int = 1, maxWait: Double = .infinity) {
        self.limit = limit; self.workers = max(1, workers); self.maxWait = maxWait
    }

    enum Admission: Equatable { case admitted(expected: Double), full, tooLong(seconds: Double) }

    func enter(zoom: Int = 0) -> Admission {
        let z = min(max(zoom, 0), 31)
        return state.withLock { s in
            if s.depth >= limit { return .full }
            // Renders ahead of this one, shared by the workers; the first `workers` start at once.
            let wait = s.queued / Double(workers)
            if s.depth >= workers, wait > maxWait { return .tooLong(seconds: wait) }
            s.depth += 1
            s.queued += s.mean[z]
            return .admitted(expected: s.mean[z])
        }
    }
    /// Leaves the queue; `expected`: what `enter` admitted it with; `seconds`: how long the render
    /// took (nil when it did not run).
    func leave(zoom: Int = 0, expected: Double = 0, rendered seconds: Double? = nil) {
        let z = min(max(zoom, 0), 31)
        state.withLock { s in
            s.depth -= 1
            s.queued = max(0, s.queued - expected)
            if let seconds { s.mean[z] = 0.7 * s.mean[z] + 0.3 * seconds }
        }
    }
    var depth: Int { state.withLock { $0.depth } }
}

/// Concurrent requests for one metatile share a single render.
actor MetatileFlights {
    private var inflight: [String: (epoch: Int, task: Task<Settling?, any Error>)] = [:]

    /// Joins the render of `key` if one started in expiry epoch `epoch` or later, else starts
    /// `body` (and later requests join that one). nil: `body` found the tiles stored meanwhile.
    func run(_ key: String, epoch: Int, _ body: @escaping @Sendable () async throws -> Settling?) async throws -> Settling? {
        if let f = inflight[key], f.epoch >= epoch { return try await f.task.value }
        let t = Task { try await body() }
        inflight[key] = (epoch, t)
        defer { if inflight[key]?.task == t { inflight[key] = nil } }
        return try await t.value
    }
}

/// Metric handles per (route, method, status).
///
final class SeriesCache: Sendable {
    struct Key: Hashable { let route: String, method: String, status: Int }
    private let map = Mutex<[Key: (Counter, DurationHistogram)]>([:])
    func get(route: String, method: String, status: Int, make: () -> (Counter, DurationHistogram)) -> (Counter, DurationHistogram) {
        let k = Key(route: route, method: method, status: status)
        return map.withLock { m in
            if let v = m[k] { return v }
            let v = make()
            m[k] = v
            return v
        }
    }
}
