import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapStore

/// The features API: layers, features by box or id, search, and the editing routes (create,
/// replace, patch, delete, road-risk status, warehouse stock), all validated like import.
struct FeatureController {
    let store: Store
    let auth: Authenticator
    let personal: PersonalDataPolicy
    /// The largest request body accepted, bytes.
    let maxBodyBytes: Int

    func addRoutes(to router: Hummingbird.Router<BasicRequestContext>) {
        router.get("/api/layers") { _, _ -> Response in
            let layers = try await blocking { try store.layerInfo() }
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
            let page = try await blocking { try store.features(in: layer, bbox: query, limit: limit + 1, offset: offset) }
            let more = page.count > limit
            let visible = personal.allowed(request) ? page : page.map { Layers.redact($0, layer: layer) }
            var extra: [(String, JSONValue)] = [("limit", .number(Double(limit))), ("offset", .number(Double(offset))), ("returned", .number(Double(min(limit, page.count))))]
            if more { extra.append(("next", .string("/api/features/\(layer)?\(request.query("bbox").map { "bbox=\($0)&" } ?? "")limit=\(limit)&offset=\(offset + limit)"))) }
            return jsonResponse(GeoJSON.collection(Array(visible.prefix(limit)), extra: extra), headers: [.contentType: "application/geo+json"])
        }

        router.get("/api/features/:layer/:id") { request, context -> Response in
            let layer = try context.parameters.require("layer")
            let rawID = try context.parameters.require("id")
            let id = rawID.removingPercentEncoding ?? rawID
            guard Layers.byName[layer] != nil else { throw StoreError.unknownLayer(layer) }
            guard let f = try await blocking({ try store.feature(in: layer, id: id) }) else {
                throw APIError(.notFound, "\(layer) has no feature with id \"\(id)\"")
            }
            var j = GeoJSON.json(personal.view(f.feature, layer: layer, request))
            if case .object(var o) = j { o["version"] = .number(Double(f.version)); j = .object(o) }
            // Anonymous and signed-in readers see different bodies of one version.
            return jsonResponse(j, headers: [.eTag: "\"\(f.version)\"", .vary: "Authorization", .cacheControl: "no-cache", .contentType: "application/geo+json"])
        }

        router.get("/api/search") { request, _ -> Response in
            guard let q = request.query("q"), !q.trimmingCharacters(in: .whitespaces).isEmpty else { throw APIError(.badRequest, "missing search text \"q\"") }
            guard q.count <= 100 else { throw APIError(.badRequest, "search text longer than 100 characters") }
            let limit = try request.integer("limit", default: 20, range: 1...100)
            // Anonymous readers cannot find people by name.
            let layers = personal.allowed(request) ? nil : Layers.all.filter { $0.searchable && Layers.personal[$0.name]?.contains("name") != true }.map(\.name)
            let hits = try await blocking { try store.search(q, layers: layers, limit: limit) }
            return jsonResponse(.array(hits.map { h in
                let p = h.feature.geometry.representativePoint
                let at = h.feature["center"] ?? h.feature["seat"] ?? [.number(p.lon), .number(p.lat)]
                return ["layer": .string(h.layer), "id": .string(h.feature.id), "name": h.feature["name"] ?? .null, "location": at]
            }))
        }

        router.post("/api/features/:layer") { request, context -> Response in
            let layer = try knownLayer(context)
            let user = try await auth.authorize(request, .editor)
            let anywhere = try request.flag("anywhere")
            let body = try await bodyText(request, maxBytes: maxBodyBytes)
            let ids = try await blocking { try store.create(layer: layer, geojson: body, actor: "user:\(user.name)", anywhere: anywhere) }
            if ids.count == 1 {
                var r = try await currentFeature(store, layer, ids[0], status: .created)
                r.headers[.location] = "/api/features/\(layer)/\(percentEncodedPathSegment(ids[0]))"
                return r
            }
            return jsonResponse(["created": .array(ids.map { .string($0) }),
                                 "locations": .array(ids.map { .string("/api/features/\(layer)/\(percentEncodedPathSegment($0))") })], status: .created)
        }

        router.put("/api/features/:layer/:id") { request, context -> Response in
            let layer = try knownLayer(context), id = try featureID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, layer, id)
            let anywhere = try request.flag("anywhere")
            let body = try await bodyText(request, maxBytes: maxBodyBytes)
            try await editing(store, layer, id) { try store.replace(layer: layer, id: id, geojson: body, ifVersion: version, actor: "user:\(user.name)", anywhere: anywhere) }
            return try await currentFeature(store, layer, id)
        }

