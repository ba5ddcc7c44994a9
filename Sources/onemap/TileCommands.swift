import ArgumentParser
import Foundation
import Synchronization
import OneMapCore
import OneMapRender
import OneMapStore
import OneMapStyle

func openRenderer(_ store: Store) throws -> MapRenderer {
    do { return try MapRenderer(source: store, stylesDirectory: try Paths.styles()) } catch let e as StyleError {
        throw e
    }
}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Render one XYZ tile (or a larger area) to PNG.")
    @Option(help: "Style name (a file in Styles/).") var style = "command"
    @Option(help: "z/x/y") var tile: String?
    @Option(help: "Render the area of w×h tiles from --tile as one image, e.g. 2x2.") var area: String?
    @Option(help: "1 or 2 (@2x).") var scale = 1
    @Option(name: .shortAndLong, help: "Output PNG.") var out: String
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let tile else {
            throw CLIError("give --tile z/x/y")
        }
        let t: TileID
        do { t = try TileID(parsing: tile) } catch {
            throw CLIError("\(error.description)")
        }
        guard scale == 1 || scale == 2 else {
            throw CLIError("--scale must be 1 or 2")
        }
        let map = try openRenderer(try store.open())
        do {
            let bytes: [UInt8]
            if let area {
                let p = area.split(separator: "x").compactMap { Int($0) }
                guard p.count == 2, p[0] > 0, p[1] > 0, p[0] * p[1] <= 256 else {
                    throw CLIError("--area must be WxH tiles, at most 256 tiles")
                }
                let vp = Viewport(zoom: t.z, originX: Double(t.x * 256), originY: Double(t.y * 256), width: Double(p[0] * 256), height: Double(p[1] * 256), scale: Double(scale))
                bytes = try map.renderPNG(style: style, viewport: vp)
            } else {
                bytes = try TileRenderer(map: map).renderTile(style: style, tile: t, scale: scale)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: out))
            print("wrote \(out) (\(bytes.count) bytes)")
        } catch let e as RenderError {
            throw e
        }
    }
}

/// The tile cache that belongs to a store file.
func cachePath(for db: String) -> String {
    (db.hasSuffix(".sqlite") ? String(db.dropLast(7)) : db) + ".tiles.sqlite"
}

func parseZooms(_ s: String) -> ClosedRange<Int>? {
    let p = s.split(separator: "-").map { Int($0) }
    if p.count == 1, let a = p[0], (0...TileID.maxZoom).contains(a) { return a...a }
    if p.count == 2, let a = p[0], let b = p[1], a <= b, a >= 0, b <= TileID.maxZoom { return a...b }
    return nil
}

struct Seed: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pre-render tiles into the cache, on all cores, by metatile.")
    @Option(help: "Style name.") var style = "command"
    @Option(help: "Zoom range, e.g. 8-14.") var zooms = "8-12"
    @Option(help: "minLon,minLat,maxLon,maxLat (default: the data extent).") var bbox: String?
    @Option(help: "1 or 2.") var scale = 1
    @Option(help: "Worker threads (default: all cores).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let zr = parseZooms(zooms) else {
            throw CLIError("--zooms must be Z or Z1-Z2 within 0…\(TileID.maxZoom), got \"\(zooms)\"")
        }
        guard scale == 1 || scale == 2 else { throw CLIError("--scale must be 1 or 2") }
        let s = try store.open()
        let map = try openRenderer(s)
        do { _ = try map.style(style) } catch { throw CLIError("\(error.description)") }
        var box: BBox
        if let bbox {
            guard let b = BBox.parse(bbox) else { throw CLIError("--bbox must be minLon,minLat,maxLon,maxLat inside the world") }
            box = b
        } else {
            box = try s.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) }
            guard !box.isEmpty else { throw CLIError("the store is empty; import data first") }
        }
        let cache = try TileCache(path: cachePath(for: store.db))
        try cache.sync(with: s, map: map)
        var metas: [MetatileID] = []
        for z in zr { metas += Array(Set(TileID.covering(box, zoom: z).map { MetatileID(containing: $0) })).sorted { ($0.z, $0.y, $0.x) < ($1.z, $1.y, $1.x) } }
        let renderer = TileRenderer(map: map)
        let bar = ProgressBar("seed \(style) z\(zr.lowerBound)-\(zr.upperBound)")
        let work = SeedWork(total: metas.count)
        let t0 = Date()
        let styleName = style, sc = scale, jobs = metas
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { _ in
            while let i = work.next() {
                do {
                    let tiles = try renderer.renderMetatile(style: styleName, metatile: jobs[i], scale: sc)
                    try cache.put(style: styleName, scale: sc, tiles: tiles)
                    work.done(tiles.count) { d, t in bar.update(d, t, "metatiles") }
                } catch {
                    work.fail("\(jobs[i]): \(error)")
                }
            }
        }
        bar.finish()
        if let f = work.failure { throw CLIError("\(f)") }
        let dt = Date().timeIntervalSince(t0)
        print(String(format: "seeded %d tiles in %d metatiles in %.1f s (%.0f tiles/s, %d threads) into %@", work.tiles, metas.count, dt, Double(work.tiles) / dt, threads, cache.path))
    }
}

/// Shared state of a seeding run.
///
final class SeedWork: Sendable {
    private struct State { var nextIndex = 0, finished = 0, tiles = 0; var failure: String? }
    private let state = Mutex(State())
    let total: Int
    init(total: Int) { self.total = total }
    var tiles: Int { state.withLock { $0.tiles } }
    var failure: String? { state.withLock { $0.failure } }
    func next() -> Int? {
        state.withLock { s in
            guard s.nextIndex < total, s.failure == nil else { return nil }
            defer { s.nextIndex += 1 }
            return s.nextIndex
        }
    }
    func done(_ n: Int, _ report: (Int, Int) -> Void) {
        state.withLock { s in
            s.finished += 1
            s.tiles += n
            report(s.finished, total)
        }
    }
    func fail(_ e: String) { state.withLock { if $0.failure == nil { $0.failure = e } } }
}

struct ExportMBTiles: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export-mbtiles", abstract: "Write seeded tiles of a style to an MBTiles file.")
    @Option(help: "Style name.") var style = "command"
    @Option(help: "1 or 2.") var scale = 1
    @Option(help: "Zoom range, e.g. 8-14 (default: all seeded).") var zooms: String?
    @Option(help: "minLon,minLat,maxLon,maxLat") var bbox: String?
    @Option(name: .shortAndLong, help: "Output .mbtiles file.") var out: String
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let s = try store.open()
        let cache = try TileCache(path: cachePath(for: store.db))
        try cache.sync(with: s, map: try openRenderer(s))
        var zr: ClosedRange<Int>?
        if let zooms { guard let z = parseZooms(zooms) else { throw CLIError("bad --zooms") }; zr = z }
        var box: BBox?
        if let bbox { guard let b = BBox.parse(bbox) else { throw CLIError("bad --bbox") }; box = b }
        let bounds = try s.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) }
        let n = try cache.exportMBTiles(style: style, scale: scale, to: out, zooms: zr, bbox: box, name: "onemap \(style)", bounds: bounds)
        if n == 0 {
            throw CLIError("no cached tiles of style \(style) @\(scale)x match; run `onemap seed --style \(style)` first")
        }
        print("wrote \(n) tiles to \(out)")
    }
}
