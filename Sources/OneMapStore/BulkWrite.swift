import Foundation
import OneMapCore

/// Bulk writes without SpatiaLite's per-row triggers. Each row written to a spatial table fires
/// SpatiaLite's triggers: a geometry-constraint check that scans `geometry_columns`, a timestamp
/// update, and `RTreeAlign`, which formats and prepares an SQL statement for every row. Measured on
/// a 100,000-road import (Benchmarks/import.sh): 10.6 of 18.3 s went there. For one import inside
/// one transaction the triggers are dropped; each row's R*Tree entry is written by one prepared
/// statement from the box the feature already has; at the end the timestamps are set and the
/// triggers recreated from their own SQL. The geometry constraint they check (SRID 4326, XY) holds
/// by construction: the codec writes GeomFromWKB(?, 4326) and MakePoint(?, ?, 4326), and the tests
/// check every index with SpatiaLite's CheckSpatialIndex. It all happens in the import's
/// transaction: a rollback restores the triggers, and other connections never see the store without them.
final class DeferredSpatialIndex {
    private let c: Connection
    private struct Table {
        var triggers: [(name: String, sql: String)]
        /// Spatially indexed geometry columns and the statements that maintain their R*Tree.
        var columns: [(name: String, insert: Statement, delete: Statement)]
        /// R*Tree entries not yet written, per column: written in batches, not between the table's
        /// rows (interleaving them cost 2.5 s more on 100,000 roads: the pages of both stay hot).
        var pending: [[(fid: Int64, box: BBox)]]
    }
    /// Entries buffered before a batch is written (about 48 bytes each).
    static let batch = 200_000
    private var buffered = 0
    private var tables: [String: Table] = [:]

    init(_ c: Connection) { self.c = c }

    /// Takes over the per-row triggers of `table` (once per table and import).
    func begin(_ table: String) throws {
        guard tables[table] == nil else { return }
        // Insert/update triggers only: deletes keep theirs (an upsert never deletes).
        let triggers = try c.query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND (name LIKE 'ggi\\_%' ESCAPE '\\' OR name LIKE 'ggu\\_%' ESCAPE '\\' OR name LIKE 'gii\\_%' ESCAPE '\\' OR name LIKE 'giu\\_%' ESCAPE '\\' OR name LIKE 'tmi\\_%' ESCAPE '\\' OR name LIKE 'tmu\\_%' ESCAPE '\\')",
            [.text(table)]) { (name: $0.text(0) ?? "", sql: $0.text(1) ?? "") }
        let names = try c.query("SELECT f_geometry_column FROM geometry_columns WHERE f_table_name = lower(?) AND spatial_index_enabled = 1", [.text(table)]) { $0.text(0) ?? "" }
        var columns: [(String, Statement, Statement)] = []
        for n in names {
            let idx = "idx_\(table)_\(n)"
            // Statements of their own (not the connection's cache): they live for the whole import.
            columns.append((n, try Statement(c, "INSERT INTO \"\(idx)\" (pkid, xmin, xmax, ymin, ymax) VALUES (?, ?, ?, ?, ?)"),
                            try Statement(c, "DELETE FROM \"\(idx)\" WHERE pkid = ?")))
        }
        for t in triggers { try c.exec("DROP TRIGGER \"\(t.name)\"") }
        tables[table] = Table(triggers: triggers, columns: columns, pending: columns.map { _ in [] })
    }

    /// Records one row written: its R*Tree entries (the box of each indexed column, nil when the
    /// column is NULL) replace any it had. `replaced` is false for a row inserted fresh.
    func wrote(_ table: String, fid: Int64, replaced: Bool, box: (String) -> BBox?) throws {
        guard let columns = tables[table]?.columns else { return }
        for (k, col) in columns.enumerated() {
            if replaced {
                col.delete.reset()
                try col.delete.bind([.int(fid)])
                _ = try col.delete.step()
            }
            guard let b = box(col.name), !b.isEmpty else { continue }
            tables[table]!.pending[k].append((fid, b))  // in place: no copy of the buffer
            buffered += 1
        }
        if buffered >= Self.batch { try flush() }
    }

    /// Writes the buffered R*Tree entries.
    private func flush() throws {
        for table in tables.keys {
            for (k, col) in tables[table]!.columns.enumerated() {
                for e in tables[table]!.pending[k] {
                    col.insert.reset()
                    try col.insert.bind([.int(e.fid), .double(e.box.minLon), .double(e.box.maxLon), .double(e.box.minLat), .double(e.box.maxLat)])
                    _ = try col.insert.step()
                }
                tables[table]!.pending[k].removeAll(keepingCapacity: true)
            }
        }
        buffered = 0
    }

    /// Sets the layers' modification times and recreates their triggers from their own SQL.
    func finish() throws {
        try flush()
        for (table, t) in tables.sorted(by: { $0.key < $1.key }) {
            for col in t.columns {
                col.insert.reset(); col.delete.reset()
                try c.run("UPDATE geometry_columns_time SET last_insert = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), last_update = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE f_table_name = lower(?) AND f_geometry_column = lower(?)",
                          [.text(table), .text(col.name)])
            }
            for trig in t.triggers { try c.exec(trig.sql) }
        }
        tables.removeAll()
    }
}
