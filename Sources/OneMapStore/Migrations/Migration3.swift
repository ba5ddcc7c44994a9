// Migration 3 as it shipped: frozen — never edit it; change the schema with a new migration.

extension Schema {
    /// Schema 2 → 3: accounts with salted token hashes and roles, and triggers that make the
    /// edit journal (the audit log) append-only.
    static let v3Accounts: [String] = [
        """
        CREATE TABLE users (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
          role TEXT NOT NULL CHECK (role IN ('viewer','editor','admin')),
          salt BLOB NOT NULL,
          token_hash BLOB NOT NULL,
          created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
        )
        """,
        "CREATE TRIGGER edit_journal_no_update BEFORE UPDATE ON edit_journal BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END",
        "CREATE TRIGGER edit_journal_no_delete BEFORE DELETE ON edit_journal BEGIN SELECT RAISE(ABORT, 'the audit log cannot be changed'); END",
    ]
}
