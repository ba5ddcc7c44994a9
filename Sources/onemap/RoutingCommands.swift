import ArgumentParser
import Foundation
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStyle
import OneMapStore

struct RoutingOptionGroup: ParsableArguments {
    @Option(help: "Comma-separated road-risk ids to treat as closed.") var avoidRisks: String?
    @Option(help: "Avoid hazard zones of this level or more severe (1 red … 4 blue).") var avoidZoneLevel: Int?
    @Option(help: "Routing profile JSON (speeds, turnout, restricted factor).") var profile: String?
    @Option(help: "Largest snap distance to a road, metres.") var maxSnap: Double?

    var routeOptions: RouteOptions {
        RouteOptions(avoidRisks: avoidRisks?.split(separator: ",").map(String.init) ?? [], avoidZoneLevel: avoidZoneLevel, maxSnap: maxSnap)
    }

    func router(_ store: Store) throws -> RoadRouter { try makeRouter(store, profile: profile) }
}

/// A router with the given profile, or the shipped Styles/routing-profile.json, or the defaults.
func makeRouter(_ store: Store, profile: String? = nil) throws -> RoadRouter {
    try RoadRouter(source: store, profile: try loadProfile(profile))
}

/// The routing profile at `path`, else the shipped one (Styles/routing-profile.json), else the defaults.
func loadProfile(_ path: String?) throws -> RoutingProfile {
    let shipped = (try Paths.styles() as NSString).appendingPathComponent("routing-profile.json")
    let path = path ?? (FileManager.default.fileExists(atPath: shipped) ? shipped : nil)
    do { return try path.map { try RoutingProfile.load(path: $0) } ?? .emergency } catch let e as RoutingError {
        throw e
    } catch {
        throw CLIError(.notFound, "cannot read the routing profile \(path ?? ""): \(error.localizedDescription)")
    }
}


func minutes(_ s: Double?) -> String { s.map { String(format: "%.1f", $0 / 60) } ?? "—" }
func km(_ m: Double?) -> String { m.map { String(format: "%.2f", $0 / 1000) } ?? "—" }

func lineJSON(_ pts: [Coord]) -> JSONValue { GeoJSON.json(.lineString(pts)) }

struct Nearest: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The resources that reach an incident first by road.")
    @Option(help: "Incident lon,lat, e.g. 82.98,46.20") var at: String
    @Option(help: "Resource kinds, comma-separated: \(RoadRouter.resourceKinds.joined(separator: ", ")) (default all).") var kind: String?
    @Option var k = 3
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Also draw the incident and the routes as a PNG map.") var png: String?
    @OptionGroup var routing: RoutingOptionGroup
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let p = parseCoord(at) else {
            throw CLIError("--at must be lon,lat inside the world, e.g. 82.98,46.20; got \"\(at)\"")
        }
        try reportingErrors {
            let st = try store.open()
            let r = try routing.router(st)
            let kinds = kind.map { $0.split(separator: ",").map { String($0).replacingOccurrences(of: "-", with: "_") } } ?? RoadRouter.resourceKinds
            let a = try r.nearest(to: p, kinds: kinds, k: k, options: routing.routeOptions)
            if let png {
                var m = ResultMap(title: String(format: "事发点 %.4f, %.4f 最近应急资源与路线", p.lon, p.lat))
                let colours = ["fire_stations": Color(0.9, 0.1, 0.1), "micro_fire_stations": Color(1, 0.55, 0.1), "warehouses": Color(0.15, 0.45, 0.9), "shelters": Color(0.1, 0.65, 0.3)]
                let icons = ["fire_stations": "fire-station", "micro_fire_stations": "micro-fire-station", "warehouses": "warehouse", "shelters": "shelter"]
                for h in a.hits where h.reachable {
                    m.line(h.route, colours[h.kind] ?? Color(0, 0, 0))
                    m.point(h.point, colours[h.kind] ?? Color(0, 0, 0), label: "\(h.name) \(minutes(h.etaSeconds))分钟", icon: icons[h.kind])
                }
                m.point(p, Color(0.9, 0, 0), label: "事发点", icon: "incident")
                m.legend = [("消防队", Color(0.9, 0.1, 0.1)), ("微型消防站", Color(1, 0.55, 0.1)), ("物资库", Color(0.15, 0.45, 0.9)), ("避难场所", Color(0.1, 0.65, 0.3))]
                try Data(try m.png(map: try openRenderer(st))).write(to: URL(fileURLWithPath: png))
                printError("wrote \(png)")
            }
            if json {
                print(JSONWriter.string(["incident": [.number(p.lon), .number(p.lat)], "snap_metres": .number(a.snapMetres.rounded()), "resources": .array(a.hits.map(\.json))]))
                return
            }
            print(String(format: "incident %.5f,%.5f — on the road %.0f m away", p.lon, p.lat, a.snapMetres))
            print(table(["kind", "name", "ETA min", "drive min", "road km", "straight km", ""], a.hits.map { h in
                [h.kind, h.name, minutes(h.etaSeconds), minutes(h.driveSeconds), km(h.roadMetres), km(h.straightMetres), h.reachable ? "" : "UNREACHABLE: \(h.note ?? "")"]
            }))
        }
    }
}

