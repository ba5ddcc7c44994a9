// Migration 5 as it shipped: frozen — never edit it; change the schema with a new migration.

extension Schema {
    /// Schema 4 → 5: operating during an incident.
    /// - accounts may have a password (a bcrypt hash) for signing in to the web map, and signed-in
    ///   browsers hold sessions (only a hash of the session token is kept, with its CSRF token);
    /// - shelters say whether they are open, closed or full and how many people they hold now;
    /// - `incidents`, a point layer of recorded incidents (突发事件) with their type, level (1–4),
    ///   status reported → responding → closed, who reported them and when;
    /// - `incident_updates`, each incident's timeline (who, when, what changed, a note), as
    ///   append-only as the edit journal.
    static let v5Incidents: [String] = [
        "ALTER TABLE users ADD COLUMN password_hash TEXT",
        """
        CREATE TABLE sessions (
          token_hash BLOB PRIMARY KEY,
          user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
          csrf TEXT NOT NULL,
          created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
          expires_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX sessions_user ON sessions(user_id)",
        "ALTER TABLE shelters ADD COLUMN \"status\" TEXT CHECK (\"status\" IN ('open','closed','full'))",
        "ALTER TABLE shelters ADD COLUMN \"occupancy\" INTEGER CHECK (\"occupancy\" >= 0)",
        """
        CREATE TABLE incidents (
          fid INTEGER PRIMARY KEY,
          id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
          version INTEGER NOT NULL DEFAULT 1,
          "type" TEXT NOT NULL CHECK ("type" IN ('flood','flash_flood','debris_flow','landslide','earthquake','forest_fire','wind_hail','snow','hazchem','fire','traffic','other')),
          "level" INTEGER NOT NULL CHECK ("level" >= 1) CHECK ("level" <= 4),
          "title" TEXT NOT NULL,
          "description" TEXT,
          "reported_at" TEXT NOT NULL,
          "reported_by" TEXT,
          "casualties" INTEGER CHECK ("casualties" >= 0),
          "status" TEXT NOT NULL CHECK ("status" IN ('reported','responding','closed')),
          "village" TEXT REFERENCES villages(code) ON UPDATE CASCADE,
          "source" TEXT,
          extra TEXT
        )
        """,
        "SELECT AddGeometryColumn('incidents', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('incidents', 'geom')",
        "CREATE INDEX incidents_status ON incidents(\"status\")",
        """
        CREATE TABLE incident_updates (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          incident_id TEXT NOT NULL,
          at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
          actor TEXT NOT NULL,
          kind TEXT NOT NULL,
          changes TEXT,
          note TEXT
        )
        """,
        "CREATE INDEX incident_updates_incident ON incident_updates(incident_id, seq)",
        "CREATE TRIGGER incident_updates_no_update BEFORE UPDATE ON incident_updates BEGIN SELECT RAISE(ABORT, 'an incident timeline cannot be changed'); END",
        "CREATE TRIGGER incident_updates_no_delete BEFORE DELETE ON incident_updates BEGIN SELECT RAISE(ABORT, 'an incident timeline cannot be changed'); END",
    ]
}
