// Migration 2 as it shipped: frozen — never edit it; change the schema with a new migration.

extension Schema {
    /// Schema 1 → 2: every change to features lands in `edit_journal` in the same transaction,
    /// with the bounding boxes before and after: the tile cache expires from it and the audit
    /// log reads it.
    static let v2EditJournal: [String] = [
        """
        CREATE TABLE edit_journal (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
          actor TEXT NOT NULL,
          action TEXT NOT NULL CHECK (action IN ('import','create','replace','patch','delete')),
          layer TEXT NOT NULL,
          feature_id TEXT,
          min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,
          before TEXT, after TEXT
        )
        """,
        "CREATE INDEX edit_journal_feature ON edit_journal(layer, feature_id)",
    ]
}
