import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OneMapTestSupport
import Testing

@testable import OneMapCore
@testable import OneMapServer
@testable import OneMapStore

/// Issue #11's road shapes as a county would import them: a one-way ending at a junction, a
/// station on a loop road, two networks that do not connect. The CLI and the HTTP API give the
/// answers computed by hand from the geometry (35 km/h village roads, 60 s turnout).
@Suite(.serialized) struct RoutingCasesCLIAndAPITests {
    static let roads = """
        {"type":"FeatureCollection","features":[
        {"type":"Feature","id":"road-a","geometry":{"type":"LineString","coordinates":[[82.90,46.00],[82.92,46.00]]},"properties":{"class":"village","oneway":true}},
        {"type":"Feature","id":"road-b","geometry":{"type":"LineString","coordinates":[[82.92,46.00],[82.94,46.00]]},"properties":{"class":"village"}},
        {"type":"Feature","id":"road-c","geometry":{"type":"LineString","coordinates":[[82.94,46.00],[82.94,46.05],[82.90,46.05],[82.90,46.00]]},"properties":{"class":"village"}},
        {"type":"Feature","id":"main","geometry":{"type":"LineString","coordinates":[[82.70,46.00],[82.72,46.00]]},"properties":{"class":"village"}},
        {"type":"Feature","id":"loop","geometry":{"type":"LineString","coordinates":[[82.72,46.00],[82.73,46.00],[82.73,46.01],[82.72,46.01],[82.72,46.00]]},"properties":{"class":"village"}},
        {"type":"Feature","id":"far","geometry":{"type":"LineString","coordinates":[[82.50,46.00],[82.51,46.00]]},"properties":{"class":"village"}}]}
        """
    static let stations = """
        {"type":"FeatureCollection","features":[
        {"type":"Feature","id":"fs-junction","geometry":{"type":"Point","coordinates":[82.935,46.0003]},"properties":{"name":"junction station","kind":"professional"}},
        {"type":"Feature","id":"fs-far","geometry":{"type":"Point","coordinates":[82.505,46.0002]},"properties":{"name":"far station","kind":"professional"}}]}
        """
    static func m(_ a: (Double, Double), _ b: (Double, Double)) -> Double { Geodesy.distance(Coord(a.0, a.1), Coord(b.0, b.1)) }
    static let junctionMetres = m((82.92, 46.00), (82.935, 46.00))
    static let loopMetres = m((82.72, 46.008), (82.72, 46.00)) + m((82.72, 46.00), (82.722, 46.00))

    func store(_ dir: TempDir) throws -> String {
        try Self.roads.write(toFile: dir.file("roads.geojson"), atomically: true, encoding: .utf8)
        try Self.stations.write(toFile: dir.file("fire_stations.geojson"), atomically: true, encoding: .utf8)
        let db = dir.file("s.sqlite")
        let r = try runProgramCapturing(onemapBinary, ["import", dir.path, "--db", db], cwd: repoRoot)
        #expect(r.status == 0, "\(r.err)")
        return db
    }

    @Test func theCLIAnswers() throws {
        let dir = TempDir("cases")
        let db = try store(dir)
        // 1. On the junction where the one-way ends: along road-b, not round the block.
        let near = try JSONParser.parse(try runProgramCapturing(onemapBinary, ["nearest", "--at", "82.92,46.00", "--kind", "fire_stations", "--k", "2", "--json", "--db", db], cwd: repoRoot).out)
        let hits = near["resources"]?.arrayValue ?? []
        #expect(hits.first?["id"] == "fs-junction")
        #expect(abs((hits.first?["road_metres"]?.doubleValue ?? 0) - Self.junctionMetres) <= 1)
        #expect(abs((hits.first?["eta_seconds"]?.doubleValue ?? 0) - (Self.junctionMetres / (35 / 3.6) + 60)) <= 0.1)
        // 3. The station on the other network is listed, not connected by road.
        #expect(hits.last?["id"] == "fs-far" && hits.last?["reachable"] == false)
        #expect(hits.last?["note"]?.stringValue?.hasPrefix("not connected by road") == true)
        // 2. On the loop: through the junction, 376 m, not 3.4 km round.
        let route = try JSONParser.parse(try runProgramCapturing(onemapBinary, ["route", "--from", "82.72,46.008", "--to", "82.722,46.00", "--json", "--db", db], cwd: repoRoot).out)
        #expect(abs((route["metres"]?.doubleValue ?? 0) - Self.loopMetres) <= 1, "\(route)")
        // Across the networks there is no route: one sentence with the reason, exit 65.
        let across = try runProgramCapturing(onemapBinary, ["route", "--from", "82.505,46.00", "--to", "82.93,46.00", "--db", db], cwd: repoRoot)
        #expect(across.status == 65 && across.err.contains("no route: the two points are on road networks that do not connect"), "\(across.status) \(across.err)")
        // An incident by the far road is answered there (not refused for being off the main network).
        let far = try runProgramCapturing(onemapBinary, ["nearest", "--at", "82.505,45.9999", "--kind", "fire_stations", "--k", "1", "--json", "--db", db], cwd: repoRoot)
        #expect(far.status == 0, "\(far.err)")
        #expect(try JSONParser.parse(far.out)["resources"]?.arrayValue?.first?["id"] == "fs-far")
    }

    @Test func theAPIAnswers() async throws {
        let dir = TempDir("cases")
        let db = try store(dir)
        let config = ServerConfiguration(database: db, port: 0, styles: repoRoot + "/Styles", web: repoRoot + "/Web", renderThreads: 1)
        let app = try buildApplication(config, logger: quiet)
        try await app.test(.live) { client in
            try await client.execute(uri: "/api/nearest?lon=82.92&lat=46.00&kind=fire_stations&k=2", method: .get) { r in
                #expect(r.status == .ok)
                let hits = try json(r.body)["resources"]?.arrayValue ?? []
                #expect(abs((hits.first?["road_metres"]?.doubleValue ?? 0) - Self.junctionMetres) <= 1)
                #expect(hits.last?["note"]?.stringValue?.hasPrefix("not connected by road") == true)
            }
            try await client.execute(uri: "/api/route?from=82.72,46.008&to=82.722,46.00", method: .get) { r in
                let j = try json(r.body)
                #expect(abs((j["metres"]?.doubleValue ?? 0) - Self.loopMetres) <= 1)
            }
            try await client.execute(uri: "/api/nearest?lon=82.505&lat=45.9999&kind=fire_stations&k=1", method: .get) { r in
                #expect(r.status == .ok)
                let j = try json(r.body)
                #expect(j["resources"]?.arrayValue?.first?["id"] == "fs-far")
            }
            try await client.execute(uri: "/readyz", method: .get) { r in
                let j = try json(r.body)
                #expect(j["road_networks"]?.arrayValue?.count == 3)
            }
        }
    }
}
