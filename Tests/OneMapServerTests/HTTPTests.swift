import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapPrint
@testable import OneMapRender
@testable import OneMapServer
@testable import OneMapStore

/// Services over a fresh demo store, with the configuration changed by `configure`.
func makeServices(_ dir: TempDir, configure: (inout ServerConfiguration) -> Void) throws -> OneMapServices {
    var config = try makeServices(dir).config
    configure(&config)
    return try OneMapServices(config: config, logger: quiet)
}

/// HTTP as clients, browsers, proxies and operators expect it (RFC 9110, the Fetch standard's CORS).
@Suite(.serialized) struct HTTPTests {
    @Test func headOptionsAnd405WithAllow() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            // HEAD wherever GET is: the same status and headers, no body.
            for uri in ["/", "/healthz", "/api/layers", "/tiles/command.json", "/tiles/command/12/2992/1453.png", "/wmts/1.0.0/WMTSCapabilities.xml", "/openapi.yaml"] {
                var get: HTTPFields = [:]
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .ok, "\(uri)")
                    get = r.headers
                }
                try await client.execute(uri: uri, method: .head) { r in
                    #expect(r.status == .ok, "HEAD \(uri)")
                    #expect(r.body.readableBytes == 0, "HEAD \(uri)")
                    #expect(r.headers[.contentType] == get[.contentType], "HEAD \(uri)")
                    #expect(r.headers[.eTag] == get[.eTag], "HEAD \(uri)")
                }
            }
            // Twice: the second HEAD of a tile comes from memory, before routing.
            try await client.execute(uri: "/tiles/command/12/2992/1453.png", method: .head) { r in
                #expect(r.status == .ok && r.body.readableBytes == 0 && Int(r.headers[.contentLength] ?? "") ?? 0 > 0)
            }
            // A method a path does not have: 405 naming the ones it has.
            for (method, uri, allow) in [
                (HTTPRequest.Method.put, "/tiles/command/12/2992/1453.png", "GET, HEAD, OPTIONS"),
                (.delete, "/api/layers", "GET, HEAD, OPTIONS"),
                (.delete, "/api/features/shelters", "GET, HEAD, POST, OPTIONS"),
                (.post, "/api/features/shelters/sh-001", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"),
                (.patch, "/healthz", "GET, HEAD, OPTIONS"),
            ] {
                try await client.execute(uri: uri, method: method) { r in
                    #expect(r.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(r.headers[.allow] == allow, "\(method) \(uri)")
                    #expect(errorMessage(r.body).contains("does not answer \(method.rawValue)"))
                }
            }
            // No such path: still 404, for every method.
            for m in [HTTPRequest.Method.get, .put, .options] {
                try await client.execute(uri: "/no/such/thing", method: m) { r in #expect(r.status == .notFound, "\(m)") }
            }
            // Pipelined requests on one connection, cached tiles (answered in the channel pipeline)
            // between routed ones: answers come back in order, HEAD without a body, and
            // Connection: close closes after its answer.
            let port = try #require(client.port)
            let script = """
                import re, socket, sys
                s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                t = "/tiles/command/12/2992/1453.png"
                s.sendall(("GET %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /api/layers HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
                           "HEAD %s HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"
                           "GET %s HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n" % (t, t, t)).encode())
                data = b""
                while True:
                    d = s.recv(65536)
                    if not d: break
                    data += d
                out, i = [], 0
                while i < len(data):
                    end = data.index(b"\\r\\n\\r\\n", i)
                    head = data[i:end].decode()
                    n = int(re.search(r"Content-Length: (\\d+)", head).group(1))
                    ctype = re.search(r"Content-Type: ([^;\\r]+)", head).group(1)
                    body = 0 if len(out) == 2 else n
                    out.append("%s %s %d" % (head.split()[1], ctype, body))
                    i = end + 4 + body
                print("|".join(out))
                """
            let r = try await runProgramCapturingDetached("/usr/bin/python3", ["-c", script, String(port)])
            #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
                    == ["200 image/png", "200 application/json", "200 image/png", "200 application/json", "200 image/png"], "\(r.out) \(r.err)")

            // OPTIONS without a preflight: 204 with Allow.
            try await client.execute(uri: "/api/features/shelters", method: .options) { r in
                #expect(r.status == .noContent)
                #expect(r.headers[.allow] == "GET, HEAD, POST, OPTIONS")
            }
        }
    }

    @Test func corsPublicReadsAndTrustedOrigins() async throws {
        let dir = TempDir()
        let s = try makeServices(dir) { $0.cors = CORSConfiguration(publicReads: true, trustedOrigins: ["https://command.example.org"]) }
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let app = buildApplication(services: s, logger: quiet)
        let other: HTTPFields = [.origin: "https://platform.example.net"]
        let trusted: HTTPFields = [.origin: "https://command.example.org"]
        try await app.test(.live) { client in
            // Public reads: anyone may read them from a page of another origin, and read the ETag.
            for uri in ["/tiles/command.json", "/tiles/command/12/2992/1453.png", "/tiles/command/12/2992/1453.png", "/wmts/1.0.0/WMTSCapabilities.xml", "/api/layers", "/api/features/shelters?limit=1"] {
                try await client.execute(uri: uri, method: .get, headers: other) { r in
                    #expect(r.status == .ok, "\(uri)")
                    #expect(r.headers[.accessControlAllowOrigin] == "*", "\(uri)")
                    #expect(r.headers[.accessControlAllowCredentials] == nil, "\(uri)")
                    #expect(r.headers[.accessControlExposeHeaders]?.contains("ETag") == true, "\(uri)")
                }
            }
            // The audit log and writes: not for another origin.
            try await client.execute(uri: "/api/audit", method: .get, headers: other.merging(bearer(editor))) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.accessControlAllowOrigin] == nil)
            }
            let preflightPut: HTTPFields = [.accessControlRequestMethod: "PUT", .accessControlRequestHeaders: "authorization, content-type, if-match"]
            try await client.execute(uri: "/api/features/shelters/sh-001", method: .options, headers: other.merging(preflightPut)) { r in
                #expect(r.status == .forbidden)
                #expect(r.headers[.accessControlAllowOrigin] == nil)
                #expect(errorMessage(r.body).contains("--cors-origin https://platform.example.net"))
            }
            // A trusted origin: its own origin echoed, with credentials, for writes too.
            try await client.execute(uri: "/api/features/shelters/sh-001", method: .options, headers: trusted.merging(preflightPut)) { r in
                #expect(r.status == .noContent)
                #expect(r.headers[.accessControlAllowOrigin] == "https://command.example.org")
                #expect(r.headers[.accessControlAllowCredentials] == "true")
                #expect(r.headers[.accessControlAllowMethods]?.contains("PUT") == true)
                #expect(r.headers[.accessControlAllowHeaders]?.contains("If-Match") == true)
                #expect(r.headers[values: .vary].contains("Origin"))
            }
            try await client.execute(uri: "/api/audit", method: .get, headers: trusted.merging(bearer(editor))) { r in
                #expect(r.headers[.accessControlAllowOrigin] == "https://command.example.org")
                #expect(r.headers[values: .vary].contains("Origin"))
            }
            // A public preflight (GET from anywhere); a preflight for a method the path lacks is 405.
            try await client.execute(uri: "/tiles/command.json", method: .options, headers: other.merging([.accessControlRequestMethod: "GET"])) { r in
                #expect(r.status == .noContent)
                #expect(r.headers[.accessControlAllowOrigin] == "*")
            }
            try await client.execute(uri: "/tiles/command.json", method: .options, headers: other.merging([.accessControlRequestMethod: "DELETE"])) { r in
                #expect(r.status == .methodNotAllowed)
            }
        }
        // Turned off: no `*` on public reads.
        let quietDir = TempDir()
        let closed = try makeServices(quietDir) { $0.cors = CORSConfiguration(publicReads: false) }
        try await buildApplication(services: closed, logger: quiet).test(.live) { client in
            try await client.execute(uri: "/api/layers", method: .get, headers: other) { r in #expect(r.headers[.accessControlAllowOrigin] == nil) }
        }
    }

    @Test func conditionalRequestsAndAuthSchemes() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var etag = ""
            try await client.execute(uri: "/tiles/command/12/2992/1453.png", method: .get) { r in etag = r.headers[.eTag] ?? "" }
            #expect(etag.hasPrefix("\""))
            // If-None-Match uses the weak comparison: W/ and lists match; another tag does not.
            for (inm, status) in [(etag, HTTPResponse.Status.notModified), ("W/" + etag, .notModified), ("\"other\", W/\(etag)", .notModified), ("*", .notModified), ("\"other\"", .ok)] {
                try await client.execute(uri: "/tiles/command/12/2992/1453.png", method: .get, headers: [.ifNoneMatch: inm]) { r in
                    #expect(r.status == status, "If-None-Match: \(inm)")
                    #expect(r.headers[.eTag] == etag)
                    if status == .notModified { #expect(r.body.readableBytes == 0) }
                }
            }
            // Features: ETag is the version; a matching If-None-Match is 304.
            var version = ""
            try await client.execute(uri: "/api/features/shelters/sh-001", method: .get) { r in
                #expect(r.status == .ok)
                version = r.headers[.eTag] ?? ""
            }
            try await client.execute(uri: "/api/features/shelters/sh-001", method: .get, headers: [.ifNoneMatch: "W/" + version]) { r in
                #expect(r.status == .notModified)
                #expect(r.body.readableBytes == 0)
            }
            // If-Match uses the strong comparison: a weak tag never matches, and nothing changes.
            let before = try s.store.feature(in: "shelters", id: "sh-001")
            let patch = ByteBuffer(string: #"{"properties": {"capacity": 777}}"#)
            try await client.execute(uri: "/api/features/shelters/sh-001", method: .patch,
                                     headers: bearer(editor).merging([.ifMatch: "W/" + version, .contentType: "application/json"]), body: patch) { r in
                #expect(r.status == .preconditionFailed)
                #expect(errorMessage(r.body).contains("strong"))
            }
            #expect(try s.store.feature(in: "shelters", id: "sh-001")?.version == before?.version)
            // … and a precondition on a feature that does not exist is not evaluated: 404.
            try await client.execute(uri: "/api/features/shelters/sh-none", method: .delete, headers: bearer(editor).merging([.ifMatch: "W/\"1\""])) { r in
                #expect(r.status == .notFound)
            }
            // The auth scheme is case-insensitive (RFC 9110 §11.1).
            try await client.execute(uri: "/api/features/shelters/sh-001", method: .patch,
                                     headers: [.authorization: "bearer \(editor)", .ifMatch: version, .contentType: "application/json"], body: patch) { r in
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            // A present but wrong token never reads as anonymous: 401, tiles included.
            for uri in ["/api/layers", "/tiles/command/12/2992/1453.png", "/api/features/info_officers?limit=1"] {
                try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer not-a-token"]) { r in
                    #expect(r.status == .unauthorized, "\(uri)")
                    #expect(r.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                }
            }
            try await client.execute(uri: "/api/layers", method: .get, headers: [.authorization: "Basic Zm9vOmJhcg=="]) { r in #expect(r.status == .unauthorized) }
        }
    }

    @Test func forwardedHeadersOnlyFromATrustedProxy() async throws {
        let forwarded: HTTPFields = [.init("X-Forwarded-Proto")!: "https", .init("X-Forwarded-Host")!: "maps.example.org", .init("X-Forwarded-Prefix")!: "/onemap"]
        let dir = TempDir()
        let direct = try makeServices(dir)
        try await buildApplication(services: direct, logger: quiet).test(.live) { client in
            try await client.execute(uri: "/tiles/command.json", method: .get, headers: forwarded) { r in
                let url = try json(r.body)["tiles"]?.arrayValue?.first?.stringValue ?? ""
                #expect(url.hasPrefix("http://"))
                #expect(!url.contains("example.org"))
            }
        }
        let dir2 = TempDir()
        let proxied = try makeServices(dir2) { $0.trustProxy = true }
        try await buildApplication(services: proxied, logger: quiet).test(.live) { client in
            try await client.execute(uri: "/tiles/command.json", method: .get, headers: forwarded) { r in
                let url = try json(r.body)["tiles"]?.arrayValue?.first?.stringValue ?? ""
                #expect(url.hasPrefix("https://maps.example.org/onemap/tiles/command/{z}/{x}/{y}.png?v="), "\(url)")
            }
            try await client.execute(uri: "/wmts/1.0.0/WMTSCapabilities.xml", method: .get, headers: [.init("Forwarded")!: "for=10.0.0.1;proto=https;host=gis.example.org"]) { r in
                let doc = WMTSDocument(data: Data(r.body.readableBytesView))
                #expect(doc.resourceTemplates.allSatisfy { $0.hasPrefix("https://gis.example.org/tiles/") })
            }
            // A forged host with markup in it is ignored, not written into the document.
            try await client.execute(uri: "/tiles/command.json", method: .get, headers: [.init("X-Forwarded-Host")!: "evil.org\"><script>"]) { r in
                let url = try json(r.body)["tiles"]?.arrayValue?.first?.stringValue ?? ""
                #expect(!url.contains("evil"))
            }
        }
    }

    @Test func tileCachePolicyAndExactExpiry() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let app = buildApplication(services: s, logger: quiet)
        let existing = try #require(try s.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        // Far enough from the existing shelter that its icon is not hidden by collision.
        let shelter = Coord(existing.lon + 0.004, existing.lat + 0.003)
        let near = TileID.containing(shelter, zoom: 14)
        let far = TileID.containing(Coord(shelter.lon + 0.3, shelter.lat - 0.2), zoom: 14)
        @Sendable func uri(_ t: (x: Int, y: Int), _ v: String = "") -> String { "/tiles/command/14/\(t.x)/\(t.y).png\(v)" }
        try await app.test(.live) { client in
            func get(_ u: String) async throws -> (etag: String, cache: String) {
                try await client.execute(uri: u, method: .get) { r in
                    #expect(r.status == .ok, "\(u)")
                    return (r.headers[.eTag] ?? "", r.headers[.cacheControl] ?? "")
                }
            }
            func version() async throws -> String {
                try await client.execute(uri: "/tiles/command.json", method: .get) { r in
                    #expect(r.headers[.cacheControl] == "no-cache")
                    let url = try json(r.body)["tiles"]?.arrayValue?.first?.stringValue ?? ""
                    return String(url.split(separator: "?").last ?? "")
                }
            }
            let v0 = try await version()
            #expect(v0.hasPrefix("v="))
            let a = try await get(uri(near)), b = try await get(uri(far))
            #expect(a.cache == "no-cache")
            let immutable = try await get(uri(near, "?" + v0)).cache
            #expect(immutable.contains("immutable"))
            // An edit through this server: the next request sees it (read-your-writes), the data
            // version moves, the old version's URL must revalidate, and the far tile keeps its bytes.
            _ = try s.store.importGeoJSON(text: #"{"type":"Feature","id":"sh-http-1","geometry":{"type":"Point","coordinates":[\#(shelter.lon),\#(shelter.lat)]},"properties":{"name":"新设避难点","capacity":80,"kind":"square"}}"#,
                                          layer: "shelters", actor: "test")
            let a1 = try await get(uri(near)), b1 = try await get(uri(far))
            #expect(a1.etag != a.etag)
            #expect(b1.etag == b.etag)
            let v1 = try await version()
            #expect(v1 != v0)
            let stale = try await get(uri(near, "?" + v0)), current = try await get(uri(near, "?" + v1))
            #expect(stale.cache == "no-cache")
            #expect(current.cache.contains("max-age"))
            // An edit by another process (a second connection to the file): picked up off the
            // request path within a second or so.
            let c = try await get(uri(near))
            let other = try Store(path: s.config.database)
            _ = try other.delete(layer: "shelters", id: "sh-http-1", ifVersion: nil, actor: "other-process")
            var changed = false
            for _ in 0..<40 where !changed {
                try await Task.sleep(for: .milliseconds(100))
                changed = try await get(uri(near)).etag != c.etag
            }
            #expect(changed, "a write by another process never reached the served tile")
            let back = try await get(uri(near))
            #expect(back.etag == a.etag)
        }
    }

    @Test func personalDataOnlyForSignedInUsers() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let viewer = try s.store.addUser(name: "v", role: .viewer).token
        let officer = try #require(try s.store.all("info_officers").first)
        let name = try #require(officer["name"]?.stringValue), phone = try #require(officer["phone"]?.stringValue)
        let village = try #require(officer["village"]?.stringValue)
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            for (layer, keys) in [("info_officers", ["name", "phone"]), ("shelters", ["person_in_charge", "phone"]), ("hazard_points", ["monitor", "phone"])] {
                try await client.execute(uri: "/api/features/\(layer)?limit=50", method: .get) { r in
                    let fs = try json(r.body)["features"]?.arrayValue ?? []
                    #expect(!fs.isEmpty)
                    for f in fs { for k in keys { #expect(f["properties"]?[k] == nil, "\(layer).\(k) served anonymously") } }
                }
                try await client.execute(uri: "/api/features/\(layer)?limit=50", method: .get, headers: bearer(viewer)) { r in
                    let fs = try json(r.body)["features"]?.arrayValue ?? []
                    #expect(fs.contains { $0["properties"]?["phone"] != nil }, "\(layer): a viewer sees phones")
                }
            }
            try await client.execute(uri: "/api/features/info_officers/\(officer.id)", method: .get) { r in
                let body = String(buffer: r.body)
                #expect(!body.contains(phone) && !body.contains(name))
                #expect(r.headers[values: .vary].contains("Authorization"))
            }
            let q = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await client.execute(uri: "/api/search?q=\(q)", method: .get) { r in
                let hits = try json(r.body).arrayValue ?? []
                #expect(!hits.contains { $0["layer"] == "info_officers" }, "people found by name anonymously")
            }
            try await client.execute(uri: "/api/search?q=\(q)", method: .get, headers: bearer(viewer)) { r in
                let hits = try json(r.body).arrayValue ?? []
                #expect(hits.contains { $0["layer"] == "info_officers" })
            }
            // The printed village map: the roles without names for anonymous readers.
            for (headers, shows) in [(HTTPFields(), false), (bearer(viewer), true)] {
                try await client.execute(uri: "/print/village/\(village).pdf?paper=A4", method: .get, headers: headers) { r in
                    #expect(r.status == .ok)
                    let pdf = dir.file("v-\(shows).pdf")
                    try Data(r.body.readableBytesView).write(to: URL(fileURLWithPath: pdf))
                    let text = try runProgram("/usr/bin/pdftotext", [pdf, "-"]).out
                    #expect(text.contains(phone) == shows, "phone on the anonymous print: \(!shows)")
                    #expect(text.contains("仅限登录用户") == !shows)
                }
            }
        }
        // Published by the operator: everyone sees them.
        let dir2 = TempDir()
        let open = try makeServices(dir2) { $0.publicPersonalData = true }
        try await buildApplication(services: open, logger: quiet).test(.live) { client in
            try await client.execute(uri: "/api/features/info_officers/\(officer.id)", method: .get) { r in
                #expect(String(buffer: r.body).contains(phone))
            }
        }
    }
}

