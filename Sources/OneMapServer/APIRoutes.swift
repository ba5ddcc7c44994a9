import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore

extension Request {
    func query(_ k: String) -> String? { uri.queryParameters.get(k) }

    func number(_ k: String, required: Bool = true) throws -> Double? {
        guard let v = query(k) else {
            if required { throw APIError(.badRequest, "missing query parameter \"\(k)\"") }
            return nil
        }
        guard let d = Double(v), d.isFinite else { throw APIError(.badRequest, "\"\(k)\" must be a number, got \"\(v)\"") }
        return d
    }

    func integer(_ k: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        guard let v = query(k) else { return d }
        guard let n = Int(v), range.contains(n) else { throw APIError(.badRequest, "\"\(k)\" must be a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(v)\"") }
        return n
    }

    func coord(lon: String, lat: String) throws -> Coord {
        let c = Coord(try number(lon)!, try number(lat)!)
        guard c.isInWorld else { throw APIError(.badRequest, "coordinates \(c.lon),\(c.lat) are outside the world (lon −180…180, lat −90…90)") }
        return c
    }

    func coord(_ k: String) throws -> Coord {
        guard let v = query(k) else { throw APIError(.badRequest, "missing query parameter \"\(k)\" (lon,lat)") }
        let p = v.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 2, let lon = p[0], let lat = p[1] else { throw APIError(.badRequest, "\"\(k)\" must be lon,lat, got \"\(v)\"") }
        let c = Coord(lon, lat)
        guard c.isInWorld else { throw APIError(.badRequest, "\"\(k)\" \(v) is outside the world (lon −180…180, lat −90…90)") }
        return c
    }

    func routeOptions() throws -> RouteOptions {
        var o = RouteOptions()
        if let r = query("avoid_risks") { o.avoidRisks = r.split(separator: ",").map(String.init) }
        if query("avoid_zone_level") != nil { o.avoidZoneLevel = try integer("avoid_zone_level", default: 4, range: 1...4) }
        return o
    }
}

/// The largest bbox a feature query may ask for, in degrees per side.
let maxBBoxDegrees = 5.0

