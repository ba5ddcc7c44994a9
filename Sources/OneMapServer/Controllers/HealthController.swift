import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapRender
import OneMapRouting
import OneMapStore

/// Liveness, readiness and Prometheus metrics: what an operator's monitor asks.
struct HealthController<Context: RequestContext> {
    let store: any FeatureSource
    let roadRouter: RoadRouter
    let styleNames: [String]
    let metrics: ServerMetrics
    let queue: RenderQueue
    let cache: TileCache
    /// The store is served for reading only.
    let readOnlyStore: Bool

    func addRoutes(to router: Hummingbird.Router<Context>) {
        router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/readyz") { _, _ -> Response in
            let layers = try await blocking { try store.layerInfo() }
            let networks = try await blocking { try roadRouter.snapshot().graph.components }
            let roads = layers.first { $0.name == "roads" }?.count ?? 0
            let ready = roads > 0 && !styleNames.isEmpty
            let networkJSON: [JSONValue] = networks.map { n -> JSONValue in ["segments": .number(Double(n.edges)), "metres": .number(n.metres.rounded())] }
            // A failing tile cache degrades the service (tiles are rendered for every request) but
            // does not stop it: still ready, with the reason for the operator.
            let fault = cache.fault
            return jsonResponse(["status": ready ? (fault == nil && !readOnlyStore ? "ready" : "degraded") : "not ready",
                                 "store": .string(readOnlyStore ? "read-only" : "writable"), "roads": .number(Double(roads)), "road_networks": .array(networkJSON),
                                 "styles": .array(styleNames.map { .string($0) }),
                                 "tile_cache": ["status": .string(fault == nil ? "ok" : "degraded"), "problem": fault.map { .string($0) } ?? .null,
                                                "bytes": .number(Double(cache.dataBytes)), "budget_bytes": .number(Double(cache.budget))]],
                                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            metrics.queueDepth.set(Double(queue.depth))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }

    }
}
