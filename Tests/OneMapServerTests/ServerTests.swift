import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import OneMapTestSupport

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import OneMapCore
@testable import OneMapRender
@testable import OneMapRouting
@testable import OneMapServer
@testable import OneMapStore

let repoRoot = repositoryRoot()


let quiet: Logger = {
    var l = Logger(label: "test")
    l.logLevel = .warning
    return l
}()

func makeServices(_ dir: TempDir, queue: Int = 64) throws -> OneMapServices {
    let config = ServerConfiguration(database: dir.path + "/onemap.sqlite", port: 0, styles: repoRoot + "/Styles", web: repoRoot + "/Web",
                                     renderThreads: 2, renderQueueLimit: queue, seedData: repoRoot + "/GeoData")
    var log = Logger(label: "test")
    log.logLevel = .warning
    return try OneMapServices(config: config, logger: log)
}

func json(_ b: ByteBuffer) throws -> JSONValue { try JSONParser.parse(Array(b.readableBytesView)) }

/// The error message of a JSON error body (fails the test when the body is not one).
func errorMessage(_ b: ByteBuffer) -> String {
    guard let v = try? json(b), let m = v["error"]?["message"]?.stringValue else {
        Issue.record("not a JSON error body: \(String(buffer: b))")
        return ""
    }
    return m
}