func addAPIRoutes(_ router: Hummingbird.Router<BasicRequestContext>, _ s: OneMapServices) {
    router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
    router.get("/readyz") { _, _ -> Response in
        let layers = try await s.blocking { try s.store.layerInfo() }
        let roads = layers.first { $0.name == "roads" }?.count ?? 0
        let ready = roads > 0 && !s.map.styles.isEmpty
        return jsonResponse(["status": ready ? "ready" : "not ready", "roads": .number(Double(roads)), "styles": .array(s.map.styleNames.map { .string($0) })],
                            status: ready ? .ok : .serviceUnavailable)
    }
    router.get("/metrics") { _, _ -> Response in
        s.metrics.queueDepth.set(Double(s.queue.depth))
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: s.metrics.text())))
    }

    router.get("/api/layers") { _, _ -> Response in
        let layers = try await s.blocking { try s.store.layerInfo() }
        return jsonResponse(.array(layers.map { l in
            let spec = Layers.byName[l.name]!
            return [
                "name": .string(l.name), "title": .string(l.title), "count": .number(Double(l.count)),
                "geometry": .array(spec.geometry.map { .string($0.rawValue) }),
                "extent": l.extent.map { .array([.number($0.minLon), .number($0.minLat), .number($0.maxLon), .number($0.maxLat)]) } ?? .null,
                "properties": .array(spec.properties.map { .string($0.name) }),
            ]
        }))
    }

    router.get("/api/features/:layer") { request, context -> Response in
        let layer = try context.parameters.require("layer")
        guard Layers.byName[layer] != nil else { throw StoreError.unknownLayer(layer) }
        var box = BBox.world
        if let b = request.query("bbox") {
            guard let parsed = BBox.parse(b) else {
                throw APIError(.badRequest, "bbox must be minLon,minLat,maxLon,maxLat inside the world with min ≤ max, got \"\(b)\"")
            }
            guard parsed.width <= maxBBoxDegrees, parsed.height <= maxBBoxDegrees else {
                throw APIError(.badRequest, "bbox too large: \(String(format: "%.2f", parsed.width))° × \(String(format: "%.2f", parsed.height))°, at most \(maxBBoxDegrees)° per side")
            }
            box = parsed
        }
        let limit = try request.integer("limit", default: 1000, range: 1...10000)
        let offset = try request.integer("offset", default: 0, range: 0...10_000_000)
        let query = box
        let page = try await s.blocking { try s.store.features(in: layer, bbox: query, limit: limit + 1, offset: offset) }
        let more = page.count > limit
        var extra: [(String, JSONValue)] = [("limit", .number(Double(limit))), ("offset", .number(Double(offset))), ("returned", .number(Double(min(limit, page.count))))]
        if more { extra.append(("next", .string("/api/features/\(layer)?\(request.query("bbox").map { "bbox=\($0)&" } ?? "")limit=\(limit)&offset=\(offset + limit)"))) }
        return jsonResponse(GeoJSON.collection(Array(page.prefix(limit)), extra: extra), headers: [.contentType: "application/geo+json"])
    }

    router.get("/api/features/:layer/:id") { _, context -> Response in
        let layer = try context.parameters.require("layer")
        let rawID = try context.parameters.require("id")
        let id = rawID.removingPercentEncoding ?? rawID
        guard Layers.byName[layer] != nil else { throw StoreError.unknownLayer(layer) }
        guard let f = try await s.blocking({ try s.store.feature(in: layer, id: id) }) else {
            throw APIError(.notFound, "\(layer) has no feature with id \"\(id)\"")
        }
        var j = GeoJSON.json(f.feature)
        if case .object(var o) = j { o["version"] = .number(Double(f.version)); j = .object(o) }
        return jsonResponse(j, headers: [.eTag: "\"\(f.version)\""])
    }

    router.get("/api/search") { request, _ -> Response in
        guard let q = request.query("q"), !q.trimmingCharacters(in: .whitespaces).isEmpty else { throw APIError(.badRequest, "missing search text \"q\"") }
        guard q.count <= 100 else { throw APIError(.badRequest, "search text longer than 100 characters") }
        let limit = try request.integer("limit", default: 20, range: 1...100)
        let hits = try await s.blocking { try s.store.search(q, limit: limit) }
        return jsonResponse(.array(hits.map { h in
            let p = h.feature.geometry.representativePoint
            let at = h.feature["center"] ?? h.feature["seat"] ?? [.number(p.lon), .number(p.lat)]
            return ["layer": .string(h.layer), "id": .string(h.feature.id), "name": h.feature["name"] ?? .null, "location": at]
        }))
    }

    router.get("/api/nearest") { request, _ -> Response in
        let at = try request.coord(lon: "lon", lat: "lat")
        let kinds = (request.query("kind") ?? RoadRouter.resourceKinds.joined(separator: ",")).split(separator: ",").map { String($0).replacingOccurrences(of: "-", with: "_") }
        for k in kinds where !RoadRouter.resourceKinds.contains(k) {
            throw APIError(.badRequest, "unknown kind \"\(k)\"; use one of \(RoadRouter.resourceKinds.joined(separator: ", "))")
        }
        let k = try request.integer("k", default: 3, range: 1...20)
        let options = try request.routeOptions()
        let a = try await s.blocking { try s.router.nearest(to: at, kinds: kinds, k: k, options: options) }
        return jsonResponse([
            "incident": [.number(at.lon), .number(at.lat)], "snapped_to": [.number(a.snappedTo.lon), .number(a.snappedTo.lat)],
            "snap_metres": .number(a.snapMetres.rounded()), "resources": .array(a.hits.map(\.json)),
        ])
    }

    router.get("/api/route") { request, _ -> Response in
        let from = try request.coord("from"), to = try request.coord("to")
        let options = try request.routeOptions()
        let r = try await s.blocking { try s.router.route(from: from, to: to, options: options) }
        return jsonResponse([
            "reachable": .bool(r.reachable), "seconds": r.seconds.map { .number(($0 * 10).rounded() / 10) } ?? .null,
            "metres": r.metres.map { .number($0.rounded()) } ?? .null, "route": r.reachable ? GeoJSON.json(.lineString(r.route)) : .null,
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
        let rows = try await s.blocking { try s.router.coverage(kind: kind, standardSeconds: minutes * 60, options: options) }
        return jsonResponse(CoverageRow.featureCollection(rows, kind: kind, standardSeconds: minutes * 60), headers: [.contentType: "application/geo+json"])
    }

    router.get("/print/village/:file") { request, context -> Response in
        let file = try context.parameters.require("file")
        let png = file.hasSuffix(".png")
        guard png || file.hasSuffix(".pdf") else { throw APIError(.notFound, "village maps are at /print/village/{id}.pdf or .png") }
        let key = String(file.dropLast(4)).removingPercentEncoding ?? String(file.dropLast(4))
        var options = PageOptions()
        if let p = request.query("paper") {
            guard let paper = Paper(rawValue: p.uppercased()) else { throw APIError(.badRequest, "paper must be A4 or A3, got \"\(p)\"") }
            options.paper = paper
        }
        options.landscape = request.query("landscape") == "1" || request.query("landscape") == "true"
        options.english = request.query("lang") == "en"
        let dpi = try request.number("dpi", required: false) ?? 150
        guard !png || (36...300).contains(dpi) else { throw APIError(.badRequest, "dpi must be 36…300 for PNG, got \(Int(dpi))") }
        let bytes: [UInt8]
        do {
            let o = options
            bytes = try await s.blocking { png ? try s.atlas.png(village: key, dpi: dpi, options: o) : try s.atlas.pdf(village: key, options: o) }
        } catch let e as PrintError {
            throw APIError(e.description.hasPrefix("no village") ? .notFound : .badRequest, e.description)
        }
        return Response(status: .ok, headers: [.contentType: png ? "image/png" : "application/pdf", .contentDisposition: "inline; filename=\"village-\(key).\(png ? "png" : "pdf")\""],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    router.get("/api/isochrone") { request, _ -> Response in
        let at = try request.coord(lon: "lon", lat: "lat")
        let minutes = try request.number("minutes", required: false) ?? 5
        guard minutes > 0, minutes <= 240 else { throw APIError(.badRequest, "minutes must be in 0…240") }
        let options = try request.routeOptions()
        let pieces = try await s.blocking { try s.router.isochrone(from: at, seconds: minutes * 60, options: options) }
        return jsonResponse(GeoJSON.json(Feature(id: "isochrone", geometry: .multiLineString(pieces), properties: ["minutes": .number(minutes)])),
                            headers: [.contentType: "application/geo+json"])
    }
}
