import ArgumentParser
import Foundation
import OneMapCore
import OneMapRouting
import OneMapStore
import OneMapImport

struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The SpatiaLite store (default: the embedded one; `import` creates a missing store, other commands refuse one).")
    var db: String = Defaults.database

    /// Opens the store. A named store that does not exist is refused (a mistyped `--db` must not
    /// answer from a new empty map) unless `create` (import), which says it made one. The
    /// embedded default store is created where it belongs.
    func open(create: Bool = false) throws -> Store {
        let dir = (db as NSString).deletingLastPathComponent
        var isDir: ObjCBool = false
        if db == Defaults.database {
            if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        } else if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
            throw CLIError(.notFound, "there is no folder \(dir) for the store \(db); create it first (a typo in --db would otherwise start an empty map)")
        } else if !FileManager.default.fileExists(atPath: db) {
            guard create else {
                throw CLIError(.notFound, "there is no store at \(db); check the path, or make one with: onemap import <data> --db \(db)")
            }
        } else if !create, let why = emptyStoreProblem(db) {
            throw CLIError(.unavailable, why)
        }
        let existed = FileManager.default.fileExists(atPath: db)
        do { return try Store(path: db) } catch {
            // A store this call created and could not finish (a full disk) is not left behind.
            if !existed { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) } }
            throw error
        }
    }
}

