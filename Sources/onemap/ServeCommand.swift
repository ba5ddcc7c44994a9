import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OneMapCore
import OneMapServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the command map: tiles, API and the web map.")
    @Option(help: "The SpatiaLite store. Without it, the embedded default (\(Defaults.database)), filled with the demonstration data on first start.")
    var db: String?
    @Option var host = "127.0.0.1"
    @Option var port = 8080
    @Option(help: "Folder of the demonstration data imported into an empty default store (default: the GeoData folder shipped with onemap).") var data: String?
    @Option(help: "Render threads (default: all cores).") var renderThreads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Metatile renders allowed to queue before tile requests get 503.") var renderQueue = 128
    @Flag(help: "Ask for a viewer token on reads too (writes always need an editor token).") var requireReadToken = false
    @Option(help: "Megabytes of tiles kept in memory, ready to send (least recently used dropped first).") var tileMemory = 256
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
        }
        let config = ServerConfiguration(
            database: db ?? Defaults.database, host: host, port: port, styles: try Paths.styles(),
            web: try Paths.web(), renderThreads: renderThreads, renderQueueLimit: renderQueue,
            seedData: db == nil ? try data ?? Paths.geoData() : nil)
        var cfg = config
        cfg.readsRequireToken = requireReadToken
        guard tileMemory >= 0, tileMemory <= 1 << 20 else { throw CLIError("--tile-memory must be 0…1048576 MB, got \(tileMemory)") }
        cfg.tileMemoryBytes = tileMemory * 1024 * 1024
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
