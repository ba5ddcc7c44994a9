import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapStore
import ServiceLifecycle

/// The live event stream every screen subscribes to: `GET /api/events`, Server-Sent Events
/// (WHATWG HTML §9.2) read from the edit journal, so edits by any server or the CLI reach every
/// screen.
///
/// - each event is named by its kind — `incident`, `road_risk`, `shelter`, `stock`, `feature` —
///   and its data is `ChangeEvent.json` (layer, id, bbox, version, action, actor, the shown
///   properties) plus `tile_version`, the `?v=` of tiles that already show the change;
/// - event ids are `<generation>.<journal seq>`: a browser reconnecting with `Last-Event-ID`
///   (or `?last_event_id=`) gets every change it missed, in order; after a restore (another
///   generation) or a gap longer than 1,000 changes it gets one `reset` event: reload everything;
/// - a `hello` event opens the stream, comments keep it alive every 15 s, `retry: 1000` makes
///   browsers reconnect within a second; the stream ends when the server shuts down.
struct EventsController {
    let store: Store
    let tiles: TileService
    /// How often the journal is looked at for writes by other processes (milliseconds).
    var pollMillis = 200

    func addRoutes(to router: Hummingbird.Router<BasicRequestContext>) {
        router.get("/api/events") { request, _ -> Response in
            let lastID = request.headers[.init("Last-Event-ID")!] ?? request.query("last_event_id")
            let start = try await blocking { try self.store.storeRevision() }
            let (resume, reset) = Self.resumePoint(lastID, start)
            let store = self.store, tiles = self.tiles, poll = pollMillis
            let body = ResponseBody { writer in
                func id(_ rev: StoreRevision) -> String { "\(String(rev.generation, radix: 16)).\(rev.sequence)" }
                var generation = start.generation
                var last = resume ?? start.sequence
                try await writer.write(ByteBuffer(string: "retry: 1000\n"))
                try await writer.write(ByteBuffer(string: Self.frame("hello", id: id(StoreRevision(generation: generation, sequence: last)),
                                                                     ["revision": .string(id(start)), "tile_version": .string(String(tiles.dataVersion))])))
                if reset {
                    try await writer.write(ByteBuffer(string: Self.frame("reset", id: id(start), ["reason": .string("Last-Event-ID \(lastID ?? "") is of other content or too old: reload everything"), "tile_version": .string(String(tiles.dataVersion))])))
                }
                var quiet = ContinuousClock.now
                var looked = ContinuousClock.now
                var writesSeen = store.localWrites
                do {
                    // Ends on cancellation and on the server's graceful shutdown (which would
                    // otherwise wait for this never-ending response).
                    while !Task.isCancelled, !Task.isShuttingDownGracefully {
                            // A write through this server is seen at once (an in-memory counter);
                            // writes by other processes when the journal is next read.
                            if store.localWrites == writesSeen, ContinuousClock.now - looked < .milliseconds(poll) {
                                try await Task.sleep(for: .milliseconds(20))
                                continue
                            }
                            writesSeen = store.localWrites
                            looked = .now
                            let rev = try await blocking { try store.storeRevision() }
                            if rev.generation != generation {
                                generation = rev.generation; last = rev.sequence
                                try await blocking { try tiles.syncNow() }
                                try await writer.write(ByteBuffer(string: Self.frame("reset", id: id(rev), ["reason": .string("the store was restored or replaced: reload everything"), "tile_version": .string(String(tiles.dataVersion))])))
                                quiet = .now
                            } else if rev.sequence > last {
                                // Tiles first: a screen refreshing on this event gets the new pixels.
                                try await blocking { try tiles.syncNow() }
                                let after = last
                                let changes = try await blocking { try store.changes(after: after, limit: 500) }
                                let tv = String(tiles.dataVersion)
                                var text = ""
                                for c in changes {
                                    guard case .object(var o) = c.json else { continue }
                                    o["tile_version"] = .string(tv)
                                    text += Self.frame(c.kind, id: id(StoreRevision(generation: generation, sequence: c.seq)), .object(o))
                                    last = c.seq
                                }
                                if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                                quiet = .now
                            } else if ContinuousClock.now - quiet > .seconds(15) {
                                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                                quiet = .now
                            }
                            try await Task.sleep(for: .milliseconds(20))
                    }
                } catch is CancellationError {}
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache, no-store", .init("X-Accel-Buffering")!: "no"], body: body)
        }
    }

    /// Where a reconnecting client resumes: the journal position of its `Last-Event-ID`, or
    /// `reset` when that id is of another generation, unreadable, or more than 1,000 changes old.
    static func resumePoint(_ lastID: String?, _ now: StoreRevision) -> (Int64?, Bool) {
        guard let lastID, !lastID.isEmpty else { return (nil, false) }
        let parts = lastID.split(separator: ".")
        if parts.count == 2, let g = Int64(parts[0], radix: 16), let s = Int64(parts[1]), s >= 0, g == now.generation, s <= now.sequence, now.sequence - s <= 1000 {
            return (s, false)
        }
        return (nil, true)
    }

    /// One SSE frame: `event:`, `id:` and a single-line JSON `data:`.
    static func frame(_ event: String, id: String, _ data: JSONValue) -> String {
        "event: \(event)\nid: \(id)\ndata: \(JSONWriter.string(data))\n\n"
    }
}
