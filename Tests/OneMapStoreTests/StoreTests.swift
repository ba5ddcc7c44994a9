import Foundation
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapStore


let repoRoot = repositoryRoot()
let geoData = repoRoot + "/GeoData"

func demoStore(_ dir: TempDir) throws -> Store {
    let s = try Store(path: dir.file("demo.sqlite"))
    _ = try s.importGeoJSON(at: geoData)
    return s
}

@Suite struct ImportTests {
    @Test func demonstrationDataMeetsTheCounts() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        let counts = Dictionary(uniqueKeysWithValues: try s.layerInfo().map { ($0.name, $0.count) })
        #expect(counts["townships"] == 8)
        #expect(counts["villages"]! >= 60)
        #expect(counts["roads"]! >= 2000)
        #expect(counts["hazard_zones"]! >= 120)
        #expect(counts["micro_fire_stations"]! >= 30)
        #expect(counts["base_stations"]! >= 80)
        #expect(counts["road_risks"]! >= 60)
        #expect(counts["shelters"]! >= counts["villages"]!)
        #expect(counts["info_officers"]! >= 3 * (counts["villages"]! + counts["townships"]!))
        #expect(try s.schemaVersionOnDisk() == Store.schemaVersion)
        // Every hazard type at every level.
        let zones = try s.allFeatures(of: "hazard_zones")
        let pairs = Set(zones.map { "\($0["type"]!.stringValue!)/\($0["level"]!.intValue!)" })
        #expect(pairs.count == 9 * 4)
        // Everything synthetic says so.
        for l in Layers.names { for f in try s.allFeatures(of: l) { #expect(f["source"] == "demo", "\(l) \(f.id)") } }
        // Warehouses carry stock.
        #expect(try s.stock(of: "wh-001").count >= 6)
    }

    /// The extent read from the R*Tree roots (#14: the full scan was most of a cold tile on a
    /// large store) holds the exact extent and exceeds it by no more than a 32-bit float's step.
    @Test func indexedExtentHoldsTheExactOne() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        let info = try s.layerInfo()
        for names in [Set(["roads"]), Set(["villages", "shelters"]), Set(info.map(\.name))] {
            let exact = info.filter { names.contains($0.name) }.compactMap(\.extent).reduce(BBox.empty) { $0.union($1) }
            let fast = try s.extent(of: names)
            #expect(fast.minLon <= exact.minLon && fast.minLat <= exact.minLat && fast.maxLon >= exact.maxLon && fast.maxLat >= exact.maxLat, "\(names): \(fast) does not hold \(exact)")
            #expect(exact.minLon - fast.minLon < 1e-4 && fast.maxLon - exact.maxLon < 1e-4 && exact.minLat - fast.minLat < 1e-4 && fast.maxLat - exact.maxLat < 1e-4)
        }
        #expect(try s.extent(of: ["incidents"]).isEmpty, "an empty layer has no extent")
    }

    @Test func importExportImportRoundTrips() throws {
        let dir = TempDir()
        let a = try demoStore(dir)
        _ = try a.exportGeoJSON(to: dir.file("out1"))
        let b = try Store(path: dir.file("b.sqlite"))
        _ = try b.importGeoJSON(at: dir.file("out1"))
        _ = try b.exportGeoJSON(to: dir.file("out2"))
        // Every layer with features (the demonstration data records no incidents).
        for l in Layers.names where try !a.allFeatures(of: l).isEmpty {
            #expect(try a.allFeatures(of: l) == b.allFeatures(of: l), "layer \(l)")
            let t1 = try String(contentsOfFile: dir.file("out1/\(l).geojson"), encoding: .utf8)
            let t2 = try String(contentsOfFile: dir.file("out2/\(l).geojson"), encoding: .utf8)
            #expect(t1 == t2, "export of \(l) differs after a round trip")
        }
        // The exported features equal the source files' features.
        let src = try JSONParser.parse(Array(Data(contentsOf: URL(fileURLWithPath: geoData + "/warehouses.geojson"))))
        let first = src["features"]!.arrayValue!.first!
        let got = try a.feature(in: "warehouses", id: first["id"]!.stringValue!)!.feature
        #expect(GeoJSON.json(got)["geometry"] == first["geometry"])
        #expect(got["stock"]?.arrayValue?.count == first["properties"]?["stock"]?.arrayValue?.count)
    }