/// Inputs Schemathesis found crashing or slipping through: each is a 400 now, and the server lives on.
@Suite(.serialized) struct HostileParameterTests {
    @Test func outOfRangeNumbersAndUnknownValuesAre400() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let village = try #require(try s.store.all("villages").first?["code"]?.stringValue)
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            for uri in ["/print/village/\(village).png?dpi=1e300", "/print/village/\(village).png?dpi=-1e300", "/print/village/\(village).pdf?lang=AAA",
                        "/print/village/\(village).pdf?landscape=maybe"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .badRequest, "\(uri)")
                    #expect(!errorMessage(r.body).isEmpty)
                }
            }
            let hugeID = ByteBuffer(string: #"{"type":"Feature","id":-12000000000000000000,"geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"x","capacity":1}}"#)
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor), body: hugeID) { r in
                #expect(r.status == .badRequest)
                #expect(errorMessage(r.body).contains("2^53"))
            }
            try await client.execute(uri: "/api/road_risks/rr-002/status", method: .post, headers: bearer(editor), body: ByteBuffer(string: #"{"status":"closed","note":5}"#)) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
    }
}

/// What a tester found trying to break the HTTP layer: each case as it was reported.
@Suite(.serialized) struct HTTPTrialFindingsTests {
    /// An edit landing while its tile renders: the render read the old state, so it is served
    /// once at most and never stored; the next answer is a fresh render of the new state.
    @Test func aRenderRacingAnEditIsNeverStored() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let base = try #require(try s.store.feature(in: "shelters", id: "sh-002")).feature.geometry.representativePoint
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            for round in 0..<3 {
                // A fresh spot each round, in a metatile nobody asked for yet (z16 metatiles are 0.044° wide).
                let p = Coord(base.lon + 0.06 * Double(round + 1), base.lat + 0.004)
                let t = TileID.containing(p, zoom: 16)
                let tile = try TileID(z: 16, x: t.x, y: t.y)
                let uri = "/tiles/command/16/\(t.x)/\(t.y).png"
                s.tiles.holdRendersForTesting.store(true, ordering: .releasing)
                // The held request goes to the tile service itself: on a loaded machine the render
                // alone can outlast the test client's fixed 20 s read timeout (it did in CI).
                let service = s.tiles
                async let first: [UInt8] = Array(service.tile(style: "command", tile: tile, scale: 1).body.readableBytesView)
                // Wait until the render has drawn from the old state and waits to be stored.
                for _ in 0..<12000 where s.tiles.rendersHeldForTesting.load(ordering: .acquiring) == 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(s.tiles.rendersHeldForTesting.load(ordering: .acquiring) == 1, "round \(round): no render to race with")
                _ = try s.store.importGeoJSON(text: #"{"type":"Feature","id":"sh-race-\#(round)","geometry":{"type":"Point","coordinates":[\#(p.lon),\#(p.lat)]},"properties":{"name":"竞态避难点\#(round)","capacity":30,"kind":"square"}}"#,
                                              layer: "shelters", actor: "test")
                try s.tiles.syncNow()  // the expiry runs while the render is still going
                s.tiles.holdRendersForTesting.store(false, ordering: .releasing)
                let firstBytes = try await first
                let served = try await Array(service.tile(style: "command", tile: tile, scale: 1).body.readableBytesView)
                // Now in memory: the HTTP answer is the same bytes, without a render to wait for.
                let overHTTP = try await client.execute(uri: uri, method: .get) { r in Array(r.body.readableBytesView) }
                #expect(overHTTP == served, "round \(round): HTTP served other bytes than the tile service")
                let fresh = try #require(try s.tiles.tiles.renderMetatile(style: "command", metatile: MetatileID(containing: tile), scale: 1)[tile])
                let servedIsFresh = served == fresh
                #expect(servedIsFresh, "round \(round): the served tile (\(served.count) bytes) is not the state after the edit (\(fresh.count) bytes)")
                let firstWasOld = firstBytes != fresh
                #expect(firstWasOld, "round \(round): the render did not read the state before the edit")
                let fileIsFresh = try s.tiles.cache.get(style: "command", tile: tile, scale: 1).map { $0.data == fresh } ?? true
                #expect(fileIsFresh, "round \(round): a stale tile stayed in the cache file")
            }
        }
    }

    /// Two servers on one store and one tile-cache file: an edit through one reaches the other's
    /// memory too, although the first already brought the shared file up to date.
    @Test func twoServersOnOneCacheFileBothExpire() async throws {
        let dir = TempDir()
        let a = try makeServices(dir)
        let b = try OneMapServices(config: a.config, logger: quiet)
        let p = try #require(try a.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        let q = Coord(p.lon + 0.004, p.lat + 0.003)
        let t = TileID.containing(q, zoom: 14)
        let uri = "/tiles/command/14/\(t.x)/\(t.y).png"
        try await buildApplication(services: b, logger: quiet).test(.live) { client in
            let before = try await client.execute(uri: uri, method: .get) { $0.headers[.eTag] ?? "" }
            _ = try a.store.importGeoJSON(text: #"{"type":"Feature","id":"sh-two","geometry":{"type":"Point","coordinates":[\#(q.lon),\#(q.lat)]},"properties":{"name":"两台服务器","capacity":30,"kind":"square"}}"#,
                                          layer: "shelters", actor: "test")
            try a.tiles.syncNow()  // the first server takes the file's delta
            try b.tiles.syncNow()  // what the second server's background check does
            let after = try await client.execute(uri: uri, method: .get) { $0.headers[.eTag] ?? "" }
            #expect(after != before, "the second server kept serving its stale tile from memory")
        }
    }

    @Test func tokenDependentAnswersAreKeptApartByCaches() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let viewer = try s.store.addUser(name: "v", role: .viewer).token
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            for uri in ["/api/features/info_officers?limit=1", "/api/search?q=%E6%9D%91", "/api/features/shelters/sh-001"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.headers[values: .vary].contains("Authorization"), "\(uri)")
                    #expect(r.headers[.cacheControl] == "no-cache", "\(uri)")
                }
                try await client.execute(uri: uri, method: .get, headers: bearer(viewer)) { r in
                    #expect(r.headers[.cacheControl] == "private, no-cache", "\(uri)")
                }
            }
            // "/api//audit" is the audit log to the router: never public to other origins.
            try await client.execute(uri: "/api//audit", method: .get, headers: [.origin: "https://elsewhere.example"]) { r in
                #expect(r.headers[.accessControlAllowOrigin] == nil)
            }
            // If-Match: * needs the feature to exist (RFC 9110 §13.1.1).
            let editor = try s.store.addUser(name: "e", role: .editor).token
            try await client.execute(uri: "/api/features/shelters/sh-none", method: .delete, headers: bearer(editor).merging([.ifMatch: "*"])) { r in
                #expect(r.status == .preconditionFailed)
            }
            try await client.execute(uri: "/api/road_risks/rr-002/status", method: .post, headers: bearer(editor).merging([.ifMatch: "*"]),
                                     body: ByteBuffer(string: #"{"status":"restricted"}"#)) { r in #expect(r.status == .ok) }
        }
        #expect(CORSConfiguration.normalisedOrigin("https://GIS.Example.org:443/") == "https://gis.example.org")
        #expect(CORSConfiguration.normalisedOrigin("http://10.0.0.5:3000") == "http://10.0.0.5:3000")
        #expect(CORSConfiguration.normalisedOrigin("https://u:p@host") == nil)
        #expect(CORSConfiguration.normalisedOrigin("https://host/path") == nil)
    }

    @Test func aTrustedProxysLastWordCountsAndMalformedValuesAreIgnored() async throws {
        let dir = TempDir()
        let s = try makeServices(dir) { $0.trustProxy = true }
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            func url(_ h: HTTPFields) async throws -> String {
                try await client.execute(uri: "/tiles/command.json", method: .get, headers: h) { r in try json(r.body)["tiles"]?.arrayValue?.first?.stringValue ?? "" }
            }
            // The client sent the first value, the proxy appended the last.
            #expect(try await url([.init("X-Forwarded-Host")!: "forged.example, maps.example.org", .init("X-Forwarded-Proto")!: "http, https"]).hasPrefix("https://maps.example.org/tiles/"))
            #expect(try await url([.init("Forwarded")!: "host=forged.example;proto=http, host=gis.example.org;proto=https"]).hasPrefix("https://gis.example.org/tiles/"))
            for (name, value) in [("X-Forwarded-Prefix", "/a?b="), ("X-Forwarded-Prefix", "/{z}/x#"), ("X-Forwarded-Prefix", "/../x"), ("X-Forwarded-Host", ":::"), ("X-Forwarded-Host", "]["), ("X-Forwarded-Host", "a..b")] {
                let u = try await url([.init(name)!: value])
                #expect(!u.contains(value) && u.contains("/tiles/command/{z}/{x}/{y}.png?v="), "\(name): \(value) → \(u)")
            }
        }
    }

    /// Connections with nothing in progress are closed after the idle timeout: headers that never
    /// finish arriving (a slow client holding a connection), and a keep-alive connection left open
    /// after a tile answered in the channel pipeline.
    @Test func idleConnectionsAreClosed() async throws {
        let dir = TempDir()
        let s = try makeServices(dir) { $0.idleTimeoutSeconds = 1 }
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            let port = try #require(client.port)
            // Into memory without the test client: with a 1 s idle timeout its own connection may
            // be closed before its first request on a loaded machine.
            _ = try await s.tiles.tile(style: "command", tile: try TileID(z: 12, x: 2992, y: 1453), scale: 1)
            let script = """
                import socket, sys, time
                out = []
                for req in [b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: ", b"GET /tiles/command/12/2992/1453.png HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n"]:
                    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
                    s.settimeout(30)
                    t = time.time()
                    s.sendall(req)
                    try:
                        while s.recv(65536): pass
                        out.append("closed %.1f" % (time.time() - t))
                    except socket.timeout:
                        out.append("open")
                print(" ".join(out))
                """
            let r = try await runProgramCapturingDetached("/usr/bin/python3", ["-c", script, String(port)])
            let words = r.out.split(whereSeparator: \.isWhitespace)
            #expect(words.count == 4 && words[0] == "closed" && words[2] == "closed", "\(r.out) \(r.err)")
            #expect(words.count == 4 && (Double(words[1]) ?? 99) < 20 && (Double(words[3]) ?? 99) < 20, "\(r.out)")
        }
    }
}

