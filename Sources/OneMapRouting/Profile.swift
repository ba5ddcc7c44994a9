import Foundation
import OneMapCore
import OneMapStore

/// Travel assumptions for emergency vehicles: speed per road class, turnout time per resource
/// kind, the slowdown on restricted roads and the snapping limit. Editable as JSON
/// (`Styles/routing-profile.json`, passed with `--profile`).
public struct RoutingProfile: Sendable, Equatable {
    /// km/h by road class; a road's own `maxspeed` overrides it.
    public var speeds: [String: Double]
    /// Seconds from alarm to wheels rolling, by resource layer.
    public var turnout: [String: Double]
    /// Travel time on a `restricted` road-risk segment is multiplied by this.
    public var restrictedFactor: Double
    /// An incident or facility farther than this from any road (metres) cannot be routed.
    public var maxSnapDistance: Double
    /// A road is covered by a road-risk segment when a point of it lies this close (metres).
    public var riskTolerance: Double
    /// Road networks of fewer edges are "fragments": a point whose nearest road is on one also
    /// joins the nearest larger network, so a stray track cannot cut an incident off.
    public var minComponentEdges: Int = 10

    public static let emergency = RoutingProfile(
        speeds: ["expressway": 100, "national": 80, "provincial": 70, "county": 60, "township": 50, "village": 35, "track": 20],
        turnout: ["fire_stations": 60, "micro_fire_stations": 30, "warehouses": 600, "shelters": 0],
        restrictedFactor: 2.5, maxSnapDistance: 2000, riskTolerance: 15)

    /// km/h on a road of class `c`; its own `maxspeed` (km/h) wins; 30 for an unknown class.
    public func speed(forClass c: String, maxspeed: Double?) -> Double {
        if let m = maxspeed, m > 0 { return m }
        return speeds[c] ?? 30
    }

    /// Seconds to drive `metres` of a road (before road risks).
    public func seconds(metres: Double, roadClass: String, maxspeed: Double?) -> Double {
        metres / (speed(forClass: roadClass, maxspeed: maxspeed) / 3.6)
    }

    /// What a road-risk status does to the time on the roads it covers: ×1 open,
    /// ×`restrictedFactor` restricted, impassable (∞) closed. The worst status on a road applies
    /// once; statuses do not compound.
    public func factor(for status: RoadRiskStatus) -> Double {
        switch status {
        case .open: 1
        case .restricted: restrictedFactor
        case .closed: .infinity
        }
    }

    /// Reads a profile from JSON; absent keys keep the defaults.
    public static func load(path: String) throws -> RoutingProfile {
        let v = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        var p = RoutingProfile.emergency
        guard case .object(let o) = v else { throw RoutingError.invalidProfile("\(path) must hold a JSON object") }
        for (k, value) in o {
            switch k {
            case "speeds_kmh", "turnout_seconds":
                guard case .object(let m) = value else { throw RoutingError.invalidProfile("\(k) must be an object") }
                for (c, s) in m {
                    guard let d = s.doubleValue, d >= 0, d.isFinite else { throw RoutingError.invalidProfile("\(k).\(c) must be a number ≥ 0") }
                    if k == "speeds_kmh" {
                        guard d > 0 else { throw RoutingError.invalidProfile("speeds_kmh.\(c) must be > 0") }
                        p.speeds[c] = d
                    } else { p.turnout[c] = d }
                }
            case "restricted_factor":
                guard let d = value.doubleValue, d >= 1 else { throw RoutingError.invalidProfile("restricted_factor must be a number ≥ 1") }
                p.restrictedFactor = d
            case "max_snap_m":
                guard let d = value.doubleValue, d > 0 else { throw RoutingError.invalidProfile("max_snap_m must be > 0") }
                p.maxSnapDistance = d
            case "risk_tolerance_m":
                guard let d = value.doubleValue, d >= 0 else { throw RoutingError.invalidProfile("risk_tolerance_m must be ≥ 0") }
                p.riskTolerance = d
            case "min_component_edges":
                guard let d = value.intValue, d >= 1 else { throw RoutingError.invalidProfile("min_component_edges must be a whole number ≥ 1") }
                p.minComponentEdges = d
            case "comment": continue
            default: throw RoutingError.invalidProfile("unknown key \"\(k)\" in \(path)")
            }
        }
        return p
    }
}

/// Routing errors, as sentences.
public enum RoutingError: OneMapError, Equatable {
    case tooFarFromRoad(what: String, point: Coord, distance: Double, limit: Double)
    case noRoads
    case unknownKind(String)
    case invalidProfile(String)
    case invalidRequest(String)

    public var category: ErrorCategory {
        switch self {
        case .tooFarFromRoad: .unprocessable
        case .noRoads: .unprocessable
        case .invalidProfile: .internal
        case .unknownKind, .invalidRequest: .badInput
        }
    }

    public var description: String {
        switch self {
        case .tooFarFromRoad(let what, let p, let d, let limit):
            return d.isFinite
                ? String(format: "%@ at %.5f,%.5f is %.0f m from the nearest usable road, more than the %.0f m limit", what, p.lon, p.lat, d, limit)
                : String(format: "%@ at %.5f,%.5f has no usable road within %.0f m", what, p.lon, p.lat, limit)
        case .noRoads: return "the store has no roads to route on; import a roads layer first"
        case .unknownKind(let k): return "unknown resource kind \"\(k)\"; use one of \(RoadRouter.resourceKinds.joined(separator: ", "))"
        case .invalidProfile(let s): return "routing profile: \(s)"
        case .invalidRequest(let s): return s
        }
    }
}
