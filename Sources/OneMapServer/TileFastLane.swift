import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Cached tiles answered in the channel pipeline, before Hummingbird's request handling.
///
/// Why: measured with `Benchmarks/serve.sh` (wrk, 64 connections, 2 cores shared with wrk),
/// answering a memory hit at the end of Hummingbird's async responder chain reached 44–49% of
/// nginx on the same files, and a profile showed our own code at about 7% of the time — the rest
/// was the per-request task, async-sequence and logger machinery. A cache hit needs none of it:
/// this handler sits right after the HTTP codec, answers GET/HEAD of a tile that is in memory
/// (the same `TileService.fastAnswer` the router path uses, so headers, ETags and the cache
/// policy are identical) and passes every other request on untouched.
///
/// It also closes connections idle for `idle` with no request in progress: Hummingbird's own
/// idle timer sits behind this handler and would not see the traffic answered here.
///
/// HTTP/1.1 pipelining stays in order: while a passed-on request's response has not ended, the
/// lane answers nothing itself and passes later requests on too. A request with
/// `Connection: close` gets its answer and the connection is closed, as Hummingbird does.
final class TileFastLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let tiles: TileService
    private let cors: CORSConfiguration
    /// A connection with no traffic for this long, and nothing in progress, is closed (keep-alive
    /// connections left open, HTTP/1.0 clients, headers that never finish arriving).
    private let idle: TimeAmount
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    /// Requests passed on whose response has not ended yet.
    private var passedOn = 0
    /// Whether the request being read was passed on (its body and end follow it).
    private var passingCurrent = false
    /// The answer waiting for its request's end.
    private var pending: (answer: TileService.Answer, close: Bool)?

    init(tiles: TileService, cors: CORSConfiguration, idle: TimeAmount) {
        self.tiles = tiles
        self.cors = cors
        self.idle = idle
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = .now()
        scheduleIdleCheck(context, at: lastActivity + idle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
    }

    private func scheduleIdleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            idleCheck = nil
            let due = lastActivity + idle
            if passedOn == 0, pending == nil, !passingCurrent, due <= .now() {
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context, at: max(due, .now() + .seconds(1)))
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head(let request):
            if passedOn == 0, pending == nil, var a = tiles.fastAnswer(method: request.method, target: request.path ?? "", headers: request.headerFields) {
                cors.decorate(&a.headers, origin: request.headerFields[.origin], method: request.method, path: request.path ?? "")
                a.headers[.date] = HTTPDate.now
                a.headers[.server] = "onemap"
                let close = request.headerFields[.connection]?.lowercased().contains("close") == true
                if close { a.headers[.connection] = "close" }
                pending = (a, close)
                passingCurrent = false
            } else {
                passedOn += 1
                passingCurrent = true
                context.fireChannelRead(data)
            }
        case .body:
            if passingCurrent { context.fireChannelRead(data) }
        case .end:
            if passingCurrent {
                passingCurrent = false
                context.fireChannelRead(data)
            } else if let (a, close) = pending {
                pending = nil
                context.write(wrapOutboundOut(.head(HTTPResponse(status: a.status, headerFields: a.headers))), promise: nil)
                if let body = a.body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
                if close {
                    let channel = context.channel
                    context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
                } else {
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        if case .end = unwrapOutboundIn(data) { passedOn = max(0, passedOn - 1) }
        context.write(data, promise: promise)
    }
}

/// The `Date` header value (RFC 9110 §5.6.7), formatted once per second.
enum HTTPDate {
    private static let cache = Mutex((second: Int64(-1), text: ""))
    private static let formatter: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f
    }()

    static var now: String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let sec = Int64(ts.tv_sec)
        return cache.withLock { c in
            if c.second != sec { c = (sec, formatter.string(from: Date(timeIntervalSince1970: TimeInterval(sec)))) }
            return c.text
        }
    }
}