struct Route: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The fastest road route between two points.")
    @Option(help: "lon,lat") var from: String
    @Option(help: "lon,lat") var to: String
    @Flag(help: "JSON output (GeoJSON route).") var json = false
    @Option(help: "Also draw the route as a PNG map.") var png: String?
    @OptionGroup var routing: RoutingOptionGroup
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let a = parseCoord(from), let b = parseCoord(to) else {
            throw CLIError("--from and --to must be lon,lat inside the world")
        }
        try reportingErrors {
            let st = try store.open()
            let r = try routing.router(st).route(from: a, to: b, options: routing.routeOptions)
            if let png, r.reachable {
                var m = ResultMap(title: String(format: "路线 %.1f 分钟 · %.1f 公里", r.seconds! / 60, r.metres! / 1000))
                m.line(r.route, Color(0.1, 0.4, 0.9), width: 5)
                m.point(a, Color(0.1, 0.6, 0.2), label: "起点")
                m.point(b, Color(0.9, 0, 0), label: "终点", icon: "incident")
                try Data(try m.png(map: try openRenderer(st))).write(to: URL(fileURLWithPath: png))
                printError("wrote \(png)")
            }
            if json {
                print(JSONWriter.string(["reachable": .bool(r.reachable), "seconds": r.seconds.map { .number(($0 * 10).rounded() / 10) } ?? .null,
                                         "metres": r.metres.map { .number($0.rounded()) } ?? .null, "route": r.reachable ? lineJSON(r.route) : .null,
                                         "note": r.note.map { .string($0) } ?? .null]))
                return
            }
            if r.reachable {
                print(String(format: "%.1f min, %.2f km (snapped %.0f m and %.0f m from the roads)", r.seconds! / 60, r.metres! / 1000, r.snapMetres.from, r.snapMetres.to))
            } else {
                throw CLIError(.unprocessable, "no route: \(r.note ?? "no road connects the two points")")
            }
        }
    }
}

