import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore
import OneMapStyle

/// How to run the command map service.
public struct ServerConfiguration: Sendable {
    public var database: String
    public var host: String
    public var port: Int
    public var styles: String
    public var web: String
    /// Where Debian's libjs-leaflet puts Leaflet.
    public var leaflet: String
    public var renderThreads: Int
    /// Metatile renders allowed to wait; beyond this a tile request gets 503 with Retry-After.
    public var renderQueueLimit: Int
    /// The longest expected wait for a render (seconds) before a tile request gets 503 at once.
    public var renderMaxWaitSeconds = 2.0
    /// Import this directory into the store on first start when the store is empty.
    public var seedData: String?
    /// Ask for a viewer token on reads too (writes always need an editor token).
    public var readsRequireToken = false
    /// The largest request body accepted (feature writes).
    public var maxBodyBytes = 4 * 1024 * 1024
    /// Bytes of tiles kept in memory, ready to send (least recently used dropped first).
    public var tileMemoryBytes = 64 * 1024 * 1024
    /// Bytes of tile data the tile-cache file keeps on disk (least recently used dropped first).
    public var tileCacheBytes = 2 << 30
    /// Cross-origin access: `*` on public reads, credentials for trusted origins.
    public var cors = CORSConfiguration()
    /// Honour Forwarded / X-Forwarded-Proto, -Host and -Prefix from a reverse proxy.
    public var trustProxy = false
    /// Seconds a connection may stay idle (no request in progress) before it is closed.
    public var idleTimeoutSeconds = 60
    /// Seconds from the first byte of a request head to its end.
    public var headerTimeoutSeconds = 10.0
    /// Seconds from a request head to the end of its body.
    public var bodyTimeoutSeconds = 60.0
    /// Open connections at most (nil: below the process's file limit, `ConnectionRegistry.defaultCap`).
    public var maxConnections: Int?
    /// Serve names and phones of people (information officers, shelter managers, monitors) to
    /// requests without a token too.
    public var publicPersonalData = false

    public init(database: String, host: String = "127.0.0.1", port: Int = 8080, styles: String = "Styles", web: String = "Web",
                leaflet: String = "/usr/share/javascript/leaflet", renderThreads: Int = ProcessInfo.processInfo.activeProcessorCount,
                renderQueueLimit: Int = 128, seedData: String? = nil)
    {
        self.database = database; self.host = host; self.port = port; self.styles = styles; self.web = web; self.leaflet = leaflet
        self.renderThreads = renderThreads; self.renderQueueLimit = renderQueueLimit; self.seedData = seedData
    }
}

/// The service's parts, built once at start (the composition root): each controller is then
/// given only the parts it uses.
public final class OneMapServices: Sendable {
    public let config: ServerConfiguration
    public let store: Store
    public let router: RoadRouter
    public let map: MapRenderer
    public let metrics: ServerMetrics
    public let atlas: VillageAtlas
    public let tiles: TileService
    /// The open connections, bounded.
    public let connections: ConnectionRegistry

    public init(config: ServerConfiguration, logger: Logger) throws {
        self.config = config
        connections = ConnectionRegistry(cap: config.maxConnections)
        let dir = (config.database as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        store = try Store(path: config.database)
        // Held by the store (which every controller keeps) so an offline restore knows a server runs.
        do { try store.holdServerLock() } catch {
            // A read-only folder: the server still serves reads; restores cannot be guarded.
            logger.warning("cannot take the store lock; an offline restore will not see this server", metadata: ["why": .string(error.description)])
        }
        if let seed = config.seedData, try store.layerInfo().allSatisfy({ $0.count == 0 }) {
            logger.info("empty store: importing the demonstration data", metadata: ["from": .string(seed), "db": .string(config.database)])
            let r = try store.importGeoJSON(at: seed, actor: "server:first-start")
            logger.info("imported demonstration data", metadata: ["features": .stringConvertible(r.total)])
        }
        if (try? store.passwordAccounts()) == 0 {
            logger.notice("no account can sign in to the web map yet; to edit from the map: onemap user add NAME --role editor && onemap user passwd NAME")
        }
        let profilePath = (config.styles as NSString).appendingPathComponent("routing-profile.json")
        let profile = FileManager.default.fileExists(atPath: profilePath) ? try RoutingProfile.load(path: profilePath) : .emergency
        router = try RoadRouter(source: store, profile: profile)
        map = try MapRenderer(source: store, stylesDirectory: config.styles)
        let cachePath = (config.database.hasSuffix(".sqlite") ? String(config.database.dropLast(7)) : config.database) + ".tiles.sqlite"
        let cache: TileCache
        do { cache = try TileCache(path: cachePath, budget: config.tileCacheBytes) } catch {
            // Beside a read-only store (or on a full disk) the cache goes to the temporary folder.
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in config.database.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            let elsewhere = (NSTemporaryDirectory() as NSString).appendingPathComponent("onemap-tiles-\(String(h, radix: 16)).sqlite")
            logger.warning("cannot use the tile cache beside the store; using the temporary folder", metadata: ["path": .string(cachePath), "instead": .string(elsewhere), "why": .string("\(error)")])
            cache = try TileCache(path: elsewhere, budget: config.tileCacheBytes)
        }
        metrics = ServerMetrics()
        atlas = try VillageAtlas(source: store, router: router, map: map)
        tiles = try TileService(map: map, cache: cache, store: store, metrics: metrics, renderThreads: config.renderThreads,
                                queueLimit: config.renderQueueLimit, memoryBytes: config.tileMemoryBytes, maxWait: config.renderMaxWaitSeconds)
    }
}

/// Runs blocking store, routing or print work on the shared thread pool, off the event loop.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(body)
}

