import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import OneMapTestSupport
import Testing

@testable import OneMapCore
@testable import OneMapRender
@testable import OneMapRouting
@testable import OneMapServer
@testable import OneMapStore

/// The close → back up → reopen → restore story: after a restore, tiles and routes are of the
/// restored state, with a server running (online restore) and across a restart (offline restore).
@Suite(.serialized) struct RestoreTests {
    /// A plain village road, its end points, and a tile over its middle.
    struct Scene {
        var road: Feature
        var from: Coord, to: Coord
        var tile: TileID
        var uri: String { "/tiles/command/\(tile.z)/\(tile.x)/\(tile.y).png" }
        var routeURI: String { "/api/route?from=\(from.lon),\(from.lat)&to=\(to.lon),\(to.lat)" }
        init(_ store: Store) throws {
            road = try #require(try store.allFeatures(of: "roads").first { $0["class"] == "village" && ($0.geometry.paths.first?.count ?? 0) == 3 && $0.geometry.bbox.minLat > 46.25 })
            let line = road.geometry.paths[0]
            from = line[0]; to = line[2]
            let t = TileID.containing(line[1], zoom: 15)
            tile = try TileID(z: 15, x: t.x, y: t.y)
        }
        func closedRisk(_ id: String) -> String {
            JSONWriter.string(["type": "Feature", "id": .string(id), "geometry": GeoJSON.json(road.geometry),
                               "properties": ["risk_type": "landslide", "level": 1, "status": "closed", "updated_at": "2026-11-29T08:00:00+08:00"]])
        }
    }

    func freshTile(_ s: OneMapServices, _ t: TileID) throws -> [UInt8] {
        try #require(try s.tiles.tiles.renderMetatile(style: "command", metatile: MetatileID(containing: t), scale: 1)[t])
    }

