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
    @Option(help: "Folder of the demonstration data imported into an empty default store.") var data = "GeoData"
    @Option(help: "Render threads (default: all cores).") var renderThreads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Metatile renders allowed to queue before tile requests get 503.") var renderQueue = 128
    @Flag(help: "Ask for a viewer token on reads too (writes always need an editor token).") var requireReadToken = false

    func run() async throws { try await reportingErrors(execute) }

    func execute() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let config = ServerConfiguration(
            database: db ?? Defaults.database, host: host, port: port, styles: Paths.styles,
            web: ProcessInfo.processInfo.environment["ONEMAP_WEB"] ?? "Web", renderThreads: renderThreads, renderQueueLimit: renderQueue,
            seedData: db == nil ? data : nil)
        var cfg = config
        cfg.readsRequireToken = requireReadToken
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
