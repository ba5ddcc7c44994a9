// Migration 4 as it shipped: frozen — never edit it; change the schema with a new migration.

extension Schema {
    /// Schema 3 → 4: roads say whether they are a bridge or a tunnel and on which level they lie
    /// (OpenStreetMap's `bridge`, `tunnel`, `layer`), so roads that cross without a junction at
    /// different levels are not reported by the topology check.
    static let v4RoadLevels: [String] = [
        "ALTER TABLE roads ADD COLUMN \"bridge\" INTEGER CHECK (\"bridge\" IN (0,1))",
        "ALTER TABLE roads ADD COLUMN \"tunnel\" INTEGER CHECK (\"tunnel\" IN (0,1))",
        "ALTER TABLE roads ADD COLUMN \"layer\" INTEGER CHECK (\"layer\" >= -5) CHECK (\"layer\" <= 5)",
    ]
}
