import Foundation
import Hummingbird
import NIOCore
import OneMapCore

/// The web map, its vendored Leaflet and the OpenAPI document, served as static files.
struct WebController<Context: RequestContext> {
    /// The web map's folder.
    let web: String
    /// Debian's libjs-leaflet folder.
    let leaflet: String

    func addRoutes(to router: Hummingbird.Router<Context>) {
        router.get("/") { _, _ in try staticFile(root: web, path: "index.html") }
        router.get("/web/**") { _, context in try staticFile(root: web, path: context.parameters.getCatchAll().joined(separator: "/")) }
        router.get("/vendor/leaflet/**") { _, context in try staticFile(root: leaflet, path: context.parameters.getCatchAll().joined(separator: "/")) }
        router.get("/openapi.yaml") { _, _ in try staticFile(root: web, path: "openapi.yaml") }
    }
}
