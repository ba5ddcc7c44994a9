import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapStore

/// Liveness, readiness and Prometheus metrics: what an operator's monitor asks.
struct HealthController<Context: RequestContext> {
    let store: any FeatureSource
    let styleNames: [String]
    let metrics: ServerMetrics
    let queue: RenderQueue

    func addRoutes(to router: Hummingbird.Router<Context>) {
        router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/readyz") { _, _ -> Response in
            let layers = try await blocking { try store.layerInfo() }
            let roads = layers.first { $0.name == "roads" }?.count ?? 0
            let ready = roads > 0 && !styleNames.isEmpty
            return jsonResponse(["status": ready ? "ready" : "not ready", "roads": .number(Double(roads)), "styles": .array(styleNames.map { .string($0) })],
                                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            metrics.queueDepth.set(Double(queue.depth))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }

    }
}
