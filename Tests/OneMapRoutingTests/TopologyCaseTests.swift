import Foundation
import OneMapTestSupport
import Testing

@testable import OneMapCore
@testable import OneMapRouting
@testable import OneMapStore

/// Metres between two lon/lat pairs, and seconds to drive them on a village road (35 km/h).
func metres(_ a: (Double, Double), _ b: (Double, Double)) -> Double { Geodesy.distance(Coord(a.0, a.1), Coord(b.0, b.1)) }
func villageDrive(_ m: Double) -> Double { m / (35 / 3.6) }

/// The road shapes of issue #11, with answers computed by hand from the geometry.
@Suite struct RealNetworkCaseTests {
    /// road-a one-way (82.90,46.00)→(82.92,46.00); road-b (82.92,46.00)→(82.94,46.00); road-c
    /// round the block back to road-a's start; a fire station beside road-b.
    func junctionNet() -> Net {
        var n = Net()
        n.roads = [
            ("road-a", [(82.90, 46.00), (82.92, 46.00)], "village", true),
            ("road-b", [(82.92, 46.00), (82.94, 46.00)], "village", false),
            ("road-c", [(82.94, 46.00), (82.94, 46.05), (82.90, 46.05), (82.90, 46.00)], "village", false),
        ]
        n.facilities = [("fire_stations", "fs", (82.935, 46.0003))]
        return n
    }

    /// An incident exactly on the junction where a one-way road ends is on every road there: it
    /// is reached along road-b, as one 10 m beside it is.
    @Test func incidentOnAJunctionWhereAOneWayEnds() throws {
        let dir = TempDir()
        let r = try RoadRouter(source: junctionNet().write(to: dir))
        let along = metres((82.92, 46.00), (82.935, 46.00))  // ≈ 1,158 m
        for at in [Coord(82.92, 46.00), Coord(82.92001, 46.00), Coord(82.92, 46.0001)] {
            let a = try r.nearest(to: at, kinds: ["fire_stations"], k: 1)
            let h = try #require(a.hits.first)
            let extra = metres((82.92, 46.00), (at.lon, 46.00))
            #expect(abs((h.roadMetres ?? 0) - (along - extra)) < 0.5, "\(at): \(h.roadMetres ?? -1) m")
            #expect(abs((h.driveSeconds ?? 0) - villageDrive(along - extra)) < 0.1, "\(at): \(h.driveSeconds ?? -1) s")
            #expect((h.etaSeconds ?? 0) < 200, "\(at): ETA \(h.etaSeconds ?? -1) s — the long way round")
        }
        // The route both ways, and the line drawn is as long as the metres reported.
        for (from, to) in [(Coord(82.92, 46.00), Coord(82.935, 46.0003)), (Coord(82.935, 46.0003), Coord(82.92, 46.00))] {
            let route = try r.route(from: from, to: to)
            #expect(abs((route.metres ?? 0) - along) < 0.5)
            #expect(abs(Geodesy.length(route.route) - (route.metres ?? 0)) < 1)
        }
        // From the junction one cannot drive back up road-a; the isochrone has road-b and the start
        // of road-c, 3 minutes of driving in all.
        let pieces = try r.isochrone(from: Coord(82.92, 46.00), seconds: 180)
        let reached = pieces.map(Geodesy.length).reduce(0, +)
        #expect(abs(reached - 180 * 35 / 3.6) < 5, "isochrone covers \(reached) m")
        #expect(!pieces.contains { $0.contains { $0.lon < 82.92 - 1e-9 && abs($0.lat - 46.0) < 1e-9 } }, "drove up the one-way road-a")
    }

