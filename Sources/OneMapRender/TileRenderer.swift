import CCairo
import Foundation
import Synchronization
import OneMapCore
import OneMapStore
import OneMapStyle

/// A metatile: an aligned block of up to 8×8 tiles rendered together.
public struct MetatileID: Sendable, Hashable, CustomStringConvertible {
    public static let size = 8
    public let z: Int, x: Int, y: Int
    public init(containing t: TileID) { z = t.z; x = t.x / MetatileID.size; y = t.y / MetatileID.size }
    /// Tiles per side at this zoom (fewer than 8 at zooms 0–2).
    public var span: Int { min(MetatileID.size, 1 << z) }
    public var tiles: [TileID] {
        var out: [TileID] = []
        for dy in 0..<span { for dx in 0..<span { out.append(try! TileID(z: z, x: x * MetatileID.size + dx, y: y * MetatileID.size + dy)) } }
        return out
    }
    public var bbox: BBox {
        let a = try! TileID(z: z, x: x * MetatileID.size, y: y * MetatileID.size).bbox
        let b = try! TileID(z: z, x: x * MetatileID.size + span - 1, y: y * MetatileID.size + span - 1).bbox
        return a.union(b)
    }
    public var description: String { "\(z)/\(x)/\(y) (metatile)" }
}

/// Renders XYZ PNG tiles by metatile: one store query per source layer and one label placement
/// serve up to 64 tiles; tiles where nothing is drawn share one background-only PNG.
public final class TileRenderer: Sendable {
    public let map: MapRenderer
    private let empties = EmptyTiles()
    private let extents = ExtentCache()

    public init(map: MapRenderer) { self.map = map }

    /// The tiles of a metatile as PNG bytes (tiles where nothing is drawn share the empty tile).
    public func renderMetatile(style name: String, metatile m: MetatileID, scale: Int) throws -> [TileID: [UInt8]] {
        try draw(style: name, metatile: m, scale: scale).all()
    }

    /// What drawing metatile `m` needs: the style, its empty tile, and the metatile's viewport —
    /// nil when no data lies near it (every tile is the empty tile, nothing to draw).
    private func prepare(_ name: String, _ m: MetatileID, _ scale: Int) throws -> (style: Style, empty: [UInt8], viewport: Viewport?) {
        let style = try map.style(name)
        guard scale == 1 || scale == 2 else { throw RenderError("scale must be 1 or 2, got \(scale)") }
        let empty = try emptyTile(style: name, scale: scale)
        guard try dataExtent(style).intersects(m.bbox.expanded(by: 0.01)) else { return (style, empty, nil) }
        let side = Double(m.span * 256)
        let vp = Viewport(zoom: m.z, originX: Double(m.x * MetatileID.size * 256), originY: Double(m.y * MetatileID.size * 256),
                          width: side, height: side, scale: Double(scale))
        return (style, empty, vp)
    }

    /// Draws a metatile; its tiles are encoded afterwards, on demand (`DrawnMetatile.png`), so a
    /// server can answer the tile asked for before encoding the other 63.
    /// Throws `StyleError` for an unknown style, `RenderError` for a scale other than 1 or 2,
    /// and the store's and Cairo's errors.
    public func draw(style name: String, metatile m: MetatileID, scale: Int) throws -> DrawnMetatile {
        let (style, empty, viewport) = try prepare(name, m, scale)
        guard let vp = viewport else { return DrawnMetatile(metatile: m, scale: scale, canvas: nil, touched: [], empty: empty) }
        let canvas = Canvas(width: m.span * 256 * scale, height: m.span * 256 * scale)
        let touched = try map.draw(style: style, viewport: vp, canvas: canvas, text: TextEngine(), grid: m.span)
        try canvas.finish()
        return DrawnMetatile(metatile: m, scale: scale, canvas: canvas, touched: touched, empty: empty)
    }

    /// One tile, drawn alone, for about 1/64 of a metatile's drawing: what its metatile's tile
    /// shows (the same features and labels — labels are placed per 512-px cell by one
    /// deterministic rule whatever is drawn — with the metatile's pixel arithmetic, on a 256-px
    /// canvas offset to the tile). Not always the same bytes: Cairo's antialiasing varies by a
    /// shade with the surface, on at most a few edge pixels (`aTileDrawnAloneShowsItsMetatilesTile`).
    /// For `onemap render --tile`; servers and seeding render metatiles and cache them.
    /// Throws as `draw(style:metatile:scale:)`.
    public func renderTile(style name: String, tile t: TileID, scale: Int) throws -> [UInt8] {
        let m = MetatileID(containing: t)
        let (style, empty, viewport) = try prepare(name, m, scale)
        guard var vp = viewport else { return empty }
        let span = m.span, ts = 256 * scale
        let dx = t.x - m.x * MetatileID.size, dy = t.y - m.y * MetatileID.size
        vp.area = (Double(t.x * 256), Double(t.y * 256), 256, 256)
        let canvas = Canvas(width: ts, height: ts, offsetX: dx * ts, offsetY: dy * ts)
        let touched = try map.draw(style: style, viewport: vp, canvas: canvas, text: TextEngine(), grid: span)
        return touched[dy * span + dx] ? try canvas.png(x: 0, y: 0, w: ts, h: ts) : empty
    }