/// The in-memory tile tier: least recently used first out, never above its byte budget.
@Suite struct TileMemoryTests {
    @Test func lruWithinAByteBudget() throws {
        let m = TileMemory(budget: 10_000)
        func body(_ n: Int) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: 7, count: n)) }
        let keys = (0..<20).map { TileMemory.key(style: 1, scale: 1, z: 14, x: 11968 + $0, y: 5815)! }
        for k in keys.prefix(5) { m.put(k, body: body(1000), etag: "\"e\"") }
        #expect(m.usage.count == 5)
        _ = m.get(keys[0])  // recently used: survives the next evictions
        for k in keys[5..<12] { m.put(k, body: body(1000), etag: "\"e\"") }
        let u = m.usage
        #expect(u.bytes <= 10_000)
        #expect(u.count == 9)  // 9 × (1000 + 3 + 96) ≤ 10 000 < 10 × …
        #expect(m.get(keys[0]) != nil)
        #expect(m.get(keys[1]) == nil && m.get(keys[2]) == nil)
        #expect(m.get(keys[11])?.body.readableBytes == 1000)
        // Larger than the whole budget: not kept, nothing else lost.
        m.put(keys[19], body: body(20_000), etag: "\"big\"")
        #expect(m.get(keys[19]) == nil && m.usage.count == 9)
        // Replacing an entry keeps the count and the byte sum right.
        m.put(keys[11], body: body(10), etag: "\"s\"")
        #expect(m.usage.bytes == u.bytes - 990)
        // Expiry by address.
        let removed = m.remove { TileMemory.address($0).x >= 11968 + 8 }
        #expect(removed == 4 && m.usage.count == 5)
        #expect(TileMemory.address(TileMemory.key(style: 3, scale: 2, z: 22, x: (1 << 22) - 1, y: 12345)!) == (22, (1 << 22) - 1, 12345))
        #expect(TileMemory.key(style: 0, scale: 1, z: 23, x: 1 << 22, y: 0) == nil)
    }
}
