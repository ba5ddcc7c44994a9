import Foundation
import OneMapTestSupport
import Testing

@testable import OneMapCore
@testable import OneMapRender
@testable import OneMapRouting
@testable import OneMapStore

let repoRoot = repositoryRoot()
let fixtures = repoRoot + "/Tests/Fixtures/stores"

/// The stores of every released schema version (`Tests/Fixtures/stores/schema-N-*.sqlite`).
let fixtureStores: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter { $0.hasPrefix("schema-") && $0.hasSuffix(".sqlite") }.sorted()

/// Everything in `sqlite_master` (tables, indexes, triggers, views) and SpatiaLite's geometry
/// registry: two stores with equal dumps have the same schema.
func schemaDump(_ path: String) throws -> [String] {
    let c = try Connection(path: path, readOnly: true)
    let master = try c.query("SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name") { s in
        "\(s.text(0)!) \(s.text(1)!) on \(s.text(2)!): \(s.text(3)!)"
    }
    let geometry = try c.query("SELECT f_table_name, f_geometry_column, geometry_type, coord_dimension, srid, spatial_index_enabled FROM geometry_columns ORDER BY 1, 2") { s in
        "geometry \(s.text(0)!).\(s.text(1)!) type \(s.int(2)) dim \(s.int(3)) srid \(s.int(4)) index \(s.int(5))"
    }
    return master + geometry
}