@Suite(.serialized) struct ServerTests {
    @Test func tilesETagsAndBadInput() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var etag = ""
            try await client.execute(uri: "/tiles/command/12/2992/1453.png", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "image/png")
                #expect(Array(r.body.readableBytesView.prefix(8)) == PNGEncoder.signature)
                etag = r.headers[.eTag] ?? ""
                #expect(!etag.isEmpty)
                #expect(r.headers[.cacheControl] == "no-cache")
                #expect(r.headers[.init("X-Request-Id")!] != nil)
            }
            try await client.execute(uri: "/tiles/command/12/2992/1453.png", method: .get, headers: [.ifNoneMatch: etag]) { r in
                #expect(r.status == .notModified)
                #expect(r.body.readableBytes == 0)
            }
            try await client.execute(uri: "/tiles/command/12/2992/1453@2x.png", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.eTag] != etag)
            }
            for (uri, status, words) in [
                ("/tiles/command/12/99999/1453.png", HTTPResponse.Status.badRequest, "outside 0…4095"),
                ("/tiles/command/23/0/0.png", .badRequest, "zoom 23"),
                ("/tiles/command/x/0/0.png", .badRequest, "whole numbers"),
                ("/tiles/command/3/1/1@3x.png", .badRequest, "scale must be 1 or 2"),
                ("/tiles/command/3/1/1.jpg", .badRequest, ".png"),
                ("/tiles/nope/3/1/1.png", .notFound, "unknown style"),
                ("/tiles/nope.json", .notFound, "unknown style"),
            ] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == status, "\(uri)")
                    #expect(r.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect(errorMessage(r.body).contains(words), "\(uri)")
                }
            }
        }
        #expect(s.metrics.text().contains("onemap_tiles_served_total{source=\"render\"} 2"))
    }

    @Test func tileJSONAndWMTSValidate() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            try await client.execute(uri: "/tiles/command-dark.json", method: .get) { r in
                #expect(r.status == .ok)
                let j = try json(r.body)
                #expect(j["tilejson"] == "3.0.0")
                let url = j["tiles"]?.arrayValue?.first?.stringValue ?? ""
                #expect(url.contains("/tiles/command-dark/{z}/{x}/{y}.png?v="))
                let b = j["bounds"]!.arrayValue!.compactMap(\.doubleValue)
                #expect(b.count == 4 && b[0] < b[2] && b[1] < b[3] && b[0] >= -180 && b[3] <= 90)
                #expect(j["minzoom"]!.intValue! <= j["maxzoom"]!.intValue!)
                #expect(j["center"]?.arrayValue?.count == 3)
                #expect(j["attribution"]?.stringValue?.contains("demonstration data (synthetic)") == true)
                #expect(j["attribution"]?.stringValue?.contains("OpenStreetMap") == false)
            }
            // OpenStreetMap data in the store (ODbL): the credits say so.
            _ = try s.store.importGeoJSON(
                text: #"{"type":"Feature","id":"osm-node-1","geometry":{"type":"Point","coordinates":[82.98,46.2]},"properties":{"name":"消防站","kind":"professional","source":"osm"}}"#,
                layer: "fire_stations", actor: "test")
            try await client.execute(uri: "/tiles/command.json", method: .get) { r in
                let attribution = try json(r.body)["attribution"]?.stringValue ?? ""
                #expect(attribution.contains("© OpenStreetMap contributors (ODbL)"))
            }
            try await client.execute(uri: "/wmts/1.0.0/WMTSCapabilities.xml", method: .get) { r in
                #expect(r.status == .ok)
                let doc = WMTSDocument(data: Data(r.body.readableBytesView))
                #expect(doc.parsed, "WMTS capabilities are not well-formed XML")
                #expect(doc.root == "Capabilities" && doc.version == "1.0.0")
                #expect(doc.layerIdentifiers.sorted() == ["command", "command-base", "command-base-dark", "command-dark", "print"])
                #expect(doc.resourceTemplates.count == 5)
                #expect(doc.resourceTemplates.allSatisfy { $0.contains("{TileMatrix}/{TileCol}/{TileRow}.png") })
                #expect(doc.tileMatrixSetLinks.allSatisfy { $0 == "GoogleMapsCompatible" })
                #expect(doc.matrixWidths == (0...18).map { 1 << $0 })
                #expect(doc.hasWGS84BoundingBoxes == 5)
            }
        }
    }

    @Test func apiAnswersMatchTheLibraryAndErrorsAreJSON() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            try await client.execute(uri: "/api/nearest?lon=82.6&lat=46.1&k=2&kind=fire_stations,warehouses", method: .get) { r in
                #expect(r.status == .ok)
                let j = try json(r.body)
                let lib = try s.router.nearest(to: Coord(82.6, 46.1), kinds: ["fire_stations", "warehouses"], k: 2)
                let got = j["resources"]!.arrayValue!
                #expect(got.map { $0["id"]!.stringValue! } == lib.hits.map(\.id))
                #expect(lib.hits.count == 4, "two of each kind")
                for (g, h) in zip(got, lib.hits) {
                    #expect(abs(g["drive_seconds"]!.doubleValue! - h.driveSeconds!) < 0.06)
                    #expect(g["route"]?["type"] == "LineString")
                }
            }
            try await client.execute(uri: "/api/features/shelters?bbox=82.9,46.1,83.1,46.3&limit=5", method: .get) { r in
                let j = try json(r.body)
                let lib = try s.store.features(in: "shelters", bbox: BBox(minLon: 82.9, minLat: 46.1, maxLon: 83.1, maxLat: 46.3), limit: 5)
                #expect(j["features"]!.arrayValue!.map { $0["id"]!.stringValue! } == lib.map(\.id))
                #expect(j["next"] != nil)
            }
            try await client.execute(uri: "/api/features/warehouses/wh-001", method: .get) { r in
                let j = try json(r.body)
                #expect(j["properties"]?["stock"]?.arrayValue?.isEmpty == false)
                #expect(r.headers[.eTag] == "\"1\"")
            }
            try await client.execute(uri: "/api/search?q=%E6%96%B0%E5%9C%B0%E5%8C%97%E6%9D%91", method: .get) { r in  // 新地北村
                let j = try json(r.body)
                #expect(j.arrayValue?.first?["layer"] == "villages")
            }
            try await client.execute(uri: "/api/coverage?minutes=10", method: .get) { r in
                let j = try json(r.body)
                #expect(j["features"]?.arrayValue?.count == 65)
                let lib = try s.router.coverage(standardSeconds: 600)
                #expect(j["villages_meeting_standard"]?.intValue == lib.filter(\.meetsStandard).count)
            }
            try await client.execute(uri: "/api/route?from=82.98,46.2&to=82.55,45.98", method: .get) { r in
                let lib = try s.router.route(from: Coord(82.98, 46.2), to: Coord(82.55, 45.98))
                #expect(abs(try json(r.body)["seconds"]!.doubleValue! - lib.seconds!) < 0.06)
            }
            for (uri, status, words) in [
                ("/api/nearest?lon=200&lat=46", HTTPResponse.Status.badRequest, "outside the world"),
                ("/api/nearest?lon=82.9", .badRequest, "missing query parameter \"lat\""),
                ("/api/nearest?lon=82.9&lat=46.2&k=99", .badRequest, "\"k\" must be a whole number in 1…50"),
                ("/api/nearest?lon=82.9&lat=46.2&kind=tanks", .badRequest, "unknown kind"),
                ("/api/nearest?lon=10&lat=10", .unprocessableContent, "no usable road"),
                ("/api/features/lakes", .notFound, "unknown layer"),
                ("/api/features/roads?bbox=70,30,90,50", .badRequest, "bbox too large"),
                ("/api/features/roads?bbox=83,46,82,47", .badRequest, "bbox must be"),
                ("/api/features/roads/nope", .notFound, "no feature with id"),
                ("/api/route?from=82.9,46.2", .badRequest, "missing query parameter \"to\""),
                ("/api/coverage?kind=shelters", .badRequest, "coverage kind"),
                ("/api/search", .badRequest, "missing search text"),
                ("/nowhere", .notFound, "no such resource"),
                ("/web/../../etc/passwd", .notFound, "no such file"),
                ("/vendor/leaflet/%2e%2e/%2e%2e/%2e%2e/etc/passwd", .notFound, "no such file"),
            ] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == status, "\(uri): \(r.status)")
                    #expect(errorMessage(r.body).contains(words), "\(uri): \(String(buffer: r.body))")
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { r in
                let j = try json(r.body)
                #expect(j["status"] == "ready")
            }
            try await client.execute(uri: "/metrics", method: .get) { r in
                let text = String(buffer: r.body)
                #expect(text.contains("http_requests_total{route=\"/api/nearest\",method=\"GET\",status=\"200\"} 1"))
                #expect(text.contains("http_request_duration_seconds_bucket"))
                #expect(text.contains("onemap_render_queue_depth"))
            }
            try await client.execute(uri: "/", method: .get) { r in
                #expect(String(buffer: r.body).contains("裕民县应急指挥"))
            }
            try await client.execute(uri: "/vendor/leaflet/leaflet.js", method: .get) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/print/village/village-654225201001.pdf", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/pdf")
                #expect(Array(r.body.readableBytesView.prefix(5)) == Array("%PDF-".utf8))
            }
            try await client.execute(uri: "/print/village/%E6%96%B0%E5%9C%B0%E5%8C%97.pdf", method: .get) { r in  // 新地北
                #expect(r.status == .notFound)
                #expect(errorMessage(r.body).contains("新地北村"))
            }
        }
    }

    /// Many clients ask for tiles of one uncached metatile at once: it is rendered once.
    @Test func aBurstForOneMetatileRendersItOnce() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            let port = client.port!
            // 24 requests for the 8×8 block at 13/5984/2904 from 24 parallel connections (curl).
            var args = ["--silent", "--parallel", "--parallel-max", "24", "--parallel-immediate"]
            for i in 0..<24 { args += ["-o", "/dev/null", "-w", "%{http_code}\\n", "http://127.0.0.1:\(port)/tiles/command/13/\(5984 + i % 8)/\(2904 + i / 8).png"] }
            let out = try run("/usr/bin/curl", args)
            #expect(out.split(separator: "\n") == Array(repeating: "200", count: 24))
        }
        let m = s.metrics.text()
        #expect(m.contains("onemap_metatiles_rendered_total 1\n"), "\(m)")
    }

    @Test func aFullRenderQueueAnswers503WithRetryAfter() async throws {
        let dir = TempDir()
        let s = try makeServices(dir, queue: 0)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            try await client.execute(uri: "/tiles/command/10/746/362.png", method: .get) { r in
                #expect(r.status == .serviceUnavailable)
                #expect(r.headers[.retryAfter] == "2")
                #expect(errorMessage(r.body).contains("busy"))
            }
        }
    }

    /// The web map in headless Chromium: tiles load, an incident is placed, the nearest
    /// resources and their routes appear. Runs where Chromium is installed (`make test` installs it).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")))
    func webMapInHeadlessChromium() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            // live=0: an open event stream would hold Chromium's virtual clock still.
            let url = "http://127.0.0.1:\(client.port!)/?incident=82.97,46.21&live=0"
            let common = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1600,1000", "--virtual-time-budget=20000",
                          "--user-data-dir=\(dir.path)/chrome"]
            let dom = try run("/usr/bin/chromium", common + ["--dump-dom", url])
            #expect(dom.contains("data-tiles-loaded=\"yes\""), "tiles never loaded")
            #expect(dom.contains("data-overlays-loaded=\"yes\""))
            #expect(dom.contains("data-nearest-shown=\"yes\""), "no nearest-resource list")
            #expect(dom.contains("data-routes-drawn=\"4\""), "routes not drawn")
            #expect(dom.contains("裕民县消防救援大队"))
            let shot = NSTemporaryDirectory() + "onemap-webmap.png"
            _ = try run("/usr/bin/chromium", common + ["--screenshot=\(shot)", url])
            #expect(FileManager.default.fileExists(atPath: shot))
            print("web map screenshot: \(shot)")
        }
        #expect(s.metrics.text().contains("route=\"/api/nearest\""))
    }
}

