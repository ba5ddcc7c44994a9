import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapRouting
import OneMapStore

/// Liveness, readiness and Prometheus metrics: what an operator's monitor asks.
struct HealthController<Context: RequestContext> {
    let store: any FeatureSource
    let roadRouter: RoadRouter
    let styleNames: [String]
    let metrics: ServerMetrics
    let queue: RenderQueue

    func addRoutes(to router: Hummingbird.Router<Context>) {
        router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/readyz") { _, _ -> Response in
            let layers = try await blocking { try store.layerInfo() }
            let networks = try await blocking { try roadRouter.snapshot().graph.components }
            let roads = layers.first { $0.name == "roads" }?.count ?? 0
            let ready = roads > 0 && !styleNames.isEmpty
            let networkJSON: [JSONValue] = networks.map { n -> JSONValue in ["segments": .number(Double(n.edges)), "metres": .number(n.metres.rounded())] }
            return jsonResponse(["status": ready ? "ready" : "not ready", "roads": .number(Double(roads)), "road_networks": .array(networkJSON),
                                 "styles": .array(styleNames.map { .string($0) })],
                                status: ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            metrics.queueDepth.set(Double(queue.depth))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }

    }
}
