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

    /// An edit of properties no style draws (stock, a phone, a managing unit) expires no tile: the
    /// tile over the warehouse is not rendered again; renaming the warehouse (its label) is (#14).
    @Test func editsOfUndrawnPropertiesExpireNothing() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let wh = try #require(try s.store.feature(in: "warehouses", id: "wh-001")).feature
        let t = TileID.containing(wh.geometry.representativePoint, zoom: 15)
        let uri = "/tiles/command/15/\(t.x)/\(t.y).png"
        #expect(!s.tiles.drawn["warehouses", default: []].contains("managing_unit") && s.tiles.drawn["warehouses", default: []].contains("name"))
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
