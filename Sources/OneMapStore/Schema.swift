/// The versioned schema. `PRAGMA user_version` holds the number of migrations applied; opening a
/// store applies the missing ones in order, each in its own transaction.
///
/// Migrations are history: each is frozen as it shipped (literal DDL in `Migrations/`), so a
/// store written by any release upgrades step by step, and a fresh store is built by the same
/// steps. A new layer or column is a new migration appended here, plus its `LayerSpec` in
/// `Layers.all`; `SchemaTests` fail when the two disagree, and open a fixture store of every
/// released schema version (`Tests/Fixtures/stores/`).
enum Schema {
    struct Migration: Sendable {
        let title: String
        let apply: @Sendable (Connection) throws -> Void

        /// A migration that runs literal statements in order.
        init(_ title: String, sql: [String]) {
            self.title = title
            apply = { c in for s in sql { try c.exec(s) } }
        }

        init(_ title: String, apply: @escaping @Sendable (Connection) throws -> Void) {
            self.title = title; self.apply = apply
        }
    }

    /// Each entry moves the schema from version `index` to `index + 1`. Append, never edit.
    static let migrations: [Migration] = [
        Migration("layers, spatial indexes and warehouse stock") { c in
            // SpatiaLite's own metadata tables, unless the file already has them.
            if case .int(0)? = try c.scalar("SELECT count(*) FROM sqlite_master WHERE name='spatial_ref_sys'") {
                try c.exec("SELECT InitSpatialMetadata(0, 'WGS84')")
            }
            for s in v1LayersAndStock { try c.exec(s) }
        },
        Migration("edit journal for cache expiry and audit", sql: v2EditJournal),
        Migration("accounts, and an audit log that cannot be rewritten", sql: v3Accounts),
        Migration("road levels: bridge, tunnel, layer", sql: v4RoadLevels),
        Migration("passwords and sessions, shelter status, incidents and their timelines", sql: v5Incidents),
    ]

    static var currentVersion: Int { migrations.count }

    /// Applies the migrations `c` lacks. Throws `StoreError(.internal)` for a store newer than
    /// this build, and the failing statement's `SQLiteError` (its transaction rolled back).
    static func migrate(_ c: Connection) throws {
        let have = c.userVersion
        guard have <= currentVersion else {
            throw StoreError(.unavailable, "the store at \(c.path) has schema version \(have), newer than this onemap (\(currentVersion)); upgrade onemap")
        }
        for v in have..<currentVersion {
            try c.transaction {
                try migrations[v].apply(c)
                try c.exec("PRAGMA user_version = \(v + 1)")
            }
        }
    }

    static func sqlLiteral(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

    /// The column definition of a property, for writing a new migration's `ALTER TABLE … ADD
    /// COLUMN`: pass a `PropertySpec` written out in that migration, never one read from
    /// `Layers.all` (which changes after the migration ships).
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
}
