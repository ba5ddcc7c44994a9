import Foundation
import OneMapTestSupport
import Testing

@testable import OneMapCore
@testable import OneMapStore

/// The command line as a user meets it: bad input is one sentence on stderr and a non-zero exit,
/// and a refused import leaves the store as it was.
@Suite(.serialized) struct CLITests {
    @Test func badInputIsASentenceAndANonZeroExit() throws {
        let dir = TempDir("cli")
        let db = dir.file("c.sqlite")
        #expect(try runProgramCapturing(onemapBinary, ["import", "GeoData", "--db", db], cwd: repoRoot).status == 0)
        let digest = try Store(path: db).contentDigest()
        try #"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[182,46]},"properties":{"name":"a","capacity":1}}]}"#
            .write(toFile: dir.file("shelters.geojson"), atomically: true, encoding: .utf8)
        for (args, words) in [
            (["import", dir.file("shelters.geojson")], "outside the world"),
            (["render", "--tile", "12/99999/1", "-o", dir.file("t.png")], "x 99999 is outside 0…4095 at zoom 12"),
            (["features", "roads", "--bbox", "1,2,3"], "--bbox must be"),
            (["nearest", "--at", "200,46"], "--at must be lon,lat"),
            (["nearest", "--at", "10,10"], "no usable road within 2000 m"),
            (["print", "village", "新地北"], "did you mean: 新地北村"),
            (["seed", "--zooms", "30"], "--zooms must be"),
            (["render", "--style", "nope", "--tile", "1/0/0", "-o", dir.file("t.png")], "unknown style \"nope\""),
            (["user", "add", "x", "--role", "boss"], "--role must be viewer, editor or admin"),
            (["restore", dir.file("missing.sqlite")], "no such backup file"),
            (["route", "--from", "82.98,46.2", "--to", "82.55,45.98", "--max-snap=-5"], "snapping limit must be more than 0"),
        ] {
            let r = try runProgramCapturing(onemapBinary, args + ["--db", db], cwd: repoRoot)
            #expect(r.status != 0, "\(args) exited 0")
            #expect(r.err.contains("error:") && r.err.contains(words), "\(args): \(r.err)")
            #expect(r.err.split(separator: "\n").count == 1 || args[0] == "import", "\(args): more than one sentence: \(r.err)")
        }
        // Exit codes follow the error's category (sysexits): 65 bad input, 66 not found.
        for (args, code) in [
            (["render", "--tile", "12/99999/1", "-o", dir.file("t.png")], Int32(65)),
            (["render", "--style", "nope", "--tile", "1/0/0", "-o", dir.file("t.png")], 66),
            (["print", "village", "新地北"], 66),
            (["features", "lakes", "--bbox", "82,46,83,47"], 66),
            (["nearest", "--at", "10,10"], 65),
            (["import", dir.file("shelters.geojson")], 65),
            (["import", dir.file("no-such-file.geojson")], 66),
            (["render", "--tile", "12/2991/1455", "-o", "/no/such/folder/t.png"], 66),
        ] {
            let r = try runProgramCapturing(onemapBinary, args + ["--db", db], cwd: repoRoot)
            #expect(r.status == code, "\(args): exit \(r.status), want \(code): \(r.err)")
            #expect(!r.err.contains("NSCocoaErrorDomain") && !r.err.contains("Fatal error"), "\(args): \(r.err)")
        }
        // A --db in a folder that does not exist is refused, not created as an empty map.
        let typo = try runProgramCapturing(onemapBinary, ["info", "--db", dir.file("no-such-folder/x.sqlite")], cwd: repoRoot)
        #expect(typo.status == 66 && typo.err.contains("there is no folder"), "\(typo.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("no-such-folder")))
        #expect(try Store(path: db).contentDigest() == digest, "a refused command changed the store")
    }

