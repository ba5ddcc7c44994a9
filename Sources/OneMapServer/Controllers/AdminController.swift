import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapRouting
import OneMapStore

/// Administration over HTTP: the audit log (editor role) and the online restore (admin role).
struct AdminController {
    let store: Store
    let auth: Authenticator
    let tiles: TileService
    let router: RoadRouter

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
                 "feature_id": e.featureID.map { .string($0) } ?? .null, "before": e.before ?? .null, "after": e.after ?? .null,
                 "note": e.note.map { .string($0) } ?? .null]
            }))
        }

        // The online restore: the store's write lock keeps edits out while it runs, and the
        // tile tiers and the router follow before the answer, so the next tile and route are
        // of the restored state. The backup must lie in the store's folder (or below it): an
        // admin token must not read arbitrary files of the server.
        router.post("/api/admin/restore") { request, context -> Response in
            let who = try await auth.authorize(request, .admin)
            let body = try await jsonBody(request, maxBytes: 64 * 1024)
            guard let name = body["backup"]?.stringValue, !name.isEmpty else {
                throw APIError(.badRequest, "the body must be {\"backup\": \"<file in the store's folder>\"}")
            }
            if let why = TextRules.problem(name, "\"backup\"") { throw APIError(.badRequest, why) }
            let folder = URL(fileURLWithPath: (store.path as NSString).deletingLastPathComponent.isEmpty ? "." : (store.path as NSString).deletingLastPathComponent).standardizedFileURL.resolvingSymlinksInPath().path
            let file = URL(fileURLWithPath: name.hasPrefix("/") ? name : (folder as NSString).appendingPathComponent(name)).standardizedFileURL.resolvingSymlinksInPath().path
            guard file.hasPrefix(folder + "/") else {
                throw APIError(.badRequest, "\"backup\" must name a file in the store's folder or below it (\(folder)), got \"\(name)\"")
            }
            guard FileManager.default.fileExists(atPath: file) else { throw APIError(.notFound, "there is no backup \"\(name)\" in \(folder)") }
            let tiles = self.tiles, roads = self.router, store = self.store
            let report = try await blocking { () -> RestoreReport in
                let r = try store.restore(from: file)
                try tiles.syncNow()
                _ = try roads.snapshot()
                return r
            }
            context.logger.notice("store restored", metadata: ["by": .string(who.name), "report": .string(report.description)])
            func rev(_ r: StoreRevision) -> JSONValue { ["generation": .string(String(r.generation, radix: 16)), "sequence": .number(Double(r.sequence))] }
            return jsonResponse([
                "restored_from": .string(file), "backup_revision": rev(report.backupRevision), "replaced_revision": rev(report.replaced),
                "discarded_edits": report.discardedEdits.map { .number(Double($0)) } ?? .null, "replaced_content_kept_in": .string(report.savedTo),
                "revision": rev(report.now), "message": .string(report.description),
            ])
        }
    }
}