    /// The background-only tile of a style, encoded once per scale.
    public func emptyTile(style name: String, scale: Int) throws -> [UInt8] {
        if let e = empties.get(name, scale) { return e }
        let style = try map.style(name)
        let canvas = Canvas(width: 256 * scale, height: 256 * scale)
        if let bg = style.layers.first(where: { $0.type == .background }) { LayerTypes.background.draw(bg, on: canvas, zoom: 0) }
        let png = try canvas.png(x: 0, y: 0, w: canvas.width, h: canvas.height)
        empties.put(name, scale, png)
        return png
    }

    /// Whether a tile is the shared empty tile.
    public func isEmptyTile(_ bytes: [UInt8], style: String, scale: Int) -> Bool { empties.get(style, scale) == bytes }

    /// The union of the extents of the layers a style draws, cached per journal position.
    func dataExtent(_ style: Style) throws -> BBox {
        let seq = try map.source.revision()
        if let e = extents.get(style.name, seq) { return e }
        let e = try map.source.extent(of: style.sourceLayers)
        extents.put(style.name, seq, e)
        return e
    }
}

/// A metatile drawn and not yet (all) encoded: each tile's PNG is made on first request, from
/// any thread, and kept (a tile where nothing was drawn is the style's shared empty tile).
///
/// `@unchecked Sendable`: after `TileRenderer.draw` returns, the canvas is only read (its
/// pixels are flushed once and never drawn on again), and the memo is behind a mutex; two
/// threads asking for the same tile at once may both encode it, and the bytes are identical.
public final class DrawnMetatile: @unchecked Sendable {
    public let metatile: MetatileID
    public let scale: Int
    private let canvas: Canvas?
    private let touched: [Bool]
    private let empty: [UInt8]
    private let memo = Mutex<[TileID: [UInt8]]>([:])

    init(metatile: MetatileID, scale: Int, canvas: Canvas?, touched: [Bool], empty: [UInt8]) {
        self.metatile = metatile; self.scale = scale; self.canvas = canvas; self.touched = touched; self.empty = empty
    }

    /// The PNG of one tile of this metatile. Throws `RenderError` for a tile outside it and
    /// `CanvasError` when Cairo fails.
    public func png(_ t: TileID) throws -> [UInt8] {
        guard let (dx, dy) = offset(t) else { throw RenderError("tile \(t) is not in metatile \(metatile)") }
        guard let canvas, touched[dy * metatile.span + dx] else { return empty }
        if let done = memo.withLock({ $0[t] }) { return done }
        let ts = 256 * scale
        let bytes = try canvas.png(x: dx * ts, y: dy * ts, w: ts, h: ts, flush: false)
        memo.withLock { $0[t] = bytes }
        return bytes
    }

    /// The tile's PNG if it needs no encoding (done already, or the empty tile), else nil.
    public func encoded(_ t: TileID) -> [UInt8]? {
        guard let (dx, dy) = offset(t) else { return nil }
        guard canvas != nil, touched[dy * metatile.span + dx] else { return empty }
        return memo.withLock { $0[t] }
    }

    /// The tile's column and row in this metatile, nil when it is not one of its tiles.
    private func offset(_ t: TileID) -> (Int, Int)? {
        let m = metatile
        let dx = t.x - m.x * MetatileID.size, dy = t.y - m.y * MetatileID.size
        return t.z == m.z && dx >= 0 && dy >= 0 && dx < m.span && dy < m.span ? (dx, dy) : nil
    }

    /// Every tile's PNG (up to 64).
    public func all() throws -> [TileID: [UInt8]] {
        var out: [TileID: [UInt8]] = [:]
        for t in metatile.tiles { out[t] = try png(t) }
        return out
    }
}

/// The background-only tile of each style and scale.
final class EmptyTiles: Sendable {
    private let tiles = Mutex<[String: [UInt8]]>([:])
    func get(_ s: String, _ scale: Int) -> [UInt8]? { tiles.withLock { $0["\(s)@\(scale)"] } }
    func put(_ s: String, _ scale: Int, _ b: [UInt8]) { tiles.withLock { $0["\(s)@\(scale)"] = b } }
}

/// The data extent of each style at a journal position.
final class ExtentCache: Sendable {
    private let v = Mutex<[String: (StoreRevision, BBox)]>([:])
    func get(_ s: String, _ seq: StoreRevision) -> BBox? { v.withLock { $0[s].flatMap { $0.0 == seq ? $0.1 : nil } } }
    func put(_ s: String, _ seq: StoreRevision, _ b: BBox) { v.withLock { $0[s] = (seq, b) } }
}