/// Builds the Hummingbird application: routes, middleware, and the services behind them.
/// `onRunning` hears the port actually bound (useful with port 0).
public func buildApplication(_ config: ServerConfiguration, logger: Logger? = nil,
                             onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    var log = logger ?? Logger(label: "onemap")
    log.logLevel = .info
    return buildApplication(services: try OneMapServices(config: config, logger: log), logger: log, onRunning: onRunning)
}

/// Why the server could not start listening.
public struct ServerStartError: OneMapError {
    public var category: ErrorCategory { .unavailable }
    public var description: String
}

/// Runs the application until SIGTERM or SIGINT. Throws `ServerStartError` when the address
/// is in use or not available.
public func serve(_ app: some ApplicationProtocol, host: String, port: Int) async throws {
    do {
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    } catch let e as IOError where e.errnoCode == EADDRINUSE || e.errnoCode == EADDRNOTAVAIL || e.errnoCode == EACCES {
        let why = e.errnoCode == EADDRINUSE ? "is in use by another program; choose another with --port" : (e.errnoCode == EACCES ? "needs privileges; use a port above 1023" : "is not an address of this machine")
        throw ServerStartError(description: "cannot listen on \(host):\(port): it \(why)")
    }
}

/// Builds the application over services the caller made (tests look at their metrics).
///
/// Routes are grouped by capability, one controller each (`Controllers/`); a new route goes in
/// its capability's controller, a new capability is a new controller added here.
public func buildApplication(services s: OneMapServices, logger log: Logger,
                             onRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let config = s.config
    let router = Hummingbird.Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
    let auth = Authenticator(store: s.store)
    router.middlewares.add(RequestIDMiddleware())
    router.middlewares.add(LogRequestsMiddleware(.debug))
    router.middlewares.add(MetricsRecordingMiddleware(metrics: s.metrics))
    router.middlewares.add(JSONErrorMiddleware())
    router.middlewares.add(AuthMiddleware(auth: auth, required: config.readsRequireToken))
    TileController(service: s.tiles, trustProxy: config.trustProxy).addRoutes(to: router)
    let personal = PersonalDataPolicy(publicByDefault: config.publicPersonalData)
    FeatureController(store: s.store, auth: auth, personal: personal, maxBodyBytes: config.maxBodyBytes).addRoutes(to: router)
    AdminController(store: s.store, auth: auth, tiles: s.tiles, router: s.router).addRoutes(to: router)
    SessionController(store: s.store, throttle: SignInThrottle(), trustProxy: config.trustProxy).addRoutes(to: router)
    IncidentController(store: s.store, auth: auth, personal: personal, router: s.router, map: s.map, maxBodyBytes: config.maxBodyBytes).addRoutes(to: router)
    EventsController(store: s.store, tiles: s.tiles).addRoutes(to: router)
    RoutingController(roads: s.router).addRoutes(to: router)
    PrintController(atlas: s.atlas, personal: personal).addRoutes(to: router)
    HealthController(store: s.store, roadRouter: s.router, styleNames: s.map.styleNames, metrics: s.metrics, queue: s.tiles.queue, cache: s.tiles.cache, readOnlyStore: s.store.readOnly).addRoutes(to: router)
    WebController(web: config.web, leaflet: config.leaflet).addRoutes(to: router)
    let front = FrontResponder(inner: router.buildResponder(), routes: RouteTable(router.routes.map { ($0.path.description, $0.method) }),
                               cors: config.cors, tiles: config.readsRequireToken ? nil : s.tiles)
    let fastTiles = config.readsRequireToken ? nil : s.tiles
    var limits = ConnectionLimits()
    limits.idle = .seconds(Int64(config.idleTimeoutSeconds))
    limits.header = .milliseconds(Int64(config.headerTimeoutSeconds * 1000))
    limits.body = .milliseconds(Int64(config.bodyTimeoutSeconds * 1000))
    let cors = config.cors
    let registry = s.connections
    let connectionLimits = limits
    return Application(
        responder: front,
        server: .http1(configuration: .init(additionalChannelHandlers: [TileFastLane(tiles: fastTiles, cors: cors, limits: connectionLimits, registry: registry)])),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "onemap"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? config.port) },
        logger: log)
}