/// Why a file named as a store is no store: 0 bytes (what a write that failed on a full disk
/// leaves) would otherwise be turned into a new empty store by any command that opens it.
func emptyStoreProblem(_ db: String) -> String? {
    let size = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? nil
    guard size == 0 else { return nil }
    return "\(db) is empty (0 bytes), not an onemap store — a write that failed may have left it; remove it, or make a store there with: onemap import <data> --db \(db)"
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import data — all or nothing: onemap's GeoJSON, or any GDAL vector format (Shapefile, GeoPackage, FileGDB, KML/KMZ, GPX, CSV, OpenStreetMap PBF/XML) through a mapping.",
        discussion: """
        A folder imports every data file in it; a .gdb folder is one FileGDB. GeoJSON in onemap's own schema \
        (<layer>.geojson) takes the fast path. Other files need to say which onemap layer they are: by their \
        name (shelters.shp), with --layer, or with a --mapping file (see GeoData/mappings/ and the README). \
        OpenStreetMap files are mapped by onemap's built-in table. --inspect shows what a file holds and \
        suggests a mapping.
        """)
    @Argument(help: "A file, a .gdb folder, or a folder of files.") var path: String
    @OptionGroup var store: StoreOptions
    @Option(help: "The onemap layer to write when the file's name does not say it (e.g. roads).") var layer: String?
    @Option(help: "Only this layer of the source (a GeoPackage table, a FileGDB feature class…).") var sourceLayer: String?
    @Option(help: "A mapping file (JSON): which source fields become which onemap properties, and how values translate.") var mapping: String?
    @Option(help: "The text encoding of a Shapefile's .dbf or a CSV, overriding its .cpg (e.g. GBK, UTF-8). Without it and without a .cpg, UTF-8 is tried, then GB18030.")
    var encoding: String?
    @Option(help: "The input's coordinate reference system, overriding the file's .prj, e.g. EPSG:4537 (CGCS2000 3-degree Gauss–Krüger CM 84°E) or EPSG:4490 (CGCS2000 lon/lat).")
    var crs: String?
    @Flag(help: "Accept features far (over 5°, some 500 km) from the data already in the store; without it they are refused as a likely wrong CRS or swapped lon/lat.")
    var anywhere = false
    @Flag(help: "Show the source's layers, fields with sample values, CRS, encoding and a suggested mapping; import nothing.") var inspect = false
    @Flag(help: "With --inspect: print JSON.") var json = false
    @Option(help: "How many problems to print.") var maxErrors = 50
    @Flag(inversion: .prefixedNo, help: "After importing roads, summarise the road network (networks, crossings without a junction, one-way traps). Skipped by itself above 300,000 roads: `onemap check roads` runs it.")
    var checkRoads = true

    func run() throws { try reportingErrors(execute) }

    func options() throws -> SourceImportOptions {
        SourceImportOptions(layer: layer, sourceLayer: sourceLayer, mappings: try mapping.map { try LayerMapping.load($0) } ?? [], encoding: encoding, crs: crs, anywhere: anywhere)
    }

    func execute() throws {
        let opts = try options()
        if inspect { return try describe(opts) }
        if let layer { _ = try Layers.spec(layer) }
        let existed = store.db == Defaults.database || (FileManager.default.fileExists(atPath: store.db) && emptyStoreProblem(store.db) == nil)
        let s = try store.open(create: true)
        // A refused import into a store it created leaves no empty store behind.
        var done = false
        defer {
            if !done && !existed {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store.db + suffix) }
            }
        }
        let bar = ProgressBar("import")
        let t0 = Date()
        let actor = "cli:\(NSUserName())"
        var notes: [String] = []
        do {
            let r: ImportReport
            if SourceImport.isNativeGeoJSON(path, options: opts) {
                r = try s.importGeoJSON(at: path, actor: actor, crs: crs, layer: layer, anywhere: anywhere) { phase, done, total in bar.update(done, total, phase.rawValue) }
            } else {
                r = try SourceImport.run(path: path, store: s, options: opts, actor: actor,
                                         progress: { done, total in bar.update(done, total, "features") }, notice: { notes.append($0) })
            }
            bar.finish()
            for n in notes { printError("note: \(n)") }
            print(table(["layer", "features"], r.counts.map { [$0.layer, String($0.features)] }))
            print(String(format: "imported %d features into %@%@ in %.2f s", r.total, store.db, existed ? "" : " (a new store)", Date().timeIntervalSince(t0)))
            let roads = r.counts.first { $0.layer == "roads" }?.features ?? 0
            if roads > 300_000 && checkRoads {
                print("roads: \(roads) imported; the network summary is skipped at this size (it holds every road in memory) — `onemap check roads` gives it")
            } else if roads > 0 && checkRoads {
                let report = RoadTopology.check(RoadTopology.roads(try s.allFeatures(of: "roads")), profile: (try? loadProfile(nil)) ?? .emergency)
                print(report.summary + (report.problems.isEmpty ? "" : " — `onemap check roads` lists them"))
            }
            done = true
        } catch let f as ImportFailure {
            bar.finish()
            for n in notes { printError("note: \(n)") }
            for p in f.problems.prefix(maxErrors) { printError("error: \(p)") }
            if f.total > maxErrors { printError("… and \(f.total - maxErrors) more") }
            printError("import refused: \(f.total) problem\(f.total == 1 ? "" : "s"); the store was not changed.")
            throw ExitCode(f.category.exitCode)
        }
    }

    func describe(_ opts: SourceImportOptions) throws {
        let found = try SourceImport.inspect(path: path, options: opts)
        if json {
            print(JSONWriter.string(.array(found.map(\.json)), pretty: true))
            return
        }
        for d in found {
            print("\(d.file) (\(d.driver))")
            for l in d.layers {
                print("  layer \(l.name): \(l.featureCount < 0 ? "an unknown number of" : String(l.featureCount)) \(l.geometryType) features")
                print("    CRS: \(l.crs)")
                print("    text encoding: \(l.encoding)")
                if !l.fields.isEmpty {
                    print(table(["field", "type", "samples"], l.fields.map { [$0.name, $0.type, $0.samples.joined(separator: " | ")] }).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
                }
                for r in l.remarks { print("    note: \(r)") }
                if let m = l.suggestion {
                    print("    suggested mapping (save as a .json file, check it, pass it with --mapping):")
                    print(JSONWriter.string(m, pretty: true).split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
                }
            }
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export layers to <dir>/<layer>.geojson.")
    @Option(name: .shortAndLong, help: "Output directory.") var out: String
    @Option(help: "Comma-separated layers (default: all non-empty).") var layers: String?
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let s = try store.open()
        do {
            let files = try s.exportGeoJSON(to: out, layers: layers?.split(separator: ",").map(String.init))
            print(table(["file", "features"], files.map { [$0.file, String($0.features)] }))
        } catch let e as StoreError {
            throw e
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Schema version, layer counts and extents.")
    @OptionGroup var store: StoreOptions
    @Flag(help: "JSON output.") var json = false

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let s = try store.open()
        let layers = try s.layerInfo()
        let version = try s.schemaVersionOnDisk()
        let networks = RoadTopology.networks(RoadTopology.roads(try s.allFeatures(of: "roads")))
        if json {
            let networkJSON: [JSONValue] = networks.map { n -> JSONValue in ["segments": .number(Double(n.edges)), "metres": .number(n.metres.rounded())] }
            let o: JSONValue = [
                "database": .string(store.db), "schema_version": .number(Double(version)),
                "road_networks": .array(networkJSON),
                "layers": .array(layers.map { l in
                    ["name": .string(l.name), "count": .number(Double(l.count)),
                     "extent": l.extent.map { .array([.number($0.minLon), .number($0.minLat), .number($0.maxLon), .number($0.maxLat)]) } ?? .null]
                }),
            ]
            print(JSONWriter.string(o))
            return
        }
        print("store \(store.db) — schema version \(version), SRID 4326 (WGS84 lon/lat)")
        print(table(["layer", "title", "features", "extent (lon/lat)"], layers.map { l in
            [l.name, l.title, String(l.count), l.extent.map { String(format: "%.4f,%.4f — %.4f,%.4f", $0.minLon, $0.minLat, $0.maxLon, $0.maxLat) } ?? "—"]
        }))
        print("road networks: \(networks.count)" + (networks.isEmpty ? "" : " — " + networks.prefix(5).map { String(format: "%d segments / %.1f km", $0.edges, $0.metres / 1000) }.joined(separator: "; ") + (networks.count > 5 ? "; …" : "")))
    }
}

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Features of a layer in a bounding box, or by id, as GeoJSON.")
    @Argument(help: "Layer name.") var layer: String
    @Option(help: "minLon,minLat,maxLon,maxLat") var bbox: String?
    @Option(help: "Feature id.") var id: String?
    @Option(help: "At most this many features.") var limit = 1000
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let s = try store.open()
        do {
            if let id {
                guard let f = try s.feature(in: layer, id: id) else {
                    throw CLIError("\(layer) has no feature with id \"\(id)\"")
                }
                print(JSONWriter.string(GeoJSON.json(f.feature)))
                return
            }
            var box = BBox.world
            if let bbox {
                guard let b = BBox.parse(bbox) else {
                    throw CLIError("--bbox must be minLon,minLat,maxLon,maxLat inside the world with min ≤ max, got \"\(bbox)\"")
                }
                box = b
            }
            print(Store.featureCollectionText(try s.features(in: layer, bbox: box, limit: limit), name: layer), terminator: "")
        } catch let e as StoreError {
            throw e
        }
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Find villages and facilities by name.")
    @Argument(help: "Part of a name, e.g. 新地") var text: String
    @Option(help: "At most this many results.") var limit = 20
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let s = try store.open()
        let hits = try s.search(text, limit: limit)
        if hits.isEmpty { print("no feature's name contains \"\(text)\""); return }
        print(table(["layer", "id", "name", "lon,lat"], hits.map { h in
            let p = h.feature.geometry.representativePoint
            return [h.layer, h.feature.id, h.feature.properties["name"]?.stringValue ?? "", String(format: "%.5f,%.5f", p.lon, p.lat)]
        }))
    }
}

struct NearestStraight: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nearby", abstract: "The k features of a layer nearest by straight-line distance (routing candidates).")
    @Argument(help: "Layer name.") var layer: String
    @Option(help: "lon,lat") var at: String
    @Option var k = 5
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let p = parseCoord(at) else {
            throw CLIError("--at must be lon,lat inside the world, got \"\(at)\"")
        }
        let s = try store.open()
        do {
            let hits = try s.nearest(in: layer, to: p, k: k)
            print(table(["id", "name", "distance m"], hits.map { [$0.feature.id, $0.feature.properties["name"]?.stringValue ?? "", String(format: "%.0f", $0.distance)] }))
        } catch {
            throw CLIError("\(error.description)")
        }
    }
}

struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The layers and their properties, as a Markdown table (the README's data model).")

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        func typeName(_ t: PropertyType) -> String {
            switch t {
            case .text: "text"
            case .integer(let lo, let hi): "integer" + (lo != nil || hi != nil ? " \(lo.map(String.init) ?? "")…\(hi.map(String.init) ?? "")" : "")
            case .real(let lo, let hi): "number" + (lo != nil || hi != nil ? " \(lo.map { String(Int($0)) } ?? "")…\(hi.map { String(Int($0)) } ?? "")" : "")
            case .boolean: "boolean"
            case .enumeration(let v): v.joined(separator: " \\| ")
            case .timestamp: "ISO 8601 date-time"
            case .point: "[lon, lat]"
            case .stock: "[{item, unit, quantity}]"
            }
        }
        for l in Layers.all {
            print("#### `\(l.name)` — \(l.title)\n")
            print("Geometry: \(l.geometry.map(\.rawValue).joined(separator: " or ")). Every feature has a string or integer `id`." + (l.requireOneOf.isEmpty ? "" : " At least one of \(l.requireOneOf.map { "`\($0)`" }.joined(separator: ", ")) is required.") + "\n")
            print("| property | type | required | notes |")
            print("|---|---|---|---|")
            for p in l.properties {
                var note = p.doc
                if let r = p.references { note += (note.isEmpty ? "" : "; ") + "must name a `\(r.layer).\(r.column)`" }
                if l.unique.contains(p.name) { note += (note.isEmpty ? "" : "; ") + "unique" }
                print("| `\(p.name)` | \(typeName(p.type)) | \(p.required ? "yes" : "") | \(note) |")
            }
            print("")
        }
    }
}
