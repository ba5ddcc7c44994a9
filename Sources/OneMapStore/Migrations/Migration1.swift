// Migration 1 as release 737babb shipped it: literal DDL, frozen — never edit it; change the schema
// with a new migration. Written once from a store that release created, so it no longer depends on
// today's layer registry (`Layers.all`).

extension Schema {
    /// Schema 0 → 1: the fourteen layers with their spatial indexes, `onemap_meta` and warehouse stock.
    static let v1LayersAndStock: [String] = [
        """
            CREATE TABLE onemap_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
            """,
        "INSERT INTO onemap_meta VALUES ('crs', 'EPSG:4326 (WGS84 lon/lat; CGCS2000 EPSG:4490 coincides at map precision)')",
        // county
        """
            CREATE TABLE county (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "code" TEXT NOT NULL,
              "name" TEXT NOT NULL,
              "name_en" TEXT,
              "population" INTEGER CHECK ("population" >= 0),
              "source" TEXT,
              extra TEXT,
              UNIQUE ("code")
            )
            """,
        "SELECT AddGeometryColumn('county', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('county', 'geom')",
        "CREATE INDEX county_name ON county(name)",
        // townships
        """
            CREATE TABLE townships (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "code" TEXT NOT NULL,
              "name" TEXT NOT NULL,
              "name_en" TEXT,
              "kind" TEXT NOT NULL CHECK ("kind" IN ('town','township','farm','regiment')),
              "population" INTEGER CHECK ("population" >= 0),
              "source" TEXT,
              extra TEXT,
              UNIQUE ("code")
            )
            """,
        "SELECT AddGeometryColumn('townships', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('townships', 'geom')",
        "SELECT AddGeometryColumn('townships', 'seat', 4326, 'POINT', 'XY', 1)",
        "SELECT CreateSpatialIndex('townships', 'seat')",
        "CREATE INDEX townships_name ON townships(name)",
        // villages
        """
            CREATE TABLE villages (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "code" TEXT NOT NULL,
              "name" TEXT NOT NULL,
              "township" TEXT NOT NULL REFERENCES townships(code) ON UPDATE CASCADE,
              "households" INTEGER CHECK ("households" >= 0),
              "population" INTEGER CHECK ("population" >= 0),
              "warning_signals" TEXT,
              "source" TEXT,
              extra TEXT,
              UNIQUE ("code")
            )
            """,
        "SELECT AddGeometryColumn('villages', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('villages', 'geom')",
        "SELECT AddGeometryColumn('villages', 'center', 4326, 'POINT', 'XY', 1)",
        "SELECT CreateSpatialIndex('villages', 'center')",
        "CREATE INDEX villages_name ON villages(name)",
        "CREATE INDEX villages_township ON villages(\"township\")",
        // roads
        """
            CREATE TABLE roads (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "class" TEXT NOT NULL CHECK ("class" IN ('expressway','national','provincial','county','township','village','track')),
              "ref" TEXT,
              "name" TEXT,
              "oneway" INTEGER CHECK ("oneway" IN (0,1)),
              "maxspeed" INTEGER CHECK ("maxspeed" >= 5) CHECK ("maxspeed" <= 130),
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('roads', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('roads', 'geom')",
        "CREATE INDEX roads_name ON roads(name)",
        // rivers
        """
            CREATE TABLE rivers (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT,
              "kind" TEXT NOT NULL CHECK ("kind" IN ('river','stream','canal')),
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('rivers', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('rivers', 'geom')",
        "CREATE INDEX rivers_name ON rivers(name)",
        // hazard_zones
        """
            CREATE TABLE hazard_zones (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "type" TEXT NOT NULL CHECK ("type" IN ('flood','flash_flood','debris_flow','landslide','earthquake','forest_fire','wind_hail','snow','hazchem')),
              "level" INTEGER NOT NULL CHECK ("level" >= 1) CHECK ("level" <= 4),
              "name" TEXT,
              "season" TEXT,
              "households" INTEGER CHECK ("households" >= 0),
              "people" INTEGER CHECK ("people" >= 0),
              "township" TEXT REFERENCES townships(code) ON UPDATE CASCADE,
              "note" TEXT,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('hazard_zones', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('hazard_zones', 'geom')",
        "CREATE INDEX hazard_zones_name ON hazard_zones(name)",
        "CREATE INDEX hazard_zones_township ON hazard_zones(\"township\")",
        // hazard_points
        """
            CREATE TABLE hazard_points (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "type" TEXT NOT NULL CHECK ("type" IN ('flood','flash_flood','debris_flow','landslide','earthquake','forest_fire','wind_hail','snow','hazchem')),
              "level" INTEGER NOT NULL CHECK ("level" >= 1) CHECK ("level" <= 4),
              "name" TEXT NOT NULL,
              "village" TEXT REFERENCES villages(code) ON UPDATE CASCADE,
              "households" INTEGER CHECK ("households" >= 0),
              "people" INTEGER CHECK ("people" >= 0),
              "monitor" TEXT,
              "phone" TEXT,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('hazard_points', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('hazard_points', 'geom')",
        "CREATE INDEX hazard_points_name ON hazard_points(name)",
        "CREATE INDEX hazard_points_village ON hazard_points(\"village\")",
        // fire_stations
        """
            CREATE TABLE fire_stations (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT NOT NULL,
              "kind" TEXT NOT NULL CHECK ("kind" IN ('professional','township_team')),
              "township" TEXT REFERENCES townships(code) ON UPDATE CASCADE,
              "personnel" INTEGER CHECK ("personnel" >= 0),
              "vehicles" INTEGER CHECK ("vehicles" >= 0),
              "phone" TEXT,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('fire_stations', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('fire_stations', 'geom')",
        "CREATE INDEX fire_stations_name ON fire_stations(name)",
        "CREATE INDEX fire_stations_township ON fire_stations(\"township\")",
        // micro_fire_stations
        """
            CREATE TABLE micro_fire_stations (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT NOT NULL,
              "village" TEXT REFERENCES villages(code) ON UPDATE CASCADE,
              "community" TEXT,
              "personnel" INTEGER CHECK ("personnel" >= 0),
              "equipment" TEXT,
              "phone" TEXT,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('micro_fire_stations', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('micro_fire_stations', 'geom')",
        "CREATE INDEX micro_fire_stations_name ON micro_fire_stations(name)",
        "CREATE INDEX micro_fire_stations_village ON micro_fire_stations(\"village\")",
        // warehouses
        """
            CREATE TABLE warehouses (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT NOT NULL,
              "level" TEXT NOT NULL CHECK ("level" IN ('county','township','village')),
              "managing_unit" TEXT,
              "phone" TEXT,
              "township" TEXT REFERENCES townships(code) ON UPDATE CASCADE,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('warehouses', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('warehouses', 'geom')",
        "CREATE INDEX warehouses_name ON warehouses(name)",
        "CREATE INDEX warehouses_township ON warehouses(\"township\")",
        // base_stations
        """
            CREATE TABLE base_stations (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT NOT NULL,
              "operator" TEXT NOT NULL CHECK ("operator" IN ('china_mobile','china_unicom','china_telecom','china_broadnet')),
              "kind" TEXT NOT NULL CHECK ("kind" IN ('normal','super','backup')),
              "backup_power_hours" REAL,
              "status" TEXT NOT NULL CHECK ("status" IN ('in_service','degraded','out_of_service')),
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('base_stations', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('base_stations', 'geom')",
        "CREATE INDEX base_stations_name ON base_stations(name)",
        // road_risks
        """
            CREATE TABLE road_risks (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "risk_type" TEXT NOT NULL CHECK ("risk_type" IN ('snow_drift','icing','landslide','rockfall','flood','debris_flow','construction','other')),
              "level" INTEGER NOT NULL CHECK ("level" >= 1) CHECK ("level" <= 4),
              "status" TEXT NOT NULL CHECK ("status" IN ('open','restricted','closed')),
              "name" TEXT,
              "road" TEXT,
              "note" TEXT,
              "updated_at" TEXT NOT NULL,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('road_risks', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('road_risks', 'geom')",
        "CREATE INDEX road_risks_name ON road_risks(name)",
        // shelters
        """
            CREATE TABLE shelters (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT NOT NULL,
              "village" TEXT REFERENCES villages(code) ON UPDATE CASCADE,
              "kind" TEXT CHECK ("kind" IN ('school','square','village_committee','stadium','other')),
              "capacity" INTEGER NOT NULL CHECK ("capacity" >= 0),
              "person_in_charge" TEXT,
              "phone" TEXT,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('shelters', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('shelters', 'geom')",
        "CREATE INDEX shelters_name ON shelters(name)",
        "CREATE INDEX shelters_village ON shelters(\"village\")",
        // info_officers
        """
            CREATE TABLE info_officers (
              fid INTEGER PRIMARY KEY,
              id TEXT NOT NULL UNIQUE CHECK (length(id) BETWEEN 1 AND 200),
              version INTEGER NOT NULL DEFAULT 1,
              "name" TEXT NOT NULL,
              "phone" TEXT NOT NULL,
              "role" TEXT NOT NULL CHECK ("role" IN ('info_officer','monitor','admin_responsible','evacuation_lead')),
              "village" TEXT REFERENCES villages(code) ON UPDATE CASCADE,
              "township" TEXT REFERENCES townships(code) ON UPDATE CASCADE,
              "source" TEXT,
              extra TEXT
            )
            """,
        "SELECT AddGeometryColumn('info_officers', 'geom', 4326, 'GEOMETRY', 'XY', 1)",
        "SELECT CreateSpatialIndex('info_officers', 'geom')",
        "CREATE INDEX info_officers_name ON info_officers(name)",
        "CREATE INDEX info_officers_village ON info_officers(\"village\")",
        "CREATE INDEX info_officers_township ON info_officers(\"township\")",
        """
            CREATE TABLE warehouse_stock (
              warehouse_id TEXT NOT NULL REFERENCES warehouses(id) ON DELETE CASCADE ON UPDATE CASCADE,
              item TEXT NOT NULL CHECK (length(item) > 0),
              unit TEXT NOT NULL,
              quantity REAL NOT NULL CHECK (quantity >= 0),
              PRIMARY KEY (warehouse_id, item)
            ) WITHOUT ROWID
            """,
    ]
}