    /// A station on a loop road (leaving the junction and coming back to it) and an incident
    /// on the same loop: the short way passes the junction, not round the loop.
    @Test(arguments: [false, true])
    func stationOnALoopRoad(oneway: Bool) throws {
        var n = Net()
        n.roads = [
            ("main", [(82.90, 46.00), (82.92, 46.00)], "village", false),
            ("loop", [(82.92, 46.00), (82.93, 46.00), (82.93, 46.01), (82.92, 46.01), (82.92, 46.00)], "village", oneway),
        ]
        n.facilities = [("fire_stations", "fs", (82.92, 46.008))]
        let dir = TempDir()
        let r = try RoadRouter(source: n.write(to: dir))
        let incident = Coord(82.922, 46.00)
        let short = metres((82.92, 46.008), (82.92, 46.00)) + metres((82.92, 46.00), (82.922, 46.00))  // ≈ 376 m
        let h = try #require(try r.nearest(to: incident, kinds: ["fire_stations"], k: 1).hits.first)
        #expect(abs((h.roadMetres ?? 0) - short) < 0.5, "\(h.roadMetres ?? -1) m, want \(short)")
        #expect(abs((h.driveSeconds ?? 0) - villageDrive(short)) < 0.1)
        let route = try r.route(from: Coord(82.92, 46.008), to: incident)
        #expect(abs((route.metres ?? 0) - short) < 0.5)
        #expect(abs(Geodesy.length(route.route) - short) < 1, "the drawn line is \(Geodesy.length(route.route)) m")
        // The other way: two-way, the same short way back; one-way, round the loop.
        let back = try r.route(from: incident, to: Coord(82.92, 46.008))
        let loop = metres((82.92, 46.00), (82.93, 46.00)) * 2 + metres((82.93, 46.00), (82.93, 46.01)) * 2
        let want = oneway ? loop - short : short
        #expect(abs((back.metres ?? 0) - want) < 1, "back: \(back.metres ?? -1) m, want \(want)")
        #expect(abs(Geodesy.length(back.route) - want) < 2)
    }

    /// Two networks that do not connect (two counties side by side): an incident beside the
    /// smaller one is routed on it; stations on the other are listed as not connected by road.
    @Test func twoNetworksThatDoNotConnect() throws {
        var n = Net()
        // The large network: a 4×4 grid (24 roads) round (82.50, 46.00).
        for i in 0..<4 {
            for j in 0..<4 {
                let a = (82.50 + Double(i) * 0.01, 46.00 + Double(j) * 0.01)
                if i < 3 { n.roads.append(("g-\(i)-\(j)-e", [a, (a.0 + 0.01, a.1)], "county", false)) }
                if j < 3 { n.roads.append(("g-\(i)-\(j)-n", [a, (a.0, a.1 + 0.01)], "county", false)) }
            }
        }
        // The small one, 30 km east: three roads.
        n.roads += [
            ("s-1", [(82.90, 46.00), (82.91, 46.00)], "village", false),
            ("s-2", [(82.91, 46.00), (82.91, 46.01)], "village", false),
            ("s-3", [(82.91, 46.01), (82.92, 46.01)], "village", false),
        ]
        n.facilities = [("fire_stations", "big-1", (82.51, 46.01)), ("fire_stations", "big-2", (82.52, 46.02)), ("fire_stations", "small", (82.91, 46.005))]
        let dir = TempDir()
        let r = try RoadRouter(source: n.write(to: dir))
        #expect(try r.snapshot().graph.components.map(\.edges) == [24, 3])
        let incident = Coord(82.905, 46.0001)  // 11 m from s-1
        let a = try r.nearest(to: incident, kinds: ["fire_stations"], k: 2)
        #expect(a.hits.map(\.id) == ["small", "big-2"], "the unreachable one nearest in a straight line (big-2 is east of big-1)")
        #expect(a.hits[0].reachable)
        let want = metres((82.905, 46.00), (82.91, 46.00)) + metres((82.91, 46.00), (82.91, 46.005))
        #expect(abs((a.hits[0].roadMetres ?? 0) - want) < 0.5)
        #expect(!a.hits[1].reachable)
        #expect(a.hits[1].note?.hasPrefix("not connected by road") == true, "\(a.hits[1].note ?? "-")")
        #expect(a.snapMetres < 12)
        // Across the gap: no route, and no error.
        let across = try r.route(from: incident, to: Coord(82.51, 46.01))
        #expect(across.reachable == false)
        #expect(across.note == "the two points are on road networks that do not connect")
        // An incident in the large network is answered there.
        let b = try r.nearest(to: Coord(82.515, 46.00), kinds: ["fire_stations"], k: 3)
        #expect(b.hits.filter(\.reachable).map(\.id) == ["big-1", "big-2"])
        #expect(b.hits.last?.id == "small" && b.hits.last?.reachable == false)
    }

