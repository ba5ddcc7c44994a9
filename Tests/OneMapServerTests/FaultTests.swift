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

    /// A real `onemap serve` process (its services built and then held only by the application)
    /// keeps the store lock for as long as it runs.
    @Test func offlineRestoreIsRefusedWhileAServeProcessRuns() throws {
        let dir = TempDir("restore-cli")
        let db = dir.file("s.sqlite")
        #expect(try runProgramCapturing(onemapBinary, ["import", "GeoData/rivers.geojson", "--db", db], cwd: repoRoot).status == 0)
        #expect(try runProgramCapturing(onemapBinary, ["backup", "--out", dir.file("b.sqlite"), "--db", db], cwd: repoRoot).status == 0)
        let server = try ServedProgram(onemapBinary, ["serve", "--db", db, "--port", "0"], cwd: repoRoot)
        let refused = try runProgramCapturing(onemapBinary, ["restore", dir.file("b.sqlite"), "--db", db], cwd: repoRoot)
        server.stop()
        #expect(refused.status == 69 && refused.err.contains("a server is using"), "\(refused.status) \(refused.err)")
        let later = try runProgramCapturing(onemapBinary, ["restore", dir.file("b.sqlite"), "--db", db], cwd: repoRoot)
        #expect(later.status == 0 && later.out.contains("no edits were lost"), "\(later.out) \(later.err)")
        // Two restores in one second keep two copies of what they replaced.
        let again = try runProgramCapturing(onemapBinary, ["restore", dir.file("b.sqlite"), "--db", db], cwd: repoRoot)
        #expect(again.status == 0)
        let kept = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("before-restore") }
        #expect(kept.count == 2, "\(kept)")
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
            await s.tiles.settle()
            #expect(try s.tiles.cache.get(style: "command", tile: scene.tile, scale: 1)?.data == reopenedTile)
        }
        // The server is gone: its lock with it (once its background expiry round, which may hold
        // the store for a moment, has ended).
        var free = false
        for _ in 0..<50 where !free {
            free = try StoreLock.exclusive(for: dir.file("onemap.sqlite")) != nil
            if !free { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(free, "the stopped server still holds the store lock")
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

/// Text at the HTTP boundary: valid UTF-8 without control characters, or a 4xx that says which
/// field — and the store exactly as it was.
@Suite(.serialized) struct HostileTextTests {
    @Test func badTextIsRefusedNeverMangled() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let before = try #require(try s.store.feature(in: "hazard_points", id: "hp-0002"))
        let digest = try s.store.contentDigest()
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            // GBK bytes for 避难点 (B1 DC C4 D1 B5 E3) inside an otherwise valid GeoJSON body.
            var gbk = Array(#"{"type":"Feature","id":"sh-gbk","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":""#.utf8)
            gbk += [0xB1, 0xDC, 0xC4, 0xD1, 0xB5, 0xE3]
            gbk += Array(#"","capacity":5}}"#.utf8)
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor), body: ByteBuffer(bytes: gbk)) { r in
                #expect(r.status == .unsupportedMediaType, "\(r.status)")
                #expect(errorMessage(r.body).contains("not UTF-8") && errorMessage(r.body).contains("offset"), "\(errorMessage(r.body))")
            }
            let cases: [(String, HTTPRequest.Method, String?, String)] = [
                // A NUL inside a name (a JSON escape): refused, naming the property.
                ("/api/features/shelters", .post, #"{"type":"Feature","id":"sh-nul","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a\u0000b","capacity":5}}"#, "U+0000"),
                // A control character in the id, and in a property's name.
                ("/api/features/shelters", .post, #"{"type":"Feature","id":"sh-\u0007","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":5}}"#, "U+0007"),
                ("/api/features/shelters", .post, #"{"type":"Feature","id":"sh-key","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":5,"x\u0001":1}}"#, "U+0001"),
                // Inside properties outside the schema, at any depth (keys and values).
                ("/api/features/shelters", .post, #"{"type":"Feature","id":"sh-deep","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":5,"more":{"k":"a\u0000b"}}}"#, "U+0000"),
                ("/api/features/shelters", .post, #"{"type":"Feature","id":"sh-deep","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a","capacity":5,"more":[{"k\u0002":1}]}}"#, "U+0002"),
                // A NUL in the URL's id once edited hp-0002.
                ("/api/features/hazard_points/hp-0002%00zzz", .put, #"{"type":"Feature","id":"hp-0002","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"改","hazard_type":"flood","level":1}}"#, "U+0000"),
                ("/api/features/hazard_points/hp-0002%00", .delete, nil, "U+0000"),
                ("/api/features/shelters/sh-001%00", .get, nil, "U+0000"),
                ("/api/search?q=%FF%FE", .get, nil, "not UTF-8"),
                ("/api/search?q=a%01", .get, nil, "U+0001"),
                ("/api/features/shelters/sh-001%G0", .get, nil, "percent escape"),
            ]
            for (uri, method, text, words) in cases {
                try await client.execute(uri: uri, method: method, headers: bearer(editor), body: text.map { ByteBuffer(string: $0) }) { r in
                    #expect(r.status == .badRequest, "\(method) \(uri): \(r.status)")
                    #expect(errorMessage(r.body).contains(words), "\(method) \(uri): \(errorMessage(r.body))")
                }
            }
            // Good text still works: Chinese, Uyghur, a line break in free text.
            try await client.execute(uri: "/api/search?q=%E6%9D%91", method: .get) { r in #expect(r.status == .ok) }
        }
        #expect(try s.store.contentDigest() == digest, "a refused request changed the store")
        #expect(try s.store.feature(in: "hazard_points", id: "hp-0002")?.version == before.version)
    }

    /// Bytes of valid requests mutated at random (NUL, control bytes, bytes that are not UTF-8,
    /// flipped bits): every refusal leaves the content digest as it was, nothing is a 5xx, and
    /// whatever is accepted reads back as valid text without control characters.
    @Test func mutatedRequestsNeverChangeTheStoreWhenRefused() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        var rng = SeededRandom(seed: 0x5EED_16)
        let bodies = [
            #"{"type":"Feature","id":"sh-fz","geometry":{"type":"Point","coordinates":[82.91,46.21]},"properties":{"name":"避难点 ئاۋات","capacity":50,"kind":"square"}}"#,
            #"{"properties":{"name":"旧名 قاراتال","capacity":60}}"#,
        ]
        var requests: [(uri: String, patch: Bool, body: [UInt8])] = []
        for round in 0..<160 {
            let patch = round % 2 == 1
            var b = Array(bodies[round % 2].utf8)
            var path = Array((patch ? "/api/features/shelters/sh-001" : "/api/features/shelters").utf8)
            for _ in 0..<(1 + rng.int(3)) {
                let junk: [[UInt8]] = [[0], [0x01], [0x1F], [0x7F], [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE6, 0x9D], Array("\\u0000".utf8), Array("%00".utf8), Array("%FF".utf8)]
                let j = junk[rng.int(junk.count)]
                if rng.chance(0.25) {
                    // The URL gets escapes only (a client does not send raw control bytes).
                    let escapes = ["%00", "%FF", "%01", "%7F", "%C0%80", "%E6%9D", "%ED%A0%80", "%G1"]
                    path.insert(contentsOf: Array(escapes[rng.int(escapes.count)].utf8), at: 1 + rng.int(path.count))
                } else if rng.chance(0.5) {
                    b.insert(contentsOf: j, at: rng.int(b.count + 1))
                } else {
                    b[rng.int(b.count)] ^= UInt8(1 << rng.int(8))
                }
            }
            requests.append((String(decoding: path, as: UTF8.self), patch, b))
        }
        let batch = requests
        let statuses = try await buildApplication(services: s, logger: quiet).test(.live) { client -> [Int] in
            var out: [Int] = []
            for (round, q) in batch.enumerated() {
                let digest = try s.store.contentDigest()
                let status = try await client.execute(uri: q.uri, method: q.patch ? .patch : .post, headers: bearer(editor), body: ByteBuffer(bytes: q.body)) { $0.status.code }
                out.append(status)
                #expect(status < 500, "round \(round): \(status) for \(q.uri)")
                if status >= 400 {
                    #expect(try s.store.contentDigest() == digest, "round \(round): refused with \(status) but the store changed")
                }
                if status == 201 { _ = try? s.store.delete(layer: "shelters", id: "sh-fz", ifVersion: nil, actor: "test") }
            }
            return out
        }
        let tally = Dictionary(statuses.map { ($0, 1) }, uniquingKeysWith: +)
        for f in try s.store.allFeatures(of: "shelters") {
            #expect(TextRules.forbiddenControl(in: f.id) == nil && TextRules.forbiddenControl(in: f["name"]?.stringValue ?? "") == nil, "stored control characters: \(f.id)")
            let name = f["name"]?.stringValue ?? ""
            #expect(name.unicodeScalars.allSatisfy { $0 != "\u{FFFD}" }, "a replacement character was stored in \(f.id): \(name)")
        }
        print("fuzz (text): statuses \(tally.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))")
        #expect(tally.keys.contains { $0 >= 400 } && tally.keys.contains { $0 < 300 }, "the fuzz never got both answers: \(tally)")
    }
}

/// A small real filesystem (tmpfs) for disk-full tests; unmounted at the end.
final class SmallDisk: Sendable {
    let path: String
    init(megabytes: Int) throws {
        try #require(getuid() == 0, "mounting a small tmpfs needs root (CI on this machine runs as root)")
        path = TempDir().path + "-disk"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = try runProgramCapturing("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        try #require(r.status == 0, "mount failed: \(r.err)")
    }
    func file(_ name: String) -> String { path + "/" + name }
    /// Fills the disk with a filler file until no byte fits.
    func fill() throws {
        _ = try runProgramCapturing("/bin/dd", ["if=/dev/zero", "of=\(file("filler"))", "bs=64k"])
    }
    func free() throws { try FileManager.default.removeItem(atPath: file("filler")) }
    deinit {
        _ = try? runProgramCapturing("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Disk full, a read-only store, bad stores on the command line: a sentence and the right
/// status, tiles still served, nothing lost.
@Suite(.serialized) struct FaultStatusTests {
    @Test func aFullDiskIs507ForWritesAndTilesStillServe() async throws {
        let disk = try SmallDisk(megabytes: 24)
        var config = try makeServices(TempDir()).config
        config.database = disk.file("s.sqlite")
        let s = try OneMapServices(config: config, logger: quiet)
        let editor = try s.store.addUser(name: "e", role: .editor).token
        let base = try #require(try s.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            try disk.fill()
            // Writes until one no longer fits (the WAL may hold a few): 507 with a sentence, the store as it was.
            var full = false
            for i in 0..<60 where !full {
                let digest = try s.store.contentDigest()
                let big = String(repeating: "满", count: 20_000)
                let f = #"{"type":"Feature","id":"sh-full-\#(i)","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"满盘","capacity":5,"note":"\#(big)"}}"#
                try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor), body: ByteBuffer(string: f)) { r in
                    if r.status.code == 507 {
                        full = true
                        #expect(errorMessage(r.body).contains("is full") && !errorMessage(r.body).contains("SQLITE"), "\(errorMessage(r.body))")
                    } else {
                        #expect(r.status == .created, "\(r.status): \(errorMessage(r.body))")
                    }
                }
                if full { #expect(try s.store.contentDigest() == digest, "a refused write changed the store") }
            }
            #expect(full, "the disk never filled up")
            // Uncached tiles are rendered and served although the cache cannot keep them.
            var degraded = false
            for k in 0..<24 where !degraded {
                let t = TileID.containing(Coord(base.lon + 0.05 * Double(k % 6), base.lat - 0.04 * Double(k / 6)), zoom: 16)
                try await client.execute(uri: "/tiles/command/16/\(t.x)/\(t.y).png", method: .get) { r in
                    #expect(r.status == .ok, "tile \(k): \(r.status) \(errorMessage(r.body))")
                    #expect(Array(r.body.readableBytesView.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
                }
                try await client.execute(uri: "/readyz", method: .get) { r in
                    let j = try json(r.body)
                    degraded = j["status"] == "degraded" && (j["tile_cache"]?["problem"]?.stringValue ?? "").contains("full")
                }
            }
            #expect(degraded, "readiness never reported the tile cache's full disk")
            // Space again: writes work, the cache recovers.
            try disk.free()
            try await client.execute(uri: "/api/features/shelters", method: .post, headers: bearer(editor),
                                     body: ByteBuffer(string: #"{"type":"Feature","id":"sh-after","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"有空间了","capacity":5}}"#)) { r in
                #expect(r.status == .created, "\(errorMessage(r.body))")
            }
        }
    }

    @Test func theCommandLineOnBadStoresIsOneSentence() throws {
        let dir = TempDir("bad-stores")
        let good = dir.file("good.sqlite")
        #expect(try runProgramCapturing(onemapBinary, ["import", "GeoData", "--db", good], cwd: repoRoot).status == 0)
        let newer = dir.file("newer.sqlite")
        try FileManager.default.copyItem(atPath: good, toPath: newer)
        _ = try runProgramCapturing("/usr/bin/sqlite3", [newer, "PRAGMA user_version=99"])
        let corrupt = dir.file("corrupt.sqlite")
        try Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }).write(to: URL(fileURLWithPath: corrupt))
        for (db, words, code) in [(newer, "newer than this onemap", Int32(69)), (corrupt, "damaged or not an onemap store", 69),
                                  (dir.file("typo.sqlite"), "there is no store at", 66)] {
            for args in [["info"], ["features", "shelters"], ["route", "--from", "82.98,46.2", "--to", "82.9,46.25"], ["user", "list"]] {
                let r = try runProgramCapturing(onemapBinary, args + ["--db", db], cwd: repoRoot)
                #expect(r.status == code && r.err.contains(words), "\(args) on \(db): \(r.status) \(r.err)")
                #expect(r.err.split(separator: "\n").count == 1 && !r.err.contains("USAGE"), "\(args): \(r.err)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("typo.sqlite")), "a mistyped --db created a store")
        // A 0-byte file (what a failed write leaves) is no store: refused, not made into an empty one.
        FileManager.default.createFile(atPath: dir.file("zero.sqlite"), contents: Data())
        for args in [["info"], ["user", "list"], ["serve", "--port", "0"]] {
            let r = try runProgramCapturing(onemapBinary, args + ["--db", dir.file("zero.sqlite")], cwd: repoRoot)
            #expect(r.status == 69 && r.err.contains("is empty (0 bytes)"), "\(args): \(r.status) \(r.err)")
        }
        #expect((try FileManager.default.attributesOfItem(atPath: dir.file("zero.sqlite"))[.size] as? Int) == 0)
        // Import makes a new store, says so, and leaves none behind when it is refused.
        let fresh = try runProgramCapturing(onemapBinary, ["import", "GeoData/rivers.geojson", "--db", dir.file("new.sqlite")], cwd: repoRoot)
        #expect(fresh.status == 0 && fresh.out.contains("(a new store)"), "\(fresh.out) \(fresh.err)")
        try #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[182,46]},"properties":{"name":"a","capacity":1}}]}"#
            .write(toFile: dir.file("shelters.geojson"), atomically: true, encoding: .utf8)
        let refused = try runProgramCapturing(onemapBinary, ["import", dir.file("shelters.geojson"), "--db", dir.file("never.sqlite")], cwd: repoRoot)
        #expect(refused.status == 65 && !FileManager.default.fileExists(atPath: dir.file("never.sqlite")), "\(refused.err)")
        // Arguments that are not UTF-8, or hold control characters.
        let gbk = try runProgramCapturing("/bin/bash", ["-c", "\"$0\" search $'\\xb1\\xdc' --db \"$1\"", onemapBinary, good], cwd: repoRoot)
        #expect(gbk.status == 64 && gbk.err.contains("not UTF-8") && gbk.err.split(separator: "\n").count == 1, "\(gbk.err)")
        let nul = try runProgramCapturing(onemapBinary, ["search", "a\u{1}", "--db", good], cwd: repoRoot)
        #expect(nul.status == 64 && nul.err.contains("U+0001"), "\(nul.err)")
    }

    @Test func importOnAFullDiskIsASentence() throws {
        let disk = try SmallDisk(megabytes: 1)
        let r = try runProgramCapturing(onemapBinary, ["import", "GeoData", "--db", disk.file("s.sqlite")], cwd: repoRoot)
        #expect(r.status == 74 && r.err.contains("is full") && !r.err.contains("USAGE"), "\(r.status) \(r.err)")
        #expect(r.err.split(separator: "\n").filter { $0.hasPrefix("error") }.count == 1, "\(r.err)")
    }

    /// A store the server may not write (as an operator meets it: the file and folder read-only to
    /// the service's account): reads, tiles and routes work, writes are 503 "the store is read-only".
    @Test func aReadOnlyStoreServesReadsAndRefusesWrites() throws {
        try #require(getuid() == 0, "running the server as another account needs root (CI on this machine runs as root)")
        let dir = TempDir("ro")
        let db = dir.file("s.sqlite")
        #expect(try runProgramCapturing(onemapBinary, ["import", "GeoData", "--db", db], cwd: repoRoot).status == 0)
        let token = try runProgramCapturing(onemapBinary, ["user", "add", "e", "--role", "editor", "--db", db], cwd: repoRoot).out.split(separator: "\n").last.map(String.init) ?? ""
        let digest = try Store(path: db).contentDigest()
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) { chmod(dir.file(f), 0o444) }
        chmod(dir.path, 0o555)
        defer { chmod(dir.path, 0o755) }
        let server = try ServedProgram("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", onemapBinary, "serve", "--db", db, "--port", "0"], cwd: "/")
        defer { server.stop() }
        func call(_ path: String, _ method: String = "GET", body: String? = nil) throws -> (Int, String) {
            let r = try runProgramCapturing("/usr/bin/curl", ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer \(token)"] + (body.map { ["--data-binary", $0] } ?? []) + [server.base + path])
            let lines = r.out.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }
        let w = try call("/api/features/shelters", "POST", body: #"{"type":"Feature","id":"sh-ro","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"只读","capacity":5}}"#)
        #expect(w.0 == 503 && w.1.contains("the store is read-only"), "\(w)")
        #expect(try call("/api/features/shelters/sh-001").0 == 200)
        #expect(try call("/tiles/command/12/2992/1453.png").0 == 200)
        #expect(try call("/api/route?from=82.98,46.2&to=82.9,46.25").1.contains("\"reachable\":true"))
        let ready = try call("/readyz")
        #expect(ready.1.contains("\"store\":\"read-only\"") && ready.1.contains("degraded"), "\(ready)")
        chmod(dir.path, 0o755)
        #expect(try Store(path: db).contentDigest() == digest)
    }
}

/// Limits that keep the service answering: a bounded tile-cache file, shedding by waiting time,
/// and connections that cannot be held open by slow clients.
@Suite(.serialized) struct LimitTests {
    @Test func theTileCacheFileStaysWithinItsBudget() async throws {
        let dir = TempDir()
        let budget = 400_000
        let s = try makeServices(dir) { $0.tileCacheBytes = budget }
        let base = try #require(try s.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        // Tiles far outside the data: one metatile of 64 empty tiles, stored once.
        _ = try await s.tiles.tile(style: "command", tile: try TileID(z: 16, x: 100, y: 100), scale: 1)
        await s.tiles.settle()  // the metatile's tiles are stored after the answer
        do {
            let c = try Connection(path: dir.file("onemap.tiles.sqlite"))
            func int(_ sql: String) throws -> Int { if case .int(let n)? = try c.scalar(sql) { Int(n) } else { -1 } }
            let shared = try int("SELECT count(*) FROM shared"), pointing = try int("SELECT count(*) FROM tiles WHERE data IS NULL")
            #expect(shared == 1 && pointing == 64, "an empty metatile is not stored once: \(shared) distinct for \(pointing) tiles")
        }
        var rendered = 0
        for k in 0..<36 {
            let t = TileID.containing(Coord(base.lon - 0.15 + 0.045 * Double(k % 6), base.lat - 0.1 + 0.03 * Double(k / 6)), zoom: 16)
            _ = try await s.tiles.tile(style: "command", tile: try TileID(z: 16, x: t.x, y: t.y), scale: 1)
            await s.tiles.settle()
            rendered += 1
            #expect(s.tiles.cache.dataBytes <= budget, "after \(rendered) metatiles the cache holds \(s.tiles.cache.dataBytes) bytes")
        }
        let c = try Connection(path: dir.file("onemap.tiles.sqlite"))
        func int(_ sql: String) throws -> Int { if case .int(let n)? = try c.scalar(sql) { Int(n) } else { -1 } }
        let shared = try int("SELECT count(*) FROM shared")
        let pointing = try int("SELECT count(*) FROM tiles WHERE data IS NULL")
        #expect(shared < pointing, "small tiles are not stored once: \(shared) distinct for \(pointing) tiles")
        let real = try int("SELECT coalesce(sum(length(data)), 0) FROM tiles")
        #expect(real <= budget, "the file's tiles hold \(real) bytes, over the budget of \(budget)")
        let file = try FileManager.default.attributesOfItem(atPath: dir.file("onemap.tiles.sqlite"))[.size] as? Int ?? 0
        #expect(file < budget * 3 + 1_000_000, "the cache file is \(file) bytes for a budget of \(budget)")
        let wal = (try? FileManager.default.attributesOfItem(atPath: dir.file("onemap.tiles.sqlite-wal"))[.size] as? Int) ?? 0
        #expect(wal <= 2 << 20, "the cache's write-ahead log is \(wal) bytes")
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            try await client.execute(uri: "/metrics", method: .get) { r in
                #expect(String(buffer: r.body).contains("onemap_tile_cache_bytes"))
            }
            try await client.execute(uri: "/readyz", method: .get) { r in
                let j = try? json(r.body)
                #expect(j?["tile_cache"]?["budget_bytes"]?.doubleValue == Double(budget))
            }
        }
    }

    @Test func requestsThatWouldWaitTooLongAre503AtOnce() async throws {
        let dir = TempDir()
        let s = try makeServices(dir) {
            $0.renderThreads = 1
            $0.renderMaxWaitSeconds = 0.3
        }
        let base = try #require(try s.store.feature(in: "shelters", id: "sh-001")).feature.geometry.representativePoint
        let tiles = try (0..<12).map { k -> TileID in
            let t = TileID.containing(Coord(base.lon - 0.2 + 0.045 * Double(k % 6), base.lat + 0.05 - 0.03 * Double(k / 6)), zoom: 16)
            return try TileID(z: 16, x: t.x, y: t.y)
        }
        let service = s.tiles
        let outcomes = await withTaskGroup(of: (ok: Bool, seconds: Double, retryAfter: String?).self) { g in
            for t in tiles {
                g.addTask {
                    let t0 = Date()
                    do {
                        _ = try await service.tile(style: "command", tile: t, scale: 1)
                        return (true, Date().timeIntervalSince(t0), nil)
                    } catch let e as APIError {
                        return (false, Date().timeIntervalSince(t0), e.status == .serviceUnavailable ? e.headers[.retryAfter] : "status \(e.status)")
                    } catch {
                        return (false, Date().timeIntervalSince(t0), "\(error)")
                    }
                }
            }
            var out: [(ok: Bool, seconds: Double, retryAfter: String?)] = []
            for await o in g { out.append(o) }
            return out
        }
        let shed = outcomes.filter { !$0.ok }
        #expect(!shed.isEmpty && outcomes.contains { $0.ok }, "no shedding or nothing rendered: \(outcomes)")
        // A shed request does not wait for renders: it is answered before the slowest admitted
        // render is done. (Its absolute time also includes the cache-file lookup on the shared
        // blocking pool, which the whole test suite running alongside can delay by seconds.)
        let slowestRendered = outcomes.filter(\.ok).map(\.seconds).max() ?? 0
        for o in shed {
            #expect(o.retryAfter.flatMap { Int($0) } != nil, "a shed request lacks Retry-After: \(o)")
            #expect(o.seconds < slowestRendered, "a shed request waited \(o.seconds) s, as long as the renders (\(slowestRendered) s)")
        }
    }

    /// 40 clients sending their headers a byte at a time with the cap at 20 connections: /healthz
    /// keeps answering at once, and the slow connections are closed by the header timeout.
    @Test(arguments: ["head", "body"]) func slowClientsCannotStarveOthers(trickling part: String) async throws {
        let dir = TempDir()
        let s = try makeServices(dir) {
            $0.maxConnections = 20
            $0.headerTimeoutSeconds = 2
            $0.bodyTimeoutSeconds = 2
        }
        let start = part == "head" ? "GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: " : "POST /api/features/shelters HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 1000\\r\\n\\r\\n"
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            let port = try #require(client.port)
            let script = """
                import socket, sys, time, threading
                port = int(sys.argv[1])
                slow, closed_at = [], {}
                t0 = time.time()
                for i in range(40):
                    c = socket.create_connection(("127.0.0.1", port)); c.setblocking(False)
                    c.send(b"\(start)")
                    slow.append(c)
                def trickle():
                    while time.time() - t0 < 8:
                        for i, c in enumerate(slow):
                            if i in closed_at: continue
                            try:
                                c.send(b"a")
                                if c.recv(1) == b"": closed_at[i] = time.time() - t0
                            except BlockingIOError: pass
                            except OSError: closed_at[i] = time.time() - t0
                        time.sleep(0.2)
                th = threading.Thread(target=trickle); th.start()
                lat = []
                for k in range(10):
                    a = time.time()
                    h = socket.create_connection(("127.0.0.1", port)); h.settimeout(5)
                    h.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                    data = b""
                    try:
                        while True:
                            d = h.recv(65536)
                            if not d: break
                            data += d
                    except socket.timeout: pass
                    lat.append((time.time() - a, data.startswith(b"HTTP/1.1 200")))
                    time.sleep(0.3)
                th.join()
                print("healthz_max %.2f ok %d closed %d last_closed %.1f" % (max(l for l, _ in lat), sum(1 for _, ok in lat if ok), len(closed_at), max(closed_at.values() or [99])))
                """
            let r = try await runProgramCapturingDetached("/usr/bin/python3", ["-c", script, String(port)])
            let w = r.out.split(whereSeparator: \.isWhitespace).map(String.init)
            try #require(w.count == 8, "\(r.out) \(r.err)")
            // Unloaded it answers in milliseconds; the bound leaves room for the whole suite running alongside.
            #expect(Double(w[1])! < 3.5, "/healthz took \(w[1]) s behind slow clients")
            #expect(w[3] == "10", "only \(w[3]) of 10 /healthz requests were answered")
            #expect(w[5] == "40", "only \(w[5]) of 40 slow connections were closed")
            #expect(Double(w[7])! < 7, "the last slow connection was closed after \(w[7]) s (header timeout 2 s)")
            #expect(s.connections.evicted.load(ordering: .relaxed) >= 20, "past the cap of 20 no connection made room")
        }
    }

    /// What the HTTP parser refuses (raw UTF-8 or a space in the URL, a broken header line) is
    /// answered 400 with a JSON body saying what is wrong, like every other bad request — not an
    /// empty 400 — and the connection closes; a request pipelined before it is answered first;
    /// the percent-encoded query works.
    @Test func requestsTheParserRefusesGetAJSONError() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        try await buildApplication(services: s, logger: quiet).test(.live) { client in
            let port = try #require(client.port)
            let script = """
                import socket, sys, json
                port = int(sys.argv[1])
                def ask(raw):
                    c = socket.create_connection(("127.0.0.1", port)); c.settimeout(5)
                    c.sendall(raw)
                    data = b""
                    while True:
                        d = c.recv(65536)
                        if not d: break
                        data += d
                    return data
                for raw in [b"GET /api/search?q=\\xe5\\x96\\x80\\xe6\\x8b\\x89 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n",
                            b"GET /api/search?q=a b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n",
                            b"GET /healthz HTTP/1.1\\r\\nHost x\\r\\n\\r\\n"]:
                    d = ask(raw)
                    head, _, body = d.partition(b"\\r\\n\\r\\n")
                    msg = json.loads(body)["error"]["message"] if body else ""
                    print(head.split(b"\\r\\n")[0].decode(), "|", "json" if b"application/json" in head else "nojson", "|", msg.replace("|", "/"))
                d = ask(b"GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /api/search?q=\\xe5 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                print("pipelined", d.count(b"HTTP/1.1 200"), d.count(b"HTTP/1.1 400"), d.startswith(b"HTTP/1.1 200"))
                d = ask(b"GET /api/search?q=%E5%96%80%E6%8B%89 HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
                print("encoded", d.split(b"\\r\\n")[0].decode())
                """
            let r = try await runProgramCapturingDetached("/usr/bin/python3", ["-c", script, String(port)])
            let lines = r.out.split(separator: "\n").map(String.init)
            try #require(lines.count == 5, "\(r.out) \(r.err)")
            for l in lines.prefix(3) {
                let parts = l.components(separatedBy: " | ")
                #expect(parts.count == 3 && parts[0] == "HTTP/1.1 400 Bad Request" && parts[1] == "json", "\(l)")
                #expect(parts.count == 3 && parts[2].contains("percent-encoded"), "\(l)")
            }
            #expect(lines[3].hasPrefix("pipelined 1 1 True"), "\(lines[3])")
            #expect(lines[4] == "encoded HTTP/1.1 200 OK", "\(lines[4])")
        }
    }
}
