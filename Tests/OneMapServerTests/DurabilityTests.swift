import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapServer
@testable import OneMapStore

/// The onemap executable built next to the test bundle.
let onemapBinary: String = {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for dir in [here, here.deletingLastPathComponent(), URL(fileURLWithPath: repoRoot + "/.build/debug")] {
        let p = dir.appendingPathComponent("onemap").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return repoRoot + "/.build/debug/onemap"
}()

@discardableResult
func sh(_ exe: String, _ args: [String], cwd: String = repoRoot) throws -> (status: Int32, out: String) { try runProgram(exe, args, cwd: cwd) }

/// Acknowledged writes, shared between the writer thread and the test.
final class Acks: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [Int] = []
    private var tried = 0
    func ack(_ i: Int) { lock.withLock { ids.append(i) } }
    func attempt() { lock.withLock { tried += 1 } }
    var acknowledged: [Int] { lock.withLock { ids } }
    var attempts: Int { lock.withLock { tried } }
}

@Suite(.serialized) struct DurabilityTests {
    /// SIGKILL the server in the middle of a stream of writes and the CLI in the middle of an
    /// import: afterwards the file passes integrity_check, every acknowledged write is there and no
    /// write is there by halves.
    @Test(.timeLimit(.minutes(5))) func killedMidWriteAndMidImportLosesNothingAcknowledged() async throws {
        let dir = TempDir()
        let db = dir.path + "/d.sqlite"
        #expect(try sh(onemapBinary, ["import", "GeoData", "--db", db]).status == 0)
        let token = try sh(onemapBinary, ["user", "add", "writer", "--role", "editor", "--db", db]).out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(token.hasPrefix("om_"))
        let port = Int.random(in: 20000...40000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: onemapBinary)
        server.arguments = ["serve", "--db", db, "--port", String(port)]
        server.currentDirectoryURL = URL(fileURLWithPath: repoRoot)
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        var up = false
        for _ in 0..<100 where !up {
            up = (try? sh("/usr/bin/curl", ["-sf", "http://127.0.0.1:\(port)/healthz"]).status) == 0
            if !up { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(up, "the server did not start")
        // The writer: each request creates two shelters in one transaction.
        let acks = Acks()
        let writer = Thread {
            var i = 0
            while true {
                let fc = #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"dur-\#(i)-a","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"name":"a\#(i)","capacity":10}},{"type":"Feature","id":"dur-\#(i)-b","geometry":{"type":"Point","coordinates":[82.91,46.21]},"properties":{"name":"b\#(i)","capacity":10}}]}"#
                acks.attempt()
                guard let r = try? sh("/usr/bin/curl", ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "Authorization: Bearer \(token)",
                                                         "--data-binary", fc, "http://127.0.0.1:\(port)/api/features/shelters"]) else { break }
                if r.out == "201" { acks.ack(i) } else if r.out == "000" { break }
                i += 1
            }
        }
        writer.start()
        try await Task.sleep(for: .milliseconds(1500))
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        while writer.isExecuting { try await Task.sleep(for: .milliseconds(50)) }
        let acknowledged = acks.acknowledged
        #expect(acknowledged.count >= 5, "too few writes before the kill to test anything")

        // Kill an import in the middle: 40,000 new road segments in one transaction.
        _ = try sh("/usr/bin/python3", ["scripts/generate_demo_data.py", "--bench-features", "40000", "--out", dir.path + "/big"])
        let big = try String(contentsOfFile: dir.path + "/big/roads.geojson", encoding: .utf8).replacingOccurrences(of: "\"road-", with: "\"roadX-")
        try big.write(toFile: dir.path + "/big/roads.geojson", atomically: true, encoding: .utf8)
        let importer = Process()
        importer.executableURL = URL(fileURLWithPath: onemapBinary)
        importer.arguments = ["import", dir.path + "/big/roads.geojson", "--db", db]
        importer.standardOutput = FileHandle.nullDevice
        importer.standardError = FileHandle.nullDevice
        try importer.run()
        try await Task.sleep(for: .milliseconds(1200))
        let killedMidImport = importer.isRunning
        kill(importer.processIdentifier, SIGKILL)
        importer.waitUntilExit()

        let store = try Store(path: db)
        #expect(try store.read { c in try c.scalar("PRAGMA integrity_check") } == .text("ok"))
        let ids = Set(try store.allFeatures(of: "shelters").map(\.id))
        for i in acknowledged { #expect(ids.contains("dur-\(i)-a") && ids.contains("dur-\(i)-b"), "acknowledged write \(i) is missing") }
        for i in 0..<acks.attempts { #expect(ids.contains("dur-\(i)-a") == ids.contains("dur-\(i)-b"), "write \(i) is there by halves") }
        let roadX = try store.read { c in try c.scalar("SELECT count(*) FROM roads WHERE id LIKE 'roadX-%'") }
        #expect(roadX == .int(0) || roadX == .int(40000), "a killed import left \(String(describing: roadX)) of 40000 roads")
        print("durability: \(acks.attempts) write requests, \(acknowledged.count) acknowledged, server killed with SIGKILL; import killed mid-way: \(killedMidImport), roads from it: \(String(describing: roadX))")
    }
}

@Suite(.serialized) struct FuzzTests {
    /// Random mutations of real GeoJSON through the parser, the validator and a write: nothing
    /// crashes, and every refused input leaves the store exactly as it was.
    @Test func geoJSONFuzz() throws {
        let dir = TempDir()
        let store = try Store(path: dir.path + "/f.sqlite")
        try FileManager.default.createDirectory(atPath: dir.path + "/base", withIntermediateDirectories: true)
        for l in ["townships", "villages"] { try FileManager.default.copyItem(atPath: repoRoot + "/GeoData/\(l).geojson", toPath: dir.path + "/base/\(l).geojson") }
        _ = try store.importGeoJSON(at: dir.path + "/base")
        var seeds: [(String, String)] = []
        for l in ["shelters", "hazard_zones", "road_risks", "warehouses", "info_officers"] {
            let lines = try String(contentsOfFile: repoRoot + "/GeoData/\(l).geojson", encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"Feature\"") }
            for line in lines.prefix(6) { seeds.append((l, String(line.hasSuffix(",") ? line.dropLast() : line[...]))) }
        }
        // Deterministic by default; ONEMAP_FUZZ_SEED=… explores other inputs.
        var seed = UInt64(ProcessInfo.processInfo.environment["ONEMAP_FUZZ_SEED"] ?? "") ?? 2026
        func next(_ n: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(max(1, n)))
        }
        let junk: [[UInt8]] = ["NaN", "1e999", "-", "\"", "{", "}", "[", "]", ",", ":", "null", "\\u0000", "\u{FFFF}", "9999999999999999999999", "\"type\"", "[[[]]]", "true"].map { Array($0.utf8) }
        var accepted = 0, refused = 0
        var digest = try store.contentDigest()
        let n = 4000
        for k in 0..<n {
            let (layer, text) = seeds[next(seeds.count)]
            var b = Array(text.utf8)
            for _ in 0...next(4) {
                guard !b.isEmpty else { break }
                let at = next(b.count)
                switch next(5) {
                case 0: b[at] = UInt8(next(256))
                case 1: b.removeSubrange(at..<min(b.count, at + 1 + next(12)))
                case 2: b.insert(contentsOf: junk[next(junk.count)], at: at)
                case 3: b.insert(contentsOf: b[at..<min(b.count, at + next(20))], at: next(b.count))
                default: if let c = b.firstIndex(where: { $0 >= 0x30 && $0 <= 0x39 }) { b.insert(contentsOf: Array("00000000000".utf8), at: c) }
                }
            }
            let mutated = String(decoding: b, as: UTF8.self).replacingOccurrences(of: "\"id\":\"", with: "\"id\":\"fz\(k)-")
            do {
                _ = try store.create(layer: layer, geojson: mutated, actor: "fuzz")
                accepted += 1
                digest = try store.contentDigest()
            } catch is ImportFailure {
                refused += 1
            } catch let e as StoreError {
                refused += 1
                #expect(e.category != .internal, "database error on \(mutated): \(e)")
            }
            if k % 200 == 0 || k == n - 1 { #expect(try store.contentDigest() == digest, "a refused input changed the store") }
        }
        #expect(try store.read { c in try c.scalar("PRAGMA integrity_check") } == .text("ok"))
        print("fuzz (GeoJSON): \(n) inputs, \(accepted) accepted as valid features, \(refused) refused, 0 crashes, store unchanged by every refusal")
    }

    /// Random requests at a live server: no 5xx, every error JSON, the store unchanged by refusals.
    @Test func httpFuzz() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor = try s.store.addUser(name: "fz", role: .editor).token
        let before = try s.store.contentDigest()
        let app = buildApplication(services: s, logger: quiet)
        var rng = SeededRandom(seed: UInt64(ProcessInfo.processInfo.environment["ONEMAP_FUZZ_SEED"] ?? "") ?? 2026)
        let paths = ["/api/features/{l}", "/api/features/{l}/{x}", "/api/nearest?lon={n}&lat={n}&k={n}&kind={x}", "/api/route?from={n},{n}&to={x}",
                     "/tiles/{x}/{n}/{n}/{n}.png", "/tiles/command/{n}/{n}/{x}", "/api/search?q={x}", "/api/coverage?minutes={n}&kind={x}",
                     "/api/features/{l}?bbox={n},{n},{n},{n}&limit={n}&offset={n}", "/print/village/{x}.pdf", "/api/road_risks/{x}/status",
                     "/api/warehouses/{x}/stock", "/api/audit?since={n}&limit={n}", "/{x}", "/web/{x}", "/vendor/leaflet/{x}"]
        let layers = ["shelters", "roads", "villages", "lakes", "../etc", "%00", "hazard_zones", ""]
        let words = ["", "a", "..", "%2e%2e", "新地", "%ZZ", "-1", "1e309", "NaN", "'; DROP TABLE roads; --", String(repeating: "x", count: 300), "rr-001", "wh-001", "%E6%96%B0"]
        let nums = ["0", "-1", "82.98", "46.2", "999999999", "1e308", "-0", "abc", "", "3.5", "22", "23"]
        let bodies = ["", "{", "null", "[]", "{\"type\":\"Feature\"}", shelterAtSeat, String(shelterAtSeat.dropLast(9)), "{\"status\":\"closed\"}", "{\"item\":\"帐篷\",\"delta\":\"x\"}", "{\"properties\":{\"capacity\":-5}}"]
        func fill(_ t: String) -> String {
            var out = t
            while let r = out.range(of: "{l}") { out.replaceSubrange(r, with: layers.randomElement(using: &rng)!) }
            while let r = out.range(of: "{x}") { out.replaceSubrange(r, with: words.randomElement(using: &rng)!) }
            while let r = out.range(of: "{n}") { out.replaceSubrange(r, with: nums.randomElement(using: &rng)!) }
            // Non-ASCII and unsafe bytes percent-encoded; stray '%' sequences left as they are (servers must cope).
            return out.utf8.map { b in b > 0x20 && b < 0x7f && b != 0x27 && b != 0x22 ? String(UnicodeScalar(b)) : String(format: "%%%02X", b) }.joined()
        }
        let n = 1500
        var requests: [(HTTPRequest.Method, String, HTTPFields, String)] = []
        for _ in 0..<n {
            let method: HTTPRequest.Method = [.get, .get, .get, .post, .put, .patch, .delete].randomElement(using: &rng)!
            requests.append((method, fill(paths.randomElement(using: &rng)!), Bool.random(using: &rng) ? bearer(editor) : [:], bodies.randomElement(using: &rng)!))
        }
        let tally = Tally()
        let planned = requests
        try await app.test(.live) { client in
            for (method, uri, headers, b) in planned {
                try await client.execute(uri: uri, method: method, headers: headers, body: method == .get ? nil : body(b)) { r in
                    tally.add(r.status.code, write: method != .get && r.status.code < 300)
                    #expect(r.status.code < 500, "\(method) \(uri) → \(r.status): \(String(buffer: r.body))")
                    if r.status.code >= 400 { _ = errorMessage(r.body) }
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { r in #expect(r.status == .ok) }
        }
        let (counts, writesAccepted) = tally.result
        if writesAccepted == 0 { #expect(try s.store.contentDigest() == before) }
        print("fuzz (HTTP): \(n) random requests, statuses \(counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")), \(writesAccepted) writes accepted, no 5xx")
    }
}

/// Response statuses seen by the HTTP fuzz.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int: Int] = [:]
    private var writes = 0
    func add(_ code: Int, write: Bool) { lock.withLock { counts[code, default: 0] += 1; if write { writes += 1 } } }
    var result: ([Int: Int], Int) { lock.withLock { (counts, writes) } }
}

