import Foundation
import Hummingbird
import OneMapCore
import OneMapRender
import OneMapRouting
import OneMapStore
import OneMapStyle

/// Tags every response with the request id that also tags the request's log lines.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var r = try await next(request, context)
            r.headers[.init("X-Request-Id")!] = context.id
            return r
        } catch var e as APIError {
            e.requestID = context.id
            throw e
        }
    }
}

/// An error answered as JSON: {"error": {"status": 400, "message": "…", "request_id": "…"}}.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields = [:]
    var requestID: String?
    /// More members of the error object (e.g. "current": the feature as it now is, on a 412).
    var detail: [(String, JSONValue)] = []

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status; self.message = message; self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var o = JSONObject([("status", .number(Double(status.code))), ("message", .string(message))])
        if let requestID { o["request_id"] = .string(requestID) }
        for (k, v) in detail { o[k] = v }
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(["error": .object(o)]))))
    }
}

/// Turns every error into JSON with a message saying what was wrong: onemap's errors by their
/// category (one switch, `status(for:)`), Hummingbird's by their own status.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            throw e
        } catch let e as HTTPError {
            let msg = e.body ?? (e.status == .notFound ? "no such resource: \(request.uri.path)" : e.status.reasonPhrase)
            throw APIError(e.status, msg, headers: e.headers)
        } catch let e as ImportFailure {
            throw APIError(.badRequest, e.problems.prefix(20).map(\.description).joined(separator: "; "))
        } catch let e as any OneMapError {
            let status = Self.status(for: e.category)
            if e.category == .internal { context.logger.error("internal error", metadata: ["error": .string(e.description)]) }
            throw APIError(status, e.category == .internal ? "internal error: \(e.description)" : e.description,
                           headers: e.category == .unavailable ? [.retryAfter: "1"] : [:])
        } catch {
            context.logger.error("unexpected error", metadata: ["error": .string("\(error)")])
            throw APIError(.internalServerError, "internal error: \(error)")
        }
    }

    /// The HTTP status of each error category.
    static func status(for c: ErrorCategory) -> HTTPResponse.Status {
        switch c {
        case .badInput: .badRequest
        case .unprocessable: .unprocessableContent
        case .notFound: .notFound
        case .conflict: .conflict
        case .preconditionFailed: .preconditionFailed
        case .unavailable: .serviceUnavailable
        case .insufficientStorage: .init(code: 507, reasonPhrase: "Insufficient Storage")
        case .internal: .internalServerError
        }
    }
}
