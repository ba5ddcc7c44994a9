import Foundation
import Hummingbird
import NIOCore

/// Static files, confined to their folder: names are checked, never joined blindly.
func staticFile(root: String, path: String) throws -> Response {
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    guard !parts.isEmpty, parts.allSatisfy({ !$0.hasPrefix(".") && !$0.contains("\\") }) else {
        throw APIError(.notFound, "no such file: \(path)")
    }
    let full = URL(fileURLWithPath: root).appendingPathComponent(parts.joined(separator: "/")).standardizedFileURL.path
    let base = URL(fileURLWithPath: root).standardizedFileURL.path
    guard full.hasPrefix(base + "/"), let data = FileManager.default.contents(atPath: full) else {
        throw APIError(.notFound, "no such file: \(path)")
    }
    let types = ["html": "text/html; charset=utf-8", "js": "application/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                 "png": "image/png", "svg": "image/svg+xml", "json": "application/json; charset=utf-8", "yaml": "application/yaml"]
    let ext = (full as NSString).pathExtension.lowercased()
    return Response(status: .ok, headers: [.contentType: types[ext] ?? "application/octet-stream", .cacheControl: "public, max-age=60"],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