    /// A point whose nearest road is a stray fragment (fewer than `min_component_edges`) also
    /// joins the nearest larger network, so the fragment does not cut it off.
    @Test func aStrayFragmentDoesNotCutAnIncidentOff() throws {
        var n = Net()
        for i in 0..<12 { n.roads.append(("m-\(i)", [(82.50 + Double(i) * 0.005, 46.00), (82.505 + Double(i) * 0.005, 46.00)], "county", false)) }
        n.roads.append(("fragment", [(82.52, 46.0025), (82.53, 46.0025)], "track", false))
        n.facilities = [("fire_stations", "fs", (82.55, 46.0))]
        let dir = TempDir()
        let r = try RoadRouter(source: n.write(to: dir))
        let incident = Coord(82.525, 46.0027)  // 22 m from the fragment, 300 m from the main road
        let a = try r.nearest(to: incident, kinds: ["fire_stations"], k: 1)
        let h = try #require(a.hits.first)
        #expect(h.reachable)
        #expect(abs((h.roadMetres ?? 0) - metres((82.525, 46.0), (82.55, 46.0))) < 0.5)
        // The answer says honestly where the route meets the incident: 300 m off, on the main road.
        #expect(abs(a.snapMetres - metres((82.525, 46.0027), (82.525, 46.0))) < 1, "snap \(a.snapMetres) m")
        #expect(abs((h.incidentSnapMetres ?? 0) - a.snapMetres) < 1e-9)
    }
}

/// `RoadTopology.check` on hand-made mistakes, each found once and named with its roads.
@Suite struct RoadTopologyTests {
    func check(_ roads: [RoadTopology.Road], tolerance: Double = 2) -> TopologyReport { RoadTopology.check(roads, gapTolerance: tolerance) }
    func road(_ id: String, _ c: [(Double, Double)], oneway: Bool = false, bridge: Bool = false, layer: Int = 0) -> RoadTopology.Road {
        RoadTopology.Road(id: id, parts: [c.map { Coord($0.0, $0.1) }], oneway: oneway, grade: bridge, layer: layer)
    }

    /// A road that stops 0.5 m short of another is a gap, reported with its width.
    @Test func aHalfMetreGapIsNamed() {
        let half = 0.5 / Geodesy.metresPerDegree(atLat: 46).lat  // 0.5 m in degrees of latitude
        let r = check([road("main", [(82.90, 46.00), (82.92, 46.00)]), road("spur", [(82.91, 46.01), (82.91, 46.00 + half)])])
        let gaps = r.problems.filter { $0.kind == .gap }
        #expect(gaps.count == 1)
        #expect(gaps.first?.roads == ["spur", "main"])
        #expect(abs((gaps.first?.metres ?? 0) - 0.5) < 0.01)
        #expect(gaps.first?.description.contains("0.50 m from road main") == true, "\(gaps.first?.description ?? "")")
        #expect(r.networks.count == 2)
        // Joined at a shared vertex, there is nothing to report.
        let joined = check([road("main", [(82.90, 46.00), (82.91, 46.00), (82.92, 46.00)]), road("spur", [(82.91, 46.01), (82.91, 46.00)])])
        #expect(joined.problems.isEmpty && joined.networks.count == 1)
    }