        router.patch("/api/features/:layer/:id") { request, context -> Response in
            let layer = try knownLayer(context), id = try featureID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, layer, id)
            let anywhere = try request.flag("anywhere")
            let changes = try await jsonBody(request, maxBytes: maxBodyBytes)
            try await editing(store, layer, id) { try store.patch(layer: layer, id: id, changes: changes, ifVersion: version, actor: "user:\(user.name)", anywhere: anywhere) }
            return try await currentFeature(store, layer, id)
        }

        router.delete("/api/features/:layer/:id") { request, context -> Response in
            let layer = try knownLayer(context), id = try featureID(context)
            // An incident is a record: editors close it; only an admin removes one (its timeline stays).
            let user = try await auth.authorize(request, layer == "incidents" ? .admin : .editor)
            let version = try await ifMatch(request, store, layer, id)
            try await editing(store, layer, id) { try store.delete(layer: layer, id: id, ifVersion: version, actor: "user:\(user.name)") }
            return Response(status: .noContent)
        }

        router.post("/api/road_risks/:id/status") { request, context -> Response in
            let id = try featureID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, "road_risks", id)
            let body = try await jsonBody(request, maxBytes: maxBodyBytes)
            guard let status = body["status"]?.stringValue.flatMap(RoadRiskStatus.init(rawValue:)) else {
                throw APIError(.badRequest, "body must be {\"status\": \"open\" | \"restricted\" | \"closed\", \"note\": \"…\"}")
            }
            let note: String?
            switch body["note"] {
            case nil, .null?: note = nil
            case .string(let n)?: note = n
            default: throw APIError(.badRequest, "\"note\" must be text, e.g. \"风吹雪，单向放行\"")
            }
            try await editing(store, "road_risks", id) { try store.setRoadRiskStatus(id: id, status: status, note: note, ifVersion: version, actor: "user:\(user.name)") }
            return try await currentFeature(store, "road_risks", id)
        }

        router.post("/api/shelters/:id/status") { request, context -> Response in
            let id = try featureID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, "shelters", id)
            let body = try await jsonBody(request, maxBytes: maxBodyBytes)
            var props = JSONObject()
            switch body["status"] {
            case nil: break
            case .string(let s)? where ShelterStatus(rawValue: s) != nil: props["status"] = .string(s)
            default: throw APIError(.badRequest, "\"status\" must be \(ShelterStatus.rawValues.map { "\"\($0)\"" }.joined(separator: ", ")); body e.g. {\"status\": \"open\", \"occupancy\": 120}")
            }
            switch body["occupancy"] {
            case nil: break
            case .number(let n)? where n >= 0 && n <= 1_000_000 && n == n.rounded(): props["occupancy"] = .number(n)
            default: throw APIError(.badRequest, "\"occupancy\" must be a whole number of persons, 0…1000000")
            }
            guard !props.keys.isEmpty else { throw APIError(.badRequest, "give \"status\" and/or \"occupancy\", e.g. {\"status\": \"full\", \"occupancy\": 500}") }
            let changes: JSONValue = .object(JSONObject([("properties", .object(props))]))
            try await editing(store, "shelters", id) { try store.patch(layer: "shelters", id: id, changes: changes, ifVersion: version, actor: "user:\(user.name)") }
            return try await currentFeature(store, "shelters", id)
        }

        router.post("/api/warehouses/:id/stock") { request, context -> Response in
            let id = try featureID(context)
            let user = try await auth.authorize(request, .editor)
            let version = try await ifMatch(request, store, "warehouses", id)
            let body = try await jsonBody(request, maxBytes: maxBodyBytes)
            guard let item = body["item"]?.stringValue else { throw APIError(.badRequest, "body must be {\"item\": \"帐篷\", \"delta\": -20} or {\"item\": …, \"set\": 100, \"unit\": \"顶\"}") }
            let delta = body["delta"]?.doubleValue, set = body["set"]?.doubleValue
            if let d = delta ?? set, !d.isFinite { throw APIError(.badRequest, "quantities must be finite numbers") }
            try await editing(store, "warehouses", id) {
                try store.changeStock(warehouse: id, item: item, unit: body["unit"]?.stringValue, delta: delta, set: set, ifVersion: version, actor: "user:\(user.name)")
            }
            return try await currentFeature(store, "warehouses", id)
        }

    }
}