    /// The county's own files from the command line: a folder with the worked-example mapping, the
    /// notes on what was guessed, --inspect, and the refusals as sentences with exit 65.
    @Test func importsTheCountysFilesWithAMapping() throws {
        let dir = TempDir("cli-county")
        let sample = dir.file("county")
        #expect(try runProgramCapturing("/bin/bash", [repoRoot + "/scripts/county-sample", sample]).status == 0)
        let db = dir.file("c.sqlite")
        let ok = try runProgramCapturing(onemapBinary, ["import", sample, "--mapping", "GeoData/mappings/yumin-county.json", "--db", db], cwd: repoRoot)
        #expect(ok.status == 0 && ok.out.contains("imported 2961 features"), "\(ok.out) \(ok.err)")
        #expect(ok.err.contains("note: 道路.shp: text is not UTF-8") && ok.err.contains("villages.center is not in the source"), "\(ok.err)")

        let inspected = try runProgramCapturing(onemapBinary, ["import", sample + "/道路.shp", "--inspect"], cwd: repoRoot)
        #expect(inspected.status == 0 && inspected.out.contains("EPSG:4537") && inspected.out.contains("\"国道\":\"national\""), "\(inspected.out)")

        let empty = dir.file("e.sqlite")
        let unmapped = try runProgramCapturing(onemapBinary, ["import", sample + "/道路.shp", "--db", empty], cwd: repoRoot)
        #expect(unmapped.status == 65 && unmapped.err.contains("cannot tell which onemap layer 道路.shp is") && unmapped.err.contains("--inspect"), "\(unmapped.err)")
        #expect(unmapped.err.split(separator: "\n").count == 1, "\(unmapped.err)")

        try FileManager.default.removeItem(atPath: sample + "/道路.prj")
        let noCRS = try runProgramCapturing(onemapBinary, ["import", sample + "/道路.shp", "--layer", "roads", "--db", empty], cwd: repoRoot)
        #expect(noCRS.status == 65 && noCRS.err.contains("no coordinate reference system") && noCRS.err.contains("--crs EPSG:4537"), "\(noCRS.err)")
        #expect(noCRS.err.split(separator: "\n").count == 1, "\(noCRS.err)")
        #expect(try Store(path: empty).contentDigest() == (try Store(path: dir.file("fresh.sqlite")).contentDigest()), "a refused import changed the store")
    }

    @Test func importInfoExportAndBackupWork() throws {
        let dir = TempDir("cli")
        let db = dir.file("c.sqlite")
        let imported = try runProgramCapturing(onemapBinary, ["import", "GeoData", "--db", db], cwd: repoRoot)
        #expect(imported.out.contains("imported 3779 features"))
        let info = try runProgramCapturing(onemapBinary, ["info", "--json", "--db", db], cwd: repoRoot)
        let j = try JSONParser.parse(info.out)
        #expect(j["schema_version"]?.intValue == Store.schemaVersion)
        #expect(j["layers"]?.arrayValue?.first { $0["name"] == "roads" }?["count"]?.intValue == 2807)
        #expect(try runProgramCapturing(onemapBinary, ["export", "-o", dir.file("out"), "--db", db], cwd: repoRoot).status == 0)
        let exported = try JSONParser.parse(try String(contentsOfFile: dir.file("out/villages.geojson"), encoding: .utf8))
        #expect(exported["features"]?.arrayValue?.count == 65)
        #expect(try runProgramCapturing(onemapBinary, ["backup", "-o", dir.file("b.sqlite"), "--db", db], cwd: repoRoot).status == 0)
        #expect(try Store(path: dir.file("b.sqlite")).contentDigest() == Store(path: db).contentDigest())
    }

    /// `onemap check roads` names a 0.5 m gap in a county file, as text, JSON and a map, and
    /// `import` says that there are problems.
    @Test func checkRoadsNamesAHalfMetreGap() throws {
        let dir = TempDir("cli")
        let db = dir.file("c.sqlite")
        let half = 0.5 / 111_200.0
        try """
            {"type":"FeatureCollection","features":[
            {"type":"Feature","id":"main","geometry":{"type":"LineString","coordinates":[[82.90,46.00],[82.92,46.00]]},"properties":{"class":"county"}},
            {"type":"Feature","id":"spur","geometry":{"type":"LineString","coordinates":[[82.91,46.01],[82.91,\(46.0 + half)]]},"properties":{"class":"village"}}]}
            """.write(toFile: dir.file("roads.geojson"), atomically: true, encoding: .utf8)
        let imported = try runProgramCapturing(onemapBinary, ["import", dir.file("roads.geojson"), "--db", db], cwd: repoRoot)
        #expect(imported.status == 0 && imported.out.contains("1 dangling_end_near_road"), "\(imported.out)")
        let text = try runProgramCapturing(onemapBinary, ["check", "roads", "--db", db, "--png", dir.file("p.png")], cwd: repoRoot)
        #expect(text.status == 0)
        #expect(text.out.contains("road spur ends 0.50 m from road main"), "\(text.out)")
        #expect(PNGPixels(file: dir.file("p.png")).width == 1400)
        let json = try JSONParser.parse(try runProgramCapturing(onemapBinary, ["check", "roads", "--json", "--db", db], cwd: repoRoot).out)
        let gap = json["problems"]?.arrayValue?.first { $0["kind"] == "dangling_end_near_road" }
        #expect(gap?["roads"] == ["spur", "main"] && gap?["metres"]?.doubleValue == 0.5)
        #expect(json["networks"]?.arrayValue?.count == 2)
    }

