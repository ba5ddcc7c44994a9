import OneMapCore

/// How a property is typed, stored and validated.
public enum PropertyType: Sendable, Equatable {
    case text
    case integer(min: Int?, max: Int?)
    case real(min: Double?, max: Double?)
    case boolean
    case enumeration([String])
    /// An ISO 8601 date-time string, e.g. 2026-01-30T08:00:00+08:00.
    case timestamp
    /// A second geometry: a position [lon, lat], stored in its own spatially indexed POINT column.
    case point
    /// Warehouse stock: an array of {item, unit, quantity}, stored in `warehouse_stock`.
    case stock

    var sqlType: String {
        switch self {
        case .text, .enumeration, .timestamp: "TEXT"
        case .integer, .boolean: "INTEGER"
        case .real: "REAL"
        case .point, .stock: ""
        }
    }
}

/// One attribute of a layer.
public struct PropertySpec: Sendable {
    public let name: String
    public let type: PropertyType
    public let required: Bool
    /// Another layer's column this value must name (e.g. a village's township code).
    public let references: (layer: String, column: String)?
    public let doc: String
    /// A person's name or phone number: served only to signed-in users unless the operator
    /// publishes it (`serve --public-personal-data`); see `Layers.redact`.
    public private(set) var isPersonal = false

    public init(_ name: String, _ type: PropertyType, required: Bool = false, references: (String, String)? = nil, _ doc: String = "") {
        self.name = name; self.type = type; self.required = required
        self.references = references.map { (layer: $0.0, column: $0.1) }
        self.doc = doc
    }

    /// The same property, marked as personal data.
    public var personal: PropertySpec {
        var p = self
        p.isPersonal = true
        return p
    }
}

/// A layer of the store: its table, its accepted geometry kinds and its attributes.
public struct LayerSpec: Sendable {
    public let name: String
    public let title: String
    public let geometry: [GeometryKind]
    public let properties: [PropertySpec]
    /// Columns that must be unique across the layer (besides the feature id).
    public let unique: [String]
    /// At least one of these properties must be present.
    public let requireOneOf: [String]
    /// Whether `search` looks at this layer's names.
    public let searchable: Bool

    /// Properties held in plain columns (not point geometries or stock).
    public let columns: [PropertySpec]
    public let pointColumns: [PropertySpec]

    public init(name: String, title: String, geometry: [GeometryKind], properties: [PropertySpec], unique: [String], requireOneOf: [String], searchable: Bool) {
        self.name = name; self.title = title; self.geometry = geometry; self.properties = properties
        self.unique = unique; self.requireOneOf = requireOneOf; self.searchable = searchable
        // Stored, not computed: the import asks for them for every feature.
        columns = properties.filter { $0.type != .point && $0.type != .stock }
        pointColumns = properties.filter { $0.type == .point }
    }

    public func property(_ name: String) -> PropertySpec? { properties.first { $0.name == name } }
    public var hasStock: Bool { properties.contains { $0.type == .stock } }
    public var isPointLayer: Bool { geometry == [.point] }
}

/// The layers of onemap, in the order they must be loaded (referenced layers first).
public enum Layers {
    static let hazardTypes = HazardType.rawValues
    static let polygonal: [GeometryKind] = [.polygon, .multiPolygon]
    static let linear: [GeometryKind] = [.lineString, .multiLineString]
    static let level = PropertyType.integer(min: 1, max: 4)
    static let count = PropertyType.integer(min: 0, max: nil)