@Suite(.serialized) struct SchemaUpgradeTests {
    @Test func thereIsAFixtureForTheCurrentSchema() {
        #expect(fixtureStores.contains { $0.hasPrefix("schema-\(Store.schemaVersion)-") },
                "add Tests/Fixtures/stores/schema-\(Store.schemaVersion)-demo.sqlite written by this release (see its README)")
    }

    /// A fresh store and every released store after upgrading have exactly the same schema, so
    /// the frozen migrations build what each release built.
    @Test(arguments: fixtureStores)
    func upgradedStoreHasTheSchemaOfAFreshOne(_ file: String) throws {
        let dir = TempDir("upgrade")
        try FileManager.default.copyItem(atPath: fixtures + "/" + file, toPath: dir.file("old.sqlite"))
        _ = try Store(path: dir.file("old.sqlite"))
        _ = try Store(path: dir.file("fresh.sqlite"))
        let old = try schemaDump(dir.file("old.sqlite")), fresh = try schemaDump(dir.file("fresh.sqlite"))
        #expect(old.count == fresh.count)
        for (a, b) in zip(old, fresh) where a != b { Issue.record("upgraded \(file): \(a)\nfresh: \(b)") }
        #expect(Set(old) == Set(fresh))
    }

    /// The layer registry (`Layers.all`) describes the tables the migrations build: a property
    /// added to the registry without a migration (or the reverse) fails here, not in a user's store.
    @Test func registryMatchesTheMigratedTables() throws {
        let dir = TempDir("registry")
        _ = try Store(path: dir.file("s.sqlite"))
        let c = try Connection(path: dir.file("s.sqlite"), readOnly: true)
        for layer in Layers.all {
            let cols = try c.query("SELECT name, type, \"notnull\" FROM pragma_table_info(?)", [.text(layer.name)]) { s in
                (name: s.text(0)!, type: s.text(1)!, notNull: s.int(2) != 0)
            }
            let byName = Dictionary(uniqueKeysWithValues: cols.map { ($0.name, $0) })
            var expected: [String: String] = ["fid": "INTEGER", "id": "TEXT", "version": "INTEGER", "extra": "TEXT", "geom": "GEOMETRY"]
            for p in layer.columns { expected[p.name] = p.type.sqlType }
            for p in layer.pointColumns { expected[p.name] = "POINT" }
            #expect(Set(byName.keys) == Set(expected.keys), "\(layer.name): table has \(byName.keys.sorted()), registry \(expected.keys.sorted())")
            for (name, type) in expected { #expect(byName[name]?.type == type, "\(layer.name).\(name): table \(byName[name]?.type ?? "-"), registry \(type)") }
            for p in layer.columns + layer.pointColumns { #expect(byName[p.name]?.notNull == p.required, "\(layer.name).\(p.name): NOT NULL differs") }
        }
        if layerHasStock { #expect(try c.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'warehouse_stock'") == .int(1)) }
    }
    var layerHasStock: Bool { Layers.all.contains(where: \.hasStock) }

    /// Each released store opens with this build with its content intact: counts, a feature's
    /// properties (schema and extra) and geometry, stock, users (a token still signs in), the
    /// audit log; then it renders a tile and routes.
    @Test(arguments: fixtureStores)
    func releasedStoreOpensWithItsContentIntact(_ file: String) throws {
        let dir = TempDir("upgrade")
        try FileManager.default.copyItem(atPath: fixtures + "/" + file, toPath: dir.file("old.sqlite"))
        let store = try Store(path: dir.file("old.sqlite"))
        #expect(try store.schemaVersionOnDisk() == Store.schemaVersion)

        let counts = Dictionary(uniqueKeysWithValues: try store.layerInfo().map { ($0.name, $0.count) })
        #expect(counts.values.reduce(0, +) == 3741)
        #expect(counts["roads"] == 2807 && counts["villages"] == 65 && counts["townships"] == 8 && counts["shelters"] == 73)

        let (shelter, version) = try #require(try store.feature(in: "shelters", id: "sh-001"))
        #expect(version == 2, "re-imported once")
        #expect(shelter["capacity"]?.intValue == 811)
        #expect(shelter["name"]?.stringValue == "阿克乔克村村委会广场避难场所")
        #expect(shelter["person_in_charge"]?.stringValue == "叶尔兰·努尔波拉提")
        #expect(shelter["note_fixture"]?.stringValue == "edited after import", "a property outside the schema survives in extra")
        let demo = try JSONParser.parse(try String(contentsOfFile: repoRoot + "/GeoData/shelters.geojson", encoding: .utf8))
        let original = try #require(demo["features"]?.arrayValue?.first { $0["id"]?.stringValue == "sh-001" })
        #expect(shelter.geometry == (try GeoJSON.geometry(from: original["geometry"]!)))
        let village = try #require(try store.feature(in: "villages", id: "village-654225100001")?.feature)
        #expect(village["center"]?.arrayValue?.count == 2)
        #expect(try store.stock(of: "wh-001").count >= 6)

        let manifest = try JSONParser.parse(try String(contentsOfFile: fixtures + "/manifest.json", encoding: .utf8))
        let token = try #require(manifest[file]?["token"]?.stringValue, "\(file) has no token in manifest.json")
        let officer = try #require(try store.authenticate(token: token))
        #expect(officer.name == "duty-officer" && officer.role == .editor)
        let audit = try store.audit(limit: 100)
        #expect(audit.count == 15)
        #expect(audit.first?.layer == "shelters" && audit.first?.action == "import")
        #expect(audit.first?.note?.contains("features from") == true, "an import's row says what it brought: \(String(describing: audit.first?.note))")
        #expect(try store.contentDigest() == (try Store(path: dir.file("old.sqlite")).contentDigest()), "opening twice changes nothing")

        // It renders: a county-seat tile differs from the style's empty tile.
        let map = try MapRenderer(source: store, stylesDirectory: repoRoot + "/Styles")
        let tiles = TileRenderer(map: map)
        let tile = try tiles.renderTile(style: "command", tile: try TileID(z: 12, x: 2991, y: 1455), scale: 1)
        #expect(tile != (try tiles.emptyTile(style: "command", scale: 1)))
        #expect(tile.starts(with: [0x89, 0x50, 0x4E, 0x47]))

        // It routes: the county seat reaches fire stations by road.
        let router = try RoadRouter(source: store)
        let answer = try router.nearest(to: village.geometry.representativePoint, kinds: ["fire_stations"], k: 2)
        #expect(answer.hits.count == 2)
        #expect(answer.hits.allSatisfy { $0.reachable && ($0.roadMetres ?? 0) > 0 })
    }
}
