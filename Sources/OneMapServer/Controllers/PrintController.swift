import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapPrint

/// Printed village hazard and evacuation maps (PDF, PNG).
struct PrintController<Context: RequestContext> {
    let atlas: VillageAtlas
    let personal: PersonalDataPolicy

    func addRoutes(to router: Hummingbird.Router<Context>) {
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
            options.landscape = try request.flag("landscape")
            switch request.query("lang") {
            case nil, "zh": options.english = false
            case "en": options.english = true
            case let other?: throw APIError(.badRequest, "lang must be zh or en, got \"\(other)\"")
            }
            options.personalData = personal.allowed(request)
            let dpi = try request.number("dpi", required: false) ?? 150
            guard !png || (36...300).contains(dpi) else { throw APIError(.badRequest, "dpi must be 36…300 for PNG, got \(request.query("dpi") ?? "")") }
            let o = options
            let bytes = try await blocking { png ? try atlas.png(village: key, dpi: dpi, options: o) : try atlas.pdf(village: key, options: o) }
            return Response(status: .ok, headers: [.contentType: png ? "image/png" : "application/pdf", .contentDisposition: "inline; filename=\"village-\(key).\(png ? "png" : "pdf")\"", .vary: "Authorization"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }

    }
}
