/// The command domain's closed vocabularies, shared by the schema (`Layers.all` check
/// constraints and validation), the API, routing and print, so a value is spelled in one place.
/// Terms follow the county plan's 应急管理 usage; English names are for `--english` pages.

/// A hazard (灾种) of a hazard zone or hazard point.
public enum HazardType: String, Sendable, CaseIterable {
    case flood, flashFlood = "flash_flood", debrisFlow = "debris_flow", landslide, earthquake, forestFire = "forest_fire", windHail = "wind_hail", snow, hazchem

    public var nameCN: String {
        switch self {
        case .flood: "洪涝"
        case .flashFlood: "山洪"
        case .debrisFlow: "泥石流"
        case .landslide: "滑坡"
        case .earthquake: "地震"
        case .forestFire: "森林草原火灾"
        case .windHail: "风雹"
        case .snow: "雪灾/风吹雪"
        case .hazchem: "危化品"
        }
    }

    public var nameEN: String {
        switch self {
        case .flood: "flood"
        case .flashFlood: "flash flood"
        case .debrisFlow: "debris flow"
        case .landslide: "landslide"
        case .earthquake: "earthquake"
        case .forestFire: "forest/grassland fire"
        case .windHail: "wind/hail"
        case .snow: "snowstorm/drifting snow"
        case .hazchem: "hazardous chemicals"
        }
    }
}

/// Whether a road-risk segment can be driven: `restricted` is slower (the routing profile's
/// factor), `closed` is not routed through.
public enum RoadRiskStatus: String, Sendable, CaseIterable {
    case open, restricted, closed
}

/// The role of a disaster information officer (灾害信息员) record.
public enum OfficerRole: String, Sendable, CaseIterable {
    case infoOfficer = "info_officer", monitor, adminResponsible = "admin_responsible", evacuationLead = "evacuation_lead"

    public var nameCN: String {
        switch self {
        case .infoOfficer: "灾害信息员"
        case .monitor: "监测人"
        case .adminResponsible: "行政责任人"
        case .evacuationLead: "转移负责人"
        }
    }

    public var nameEN: String {
        switch self {
        case .infoOfficer: "Information officer"
        case .monitor: "Monitor"
        case .adminResponsible: "Administrative head"
        case .evacuationLead: "Evacuation lead"
        }
    }
}

/// The store layers that hold resources routed to an incident (nearest help, coverage).
public enum ResourceKind: String, Sendable, CaseIterable {
    case fireStations = "fire_stations", microFireStations = "micro_fire_stations", warehouses, shelters
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// Every raw value, in declaration order (for check constraints and messages).
    public static var rawValues: [String] { allCases.map(\.rawValue) }
}

/// Whether a shelter (避难场所) takes people now.
public enum ShelterStatus: String, Sendable, CaseIterable {
    case open, closed, full
    public var nameCN: String {
        switch self { case .open: "开放"; case .closed: "关闭"; case .full: "已满" }
    }
}

/// The kind of an incident (突发事件): the hazard types, plus fire (火灾), traffic (交通事故) and
/// other; `hazchem` is 危化品 (hazardous chemicals).
public enum IncidentType: String, Sendable, CaseIterable {
    case flood, flashFlood = "flash_flood", debrisFlow = "debris_flow", landslide, earthquake, forestFire = "forest_fire", windHail = "wind_hail", snow, hazchem
    case fire, traffic, other

    public var nameCN: String {
        if let h = HazardType(rawValue: rawValue) { return h.nameCN }
        switch self { case .fire: return "火灾"; case .traffic: return "交通事故"; default: return "其他" }
    }
    public var nameEN: String {
        if let h = HazardType(rawValue: rawValue) { return h.nameEN }
        switch self { case .fire: return "fire"; case .traffic: return "traffic accident"; default: return "other" }
    }
}

/// An incident's status: reported (已报告) → responding (处置中) → closed (已结束).
public enum IncidentStatus: String, Sendable, CaseIterable {
    case reported, responding, closed
    public var nameCN: String {
        switch self { case .reported: "已报告"; case .responding: "处置中"; case .closed: "已结束" }
    }

    /// Forward only (reported → responding → closed, or straight to closed), plus reopening a
    /// closed incident as responding; staying put is always allowed.
    public static func allowed(from a: IncidentStatus, to b: IncidentStatus) -> Bool {
        switch (a, b) {
        case (.responding, .reported), (.closed, .reported): false
        default: true
        }
    }
}