/// Runs a program and returns its standard output.
func run(_ exe: String, _ args: [String]) throws -> String { try runProgram(exe, args).out }

/// What the WMTS structure checks need from the capabilities document.
final class WMTSDocument: NSObject, XMLParserDelegate {
    var parsed = false
    var root = ""
    var version = ""
    var layerIdentifiers: [String] = []
    var resourceTemplates: [String] = []
    var tileMatrixSetLinks: [String] = []
    var matrixWidths: [Int] = []
    var hasWGS84BoundingBoxes = 0
    private var stack: [String] = []
    private var text = ""

    init(data: Data) {
        super.init()
        let p = XMLParser(data: data)
        p.shouldProcessNamespaces = true
        p.delegate = self
        parsed = p.parse()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if stack.isEmpty { root = name; version = attributes["version"] ?? "" }
        if name == "ResourceURL" { resourceTemplates.append(attributes["template"] ?? "") }
        if name == "WGS84BoundingBox" && stack.last == "Layer" { hasWGS84BoundingBoxes += 1 }
        stack.append(name)
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if name == "Identifier" && stack.last == "Layer" { layerIdentifiers.append(t) }
        if name == "TileMatrixSet" && stack.last == "TileMatrixSetLink" { tileMatrixSetLinks.append(t) }
        if name == "MatrixWidth" { matrixWidths.append(Int(t) ?? -1) }
        text = ""
    }
}
