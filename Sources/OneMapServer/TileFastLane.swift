import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import OneMapCore
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
/// It also guards the connection (Hummingbird's own idle timer sits behind this handler and
/// would not see the traffic answered here), as nginx's `client_header_timeout`,
/// `client_body_timeout` and `keepalive_timeout` do:
/// - a request head that has begun arriving must be complete within `limits.header`;
/// - a request body must be complete within `limits.body` of its head;
/// - a connection idle for `limits.idle` with nothing in progress is closed;
/// - past `ConnectionRegistry.cap` open connections, the longest-idle connection with no
///   request in progress makes room for the new one (slow or idle clients cannot hold every
///   descriptor; `/healthz` and normal requests keep answering).
///
/// HTTP/1.1 pipelining stays in order: while a passed-on request's response has not ended, the
/// lane answers nothing itself and passes later requests on too. A request with
/// `Connection: close` gets its answer and the connection is closed, as Hummingbird does.
final class TileFastLane: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let tiles: TileService?
    private let cors: CORSConfiguration
    private let limits: ConnectionLimits
    private let registry: ConnectionRegistry
    private var slot: ConnectionSlot?
    private var lastActivity = NIODeadline.now()
    /// When the first byte of a request head arrived, while the head is incomplete.
    private var headSince: NIODeadline?
    /// When the head of the request whose body is being read arrived.
    private var bodySince: NIODeadline?
    private var idleCheck: Scheduled<Void>?
    private var checkAt = NIODeadline.distantFuture
    private var context: ChannelHandlerContext?
    /// Requests passed on whose response has not ended yet.
    private var passedOn = 0
    /// Whether the request being read was passed on (its body and end follow it).
    private var passingCurrent = false
    /// The answer waiting for its request's end.
    private var pending: (answer: TileService.Answer, close: Bool)?

    init(tiles: TileService?, cors: CORSConfiguration, limits: ConnectionLimits, registry: ConnectionRegistry) {
        self.tiles = tiles
        self.cors = cors
        self.limits = limits
        self.registry = registry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = .now()
        self.context = context
        // Raw bytes are seen before the HTTP codec, so a head that trickles in is timed from its first byte.
        try? context.channel.pipeline.syncOperations.addHandler(RawArrival(lane: self), position: .first)
        let slot = ConnectionSlot(channel: context.channel)
        self.slot = slot
        registry.admit(slot)
        scheduleCheck(context, at: lastActivity + limits.idle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        self.context = nil
        if let slot { registry.remove(slot) }
    }

    /// Bytes arrived (before decoding): a new request head starts its clock. A head still
    /// arriving is not "in progress" for the registry, and its start (not its latest byte) is
    /// what makes it the first to go when connections run out.
    fileprivate func bytesArrived() {
        lastActivity = .now()
        if headSince == nil, !passingCurrent, pending == nil {
            headSince = lastActivity
            slot?.touch(busy: busy)
            checkBy(lastActivity + limits.header)
        }
    }

    private var busy: Bool { passedOn > 0 || pending != nil || passingCurrent }

    /// Makes sure the next check comes no later than `deadline`.
    private func checkBy(_ deadline: NIODeadline) {
        guard deadline < checkAt, let context else { return }
        idleCheck?.cancel()
        scheduleCheck(context, at: deadline)
    }

    private func scheduleCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        checkAt = deadline
        idleCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            idleCheck = nil
            checkAt = .distantFuture
            let now = NIODeadline.now()
            var due = lastActivity + limits.idle
            if let h = headSince { due = min(due, h + limits.header) }
            if passingCurrent, let b = bodySince { due = min(due, b + limits.body) }
            let headLate = headSince.map { $0 + limits.header <= now } ?? false
            let bodyLate = passingCurrent && (bodySince.map { $0 + limits.body <= now } ?? false)
            if headLate || bodyLate || (!busy && headSince == nil && lastActivity + limits.idle <= now) {
                context.close(promise: nil)
            } else {
                scheduleCheck(context, at: max(due, now + .milliseconds(250)))
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head(let request):
            headSince = nil
            bodySince = lastActivity
            // A request whose body is still arriving can be evicted like a slow head (a client
            // trickling bodies must not hold the connection cap); it is busy once complete.
            slot?.touch(busy: passedOn > 0 || pending != nil)  // earlier pipelined requests still count
            checkBy(lastActivity + limits.body)
            if passedOn == 0, pending == nil, var a = tiles?.fastAnswer(method: request.method, target: request.path ?? "", headers: request.headerFields) {
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
            bodySince = nil
            slot?.touch(busy: true)
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
                if !busy && headSince == nil { slot?.touch(busy: false) }
            }
        }
    }

    /// Bytes the HTTP parser refuses — a raw (not percent-encoded) non-ASCII character or a
    /// space in the request target, a broken header line — get a 400 whose JSON body says what
    /// is wrong, like every other bad request, instead of Hummingbird's empty one; then the
    /// connection is closed (the stream cannot be read past the error). While an earlier
    /// pipelined request is still being answered the error goes on to Hummingbird, so that no
    /// answer is interleaved with another.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError, !busy else {
            context.fireErrorCaught(error)
            return
        }
        let message = "the request is not valid HTTP/1.1 (\(parse)): characters outside ASCII and spaces in the URL must be percent-encoded as UTF-8 (e.g. /api/search?q=%E5%96%80%E6%8B%89 for 喀拉)"
        var body = context.channel.allocator.buffer(capacity: 256)
        body.writeString(JSONWriter.string(["error": ["status": .number(400), "message": .string(message)]]))
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8", .connection: "close", .server: "onemap"]
        headers[.contentLength] = String(body.readableBytes)
        headers[.date] = HTTPDate.now
        cors.decorate(&headers, origin: nil, method: .get, path: "")
        pending = nil
        headSince = nil
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .badRequest, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastActivity = .now()
        if case .end = unwrapOutboundIn(data) {
            passedOn = max(0, passedOn - 1)
            if !busy && headSince == nil { slot?.touch(busy: false) }
        }
        context.write(data, promise: promise)
    }
}

