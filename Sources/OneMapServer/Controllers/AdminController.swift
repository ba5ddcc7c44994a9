import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapStore

/// Administration over HTTP: the audit log (editor role).
struct AdminController {
    let store: Store
    let auth: Authenticator

    func addRoutes(to router: Hummingbird.Router<BasicRequestContext>) {
        router.get("/api/audit") { request, _ -> Response in
            _ = try await auth.authorize(request, .editor)
            let layer = request.query("layer"), feature = request.query("feature")
            if let layer, Layers.byName[layer] == nil { throw StoreError.unknownLayer(layer) }
            let limit = try request.integer("limit", default: 100, range: 1...10000)
            let since = Int64(try request.integer("since", default: 0, range: 0...Int.max))
            let rows = try await blocking { try store.audit(layer: layer, featureID: feature, since: since, limit: limit) }
            return jsonResponse(.array(rows.map { e in
                ["seq": .number(Double(e.seq)), "at": .string(e.at), "actor": .string(e.actor), "action": .string(e.action), "layer": .string(e.layer),
                 "feature_id": e.featureID.map { .string($0) } ?? .null, "before": e.before ?? .null, "after": e.after ?? .null]
            }))
        }
    }
}
