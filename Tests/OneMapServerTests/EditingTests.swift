import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapRender
@testable import OneMapRouting
@testable import OneMapServer
@testable import OneMapStore

func body(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
func bearer(_ t: String) -> HTTPFields { [.authorization: "Bearer \(t)"] }

let shelterAtSeat = #"{"type":"Feature","id":"sh-test","geometry":{"type":"Point","coordinates":[82.9805,46.2005]},"properties":{"name":"测试避难点","capacity":120,"person_in_charge":"王测试","phone":"0901-0000001"}}"#

@Suite(.serialized) struct EditingTests {
    @Test func rolesAuditAndConcurrencyControl() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let viewer = try s.store.addUser(name: "viewer", role: .viewer).token
        let editor = try s.store.addUser(name: "editor", role: .editor).token
        let admin = try s.store.addUser(name: "admin", role: .admin).token
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            // Who may write.
            var messages: [String] = []
            for headers in [HTTPFields(), bearer("om_0000000000_" + String(repeating: "0", count: 64)), bearer(String(editor.dropLast()) + "x"), bearer("garbage")] {
                try await client.execute(uri: "/api/features/shelters", method: .post, headers: headers, body: body(shelterAtSeat)) { r in
                    #expect(r.status == .unauthorized)
                    #expect(r.headers[.wwwAuthenticate] != nil)
                    messages.append(errorMessage(r.body))
                }
            }
            #expect(Set(messages).count == 1, "401 messages must not hint which part was wrong: \(messages)")
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(viewer), body: body(shelterAtSeat)) { r in
                #expect(r.status == .forbidden)
                #expect(errorMessage(r.body).contains("editor"))
            }
            try await client.execute(uri: "/api/audit", method: .get, headers: bearer(viewer)) { r in #expect(r.status == .forbidden) }
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor), body: body(shelterAtSeat)) { r in
                #expect(r.status == .created)
                #expect(r.headers[.eTag] == "\"1\"")
            }
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(admin), body: body(shelterAtSeat)) { r in
                #expect(r.status == .conflict)
            }
            // Optimistic concurrency: a stale If-Match gets 412 and changes nothing.
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .patch, headers: bearer(editor).merging([.ifMatch: "\"1\""]),
                                     body: body(#"{"properties":{"capacity":150}}"#)) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.eTag] == "\"2\"")
                let j = try json(r.body)
                #expect(j["properties"]?["capacity"] == 150)
            }
            let digest = try s.store.contentDigest()
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .patch, headers: bearer(editor).merging([.ifMatch: "\"1\""]),
                                     body: body(#"{"properties":{"capacity":999}}"#)) { r in
                #expect(r.status == .preconditionFailed)
                #expect(errorMessage(r.body).contains("was changed by editor") && errorMessage(r.body).contains("now version 2"))
            }
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .delete, headers: bearer(editor).merging([.ifMatch: "\"1\""])) { r in
                #expect(r.status == .preconditionFailed)
            }
            #expect(try s.store.contentDigest() == digest)
            // Bad writes are refused and leave the store as it was.
            for (method, uri, text, words) in [
                (HTTPRequest.Method.post, "/api/features/shelters", #"{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":"many"}}"#, "whole number"),
                (.post, "/api/features/shelters", #"{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[82.9,46.2]"#, "malformed JSON"),
                (.post, "/api/features/shelters", #"{"type":"Feature","id":"x","geometry":{"type":"LineString","coordinates":[[82.9,46.2],[83,46]]},"properties":{"name":"a","capacity":1}}"#, "takes Point"),
                (.post, "/api/features/hazard_zones", #"{"type":"Feature","id":"z","geometry":{"type":"Polygon","coordinates":[[[82,46],[83,47],[83,46.2],[82,47],[82,46]]]},"properties":{"type":"flood","level":1}}"#, "Self-intersection"),
                (.put, "/api/features/shelters/sh-test", #"{"type":"Feature","id":"other","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":1}}"#, "differs from the URL"),
                (.patch, "/api/features/shelters/sh-test", #"{"properties":{"village":"no-such-village"}}"#, "villages has no code"),
                (.post, "/api/road_risks/rr-001/status", #"{"status":"shut"}"#, "open"),
                (.post, "/api/warehouses/wh-001/stock", #"{"item":"帐篷","delta":-1000000}"#, "cannot take"),
                (.post, "/api/warehouses/wh-001/stock", #"{"item":"帐篷","delta":1e300}"#, "\"delta\" must be at most"),
                (.post, "/api/warehouses/wh-001/stock", #"{"item":"帐篷","set":-5}"#, "\"set\" must be a quantity"),
                (.delete, "/api/features/villages/village-654225201001", "", "still referred to"),
                (.post, "/api/features/lakes", "{}", "unknown layer"),
            ] {
                try await client.execute(uri: uri, method: method, headers: bearer(editor), body: body(text)) { r in
                    #expect(r.status.code >= 400 && r.status.code < 500, "\(uri): \(r.status) \(String(buffer: r.body))")
                    #expect(errorMessage(r.body).contains(words), "\(uri): \(String(buffer: r.body))")
                }
            }
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor),
                                     body: body(String(repeating: " ", count: 5 * 1024 * 1024))) { r in
                #expect(r.status == .contentTooLarge)
            }
            #expect(try s.store.contentDigest() == digest)
            // Small calls: stock and delete; then the audit log tells the whole story.
            try await client.execute(uri: "/api/warehouses/wh-001/stock", method: .post, headers: bearer(editor), body: body(#"{"item":"帐篷","delta":-5}"#)) { r in
                #expect(r.status == .ok)
            }
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .delete, headers: bearer(admin)) { r in #expect(r.status == .noContent) }
            try await client.execute(uri: "/api/audit?layer=shelters&feature=sh-test", method: .get, headers: bearer(editor)) { r in
                let rows = try json(r.body).arrayValue ?? []
                #expect(rows.map { $0["action"]?.stringValue ?? "" } == ["delete", "patch", "create"])
                #expect(rows.map { $0["actor"]?.stringValue ?? "" } == ["user:admin", "user:editor", "user:editor"])
                #expect(rows[1]["before"]?["properties"]?["capacity"] == 120 && rows[1]["after"]?["properties"]?["capacity"] == 150)
                #expect(rows[0]["after"] == .null)
            }
            // The audit log cannot be rewritten, not even in SQL.
            #expect(throws: (any Error).self) { try s.store.write { c in try c.exec("DELETE FROM edit_journal") } }
        }
    }

    /// Swapped lon/lat sent to the API is refused as imports refuse it: create, replace and patch
    /// (of a feature and of an incident's position) answer 400 with JSON naming the distance and
    /// `?anywhere=true`; the store stays as it was; with `?anywhere=true` the write is taken; a
    /// bad flag value is a 400. A property-only patch of a feature placed far away with
    /// `anywhere` still goes through (the rule looks at where data already is).
    @Test func swappedCoordinatesAreRefusedByTheAPIUnlessAnywhere() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let swapped = #"{"type":"Feature","id":"sh-far","geometry":{"type":"Point","coordinates":[46.2005,82.9805]},"properties":{"name":"对调避难点","capacity":10}}"#
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            let before = try s.store.contentDigest()
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor), body: body(swapped)) { r in
                #expect(r.status == .badRequest)
                #expect(r.headers[.contentType]?.contains("json") == true)
                let m = String(buffer: r.body)
                #expect(m.contains("longitude 46.20050, latitude 82.98050, with no data of the store within 5°") && m.contains("anywhere=true") && m.contains("sh-far"), "\(m)")
            }
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor), body: body(shelterAtSeat)) { #expect($0.status == .created) }
            let withOne = try s.store.contentDigest()
            #expect(withOne != before)
            // Moving a feature there: PUT and PATCH.
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .put, headers: bearer(editor),
                                     body: body(swapped.replacingOccurrences(of: "sh-far", with: "sh-test"))) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .patch, headers: bearer(editor),
                                     body: body(#"{"geometry":{"type":"Point","coordinates":[46.2,82.98]}}"#)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("anywhere=true"))
            }
            try await client.execute(uri: "/api/features/shelters/sh-test?anywhere=maybe", method: .patch, headers: bearer(editor),
                                     body: body(#"{"properties":{"capacity":11}}"#)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("anywhere must be true, false, 1 or 0"))
            }
            #expect(try s.store.contentDigest() == withOne, "a refused edit changed the store")
            // Nearby moves are edits like any other.
            try await client.execute(uri: "/api/features/shelters/sh-test", method: .patch, headers: bearer(editor),
                                     body: body(#"{"geometry":{"type":"Point","coordinates":[82.99,46.21]}}"#)) { #expect($0.status == .ok) }
            // Outside the world: validation's sentence, not a distance.
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor),
                                     body: body(#"{"type":"Feature","geometry":{"type":"Point","coordinates":[82.95,95]},"properties":{"name":"x","capacity":1}}"#)) { r in
                #expect(r.status == .badRequest)
                #expect(String(buffer: r.body).contains("outside the world") && !String(buffer: r.body).contains("anywhere"), "\(String(buffer: r.body))")
            }
            // Taken with ?anywhere=true, and edited afterwards without it.
            try await client.execute(uri: "/api/features/shelters?anywhere=true", method: .post, headers: bearer(editor), body: body(swapped)) { #expect($0.status == .created) }
            try await client.execute(uri: "/api/features/shelters/sh-far", method: .patch, headers: bearer(editor),
                                     body: body(#"{"properties":{"capacity":12}}"#)) { #expect($0.status == .ok) }
            #expect(try s.store.feature(in: "shelters", id: "sh-far")?.feature["capacity"] == 12)
            // One feature taken far away does not make everything between near: another swapped
            // point (elsewhere, over 5° from both) is still refused; one beside it is taken.
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor),
                                     body: body(#"{"type":"Feature","id":"sh-far2","geometry":{"type":"Point","coordinates":[46.1,60.0]},"properties":{"name":"又一个","capacity":1}}"#)) { r in
                #expect(r.status == .badRequest, "the guard was widened by the earlier exception")
            }
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor),
                                     body: body(#"{"type":"Feature","id":"sh-far3","geometry":{"type":"Point","coordinates":[46.3,82.9]},"properties":{"name":"旁边","capacity":1}}"#)) { #expect($0.status == .created) }
        }
    }

    /// An edit of properties no style draws (stock, a phone, a managing unit) expires no tile: the
    /// tile over the warehouse is not rendered again; renaming the warehouse (its label) is (#14).
    @Test func editsOfUndrawnPropertiesExpireNothing() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let wh = try #require(try s.store.feature(in: "warehouses", id: "wh-001")).feature
        let t = TileID.containing(wh.geometry.representativePoint, zoom: 15)
        let uri = "/tiles/command/15/\(t.x)/\(t.y).png"
        let drawn = s.tiles.map.drawnAttributes
        #expect(!drawn["warehouses", default: []].contains("managing_unit") && drawn["warehouses", default: []].contains("name"))
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var tag = ""
            try await client.execute(uri: uri, method: .get) { r in tag = r.headers[.eTag] ?? "" }
            #expect(s.metrics.text().contains("onemap_metatiles_rendered_total 1\n"))
            try await client.execute(uri: "/api/warehouses/wh-001/stock", method: .post, headers: bearer(editor), body: body(#"{"item":"帐篷","delta":-5}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/features/warehouses/wh-001", method: .patch, headers: bearer(editor), body: body(#"{"properties":{"managing_unit":"县应急管理局（新）","phone":"0901-0000001"}}"#)) {
                #expect($0.status == .ok)
            }
            try s.tiles.syncNow()
            try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: tag]) { r in #expect(r.status == .notModified) }
            #expect(s.metrics.text().contains("onemap_metatiles_rendered_total 1\n"), "an undrawn edit made the tile render again")
            try await client.execute(uri: "/api/features/warehouses/wh-001", method: .patch, headers: bearer(editor), body: body(#"{"properties":{"name":"测试改名物资储备库"}}"#)) {
                #expect($0.status == .ok)
            }
            try s.tiles.syncNow()
            try await client.execute(uri: uri, method: .get, headers: [.ifNoneMatch: tag]) { r in #expect(r.status == .ok, "a renamed warehouse's tile was not expired") }
            #expect(s.metrics.text().contains("onemap_metatiles_rendered_total 2\n"))
        }
    }

    /// The tile asked for is answered from its drawn metatile before the other 63 are encoded;
    /// those reach the cache file afterwards, and asking for them meanwhile (all at once) draws
    /// the metatile no second time. Every tile equals a fresh render.
    @Test func aMetatileIsDrawnOnceAndAllItsTilesAreStoredAfterTheAnswer() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let p = try #require(try s.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        let t = TileID.containing(p, zoom: 15)
        let asked = try TileID(z: 15, x: t.x, y: t.y)
        let meta = MetatileID(containing: asked)
        let service = s.tiles
        let first = try await Array(service.tile(style: "command", tile: asked, scale: 1).body.readableBytesView)
        let others = try await withThrowingTaskGroup(of: (TileID, [UInt8]).self) { g in
            for u in meta.tiles where u != asked {
                g.addTask { (u, try await Array(service.tile(style: "command", tile: u, scale: 1).body.readableBytesView)) }
            }
            return try await g.reduce(into: [TileID: [UInt8]]()) { $0[$1.0] = $1.1 }
        }
        #expect(s.metrics.text().contains("onemap_metatiles_rendered_total 1\n"), "the metatile was drawn more than once")
        await service.settle()
        #expect(try service.cache.count(style: "command") == meta.tiles.count, "the metatile's tiles did not all reach the cache file")
        let fresh = try service.tiles.renderMetatile(style: "command", metatile: meta, scale: 1)
        #expect(first == fresh[asked], "the first answer is not the fresh render")
        #expect(meta.tiles.filter { $0 != asked }.allSatisfy { others[$0] == fresh[$0] }, "a tile served meanwhile is not the fresh render")
        for u in meta.tiles {
            #expect(try service.cache.get(style: "command", tile: u, scale: 1)?.data == fresh[u], "tile \(u) in the cache file differs from a fresh render")
        }
    }

    /// A burst of cold metatiles cannot pile up drawn canvases waiting to be encoded (16 MB
    /// each, 64 MB at @2x): past two per render thread, a metatile is encoded whole before its
    /// answer. Every tile served and stored is still the fresh render.
    @Test func drawnMetatilesWaitingForEncodingAreBounded() async throws {
        let dir = TempDir()
        let s = try makeServices(dir) { $0.renderMaxWaitSeconds = 3600 }
        let service = s.tiles
        let p = try #require(try s.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        let seat = TileID.containing(p, zoom: 15)
        // Twelve metatiles side by side, all asked for at once.
        let asked = try (0..<12).map { k in try TileID(z: 15, x: seat.x + 8 * (k % 4 - 2), y: seat.y + 8 * (k / 4 - 1)) }
        let served = try await withThrowingTaskGroup(of: (TileID, [UInt8]).self) { g in
            for t in asked { g.addTask { (t, try await Array(service.tile(style: "command", tile: t, scale: 1).body.readableBytesView)) } }
            return try await g.reduce(into: [TileID: [UInt8]]()) { $0[$1.0] = $1.1 }
        }
        await service.settle()
        let peak = service.peakPendingEncodes.load(ordering: .relaxed)
        #expect(peak >= 1 && peak <= service.maxPendingEncodes, "\(peak) drawn metatiles waited for encoding at once (bound \(service.maxPendingEncodes))")
        #expect(try service.cache.count(style: "command") == 12 * 64, "not every tile of the 12 metatiles reached the cache file")
        for t in asked {
            let fresh = try service.tiles.renderMetatile(style: "command", metatile: MetatileID(containing: t), scale: 1)
            #expect(served[t] == fresh[t], "tile \(t) served differs from a fresh render")
            #expect(try service.cache.get(style: "command", tile: t, scale: 1)?.data == fresh[t], "tile \(t) stored differs from a fresh render")
        }
    }

    /// Edits whose labels reach, or knock other labels, beyond the edited feature's own tiles —
    /// next to metatile edges — leave no stale tile: after each edit every tile of a window
    /// around it is served exactly as a fresh renderer draws it now. And the edits do reach
    /// further than "the edited box plus one tile" somewhere (else this test proves nothing).
    @Test func labelChangesExpireExactlyTheirTiles() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let app = buildApplication(services: s, logger: quiet)
        let long = "裕民县应急管理局测试用超长名称消防救援站第二十六个"  // 26 characters
        func px(_ c: Coord, _ z: Int) -> (Double, Double) { Viewport(zoom: z, originX: 0, originY: 0, width: 0, height: 0, scale: 1).globalPixel(c) }

        // The edits, chosen from the data by where they lie, not by id.
        var edits: [(layer: String, id: String, change: String, zoom: Int, at: Coord)] = []
        // A fire station whose name (drawn to the right of its icon) now reaches two tiles on.
        let stations = try s.store.all("fire_stations").sorted { $0.id < $1.id }
        if let (f, z) = stations.lazy.compactMap({ f -> (Feature, Int)? in
            let c = f.geometry.representativePoint
            return (14...16).first { z in px(c, z).0.truncatingRemainder(dividingBy: 256) > 190 }.map { (f, $0) }
        }).first {
            edits.append(("fire_stations", f.id, #"{"properties":{"name":"\#(long)"}}"#, z, f.geometry.representativePoint))
        }
        // A village whose label sits just left of a metatile edge at z14 gets a long name.
        let villages = try s.store.all("villages").sorted { $0.id < $1.id }
        if let v = villages.first(where: { v in
            guard let a = v["center"]?.arrayValue, a.count == 2, let x = a[0].doubleValue, let y = a[1].doubleValue else { return false }
            return px(Coord(x, y), 14).0.truncatingRemainder(dividingBy: 2048) > 1900
        }), let a = v["center"]?.arrayValue, let x = a[0].doubleValue, let y = a[1].doubleValue {
            edits.append(("villages", v.id, #"{"properties":{"name":"\#(long)村"}}"#, 14, Coord(x, y)))
        }
        // A named road crossing a metatile edge at z13 is renamed; a shelter moves 300 m east.
        let roads = try s.store.all("roads").sorted { $0.id < $1.id }
        if let r = roads.first(where: { r in
            guard r["name"]?.stringValue?.isEmpty == false else { return false }
            let b = r.geometry.bbox
            return Int(px(Coord(b.minLon, b.minLat), 13).0 / 2048) != Int(px(Coord(b.maxLon, b.minLat), 13).0 / 2048)
        }) {
            edits.append(("roads", r.id, #"{"properties":{"name":"\#(long)路"}}"#, 13, r.geometry.representativePoint))
        }
        let shelter = try #require(try s.store.all("shelters").sorted { $0.id < $1.id }.first)
        let sp = shelter.geometry.representativePoint
        edits.append(("shelters", shelter.id, #"{"geometry":{"type":"Point","coordinates":[\#(sp.lon + 0.004),\#(sp.lat)]}}"#, 15, sp))
        #expect(edits.count == 4, "the demo data lacks a feature this test edits")

        let plan = edits
        let reachedFurther = try await app.test(.live) { client -> Bool in
            var reachedFurther = false
            for e in plan {
                // A window of tiles around the edit at its zoom and one below, all served (cached) first.
                var window: [TileID] = []
                for z in [e.zoom - 1, e.zoom] {
                    let t = TileID.containing(e.at, zoom: z)
                    for dy in -2...2 { for dx in -3...3 { if let w = try? TileID(z: z, x: t.x + dx, y: t.y + dy) { window.append(w) } } }
                }
                var served: [TileID: ByteBuffer] = [:]
                for t in window { try await client.execute(uri: "/tiles/command/\(t.z)/\(t.x)/\(t.y).png", method: .get) { r in served[t] = r.body } }
                let before = try #require(try s.store.feature(in: e.layer, id: e.id)).feature
                try await client.execute(uri: "/api/features/\(e.layer)/\(e.id)", method: .patch, headers: bearer(editor), body: body(e.change)) { r in
                    #expect(r.status == .ok, "\(e.layer)/\(e.id): \(String(buffer: r.body))")
                }
                let after = try #require(try s.store.feature(in: e.layer, id: e.id)).feature
                // The truth: a renderer that never saw the old state, metatile by metatile.
                let fresh = TileRenderer(map: try MapRenderer(source: s.store, stylesDirectory: repoRoot + "/Styles"))
                var truth: [TileID: [UInt8]] = [:]
                for m in Set(window.map { MetatileID(containing: $0) }) { truth.merge(try fresh.renderMetatile(style: "command", metatile: m, scale: 1)) { a, _ in a } }
                let box = before.geometry.bbox.union(after.geometry.bbox)
                for t in window {
                    try await client.execute(uri: "/tiles/command/\(t.z)/\(t.x)/\(t.y).png", method: .get) { r in
                        let current = Array(r.body.readableBytesView) == truth[t]
                        #expect(current, "\(e.layer)/\(e.id): tile \(t.z)/\(t.x)/\(t.y) is stale after the edit")
                    }
                    if Array(served[t]!.readableBytesView) != truth[t], !TileCache.reach(of: box, zoom: t.z).contains(t) { reachedFurther = true }
                }
            }
            return reachedFurther
        }
        #expect(reachedFurther, "no edit changed a tile beyond its box plus one tile: the test no longer exercises label reach")
    }

    @Test func anEditExpiresItsTilesAndKeepsTheRestCached() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let app = buildApplication(services: s, logger: quiet)
        let near = "/tiles/command/16/47874/23262.png"  // the seat: the new shelter lands here
        let far = "/tiles/command/16/47700/23300.png"   // another metatile, far from the edit
        try await app.test(.live) { client in
            var before: ByteBuffer = ByteBuffer()
            var farTag = ""
            try await client.execute(uri: near, method: .get) { r in before = r.body }
            try await client.execute(uri: far, method: .get) { r in farTag = r.headers[.eTag] ?? "" }
            let rendered = s.metrics.text()
            #expect(rendered.contains("onemap_metatiles_rendered_total 2\n"))
            // A red (level 1) hazard zone around the seat: fills always draw, so the tile must change.
            let zone = #"{"type":"Feature","id":"hz-test","geometry":{"type":"Polygon","coordinates":[[[82.979,46.199],[82.982,46.199],[82.982,46.2015],[82.979,46.2015],[82.979,46.199]]]},"properties":{"type":"hazchem","level":1,"name":"测试危化品泄漏区"}}"#
            try await client.execute(uri: "/api/features/hazard_zones", method: .post, headers: bearer(editor), body: body(zone)) { r in #expect(r.status == .created) }
            try await client.execute(uri: near, method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.body != before, "the tile under the edit was not re-rendered")
            }
            try await client.execute(uri: far, method: .get, headers: [.ifNoneMatch: farTag]) { r in #expect(r.status == .notModified) }
            let after = s.metrics.text()
            #expect(after.contains("onemap_metatiles_rendered_total 3\n"), "only the edited metatile renders again")
        }
    }

    @Test func aRoadClosedThroughTheAPIChangesTheNextRoute() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        // A plain village road in the plain: route from one end to the other.
        let road = try s.store.allFeatures(of: "roads").first { $0["class"] == "village" && ($0.geometry.paths.first?.count ?? 0) == 3 && $0.geometry.bbox.minLat > 46.25 }!
        let line = road.geometry.paths[0]
        let from = "\(line[0].lon),\(line[0].lat)", to = "\(line[2].lon),\(line[2].lat)"
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var open = 0.0, closed = 0.0
            try await client.execute(uri: "/api/route?from=\(from)&to=\(to)", method: .get) { r in open = try json(r.body)["seconds"]?.doubleValue ?? -1 }
            let risk = JSONWriter.string(["type": "Feature", "id": "rr-api", "geometry": GeoJSON.json(road.geometry),
                                          "properties": ["risk_type": "landslide", "level": 1, "status": "closed", "updated_at": "2026-11-29T08:00:00+08:00"]])
            try await client.execute(uri: "/api/features/road_risks", method: .post, headers: bearer(editor), body: body(risk)) { r in #expect(r.status == .created) }
            try await client.execute(uri: "/api/route?from=\(from)&to=\(to)", method: .get) { r in
                let j = try json(r.body)
                closed = j["seconds"]?.doubleValue ?? .infinity
            }
            #expect(closed > open * 1.5, "closing the road did not change the route: \(open) → \(closed)")
            try await client.execute(uri: "/api/road_risks/rr-api/status", method: .post, headers: bearer(editor), body: body(#"{"status":"open","note":"cleared"}"#)) { r in
                #expect(r.status == .ok)
                let j = try json(r.body)
                #expect(j["properties"]?["note"] == "cleared")
            }
            try await client.execute(uri: "/api/route?from=\(from)&to=\(to)", method: .get) { r in
                let j = try json(r.body)
                #expect(abs((j["seconds"]?.doubleValue ?? 0) - open) < 0.01)
            }
        }
    }

    @Test func readsCanRequireAToken() async throws {
        let dir = TempDir()
        var config = try makeServices(dir).config
        config.readsRequireToken = true
        let s = try OneMapServices(config: config, logger: quiet)
        let viewer = try s.store.addUser(name: "v", role: .viewer).token
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            try await client.execute(uri: "/api/layers", method: .get) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/api/layers", method: .get, headers: bearer(viewer)) { r in #expect(r.status == .ok) }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
    }
}

extension HTTPFields {
    func merging(_ o: HTTPFields) -> HTTPFields {
        var m = self
        for f in o { m[f.name] = f.value }
        return m
    }
}
