import Foundation
import OneMapCore
import OneMapRouting
import OneMapStore

/// What an incident touches and what can reach it: the command centre's first look (county plan
/// 三(二) 应急联动, 四(四) 一张图).
///
/// - hazard zones the incident lies in;
/// - villages within `radiusMetres` of it (from the village boundary) or inside those zones, with
///   households and people at risk;
/// - the information officers and responsible persons of those villages, with phones;
/// - shelters of those villages or within the radius, with capacity, status and occupancy;
/// - the nearest fire teams, micro fire stations, warehouses (with stock) and shelters by road
///   with ETAs and routes (each the JSON of `/api/nearest`);
/// - the road-risk segments on those routes.
public struct IncidentAnalysis: Sendable {
    public struct Village: Sendable {
        public var feature: Feature
        /// Metres from the incident to the village boundary (0 inside).
        public var metres: Double
        /// Inside a hazard zone the incident lies in.
        public var inZone: Bool
    }
    public struct Shelter: Sendable {
        public var feature: Feature
        public var metres: Double
    }

    public var incident: Feature
    public var at: Coord
    public var radiusMetres: Double
    public var zones: [Feature]
    public var villages: [Village]
    public var contacts: [Feature]
    public var shelters: [Shelter]
    /// nil when the incident is too far from any road to route.
    public var nearest: NearestAnswer?
    /// Why there are no routes, when there are none.
    public var routingNote: String?
    /// Warehouse id → its stock rows.
    public var stock: [String: JSONValue]
    /// Road-risk segments any of the routes uses, with the resources whose routes use them.
    public var routeRisks: [(risk: Feature, resources: [String])]

    /// The kinds routed to, in the order the analysis lists them.
    public static let routedKinds = ["fire_stations", "micro_fire_stations", "warehouses", "shelters"]

    /// Analyses an incident. `k` resources per kind (1…10). Throws `StoreError`s of the source
    /// and `RoutingError`s other than "too far from a road" (which becomes `routingNote`).
    public static func analyse(_ incident: Feature, source: any FeatureSource, router: RoadRouter, radiusMetres: Double = 5000, k: Int = 3) throws -> IncidentAnalysis {
        let at = incident.geometry.representativePoint
        // Degrees covering the radius (longitude degrees shrink with latitude).
        let dLat = radiusMetres / 111_000, dLon = radiusMetres / (111_000 * max(0.2, cos(at.lat * .pi / 180)))
        let around = BBox(minLon: at.lon - dLon, minLat: at.lat - dLat, maxLon: at.lon + dLon, maxLat: at.lat + dLat)

        let zones = try source.features(FeatureQuery(layer: "hazard_zones", bbox: BBox(minLon: at.lon, minLat: at.lat, maxLon: at.lon, maxLat: at.lat), predicate: .geometry))
            .filter { z in z.geometry.polygons.contains { Planar.polygonContains($0, at) } }
            .sorted { ($0["level"]?.intValue ?? 9, $0.id) < ($1["level"]?.intValue ?? 9, $1.id) }
        var zoneBox = BBox.empty
        for z in zones { zoneBox = zoneBox.union(z.geometry.bbox) }

        var villages: [String: Village] = [:]
        for v in try source.features(FeatureQuery(layer: "villages", bbox: around, predicate: .geometry)) {
            let inside = v.geometry.polygons.contains { Planar.polygonContains($0, at) }
            let d = inside ? 0 : Store.distance(from: at, to: v.geometry)
            if d <= radiusMetres { villages[v.id] = Village(feature: v, metres: d, inZone: false) }
        }
        if !zones.isEmpty {
            for v in try source.features(FeatureQuery(layer: "villages", bbox: zoneBox, predicate: .geometry)) {
                let c = v["center"]?.arrayValue.flatMap { a in a.count == 2 ? Coord(a[0].doubleValue ?? 0, a[1].doubleValue ?? 0) : nil } ?? v.geometry.representativePoint
                let touches = zones.contains { z in
                    z.geometry.polygons.contains { Planar.polygonContains($0, c) } || v.geometry.allCoords.contains { p in z.geometry.polygons.contains { Planar.polygonContains($0, p) } }
                }
                guard touches else { continue }
                if var known = villages[v.id] { known.inZone = true; villages[v.id] = known } else {
                    let inside = v.geometry.polygons.contains { Planar.polygonContains($0, at) }
                    villages[v.id] = Village(feature: v, metres: inside ? 0 : Store.distance(from: at, to: v.geometry), inZone: true)
                }
            }
        }
        let villageList = villages.values.sorted { ($0.metres, $0.feature.id) < ($1.metres, $1.feature.id) }
        let codes = Set(villageList.compactMap { $0.feature["code"]?.stringValue })

        let roleOrder = OfficerRole.rawValues
        let contacts = try source.all("info_officers").filter { o in o["village"]?.stringValue.map(codes.contains) == true }
            .sorted { a, b in
                let va = a["village"]?.stringValue ?? "", vb = b["village"]?.stringValue ?? ""
                let ra = roleOrder.firstIndex(of: a["role"]?.stringValue ?? "") ?? 99, rb = roleOrder.firstIndex(of: b["role"]?.stringValue ?? "") ?? 99
                return (va, ra, a.id) < (vb, rb, b.id)
            }
        var shelters: [String: Shelter] = [:]
        for s in try source.features(FeatureQuery(layer: "shelters", bbox: around.union(villageList.reduce(BBox.empty) { $0.union($1.feature.geometry.bbox) }), predicate: .geometry)) {
            let d = Store.distance(from: at, to: s.geometry)
            if d <= radiusMetres || s["village"]?.stringValue.map(codes.contains) == true { shelters[s.id] = Shelter(feature: s, metres: d) }
        }

        var nearest: NearestAnswer?
        var note: String?
        do { nearest = try router.nearest(to: at, kinds: routedKinds, k: max(1, min(10, k))) } catch let e as RoutingError where e.category == .unprocessable {
            note = e.description
        }
        var stock: [String: JSONValue] = [:]
        var risks: [(Feature, [String])] = []
        if let nearest {
            let warehouseIDs = Set(nearest.hits.filter { $0.kind == "warehouses" }.map(\.id))
            if !warehouseIDs.isEmpty {
                for w in try source.all("warehouses") where warehouseIDs.contains(w.id) { stock[w.id] = w["stock"] ?? .array([]) }
            }
            var routesBox = BBox.empty
            for h in nearest.hits where h.reachable { routesBox = routesBox.union(BBox(covering: h.route)) }
            if !routesBox.isEmpty {
                for r in try source.features(FeatureQuery(layer: "road_risks", bbox: routesBox.expanded(by: 0.001), predicate: .geometry)) {
                    let rb = r.geometry.bbox.expanded(by: 0.0005)
                    // On the route: two of its vertices on the risk line and two of the line's on
                    // the route (a route only crossing the segment at a junction shares one).
                    let users = nearest.hits.filter { h in
                        h.reachable && h.route.filter { p in rb.contains(p) && Store.distance(from: p, to: r.geometry) <= 15 }.count >= 2
                            && r.geometry.allCoords.filter { p in Store.distance(from: p, to: .lineString(h.route)) <= 15 }.count >= 2
                    }
                    if !users.isEmpty { risks.append((r, users.map { "\($0.kind)/\($0.id)" })) }
                }
            }
        }
        return IncidentAnalysis(incident: incident, at: at, radiusMetres: radiusMetres, zones: zones, villages: villageList, contacts: contacts,
                                shelters: shelters.values.sorted { ($0.metres, $0.feature.id) < ($1.metres, $1.feature.id) },
                                nearest: nearest, routingNote: note, stock: stock, routeRisks: risks.sorted { $0.0.id < $1.0.id }.map { (risk: $0.0, resources: $0.1) })
    }

