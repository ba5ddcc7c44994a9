/// The versioned schema. `PRAGMA user_version` holds the number of migrations applied; opening a
/// store applies the missing ones in order, each in its own transaction.
enum Schema {
    /// Each entry moves the schema from version `index` to `index + 1`. Append, never edit.
    static let migrations: [(String, @Sendable (Connection) throws -> Void)] = [
        ("layers, spatial indexes and warehouse stock", createLayers),
        ("edit journal for cache expiry and audit", createJournal),
        ("accounts, and an audit log that cannot be rewritten", createAccounts),
    ]

    static var currentVersion: Int { migrations.count }

    static func migrate(_ c: Connection) throws {
        let have = c.userVersion
        guard have <= currentVersion else {
            throw StoreError(.database, "the store at \(c.path) has schema version \(have), newer than this onemap (\(currentVersion)); upgrade onemap")
        }
        for v in have..<currentVersion {
            try c.transaction {
                try migrations[v].1(c)
                try c.exec("PRAGMA user_version = \(v + 1)")
            }
        }
    }

    static func sqlLiteral(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    static func columnDDL(_ p: PropertySpec) -> String {
        var d = "\"\(p.name)\" \(p.type.sqlType)"
        if p.required { d += " NOT NULL" }
        switch p.type {
        case .enumeration(let values):
            d += " CHECK (\"\(p.name)\" IN (\(values.map(sqlLiteral).joined(separator: ","))))"
        case .integer(let lo, let hi):
            if let lo { d += " CHECK (\"\(p.name)\" >= \(lo))" }
            if let hi { d += " CHECK (\"\(p.name)\" <= \(hi))" }
        case .boolean:
            d += " CHECK (\"\(p.name)\" IN (0,1))"
        default: break
        }
        if let r = p.references { d += " REFERENCES \(r.layer)(\(r.column)) ON UPDATE CASCADE" }
        return d
    }

    static func createLayers(_ c: Connection) throws {
        if case .int(0)? = try c.scalar("SELECT count(*) FROM sqlite_master WHERE name='spatial_ref_sys'") {
            try c.exec("SELECT InitSpatialMetadata(0, 'WGS84')")
        }
        try c.exec("""
            CREATE TABLE onemap_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO onemap_meta VALUES ('crs', 'EPSG:4326 (WGS84 lon/lat; CGCS2000 EPSG:4490 coincides at map precision)');
            """)
        for layer in Layers.all {
            var cols = [
                "fid INTEGER PRIMARY KEY",
                "id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200)",
                "version INTEGER NOT NULL DEFAULT 1",
            ]
            cols += layer.columns.map(columnDDL)
            cols.append("extra TEXT")
            for u in layer.unique { cols.append("UNIQUE (\"\(u)\")") }
            try c.exec("CREATE TABLE \(layer.name) (\n  \(cols.joined(separator: ",\n  "))\n)")
            try c.exec("SELECT AddGeometryColumn('\(layer.name)', 'geom', 4326, 'GEOMETRY', 'XY', 1)")
            try c.exec("SELECT CreateSpatialIndex('\(layer.name)', 'geom')")
            for p in layer.pointColumns {
                try c.exec("SELECT AddGeometryColumn('\(layer.name)', '\(p.name)', 4326, 'POINT', 'XY', \(p.required ? 1 : 0))")
                try c.exec("SELECT CreateSpatialIndex('\(layer.name)', '\(p.name)')")
            }
            if layer.property("name") != nil { try c.exec("CREATE INDEX \(layer.name)_name ON \(layer.name)(name)") }
            for p in layer.columns where p.references != nil {
                try c.exec("CREATE INDEX \(layer.name)_\(p.name) ON \(layer.name)(\"\(p.name)\")")
            }
        }
        try c.exec("""
            CREATE TABLE warehouse_stock (
              warehouse_id TEXT NOT NULL REFERENCES warehouses(id) ON DELETE CASCADE ON UPDATE CASCADE,
              item TEXT NOT NULL CHECK (length(item) > 0),
              unit TEXT NOT NULL,
              quantity REAL NOT NULL CHECK (quantity >= 0),
              PRIMARY KEY (warehouse_id, item)
            ) WITHOUT ROWID;
            """)
    }

    static func createAccounts(_ c: Connection) throws {
        try c.exec("""
            CREATE TABLE users (
              id TEXT PRIMARY KEY,
              name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
              role TEXT NOT NULL CHECK (role IN ('viewer','editor','admin')),
              salt BLOB NOT NULL,
              token_hash BLOB NOT NULL,
              created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
            );
            CREATE TRIGGER edit_journal_no_update BEFORE UPDATE ON edit_journal BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
            CREATE TRIGGER edit_journal_no_delete BEFORE DELETE ON edit_journal BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END;
            """)
    }

    /// Every change to features lands here in the same transaction, with the bounding boxes
    /// before and after: the tile cache expires from it and the audit log reads it.
    static func createJournal(_ c: Connection) throws {
        try c.exec("""
            CREATE TABLE edit_journal (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
              actor TEXT NOT NULL,
              action TEXT NOT NULL CHECK (action IN ('import','create','replace','patch','delete')),
              layer TEXT NOT NULL,
              feature_id TEXT,
              min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,
              before TEXT, after TEXT
            );
            CREATE INDEX edit_journal_feature ON edit_journal(layer, feature_id);
            """)
    }
}