    /// Crossing without a shared vertex is reported, unless one road is a bridge or on another layer.
    @Test func crossingsWithoutAJunction() {
        let ew = road("ew", [(82.90, 46.00), (82.92, 46.00)]), ns = road("ns", [(82.91, 45.99), (82.91, 46.01)])
        let r = check([ew, ns])
        #expect(r.count(.crossing) == 1)
        #expect(r.problems.first { $0.kind == .crossing }.map { abs($0.at.lon - 82.91) < 1e-9 && abs($0.at.lat - 46.0) < 1e-9 } == true)
        var bridge = ns; bridge.grade = true
        #expect(check([ew, bridge]).count(.crossing) == 0)
        var above = ns; above.layer = 1
        #expect(check([ew, above]).count(.crossing) == 0)
    }

    @Test func duplicatesZeroLengthOneWaysAndFragments() {
        var roads = (0..<12).map { i in road("m\(i)", [(82.90 + Double(i) * 0.01, 46.00), (82.91 + Double(i) * 0.01, 46.00)]) }
        roads.append(road("copy", [(82.91, 46.00), (82.90, 46.00)]))  // m0 reversed
        roads.append(road("dot", [(82.95, 46.05), (82.95, 46.05)]))
        roads.append(road("deadend", [(82.93, 46.00), (82.93, 46.02)], oneway: true))  // leads to a dead end
        roads.append(road("noentry", [(82.97, 45.98), (82.97, 46.00)], oneway: true))  // starts where nothing arrives
        roads.append(road("stray", [(83.20, 46.20), (83.21, 46.20)]))
        let r = check(roads)
        #expect(r.problems.filter { $0.kind == .duplicate }.map(\.roads) == [["m0", "copy"]])
        #expect(r.problems.filter { $0.kind == .zeroLength }.map(\.roads) == [["dot"]])
        #expect(r.problems.filter { $0.kind == .onewayDeadEnd }.map(\.roads) == [["deadend"]])
        #expect(r.problems.filter { $0.kind == .onewayNoEntry }.map(\.roads) == [["noentry"]])
        #expect(r.problems.filter { $0.kind == .fragment }.map(\.roads) == [["stray"]])
        #expect(r.networks.map(\.edges) == [15, 1], "12 main, copy, deadend, noentry; stray")
    }
}

/// Coverage judged at the village's worst road point, not only at its centre vertex.
@Suite struct CoverageToTheVillageTests {
    @Test func farthestRoadPointOfTheVillageIsReported() throws {
        let dir = TempDir()
        var n = Net()
        n.roads = [("main", [(82.90, 46.00), (82.92, 46.00)], "village", false), ("spur", [(82.92, 46.00), (82.92, 46.01)], "village", false)]
        n.facilities = [("fire_stations", "fs", (82.90, 46.00))]
        let s = try n.write(to: dir)
        _ = try s.importGeoJSON(text: #"{"type":"Feature","id":"t","geometry":{"type":"Polygon","coordinates":[[[82.80,45.90],[83.0,45.90],[83.0,46.1],[82.80,46.1],[82.80,45.90]]]},"properties":{"code":"t1","name":"乡","kind":"township","seat":[82.9,46.0]}}"#, layer: "townships", actor: "test")
        _ = try s.importGeoJSON(text: #"{"type":"Feature","id":"v","geometry":{"type":"Polygon","coordinates":[[[82.915,45.995],[82.925,45.995],[82.925,46.015],[82.915,46.015],[82.915,45.995]]]},"properties":{"code":"v1","name":"村","township":"t1","center":[82.92,46.00]}}"#, layer: "villages", actor: "test")
        let r = try RoadRouter(source: s)
        let centre = metres((82.90, 46.00), (82.92, 46.00)), farthest = centre + metres((82.92, 46.00), (82.92, 46.01))
        // A standard between the two: met at the centre, not at the end of the spur.
        let standard = 60 + villageDrive((centre + farthest) / 2)
        let row = try #require(try r.coverage(standardSeconds: standard).first)
        #expect(abs((row.responseSeconds ?? 0) - (60 + villageDrive(centre))) < 0.1)
        #expect(abs((row.farthestResponseSeconds ?? 0) - (60 + villageDrive(farthest))) < 0.1)
        #expect(row.farthestPoint == Coord(82.92, 46.01))
        #expect(row.meetsStandard && !row.meetsStandardEverywhere)
    }
}