    public static let all: [LayerSpec] = [
        LayerSpec(
            name: "county", title: "县界 County boundary", geometry: polygonal,
            properties: [
                PropertySpec("code", .text, required: true, "administrative code, 654225"),
                PropertySpec("name", .text, required: true),
                PropertySpec("name_en", .text),
                PropertySpec("population", count),
                PropertySpec("source", .text, "\"demo\" for synthetic features"),
            ], unique: ["code"], requireOneOf: [], searchable: false),
        LayerSpec(
            name: "townships", title: "乡镇 Townships", geometry: polygonal,
            properties: [
                PropertySpec("code", .text, required: true, "9-digit township code"),
                PropertySpec("name", .text, required: true),
                PropertySpec("name_en", .text),
                PropertySpec("kind", .enumeration(["town", "township", "farm", "regiment"]), required: true),
                PropertySpec("seat", .point, required: true, "township seat [lon, lat]"),
                PropertySpec("population", count),
                PropertySpec("source", .text),
            ], unique: ["code"], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "villages", title: "村 Villages", geometry: polygonal,
            properties: [
                PropertySpec("code", .text, required: true),
                PropertySpec("name", .text, required: true),
                PropertySpec("township", .text, required: true, references: ("townships", "code"), "township code"),
                PropertySpec("center", .point, required: true, "village committee / centre [lon, lat]"),
                PropertySpec("households", count),
                PropertySpec("population", count),
                PropertySpec("warning_signals", .text, "e.g. 广播/大喇叭, 鸣锣, 口哨"),
                PropertySpec("source", .text),
            ], unique: ["code"], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "roads", title: "道路 Roads", geometry: linear,
            properties: [
                PropertySpec("class", .enumeration(["expressway", "national", "provincial", "county", "township", "village", "track"]), required: true),
                PropertySpec("ref", .text, "route number, e.g. G219"),
                PropertySpec("name", .text),
                PropertySpec("oneway", .boolean, "true: only in digitised direction"),
                PropertySpec("maxspeed", .integer(min: 5, max: 130), "km/h; overrides the class speed"),
                PropertySpec("bridge", .boolean, "on a bridge (crossings with roads below are not junctions)"),
                PropertySpec("tunnel", .boolean, "in a tunnel"),
                PropertySpec("layer", .integer(min: -5, max: 5), "vertical order where roads cross, as OpenStreetMap's layer; 0 when absent"),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: false),
        LayerSpec(
            name: "rivers", title: "河流 Rivers", geometry: linear,
            properties: [
                PropertySpec("name", .text),
                PropertySpec("kind", .enumeration(["river", "stream", "canal"]), required: true),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: false),
        LayerSpec(
            name: "hazard_zones", title: "灾害风险区 Hazard zones", geometry: polygonal,
            properties: [
                PropertySpec("type", .enumeration(hazardTypes), required: true),
                PropertySpec("level", level, required: true, "1 red (most severe) … 4 blue"),
                PropertySpec("name", .text),
                PropertySpec("season", .text),
                PropertySpec("households", count, "households at risk"),
                PropertySpec("people", count, "people at risk"),
                PropertySpec("township", .text, references: ("townships", "code")),
                PropertySpec("note", .text),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "hazard_points", title: "隐患点 Hazard points", geometry: [.point],
            properties: [
                PropertySpec("type", .enumeration(hazardTypes), required: true),
                PropertySpec("level", level, required: true),
                PropertySpec("name", .text, required: true),
                PropertySpec("village", .text, references: ("villages", "code")),
                PropertySpec("households", count),
                PropertySpec("people", count),
                PropertySpec("monitor", .text, "person watching this point").personal,
                PropertySpec("phone", .text).personal,
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "fire_stations", title: "消防站 Fire stations", geometry: [.point],
            properties: [
                PropertySpec("name", .text, required: true),
                PropertySpec("kind", .enumeration(["professional", "township_team"]), required: true),
                PropertySpec("township", .text, references: ("townships", "code")),
                PropertySpec("personnel", count),
                PropertySpec("vehicles", count),
                PropertySpec("phone", .text),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "micro_fire_stations", title: "微型消防站 Micro fire stations", geometry: [.point],
            properties: [
                PropertySpec("name", .text, required: true),
                PropertySpec("village", .text, references: ("villages", "code")),
                PropertySpec("community", .text),
                PropertySpec("personnel", count),
                PropertySpec("equipment", .text),
                PropertySpec("phone", .text),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: ["village", "community"], searchable: true),
        LayerSpec(
            name: "warehouses", title: "救灾物资储备库 Relief-supply warehouses", geometry: [.point],
            properties: [
                PropertySpec("name", .text, required: true),
                PropertySpec("level", .enumeration(["county", "township", "village"]), required: true),
                PropertySpec("managing_unit", .text),
                PropertySpec("phone", .text),
                PropertySpec("township", .text, references: ("townships", "code")),
                PropertySpec("stock", .stock, "[{item, unit, quantity}]"),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "base_stations", title: "通信基站 Base stations", geometry: [.point],
            properties: [
                PropertySpec("name", .text, required: true),
                PropertySpec("operator", .enumeration(["china_mobile", "china_unicom", "china_telecom", "china_broadnet"]), required: true),
                PropertySpec("kind", .enumeration(["normal", "super", "backup"]), required: true),
                PropertySpec("backup_power_hours", .real(min: 0, max: 1000)),
                PropertySpec("status", .enumeration(["in_service", "degraded", "out_of_service"]), required: true),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "road_risks", title: "道路风险路段 Road-risk segments", geometry: linear,
            properties: [
                PropertySpec("risk_type", .enumeration(["snow_drift", "icing", "landslide", "rockfall", "flood", "debris_flow", "construction", "other"]), required: true),
                PropertySpec("level", level, required: true),
                PropertySpec("status", .enumeration(RoadRiskStatus.rawValues), required: true),
                PropertySpec("name", .text),
                PropertySpec("road", .text, "id of the road feature it lies on, informational"),
                PropertySpec("note", .text),
                PropertySpec("updated_at", .timestamp, required: true),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "shelters", title: "避难场所 Shelters", geometry: [.point],
            properties: [
                PropertySpec("name", .text, required: true),
                PropertySpec("village", .text, references: ("villages", "code")),
                PropertySpec("kind", .enumeration(["school", "square", "village_committee", "stadium", "other"])),
                PropertySpec("capacity", count, required: true, "persons"),
                PropertySpec("person_in_charge", .text).personal,
                PropertySpec("phone", .text).personal,
                PropertySpec("source", .text),
                PropertySpec("status", .enumeration(ShelterStatus.rawValues), "open, closed or full; absent: not reported"),
                PropertySpec("occupancy", count, "persons there now"),
            ], unique: [], requireOneOf: [], searchable: true),
        LayerSpec(
            name: "info_officers", title: "灾害信息员 Disaster information officers", geometry: [.point],
            properties: [
                PropertySpec("name", .text, required: true).personal,
                PropertySpec("phone", .text, required: true).personal,
                PropertySpec("role", .enumeration(OfficerRole.rawValues), required: true),
                PropertySpec("village", .text, references: ("villages", "code")),
                PropertySpec("township", .text, references: ("townships", "code")),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: ["village", "township"], searchable: true),
        LayerSpec(
            name: "incidents", title: "突发事件 Incidents", geometry: [.point],
            properties: [
                PropertySpec("type", .enumeration(IncidentType.rawValues), required: true, "a hazard type, or fire, traffic, other (hazchem: hazardous chemicals)"),
                PropertySpec("level", level, required: true, "1 特别重大 (most severe) … 4 一般"),
                PropertySpec("title", .text, required: true),
                PropertySpec("description", .text),
                PropertySpec("reported_at", .timestamp, required: true, "when it was reported; the server's time when not given"),
                PropertySpec("reported_by", .text, "who reported it; the signed-in account when not given").personal,
                PropertySpec("casualties", count, "people dead, injured or missing"),
                PropertySpec("status", .enumeration(IncidentStatus.rawValues), required: true, "reported → responding → closed"),
                PropertySpec("village", .text, references: ("villages", "code")),
                PropertySpec("source", .text),
            ], unique: [], requireOneOf: [], searchable: false),
    ]

    public static let byName: [String: LayerSpec] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
    public static var names: [String] { all.map(\.name) }

    /// The layer spec, or an error listing the known layers.
    public static func spec(_ name: String) throws(StoreError) -> LayerSpec {
        guard let s = byName[name] else {
            throw StoreError.unknownLayer(name)
        }
        return s
    }

    /// Each layer's personal properties (people's names and phones), by layer.
    public static let personal: [String: Set<String>] = Dictionary(uniqueKeysWithValues: all.compactMap { l in
        let p = Set(l.properties.filter(\.isPersonal).map(\.name))
        return p.isEmpty ? nil : (l.name, p)
    })

    /// The feature as anonymous readers see it: without its personal properties, and without
    /// properties the layer does not declare (an imported or added attribute may hold anything,
    /// e.g. a "monitor_phone", so only what is known to be public is shown).
    public static func redact(_ f: Feature, layer: String) -> Feature {
        guard let spec = byName[layer] else { return f }
        let hidden = personal[layer] ?? []
        var r = f
        for k in f.properties.keys where hidden.contains(k) || spec.property(k) == nil { r.properties[k] = nil }
        return r
    }

    /// A layer's place in load order (referenced layers first); unknown names last.
    public static func order(_ name: String) -> Int { all.firstIndex { $0.name == name } ?? Int.max }
}

/// Errors of the store, as sentences a user can act on, with the category the HTTP and CLI
/// funnels map (bad input, not found, conflict, precondition failed, unavailable, internal).
public struct StoreError: OneMapError, Equatable {
    public let category: ErrorCategory
    public let description: String
    public init(_ category: ErrorCategory, _ description: String) { self.category = category; self.description = description }

    public static func unknownLayer(_ name: String) -> StoreError {
        StoreError(.notFound, "unknown layer \"\(name)\"; the layers are: \(Layers.names.joined(separator: ", "))")
    }
    /// A SQLite failure, categorised by its result code (busy → unavailable, constraint → conflict).
    /// Faults of the file or disk (full, read-only, damaged) are a sentence naming the store;
    /// SQLITE_CORRUPT and SQLITE_NOTADB are `.unavailable` too (the data cannot be used until restored).
    static func db(_ e: SQLiteError, file: String? = nil) -> StoreError {
        if let s = e.faultSentence(file: file ?? "the store") {
            let corrupt = e.primaryCode == 11 || e.primaryCode == 26  // SQLITE_CORRUPT, SQLITE_NOTADB
            return StoreError(corrupt ? .unavailable : e.category, s)
        }
        return StoreError(e.category, e.description)
    }
}
