import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OneMapCore
import OneMapRender
import OneMapServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the command map: tiles, API and the web map.")
    @Option(help: "The SpatiaLite store; it must exist (onemap import makes one). Without it, the embedded default (\(Defaults.database)), filled with the demonstration data on first start.")
    var db: String?
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Folder of the demonstration data imported into an empty default store (default: the GeoData folder shipped with onemap).") var data: String?
    @Option(help: "Render threads (default: all cores).") var renderThreads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Metatile renders allowed to queue before tile requests get 503.") var renderQueue = 128
    @Option(help: "Open connections at most; past it the longest-idle connection makes room (default: below the process's file limit).") var maxConnections: Int?
    @Option(help: "Seconds from the first byte of a request head to its end before the connection is closed.") var headerTimeout = 10.0
    @Option(help: "Seconds from a request head to the end of its body before the connection is closed.") var bodyTimeout = 60.0
    @Option(help: "Seconds a tile may be expected to wait for its render before the request gets 503 with Retry-After at once.") var renderMaxWait = 2.0
    @Flag(help: "Ask for a viewer token on reads too (writes always need an editor token).") var requireReadToken = false
    @Option(help: "Megabytes of tiles kept in memory, ready to send (least recently used dropped first).") var tileMemory = 64
    @Option(help: "Megabytes of tile data kept on disk in the tile-cache file (least recently used dropped first).") var tileCacheSize = 2048
    @Option(name: .customLong("cors-origin"), help: "An origin (https://host[:port]) allowed to sign in and write from a browser; repeatable.")
    var corsOrigins: [String] = []
    @Flag(help: "No Access-Control-Allow-Origin: * on public reads (tiles, TileJSON, WMTS, the read API).") var noPublicCors = false
    @Flag(help: "Behind a reverse proxy: honour Forwarded and X-Forwarded-Proto/-Host/-Prefix in the URLs of TileJSON and WMTS.")
    var trustProxy = false
    @Flag(help: "Serve people's names and phones (information officers, shelter managers, monitors) without a token too.")
    var publicPersonalData = false

    func run() async throws { try await reportingErrors(execute) }

    func execute() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        if let db {
            // A mistyped path must not start an empty map: the folder has to exist (as for every command).
            let dir = (db as NSString).deletingLastPathComponent
            var isDir: ObjCBool = false
            if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
                throw CLIError(.notFound, "there is no folder \(dir) for the store \(db); create it first (a typo in --db would otherwise start an empty map)")
            }
            guard FileManager.default.fileExists(atPath: db) else {
                throw CLIError(.notFound, "there is no store at \(db); check the path, or make one with: onemap import <data> --db \(db) (without --db, onemap serves its embedded store with the demonstration data)")
            }
            if let why = emptyStoreProblem(db) { throw CLIError(.unavailable, why) }
        }
        let config = ServerConfiguration(
            database: db ?? Defaults.database, host: host, port: port, styles: try Paths.styles(),
            web: try Paths.web(), renderThreads: renderThreads, renderQueueLimit: renderQueue,
            seedData: db == nil ? try data ?? Paths.geoData() : nil)
        var cfg = config
        Allocator.tuneForRendering()
        cfg.readsRequireToken = requireReadToken
        guard renderMaxWait > 0, renderMaxWait <= 3600 else { throw CLIError("--render-max-wait must be more than 0 and at most 3600 seconds, got \(renderMaxWait)") }
        cfg.renderMaxWaitSeconds = renderMaxWait
        if let m = maxConnections, m < 2 || m > 1_000_000 { throw CLIError("--max-connections must be 2…1000000, got \(m)") }
        cfg.maxConnections = maxConnections
        guard headerTimeout > 0, headerTimeout <= 3600, bodyTimeout > 0, bodyTimeout <= 3600 else {
            throw CLIError("--header-timeout and --body-timeout must be more than 0 and at most 3600 seconds")
        }
        cfg.headerTimeoutSeconds = headerTimeout
        cfg.bodyTimeoutSeconds = bodyTimeout
        guard tileMemory >= 0, tileMemory <= 1 << 20 else { throw CLIError("--tile-memory must be 0…1048576 MB, got \(tileMemory)") }
        cfg.tileMemoryBytes = tileMemory * 1024 * 1024
        guard tileCacheSize >= 1, tileCacheSize <= 1 << 24 else { throw CLIError("--tile-cache-size must be 1…16777216 MB, got \(tileCacheSize)") }
        cfg.tileCacheBytes = tileCacheSize * 1024 * 1024
        let origins = try corsOrigins.map { o in
            guard let n = CORSConfiguration.normalisedOrigin(o) else {
                throw CLIError("--cors-origin must be an origin such as https://gis.example.org or http://10.0.0.5:3000 (no path, user or query), got \"\(o)\"")
            }
            return n
        }
        cfg.cors = CORSConfiguration(publicReads: !noPublicCors, trustedOrigins: Set(origins))
        cfg.trustProxy = trustProxy
        cfg.publicPersonalData = publicPersonalData
        let app: any ApplicationProtocol
        let host = self.host
        do {
            app = try buildApplication(cfg) { port in
                // Written straight to the descriptor: seen at once when stdout is a log file or a pipe.
                FileHandle.standardOutput.write(Data("onemap: serving the command map on http://\(host):\(port)/  (Ctrl-C to stop)\n".utf8))
            }
        } catch let e as any OneMapError {
            throw CLIError(e.category, "cannot start: \(e.description)")
        }
        try await serve(app, host: host, port: port)
    }
}
