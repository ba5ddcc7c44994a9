import Foundation
import OneMapCore

/// Where onemap finds what it ships beside the program — `Styles/`, `Web/` and `GeoData/` —
/// so that it runs from any folder. The first of these that holds `Styles/` wins:
/// 1. `$ONEMAP_HOME`;
/// 2. the install prefix, `<prefix>/share/onemap` for `<prefix>/bin/onemap` (`make install`);
/// 3. the executable's folder or one above it (a build tree: `.build/release/onemap` finds the
///    checkout);
/// 4. the working directory.
/// `ONEMAP_STYLES` and `ONEMAP_WEB` still point at one folder each.
enum Paths {
    /// The folder found, or nil with the places looked at.
    static let home: Result<String, CLIError> = locate()

    private static func locate() -> Result<String, CLIError> {
        let fm = FileManager.default
        let env = ProcessInfo.processInfo.environment
        func holdsStyles(_ dir: String) -> Bool {
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: (dir as NSString).appendingPathComponent("Styles"), isDirectory: &isDir) && isDir.boolValue
        }
        if let h = env["ONEMAP_HOME"], !h.isEmpty {
            return holdsStyles(h) ? .success(h)
                : .failure(CLIError(.notFound, "ONEMAP_HOME is \(h), but there is no Styles folder in it; point it at the folder that holds Styles/, Web/ and GeoData/"))
        }
        var looked: [String] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let bin = (exe as NSString).deletingLastPathComponent
            let share = ((bin as NSString).deletingLastPathComponent as NSString).appendingPathComponent("share/onemap")
            var candidates = [share, bin]
            var up = bin
            for _ in 0..<3 {
                up = (up as NSString).deletingLastPathComponent
                candidates.append(up)
            }
            for c in candidates where !looked.contains(c) {
                if holdsStyles(c) { return .success(c) }
                looked.append(c)
            }
        }
        let cwd = fm.currentDirectoryPath
        if holdsStyles(cwd) { return .success(cwd) }
        if !looked.contains(cwd) { looked.append(cwd) }
        return .failure(CLIError(.notFound, "onemap cannot find its Styles folder (looked in \(looked.joined(separator: ", "))); install it with make install, or set ONEMAP_HOME to the folder that holds Styles/, Web/ and GeoData/"))
    }

    /// A shipped folder: `$env` if set, else `<home>/<name>`; one sentence naming it when missing.
    static func folder(_ name: String, env: String? = nil) throws -> String {
        let path: String
        if let env, let p = ProcessInfo.processInfo.environment[env], !p.isEmpty {
            path = p
        } else {
            path = (try home.get() as NSString).appendingPathComponent(name)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError(.notFound, "onemap's \(name) folder is missing: there is no folder \(path)\(env.map { " (set \($0) or ONEMAP_HOME to another)" } ?? " (set ONEMAP_HOME to the folder that holds it)")")
        }
        return path
    }

    /// The map styles (and the routing profile).
    static func styles() throws -> String { try folder("Styles", env: "ONEMAP_STYLES") }
    /// The web map.
    static func web() throws -> String { try folder("Web", env: "ONEMAP_WEB") }
    /// The demonstration data.
    static func geoData() throws -> String { try folder("GeoData") }
}

/// The default store: the demonstration data imported on first use. `$ONEMAP_DB`, else
/// `var/onemap.sqlite` in the checkout the program was built in (or the working directory when
/// that is where the shipped data is), else the user's data folder (`$XDG_DATA_HOME/onemap`, by
/// default `~/.local/share/onemap`) for an installed program.
enum Defaults {
    static let database: String = {
        let env = ProcessInfo.processInfo.environment
        if let db = env["ONEMAP_DB"], !db.isEmpty { return db }
        if let home = try? Paths.home.get() {
            if home == FileManager.default.currentDirectoryPath { return "var/onemap.sqlite" }
            if FileManager.default.fileExists(atPath: (home as NSString).appendingPathComponent("Package.swift")) {
                return (home as NSString).appendingPathComponent("var/onemap.sqlite")
            }
        }
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let data = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (home as NSString).appendingPathComponent(".local/share")
        return (data as NSString).appendingPathComponent("onemap/onemap.sqlite")
    }()
}