    @Test func onlineRestoreWithAServerRunning() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let db = s.config.database
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let admin = try s.store.addUser(name: "a", role: .admin).token
        let scene = try Scene(s.store)
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            func seconds() async throws -> Double {
                try await client.execute(uri: scene.routeURI, method: .get) { r in try json(r.body)["seconds"]?.doubleValue ?? -1 }
            }
            func tile() async throws -> [UInt8] {
                try await client.execute(uri: scene.uri, method: .get) { r in Array(r.body.readableBytesView) }
            }
            let openSeconds = try await seconds()
            try await client.execute(uri: "/api/features/road_risks", method: .post, headers: bearer(editor), body: body(scene.closedRisk("rr-story"))) { r in
                #expect(r.status == .created)
            }
            let closedSeconds = try await seconds()
            let closedTile = try await tile()
            #expect(closedSeconds > openSeconds * 1.5, "closing did not change the route")
            try s.store.backup(to: dir.file("backup.sqlite"))
            try await client.execute(uri: "/api/road_risks/rr-story/status", method: .post, headers: bearer(editor), body: body(#"{"status":"open"}"#)) { r in
                #expect(r.status == .ok)
            }
            let reopenedTile = try await tile()
            #expect(reopenedTile != closedTile, "the tile does not show the road's status (the test cannot tell states apart)")
            #expect(abs(try await seconds() - openSeconds) < 0.01)

            // The offline restore refuses while this server holds the store, and changes nothing.
            let digest = try s.store.contentDigest()
            let offline = try runProgramCapturing(onemapBinary, ["restore", dir.file("backup.sqlite"), "--db", db], cwd: repoRoot)
            #expect(offline.status == 69 && offline.err.contains("POST /api/admin/restore") && !offline.err.contains("USAGE"), "\(offline.status) \(offline.err)")
            #expect(try s.store.contentDigest() == digest)

            // Only admins; only files in the store's folder.
            let restore = { (name: String) in body(JSONWriter.string(["backup": .string(name)])) }
            try await client.execute(uri: "/api/admin/restore", method: .post, headers: bearer(editor), body: restore("backup.sqlite")) { r in #expect(r.status == .forbidden) }
            try await client.execute(uri: "/api/admin/restore", method: .post, headers: bearer(admin), body: restore("../../etc/passwd")) { r in
                #expect(r.status == .badRequest && errorMessage(r.body).contains("store's folder"), "\(errorMessage(r.body))")
            }
            try await client.execute(uri: "/api/admin/restore", method: .post, headers: bearer(admin), body: restore("nope.sqlite")) { r in #expect(r.status == .notFound) }
            #expect(try s.store.contentDigest() == digest)

            try await client.execute(uri: "/api/admin/restore", method: .post, headers: bearer(admin), body: restore("backup.sqlite")) { r in
                #expect(r.status == .ok, "\(errorMessage(r.body))")
                let j = try json(r.body)
                #expect(j["discarded_edits"]?.doubleValue == 1, "\(j)")
                let kept = j["replaced_content_kept_in"]?.stringValue ?? ""
                #expect(FileManager.default.fileExists(atPath: kept), "the replaced content was not kept: \(kept)")
            }
            // The very next answers are of the restored (closed) state: the journal stands where it
            // stood at the backup, but the generation is new.
            #expect(abs(try await seconds() - closedSeconds) < 0.01, "the router still routes through the restored closure")
            let served = try await tile()
            #expect(served == (try freshTile(s, scene.tile)), "the served tile is not of the restored state")
            #expect(served == closedTile)
            let feature = try #require(try s.store.feature(in: "road_risks", id: "rr-story"))
            #expect(feature.feature["status"] == "closed")
        }
    }

    @Test func offlineRestoreAndARestart() async throws {
        let dir = TempDir()
        let backup = dir.file("backup.sqlite")
        var closedSeconds = 0.0, closedTile: [UInt8] = [], reopenedTile: [UInt8] = []
        let scene: Scene
        do {
            let s = try makeServices(dir)
            scene = try Scene(s.store)
            _ = try s.store.create(layer: "road_risks", geojson: scene.closedRisk("rr-story"), actor: "test")
            closedSeconds = try #require(try s.router.route(from: scene.from, to: scene.to).seconds)
            closedTile = try await Array(s.tiles.tile(style: "command", tile: scene.tile, scale: 1).body.readableBytesView)
            try s.store.backup(to: backup)
            try s.store.patch(layer: "road_risks", id: "rr-story", changes: ["properties": ["status": "open"]], ifVersion: nil, actor: "test")
            let openSeconds = try #require(try s.router.route(from: scene.from, to: scene.to).seconds)
            #expect(openSeconds < closedSeconds / 1.5)
            // The open state is now in the tile-cache file, at the journal position after the reopen.
            reopenedTile = try await Array(s.tiles.tile(style: "command", tile: scene.tile, scale: 1).body.readableBytesView)
            #expect(reopenedTile != closedTile)
            #expect(try s.tiles.cache.get(style: "command", tile: scene.tile, scale: 1)?.data == reopenedTile)
        }
        // The server is gone: its lock with it.
        #expect(try StoreLock.exclusive(for: dir.file("onemap.sqlite")) != nil, "the stopped server still holds the store lock")
        let r = try runProgramCapturing(onemapBinary, ["restore", backup, "--db", dir.file("onemap.sqlite")], cwd: repoRoot)
        #expect(r.status == 0 && r.out.contains("1 edit made after the backup") && r.out.contains("before-restore"), "\(r.out) \(r.err)")

        // A restart on the restored store: the cache file's tiles are of another generation.
        let s = try makeServices(dir)
        let served = try await Array(s.tiles.tile(style: "command", tile: scene.tile, scale: 1).body.readableBytesView)
        #expect(served == closedTile, "after the restore the map still shows the road reopened")
        #expect(served == (try freshTile(s, scene.tile)))
        #expect(abs((try s.router.route(from: scene.from, to: scene.to).seconds ?? 0) - closedSeconds) < 0.01)
        // Another restore of the same backup lands on the same journal position, yet is new again.
        let before = try s.store.storeRevision()
        try s.store.restore(from: backup)
        let after = try s.store.storeRevision()
        #expect(before.sequence == after.sequence && before.generation != after.generation && before.token != after.token)
    }
}