    @Test func reimportReplacesAndBumpsVersion() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        let before = try s.feature(in: "shelters", id: "sh-001")!
        _ = try s.importGeoJSON(text: #"{"type":"Feature","id":"sh-001","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"新场所","capacity":10}}"#, layer: "shelters", actor: "test")
        let after = try s.feature(in: "shelters", id: "sh-001")!
        #expect(after.version == before.version + 1)
        #expect(after.feature["name"] == "新场所")
        #expect(try s.allFeatures(of: "shelters").count == 73)
    }

    static let good = #"{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"某站","kind":"normal","operator":"china_mobile","status":"in_service"}}"#

    /// Each bad input: (layer, GeoJSON text, what the error must say).
    static let badCases: [(String, String, String)] = [
        ("base_stations", #"{"type":"FeatureCollection","features":[{"type":"Feature",}]}"#, "malformed JSON at line 1"),
        ("base_stations", #"{"type":"Feature","id":"x1","geometry":{"type":"LineString","coordinates":[[82,46],[83,46]]},"properties":{"name":"a","kind":"normal","operator":"china_mobile","status":"in_service"}}"#, "takes Point, got LineString"),
        ("base_stations", #"{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"kind":"normal","operator":"china_mobile","status":"in_service"}}"#, "required property \"name\" is missing"),
        ("base_stations", #"{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","kind":"giant","operator":"china_mobile","status":"in_service"}}"#, "unknown value \"giant\""),
        ("base_stations", #"{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[NaN,46.2]},"properties":{}}"#, "malformed JSON"),
        ("base_stations", #"{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[1e400,46.2]},"properties":{"name":"a","kind":"normal","operator":"china_mobile","status":"in_service"}}"#, "not finite"),
        ("base_stations", #"{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[182.9,46.2]},"properties":{"name":"a","kind":"normal","operator":"china_mobile","status":"in_service"}}"#, "outside the world"),
        ("hazard_zones", #"{"type":"Feature","id":"z1","geometry":{"type":"Polygon","coordinates":[[[82,46],[83,47],[83,46.2],[82,47],[82,46]]]},"properties":{"type":"flood","level":2}}"#, "invalid polygon: Self-intersection"),
        ("base_stations", "{\"type\":\"FeatureCollection\",\"features\":[\(good),\(good)]}", "duplicate id \"x1\""),
        ("hazard_zones", #"{"type":"Feature","id":"z1","geometry":{"type":"Polygon","coordinates":[[[82,46],[83,47],[83,46],[82,46]]]},"properties":{"type":"flood","level":7}}"#, "7 is above the maximum 4"),
        ("villages", #"{"type":"Feature","id":"v1","geometry":{"type":"Polygon","coordinates":[[[82,46],[83,47],[83,46],[82,46]]]},"properties":{"code":"1","name":"a","township":"999","center":[82.5,46.5]}}"#, "townships has no code \"999\""),
        ("road_risks", #"{"type":"Feature","id":"r1","geometry":{"type":"LineString","coordinates":[[82,46],[83,46]]},"properties":{"risk_type":"icing","level":1,"status":"shut","updated_at":"2026-01-01T00:00:00Z"}}"#, "allowed: open, restricted, closed"),
    ]

    @Test(arguments: 0..<badCases.count)
    func badInputIsRefusedAndChangesNothing(_ k: Int) throws {
        let (layer, text, expected) = Self.badCases[k]
        let dir = TempDir()
        let s = try demoStore(dir)
        let digest = try s.contentDigest()
        // Through the in-memory path (the HTTP write API) …
        do {
            _ = try s.importGeoJSON(text: text, layer: layer, actor: "test")
            Issue.record("accepted bad input \(k)")
        } catch let f as ImportFailure {
            #expect(f.problems.contains { $0.description.contains(expected) }, "\(f.problems)")
        }
        // … and through a file, where the error names the file and feature.
        try text.write(toFile: dir.file("\(layer).geojson"), atomically: true, encoding: .utf8)
        do {
            _ = try s.importGeoJSON(at: dir.file("\(layer).geojson"))
            Issue.record("accepted bad file \(k)")
        } catch let f as ImportFailure {
            #expect(f.problems.contains { $0.description.contains(expected) && $0.file.hasSuffix("\(layer).geojson") })
        }
        #expect(try s.contentDigest() == digest)
    }

    @Test func aBadFeatureAmongGoodOnesRollsBackTheWholeImport() throws {
        let dir = TempDir()
        let s = try Store(path: dir.file("e.sqlite"))
        let empty = try s.contentDigest()
        try FileManager.default.createDirectory(atPath: dir.file("in"), withIntermediateDirectories: true)
        for f in ["townships", "villages", "roads"] {
            try FileManager.default.copyItem(atPath: geoData + "/\(f).geojson", toPath: dir.file("in/\(f).geojson"))
        }
        // A shelter naming a village that does not exist: found only inside the transaction.
        try #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"s1","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":5,"village":"nope"}}]}"#
            .write(toFile: dir.file("in/shelters.geojson"), atomically: true, encoding: .utf8)
        #expect(throws: ImportFailure.self) { try s.importGeoJSON(at: dir.file("in")) }
        #expect(try s.contentDigest() == empty)
        #expect(try s.layerInfo().allSatisfy { $0.count == 0 })
    }

    /// Swapped lon/lat is refused, as the GDAL import refuses it: a feature some 4,000 km from
    /// the data already in the store, and (in a new store) a file far from the others; the
    /// store stays as it was; `anywhere` takes them.
    @Test func swappedCoordinatesAreRefusedUnlessAnywhere() throws {
        let dir = TempDir()
        let s = try Store(path: dir.file("w.sqlite"))
        _ = try s.importGeoJSON(at: geoData)
        let before = try s.contentDigest()
        let swapped = #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"sw1","geometry":{"type":"Point","coordinates":[46.2,82.9]},"properties":{"name":"对调","capacity":5}},{"type":"Feature","id":"ok1","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"正常","capacity":5}}]}"#
        try swapped.write(toFile: dir.file("shelters.geojson"), atomically: true, encoding: .utf8)
        do {
            _ = try s.importGeoJSON(at: dir.file("shelters.geojson"))
            Issue.record("accepted a point with swapped lon/lat")
        } catch let f as ImportFailure {
            #expect(f.problems.count == 1 && f.problems[0].index == 0 && f.problems[0].featureID == "sw1", "\(f.problems)")
            #expect(f.problems.first?.reason.contains("km from the data already in the store") == true && f.problems.first?.reason.contains("--anywhere") == true, "\(f.problems)")
        }
        #expect(try s.contentDigest() == before)
        _ = try s.importGeoJSON(at: dir.file("shelters.geojson"), anywhere: true)
        #expect(try s.feature(in: "shelters", id: "sw1") != nil)

        // A new store: the file far from the largest one is refused as a whole.
        let fresh = try Store(path: dir.file("n.sqlite"))
        try FileManager.default.createDirectory(atPath: dir.file("in"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: geoData + "/roads.geojson", toPath: dir.file("in/roads.geojson"))
        try #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"b1","geometry":{"type":"Point","coordinates":[46.1,82.8]},"properties":{"name":"x","operator":"y","height_m":30}}]}"#
            .write(toFile: dir.file("in/base_stations.geojson"), atomically: true, encoding: .utf8)
        do {
            _ = try fresh.importGeoJSON(at: dir.file("in"))
            Issue.record("accepted a file far from the others")
        } catch let f as ImportFailure {
            #expect(f.problems.contains { $0.index == nil && $0.file.hasSuffix("base_stations.geojson") && $0.reason.contains("km from roads.geojson") }, "\(f.problems)")
        }
        #expect(try fresh.layerInfo().allSatisfy { $0.count == 0 })
    }

    @Test func unknownLayerFileIsAnError() throws {
        let dir = TempDir()
        let s = try Store(path: dir.file("u.sqlite"))
        try #"{"type":"FeatureCollection","features":[]}"#.write(toFile: dir.file("lakes.geojson"), atomically: true, encoding: .utf8)
        do {
            _ = try s.importGeoJSON(at: dir.file("lakes.geojson"))
            Issue.record("accepted an unknown layer")
        } catch let f as ImportFailure {
            #expect(f.problems[0].reason.contains("cannot tell the layer"))
        }
        #expect(throws: StoreError.self) { try s.features(in: "lakes", bbox: .world) }
    }
}

@Suite struct QueryTests {
    @Test func bboxQueriesAgreeWithBruteForce() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        var rng = SeededRandom(seed: 42)
        for layer in ["roads", "hazard_zones", "base_stations", "villages", "road_risks"] {
            let all = try s.allFeatures(of: layer)
            for _ in 0..<60 {
                let lon = 82.0 + rng.unit() * 1.6, lat = 45.4 + rng.unit() * 1.2
                let w = rng.unit() * 0.3, h = rng.unit() * 0.2
                let box = BBox(minLon: lon, minLat: lat, maxLon: lon + w, maxLat: lat + h)
                let got = try s.features(in: layer, bbox: box).map(\.id)
                let want = all.filter { Planar.intersects($0.geometry, box) }.map(\.id).sorted()
                #expect(got == want, "\(layer) \(box)")
                let env = try s.features(in: layer, bbox: box, predicate: .envelope).map(\.id)
                #expect(env == all.filter { $0.geometry.bbox.intersects(box) }.map(\.id).sorted())
            }
        }
        // Paging returns consecutive slices.
        let box = BBox(minLon: 82.8, minLat: 46.1, maxLon: 83.1, maxLat: 46.3)
        let whole = try s.features(in: "roads", bbox: box).map(\.id)
        let p1 = try s.features(in: "roads", bbox: box, limit: 10).map(\.id)
        let p2 = try s.features(in: "roads", bbox: box, limit: 10, offset: 10).map(\.id)
        #expect(p1 + p2 == Array(whole.prefix(20)))
    }

    @Test func nearestByStraightLineMatchesBruteForce() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        var rng = SeededRandom(seed: 7)
        for layer in ["warehouses", "shelters", "hazard_zones"] {
            let all = try s.allFeatures(of: layer)
            for _ in 0..<25 {
                let p = Coord(82.1 + rng.unit() * 1.4, 45.5 + rng.unit() * 1.0)
                let got = try s.nearest(in: layer, to: p, k: 3)
                let want = all.map { ($0.id, Store.distance(from: p, to: $0.geometry)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(3)
                #expect(got.map(\.feature.id) == want.map(\.0), "\(layer) at \(p)")
            }
        }
    }

    @Test func searchFindsByNameAcrossLayers() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        let hits = try s.search("新地北村")
        #expect(hits.first?.layer == "villages")
        #expect(hits.first?.feature["name"] == "新地北村")
        #expect(try s.search("消防").contains { $0.layer == "fire_stations" })
        #expect(try s.search("%").isEmpty)
    }

    /// Readers see either the store before an import or after it, never half of it.
    @Test func readersNeverSeeAHalfAppliedImport() async throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        // A second copy of the roads under new ids: a long write transaction.
        let text = try String(contentsOfFile: geoData + "/roads.geojson", encoding: .utf8).replacingOccurrences(of: "\"road-", with: "\"road2-")
        try text.write(toFile: dir.file("roads.geojson"), atomically: true, encoding: .utf8)
        let box = BBox(minLon: 82.8, minLat: 46.1, maxLon: 83.1, maxLat: 46.3)
        let baseline = try s.features(in: "hazard_zones", bbox: box).count
        let before = try s.layerInfo().first { $0.name == "roads" }!.count
        let writer = Task.detached { try s.importGeoJSON(at: dir.file("roads.geojson")) }
        var reads = 0
        while reads < 5000 {
            let n = try s.features(in: "hazard_zones", bbox: box).count
            #expect(n == baseline)
            let roads = try s.layerInfo().first { $0.name == "roads" }!.count
            #expect(roads == before || roads == 2 * before, "a reader saw a half-applied import: \(roads)")
            reads += 1
            if roads == 2 * before { break }
        }
        _ = try await writer.value
        #expect(try s.layerInfo().first { $0.name == "roads" }!.count == 2 * before)
    }

    /// While a writer holds its transaction open, reads on other connections complete and see
    /// the last committed state; the change shows once it commits.
    @Test func readersKeepReadingWhileAWriteTransactionIsOpen() throws {
        let dir = TempDir()
        let s = try demoStore(dir)
        let box = BBox(minLon: 82.8, minLat: 46.1, maxLon: 83.1, maxLat: 46.3)
        let baseline = try s.features(in: "hazard_zones", bbox: box).count
        let inside = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        let writer = Thread {
            _ = try? s.write { c in
                try c.transaction {
                    try c.run("DELETE FROM hazard_zones WHERE id IN (SELECT id FROM hazard_zones ORDER BY id LIMIT 10)")
                    inside.signal()
                    // Hold the write transaction open until the reader is done (or gives up).
                    _ = release.wait(timeout: .now() + 30)
                }
            }
            finished.signal()
        }
        writer.start()
        #expect(inside.wait(timeout: .now() + 30) == .success, "the writer never got its transaction")
        let started = Date()
        for _ in 0..<200 {
            #expect(try s.features(in: "hazard_zones", bbox: box).count == baseline)
            #expect(try s.layerInfo().first { $0.name == "hazard_zones" }!.count == 128, "a reader saw an uncommitted delete")
        }
        #expect(Date().timeIntervalSince(started) < 20, "reads waited for the writer")
        release.signal()
        #expect(finished.wait(timeout: .now() + 30) == .success)
        #expect(try s.layerInfo().first { $0.name == "hazard_zones" }!.count == 118, "the committed delete is visible")
    }
}

@Suite struct ReprojectionTests {
    /// Web Mercator input comes back to the lon/lat our own formula started from.
    @Test func importsProjectedCoordinates() throws {
        let dir = TempDir()
        let s = try Store(path: dir.file("p.sqlite"))
        let pts = [Coord(82.98, 46.2), Coord(82.5, 45.9), Coord(83.4, 46.45)]
        let features = pts.enumerated().map { i, c -> String in
            let m = WebMercator.project(c)
            return #"{"type":"Feature","id":"b\#(i)","geometry":{"type":"Point","coordinates":[\#(m.x),\#(m.y)]},"properties":{"name":"b","operator":"china_mobile","kind":"normal","status":"in_service"}}"#
        }
        try ("{\"type\":\"FeatureCollection\",\"features\":[" + features.joined(separator: ",") + "]}").write(toFile: dir.file("base_stations.geojson"), atomically: true, encoding: .utf8)
        _ = try s.importGeoJSON(at: dir.file("base_stations.geojson"), crs: "EPSG:3857")
        for (i, c) in pts.enumerated() {
            guard case .point(let got)? = try s.feature(in: "base_stations", id: "b\(i)")?.feature.geometry else { Issue.record("missing b\(i)"); continue }
            #expect(abs(got.lon - c.lon) < 1e-7 && abs(got.lat - c.lat) < 1e-7, "\(got) vs \(c)")
        }
        // A file may declare its CRS itself (2008-style "crs" member): CGCS2000 is taken as it is.
        try #"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4490"}},"features":[{"type":"Feature","id":"c1","geometry":{"type":"Point","coordinates":[82.9,46.1]},"properties":{"name":"c","operator":"china_mobile","kind":"normal","status":"in_service"}}]}"#
            .write(toFile: dir.file("base_stations.geojson"), atomically: true, encoding: .utf8)
        _ = try s.importGeoJSON(at: dir.file("base_stations.geojson"))
        guard case .point(let c1)? = try s.feature(in: "base_stations", id: "c1")?.feature.geometry else { Issue.record("missing c1"); return }
        #expect(abs(c1.lon - 82.9) < 1e-6 && abs(c1.lat - 46.1) < 1e-6)
        #expect(throws: StoreError.self) { try s.importGeoJSON(at: dir.file("base_stations.geojson"), crs: "EPSG:999999") }
    }
}
