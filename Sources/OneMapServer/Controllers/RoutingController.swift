import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapRouting

/// Routing by road: nearest resources, point-to-point routes, fire coverage and isochrones.
struct RoutingController<Context: RequestContext> {
    let roads: RoadRouter

    func addRoutes(to router: Hummingbird.Router<Context>) {
        router.get("/api/nearest") { request, _ -> Response in
            let at = try request.coord(lon: "lon", lat: "lat")
            let kinds = (request.query("kind") ?? RoadRouter.resourceKinds.joined(separator: ",")).split(separator: ",").map { String($0).replacingOccurrences(of: "-", with: "_") }
            for k in kinds where !RoadRouter.resourceKinds.contains(k) {
                throw APIError(.badRequest, "unknown kind \"\(k)\"; use one of \(RoadRouter.resourceKinds.joined(separator: ", "))")
            }
            let k = try request.integer("k", default: 3, range: 1...50)
            let options = try request.routeOptions()
            let a = try await blocking { try roads.nearest(to: at, kinds: kinds, k: k, options: options) }
            return jsonResponse([
                "incident": [.number(at.lon), .number(at.lat)], "snapped_to": [.number(a.snappedTo.lon), .number(a.snappedTo.lat)],
                "snap_metres": .number(a.snapMetres.rounded()), "resources": .array(a.hits.map(\.json)),
            ])
        }

        router.get("/api/route") { request, _ -> Response in
            let from = try request.coord("from"), to = try request.coord("to")
            let options = try request.routeOptions()
            let r = try await blocking { try roads.route(from: from, to: to, options: options) }
            return jsonResponse([
                "reachable": .bool(r.reachable), "seconds": r.seconds.map { .number(($0 * 10).rounded() / 10) } ?? .null,
                "metres": r.metres.map { .number($0.rounded()) } ?? .null, "route": r.reachable ? GeoJSON.json(.lineString(r.route)) : .null,
                "note": r.note.map { .string($0) } ?? .null,
            ])
        }

        router.get("/api/coverage") { request, _ -> Response in
            let kind = (request.query("kind") ?? "fire_stations").replacingOccurrences(of: "-", with: "_")
            guard kind == "fire_stations" || kind == "micro_fire_stations" else {
                throw APIError(.badRequest, "coverage kind must be fire_stations or micro_fire_stations, got \"\(kind)\"")
            }
            let minutes = try request.number("minutes", required: false) ?? (kind == "micro_fire_stations" ? 3 : 5)
            guard minutes > 0, minutes <= 240 else { throw APIError(.badRequest, "minutes must be in 0…240") }
            let options = try request.routeOptions()
            let rows = try await blocking { try roads.coverage(kind: kind, standardSeconds: minutes * 60, options: options) }
            return jsonResponse(CoverageRow.featureCollection(rows, kind: kind, standardSeconds: minutes * 60), headers: [.contentType: "application/geo+json"])
        }

        router.get("/api/isochrone") { request, _ -> Response in
            let at = try request.coord(lon: "lon", lat: "lat")
            let minutes = try request.number("minutes", required: false) ?? 5
            guard minutes > 0, minutes <= 240 else { throw APIError(.badRequest, "minutes must be in 0…240") }
            let options = try request.routeOptions()
            let pieces = try await blocking { try roads.isochrone(from: at, seconds: minutes * 60, options: options) }
            return jsonResponse(GeoJSON.json(Feature(id: "isochrone", geometry: .multiLineString(pieces), properties: ["minutes": .number(minutes)])),
                                headers: [.contentType: "application/geo+json"])
        }
    }
}