    /// `make install` into a prefix, then the installed program runs from another folder: it finds
    /// Styles, Web and GeoData under <prefix>/share/onemap, seeds its store and serves the map.
    @Test func runsFromAnyFolderAfterMakeInstall() throws {
        let dir = TempDir("install")
        let prefix = dir.file("prefix")
        let make = try runProgramCapturing("/usr/bin/make", ["-s", "-o", "build", "install", "PREFIX=\(prefix)", "BIN=\(onemapBinary)"], cwd: repoRoot)
        #expect(make.status == 0, "\(make.err)")
        for f in ["bin/onemap", "share/onemap/Styles/command.json", "share/onemap/Web/index.html", "share/onemap/GeoData/villages.geojson"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + f), "\(f) not installed")
        }
        let elsewhere = dir.file("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let installed = prefix + "/bin/onemap"
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = dir.file("home")
        for k in ["ONEMAP_DB", "ONEMAP_HOME", "ONEMAP_STYLES", "ONEMAP_WEB", "XDG_DATA_HOME"] { env[k] = nil }

        // The default store of an installed program is the user's data folder, not the working directory.
        let help = try runProgramCapturing(installed, ["serve", "--help"], cwd: elsewhere, env: env)
        let words = help.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains(dir.file("home") + "/.local/share/onemap/onemap.sqlite"), "\(help.out)")

        // Served from another folder, with the store seeded from the installed demonstration data.
        env["ONEMAP_DB"] = dir.file("data/onemap.sqlite")
        let server = try ServedProgram(installed, ["serve", "--port", "0"], cwd: elsewhere, env: env)
        defer { server.stop() }
        let base = server.base
        for (path, type) in [("/", "text/html"), ("/web/app.js", "javascript"), ("/tiles/command/12/2992/1453.png", "image/png"), ("/api/features/villages?limit=1", "geo+json")] {
            let r = try runProgramCapturing("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{content_type}", base + path])
            #expect(r.out.hasPrefix("200") && r.out.contains(type), "\(path): \(r.out)")
        }

        // A mistyped --db folder: refused, not served as an empty map.
        let typo = try runProgramCapturing(installed, ["serve", "--db", dir.file("no/such/folder/s.sqlite"), "--port", "0"], cwd: elsewhere, env: env)
        #expect(typo.status == 66 && typo.err.contains("there is no folder") && !FileManager.default.fileExists(atPath: dir.file("no")), "\(typo.err)")

        // ONEMAP_HOME pointing nowhere: one sentence naming it, no usage text, a non-zero exit.
        env["ONEMAP_HOME"] = dir.file("nowhere")
        let bad = try runProgramCapturing(installed, ["serve", "--port", "0"], cwd: elsewhere, env: env)
        #expect(bad.status != 0)
        #expect(bad.err.contains("ONEMAP_HOME") && bad.err.contains(dir.file("nowhere")), "\(bad.err)")
        #expect(!bad.err.contains("USAGE"))
        // A lone copy of the program, with nothing beside it: says what it looked for.
        let lone = dir.file("lone/onemap")
        try FileManager.default.createDirectory(atPath: dir.file("lone"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: installed, toPath: lone)
        env["ONEMAP_HOME"] = nil
        let alone = try runProgramCapturing(lone, ["render", "--tile", "12/2992/1453", "-o", dir.file("t.png"), "--db", dir.file("data/onemap.sqlite")], cwd: elsewhere, env: env)
        #expect(alone.status != 0)
        #expect(alone.err.contains("cannot find its Styles folder") && alone.err.contains("ONEMAP_HOME"), "\(alone.err)")
    }
}

/// `onemap serve --port 0` as a child process, until `stop`: `base` is the URL it printed.
final class ServedProgram {
    let process = Process()
    let base: String

    init(_ exe: String, _ args: [String], cwd: String, env: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        if let env { process.environment = env }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        var base = ""
        let deadline = Date().addingTimeInterval(120)
        while base.isEmpty, Date() < deadline, process.isRunning {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            seen += String(decoding: d, as: UTF8.self)
            if let r = seen.range(of: #"http://127\.0\.0\.1:\d+/"#, options: .regularExpression) { base = String(seen[r].dropLast()) }
        }
        self.base = base
        if base.isEmpty {
            stop()
            throw CLIStartFailure(output: seen)
        }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

struct CLIStartFailure: Error, CustomStringConvertible {
    let output: String
    var description: String { "the server did not start: \(output)" }
}