/// The first handler of a connection: tells the lane that bytes arrived, before the HTTP codec.
private final class RawArrival: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private unowned let lane: TileFastLane
    init(lane: TileFastLane) { self.lane = lane }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lane.bytesArrived()
        context.fireChannelRead(data)
    }
}

/// Timeouts of a connection (nginx's client_header_timeout, client_body_timeout, keepalive_timeout).
public struct ConnectionLimits: Sendable {
    /// From the first byte of a request head to its end.
    public var header: TimeAmount = .seconds(10)
    /// From a request head to the end of its body.
    public var body: TimeAmount = .seconds(60)
    /// With nothing in progress.
    public var idle: TimeAmount = .seconds(60)
    public init() {}
}

/// One open connection as the registry sees it: whether a request is in progress and when it
/// was last active, readable from any thread.
final class ConnectionSlot: Sendable {
    let channel: any Channel
    private let state = Atomic<UInt64>(0)  // last activity (ms since boot) << 1 | busy
    init(channel: any Channel) {
        self.channel = channel
        touch(busy: false)
    }
    func touch(busy: Bool) { state.store(ConnectionSlot.nowMillis() << 1 | (busy ? 1 : 0), ordering: .relaxed) }
    var busy: Bool { state.load(ordering: .relaxed) & 1 == 1 }
    var lastActive: UInt64 { state.load(ordering: .relaxed) >> 1 }
    static func nowMillis() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
}

/// The open connections of one server, bounded by `cap` (below the process's file limit, so
/// the store and the tile cache always find a descriptor). Past the cap, the longest-idle
/// connection with no request in progress is closed to admit the new one; when every
/// connection is busy, the new one is closed.
public final class ConnectionRegistry: Sendable {
    public let cap: Int
    private let slots = Mutex<[ObjectIdentifier: ConnectionSlot]>([:])
    let evicted = Atomic<Int>(0)

    public init(cap: Int? = nil) { self.cap = cap ?? ConnectionRegistry.defaultCap() }

    /// Below the soft RLIMIT_NOFILE: half of it or 256 descriptors (whichever is less) stay for
    /// files, at most 10,000 connections.
    public static func defaultCap() -> Int {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0, rl.rlim_cur < 1 << 40 else { return 10_000 }
        let limit = Int(min(rl.rlim_cur, 1 << 20))
        return max(8, min(10_000, limit - min(256, limit / 2)))
    }

    public var count: Int { slots.withLock { $0.count } }

    func admit(_ slot: ConnectionSlot) {
        let victim: ConnectionSlot? = slots.withLock { s in
            s[ObjectIdentifier(slot)] = slot
            guard s.count > cap else { return nil }
            return s.values.filter { $0 !== slot && !$0.busy }.min { $0.lastActive < $1.lastActive } ?? slot
        }
        if let victim {
            evicted.add(1, ordering: .relaxed)
            victim.channel.close(promise: nil)
        }
    }

    func remove(_ slot: ConnectionSlot) { _ = slots.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) } }
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