    /// People and households at risk: the villages' totals (a village counted once).
    public var peopleAtRisk: Int { villages.reduce(0) { $0 + ($1.feature["population"]?.intValue ?? 0) } }
    public var householdsAtRisk: Int { villages.reduce(0) { $0 + ($1.feature["households"]?.intValue ?? 0) } }

    /// The analysis as the API gives it; `redact` removes people's names and phones.
    public func json(redact: (Feature, String) -> Feature = { f, _ in f }) -> JSONValue {
        func props(_ f: Feature, _ layer: String, _ keys: [String]) -> JSONObject {
            let r = redact(f, layer)
            var o = JSONObject([("id", .string(f.id))])
            for k in keys { o[k] = r[k] ?? .null }
            return o
        }
        let zonesJ: [JSONValue] = zones.map { .object(props($0, "hazard_zones", ["type", "level", "name", "households", "people"])) }
        let villagesJ: [JSONValue] = villages.map { v in
            var o = props(v.feature, "villages", ["code", "name", "township", "households", "population"])
            o["metres"] = .number(v.metres.rounded()); o["in_hazard_zone"] = .bool(v.inZone)
            return .object(o)
        }
        let contactsJ: [JSONValue] = contacts.map { .object(props($0, "info_officers", ["name", "role", "phone", "village"])) }
        var sheltersJ: [JSONValue] = []
        for s in shelters {
            var o = props(s.feature, "shelters", ["name", "village", "kind", "capacity", "occupancy", "status", "person_in_charge", "phone"])
            o["metres"] = .number(s.metres.rounded())
            o["location"] = [.number(s.feature.geometry.representativePoint.lon), .number(s.feature.geometry.representativePoint.lat)]
            sheltersJ.append(.object(o))
        }
        var byKind = JSONObject()
        for kind in IncidentAnalysis.routedKinds {
            byKind[kind] = .array((nearest?.hits ?? []).filter { $0.kind == kind }.map { h in
                guard kind == "warehouses", case .object(var o) = h.json else { return h.json }
                o["stock"] = stock[h.id] ?? .array([])
                return .object(o)
            })
        }
        let risksJ: [JSONValue] = routeRisks.map { r in
            var o = props(r.risk, "road_risks", ["name", "risk_type", "level", "status", "note"])
            o["on_routes_of"] = .array(r.resources.map { .string($0) })
            return .object(o)
        }
        var totals = JSONObject([("villages", .number(Double(villages.count))), ("households", .number(Double(householdsAtRisk))), ("people", .number(Double(peopleAtRisk)))])
        totals["shelter_capacity"] = .number(Double(shelters.reduce(0) { $0 + ($1.feature["capacity"]?.intValue ?? 0) }))
        var o = JSONObject([("incident", .string(incident.id)), ("location", [.number(at.lon), .number(at.lat)]), ("radius_metres", .number(radiusMetres))])
        o["hazard_zones"] = .array(zonesJ)
        o["villages"] = .array(villagesJ)
        o["at_risk"] = .object(totals)
        o["contacts"] = .array(contactsJ)
        o["shelters"] = .array(sheltersJ)
        o["snapped_to"] = nearest.map { [.number($0.snappedTo.lon), .number($0.snappedTo.lat)] } ?? .null
        o["nearest"] = .object(byKind)
        o["routing_note"] = routingNote.map { .string($0) } ?? .null
        o["road_risks_on_routes"] = .array(risksJ)
        return .object(o)
    }
}