struct Coverage: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Each village's fire response time against the standard.")
    @Option(help: "Standard in minutes (5 for fire stations, 3 for micro fire stations).") var minutes: Double?
    @Option(help: "fire_stations or micro_fire_stations") var kind = "fire_stations"
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Write the villages as GeoJSON to this file.") var geojson: String?
    @Option(help: "Draw the coverage as a PNG map.") var png: String?
    @OptionGroup var routing: RoutingOptionGroup
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let k = kind.replacingOccurrences(of: "-", with: "_")
        let standard = (minutes ?? (k == "micro_fire_stations" ? 3 : 5)) * 60
        try reportingErrors {
            let st = try store.open()
            let rows = try routing.router(st).coverage(kind: k, standardSeconds: standard, options: routing.routeOptions)
            let fc = CoverageRow.featureCollection(rows, kind: k, standardSeconds: standard)
            if let png {
                let ok = rows.filter(\.meetsStandard).count
                var m = ResultMap(title: String(format: "%@ %.0f 分钟覆盖：%d / %d 个村达标（含出动时间）", k == "micro_fire_stations" ? "微型消防站" : "消防站", standard / 60, ok, rows.count))
                for r in rows {
                    let c = r.meetsStandard ? Color(0.1, 0.65, 0.3) : (r.responseSeconds.map { $0 <= 2 * standard } ?? false ? Color(1, 0.6, 0) : Color(0.85, 0.1, 0.1))
                    m.point(r.point, c, label: "\(r.village) \(OneMapCLI.minutes(r.responseSeconds))")
                }
                for f in try st.allFeatures(of: k) { m.point(f.geometry.representativePoint, Color(0.9, 0, 0), icon: k == "fire_stations" ? "fire-station" : "micro-fire-station") }
                m.legend = [("达标", Color(0.1, 0.65, 0.3)), ("超时(2倍以内)", Color(1, 0.6, 0)), ("严重超时/不可达", Color(0.85, 0.1, 0.1))]
                let county = try st.allFeatures(of: "county").first?.geometry.bbox
                try Data(try m.png(map: try openRenderer(st), extent: county)).write(to: URL(fileURLWithPath: png))
                printError("wrote \(png)")
            }
            if let geojson { try JSONWriter.string(fc).write(toFile: geojson, atomically: true, encoding: .utf8) }
            if json { print(JSONWriter.string(fc)); return }
            print(table(["village", "township", "best", "centre min", "meets", "farthest road min", "everywhere"],
                        rows.sorted { ($0.responseSeconds ?? .infinity) < ($1.responseSeconds ?? .infinity) }.map { r in
                [r.village, r.township, r.bestStation ?? "—", OneMapCLI.minutes(r.responseSeconds), r.meetsStandard ? "yes" : "NO",
                 r.farthestPoint == nil ? "—" : OneMapCLI.minutes(r.farthestResponseSeconds), r.meetsStandardEverywhere ? "yes" : "NO"]
            }))
            let ok = rows.filter(\.meetsStandard).count, all = rows.filter(\.meetsStandardEverywhere).count
            print(String(format: "%d of %d villages (%.0f%%) within %.0f min of %@ at the centre, %d at every road point of the village (turnout included)",
                         ok, rows.count, 100 * Double(ok) / Double(max(1, rows.count)), standard / 60, k, all))
        }
    }
}

enum OneMapCLI {
    static func minutes(_ s: Double?) -> String { s.map { String(format: "%.1f", $0 / 60) } ?? "—" }
}

struct Isochrone: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The roads reachable from a point within some minutes, as GeoJSON.")
    @Option(help: "lon,lat") var from: String
    @Option var minutes: Double = 5
    @Option(help: "Also draw the reachable roads as a PNG map.") var png: String?
    @OptionGroup var routing: RoutingOptionGroup
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let a = parseCoord(from) else {
            throw CLIError("--from must be lon,lat inside the world")
        }
        try reportingErrors {
            let st = try store.open()
            let pieces = try routing.router(st).isochrone(from: a, seconds: minutes * 60, options: routing.routeOptions)
            if let png {
                var m = ResultMap(title: String(format: "%.0f 分钟可达道路", minutes))
                for p in pieces { m.line(p, Color(0.9, 0.2, 0.5), width: 4) }
                m.point(a, Color(0.9, 0, 0), label: "出发点", icon: "fire-station")
                try Data(try m.png(map: try openRenderer(st))).write(to: URL(fileURLWithPath: png))
                printError("wrote \(png)")
            }
            print(JSONWriter.string(GeoJSON.json(Feature(id: "isochrone", geometry: .multiLineString(pieces), properties: ["minutes": .number(minutes)]))))
        }
    }
}
