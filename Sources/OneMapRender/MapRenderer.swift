import CCairo
import Foundation
import OneMapCore
import OneMapStore
import OneMapStyle

/// Rendering errors, as sentences.
public struct RenderError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// Draws the store's layers with a style into Cairo surfaces.
///
/// Thread-safe: every call builds its own Cairo surface and Pango context; the shared label
/// placements are immutable values behind a lock, rebuilt when the store's journal moves.
public final class MapRenderer: Sendable {
    public let store: Store
    public let styles: [String: Style]
    private let placements = PlacementCache()

    public init(store: Store, styles: [Style]) {
        self.store = store
        self.styles = Dictionary(uniqueKeysWithValues: styles.map { ($0.name, $0) })
    }

    /// Loads every `*.json` style in a directory (except routing profiles).
    public convenience init(store: Store, stylesDirectory: String) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: stylesDirectory).filter { $0.hasSuffix(".json") && !$0.hasPrefix("routing") }.sorted()
        let styles = try files.map { try Style.load(path: (stylesDirectory as NSString).appendingPathComponent($0)) }
        self.init(store: store, styles: styles)
    }

    public var styleNames: [String] { styles.keys.sorted() }

    public func style(_ name: String) throws(RenderError) -> Style {
        guard let s = styles[name] else {
            throw RenderError("unknown style \"\(name)\"; the styles are: \(styleNames.joined(separator: ", "))")
        }
        return s
    }

    /// Labels of a style at a zoom, placed once over all data and reused until the data changes.
    func labels(_ style: Style, zoom: Int) throws -> [PlacedLabel] {
        let seq = try store.journalSequence()
        let key = "\(style.name)/\(zoom)/\(seq)"
        if let hit = placements.get(key) { return hit }
        var features: [String: [Feature]] = [:]
        for l in style.layers where l.type == .symbol {
            guard let src = l.sourceLayer, features[src] == nil else { continue }
            features[src] = try store.allFeatures(of: src)
        }
        let text = TextEngine()
        let placed = LabelPlacer.place(style: style, zoom: zoom, features: features, text: text)
        placements.put(key, placed, seq: seq)
        return placed
    }

    /// Draws a viewport: background, geometry layers in order, then the placed labels.
    /// Returns which cells of a `grid`×`grid` split of the viewport received any feature.
    @discardableResult
    package func draw(style: Style, viewport vp: Viewport, canvas: Canvas, text: TextEngine, grid: Int = 1, drawn: ((String) -> Void)? = nil) throws -> [Bool] {
        let z = Double(vp.zoom)
        let cr = canvas.cr
        var touched = [Bool](repeating: false, count: grid * grid)
        let cellW = vp.width * vp.scale / Double(grid), cellH = vp.height * vp.scale / Double(grid)
        func touch(_ b: (Double, Double, Double, Double)) {
            guard b.2 >= 0, b.3 >= 0, b.0 <= vp.width * vp.scale, b.1 <= vp.height * vp.scale else { return }
            let x0 = max(0, Int(b.0 / cellW)), x1 = min(grid - 1, Int(b.2 / cellW)), y0 = max(0, Int(b.1 / cellH)), y1 = min(grid - 1, Int(b.3 / cellH))
            guard x0 <= x1, y0 <= y1 else { return }
            for x in x0...x1 { for y in y0...y1 { touched[y * grid + x] = true } }
        }
        // One query per source layer for the whole viewport.
        let margin = 24.0
        let box = vp.bbox(margin: margin)
        var cache: [String: [Feature]] = [:]
        func features(_ src: String) throws -> [Feature] {
            if let f = cache[src] { return f }
            let f = try store.features(in: src, bbox: box, predicate: .envelope)
            cache[src] = f
            return f
        }
        let tolerance = 0.35 * vp.scale
        for layer in style.layers where layer.visible(atZoom: z) && layer.type != .symbol {
            if layer.type == .background {
                let c = EvaluationContext(zoom: z)
                let color = color(layer.value("background-color", c)) ?? Color(1, 1, 1)
                canvas.fillAll(color.withAlpha(layer.value("background-opacity", c)?.doubleValue ?? 1))
                continue
            }
            guard let src = layer.sourceLayer else { continue }
            for f in try features(src) {
                let ctx = EvaluationContext(zoom: z, properties: f.properties, geometryType: f.geometry.kind.rawValue)
                if let filter = layer.filter, filter.evaluate(ctx) != .bool(true) { continue }
                switch layer.type {
                case .fill:
                    guard !f.geometry.polygons.isEmpty, let c = color(layer.value("fill-color", ctx)) else { continue }
                    let opacity = layer.value("fill-opacity", ctx)?.doubleValue ?? 1
                    cairo_new_path(cr)
                    var b = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
                    for poly in f.geometry.polygons {
                        for ring in poly {
                            let pts = Geometry2D.simplify(ring.map(vp.local), tolerance: tolerance)
                            canvas.path(Geometry2D.clipRing(pts, vp.width * vp.scale, vp.height * vp.scale, pad: 64 * vp.scale), close: true)
                            for p in pts { b = (min(b.0, p.0), min(b.1, p.1), max(b.2, p.0), max(b.3, p.1)) }
                        }
                    }
                    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD)
                    canvas.setColor(c, opacity: opacity)
                    if let o = color(layer.value("fill-outline-color", ctx)) {
                        cairo_fill_preserve(cr)
                        cairo_set_line_width(cr, 1 * vp.scale)
                        canvas.setColor(o, opacity: opacity)
                        cairo_stroke(cr)
                    } else {
                        cairo_fill(cr)
                    }
                    touch(b)
                    drawn?(layer.id)
                case .line:
                    guard let c = color(layer.value("line-color", ctx)) else { continue }
                    let w = (layer.value("line-width", ctx)?.doubleValue ?? 1) * vp.scale
                    guard w > 0 else { continue }
                    cairo_new_path(cr)
                    var b = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
                    for path in f.geometry.paths {
                        let pts = Geometry2D.simplify(path.map(vp.local), tolerance: tolerance)
                        canvas.path(pts, close: false)
                        for p in pts { b = (min(b.0, p.0), min(b.1, p.1), max(b.2, p.0), max(b.3, p.1)) }
                    }
                    cairo_set_line_width(cr, w)
                    switch layer.value("line-cap", ctx)?.stringValue {
                    case "round": cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND)
                    case "square": cairo_set_line_cap(cr, CAIRO_LINE_CAP_SQUARE)
                    default: cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT)
                    }
                    switch layer.value("line-join", ctx)?.stringValue {
                    case "bevel": cairo_set_line_join(cr, CAIRO_LINE_JOIN_BEVEL)
                    case "miter": cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER)
                    default: cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
                    }
                    if let dash = layer.value("line-dasharray", ctx)?.arrayValue?.compactMap(\.doubleValue), !dash.isEmpty {
                        let d = dash.map { max(0.01, $0 * w) }
                        cairo_set_dash(cr, d, Int32(d.count), 0)
                    } else {
                        cairo_set_dash(cr, nil, 0, 0)
                    }
                    canvas.setColor(c, opacity: layer.value("line-opacity", ctx)?.doubleValue ?? 1)
                    cairo_stroke(cr)
                    cairo_set_dash(cr, nil, 0, 0)
                    touch((b.0 - w, b.1 - w, b.2 + w, b.3 + w))
                    drawn?(layer.id)
                case .circle:
                    let r = (layer.value("circle-radius", ctx)?.doubleValue ?? 5) * vp.scale
                    let c = color(layer.value("circle-color", ctx)) ?? Color(0, 0, 0)
                    let sw = (layer.value("circle-stroke-width", ctx)?.doubleValue ?? 0) * vp.scale
                    let opacity = layer.value("circle-opacity", ctx)?.doubleValue ?? 1
                    let pts: [Coord]
                    switch f.geometry {
                    case .point(let p): pts = [p]
                    case .multiPoint(let ps): pts = ps
                    default: pts = [f.geometry.representativePoint]
                    }
                    for p in pts {
                        let (x, y) = vp.local(p)
                        cairo_new_path(cr)
                        cairo_arc(cr, x, y, r, 0, 2 * .pi)
                        canvas.setColor(c, opacity: opacity)
                        if sw > 0, let sc = color(layer.value("circle-stroke-color", ctx)) {
                            cairo_fill_preserve(cr)
                            cairo_set_line_width(cr, sw)
                            canvas.setColor(sc, opacity: opacity)
                            cairo_stroke(cr)
                        } else {
                            cairo_fill(cr)
                        }
                        touch((x - r - sw, y - r - sw, x + r + sw, y + r + sw))
                        drawn?(layer.id)
                    }
                default: break
                }
            }
        }
        // Labels: those whose box touches the viewport, drawn whole.
        let left = vp.originX - 8, top = vp.originY - 8, right = vp.originX + vp.width + 8, bottom = vp.originY + vp.height + 8
        for l in try labels(style, zoom: vp.zoom) where !(l.box.2 < left || l.box.0 > right || l.box.3 < top || l.box.1 > bottom) {
            let x = (l.x - vp.originX) * vp.scale, y = (l.y - vp.originY) * vp.scale
            if let icon = l.icon {
                Icons.draw(icon, cr, x: x, y: y, size: l.iconSize * vp.scale, tint: l.iconColor)
                drawn?("icon:" + icon)
            }
            if let t = l.text {
                let layout = text.layout(t, size: l.textSize * vp.scale)
                let c = l.textColor
                text.draw(layout, on: cr, x: x + l.textDX * vp.scale, y: y + l.textDY * vp.scale, angle: l.angle, color: (c.r, c.g, c.b, c.a),
                          halo: l.halo.map { ($0.r, $0.g, $0.b, $0.a) }, haloWidth: l.haloWidth * vp.scale)
                TextEngine.free(layout)
            }
            touch(((l.box.0 - vp.originX) * vp.scale, (l.box.1 - vp.originY) * vp.scale, (l.box.2 - vp.originX) * vp.scale, (l.box.3 - vp.originY) * vp.scale))
        }
        return touched
    }

    package func color(_ v: JSONValue?) -> Color? { v?.stringValue.flatMap(Color.parse) }

    /// Renders any viewport to PNG (for whole-area images, coverage maps and the seam test).
    public func renderPNG(style name: String, viewport: Viewport) throws -> [UInt8] {
        let style = try style(name)
        let canvas = Canvas(width: Int((viewport.width * viewport.scale).rounded()), height: Int((viewport.height * viewport.scale).rounded()))
        try draw(style: style, viewport: viewport, canvas: canvas, text: TextEngine())
        return canvas.png(x: 0, y: 0, w: canvas.width, h: canvas.height)
    }

    /// For every label of a style at a zoom, how many glyphs the font lacks (should be 0).
    public func unknownGlyphs(style name: String, zoom: Int) throws -> [(text: String, unknown: Int)] {
        let text = TextEngine()
        return try labels(try style(name), zoom: zoom).compactMap { l in
            guard let t = l.text else { return nil }
            let layout = text.layout(t, size: l.textSize)
            defer { TextEngine.free(layout) }
            return (t, TextEngine.unknownGlyphs(layout))
        }
    }

    /// How many labels a style places at a zoom.
    public func labelCount(style name: String, zoom: Int) throws -> Int { try labels(try style(name), zoom: zoom).count }
}

/// Placed labels per style/zoom, for the current journal position only.
///
/// `@unchecked Sendable`: `entries` is only touched under `lock`; values are immutable arrays.
final class PlacementCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: [PlacedLabel]] = [:]
    private var seq: Int64 = -1

    func get(_ key: String) -> [PlacedLabel]? { lock.withLock { entries[key] } }
    func put(_ key: String, _ v: [PlacedLabel], seq s: Int64) {
        lock.withLock {
            if s != seq { entries.removeAll(); seq = s }
            entries[key] = v
        }
    }
}

/// Pixel-space geometry helpers.
enum Geometry2D {
    /// Drops vertices closer than `tolerance` to the last kept one (keeps the last vertex).
    static func simplify(_ pts: [(Double, Double)], tolerance: Double) -> [(Double, Double)] {
        guard pts.count > 2 else { return pts }
        var out = [pts[0]]
        out.reserveCapacity(pts.count)
        let t2 = tolerance * tolerance
        for p in pts.dropFirst().dropLast() {
            let l = out[out.count - 1]
            if (p.0 - l.0) * (p.0 - l.0) + (p.1 - l.1) * (p.1 - l.1) >= t2 { out.append(p) }
        }
        out.append(pts[pts.count - 1])
        return out
    }

    /// Sutherland–Hodgman clip of a ring to the canvas grown by `pad`, only when it sticks out
    /// far (keeps Cairo's fixed-point numbers small at high zooms).
    static func clipRing(_ pts: [(Double, Double)], _ w: Double, _ h: Double, pad: Double) -> [(Double, Double)] {
        let x0 = -pad, y0 = -pad, x1 = w + pad, y1 = h + pad
        guard pts.contains(where: { $0.0 < x0 - pad || $0.0 > x1 + pad || $0.1 < y0 - pad || $0.1 > y1 + pad }) else { return pts }
        var out = pts
        func clip(_ inside: ((Double, Double)) -> Bool, _ cross: ((Double, Double), (Double, Double)) -> (Double, Double)) {
            guard !out.isEmpty else { return }
            let input = out
            out = []
            var prev = input[input.count - 1]
            for cur in input {
                if inside(cur) {
                    if !inside(prev) { out.append(cross(prev, cur)) }
                    out.append(cur)
                } else if inside(prev) {
                    out.append(cross(prev, cur))
                }
                prev = cur
            }
        }
        func atX(_ x: Double) -> ((Double, Double), (Double, Double)) -> (Double, Double) {
            { a, b in (x, a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0)) }
        }
        func atY(_ y: Double) -> ((Double, Double), (Double, Double)) -> (Double, Double) {
            { a, b in (a.0 + (b.0 - a.0) * (y - a.1) / (b.1 - a.1), y) }
        }
        clip({ $0.0 >= x0 }, atX(x0))
        clip({ $0.0 <= x1 }, atX(x1))
        clip({ $0.1 >= y0 }, atY(y0))
        clip({ $0.1 <= y1 }, atY(y1))
        return out
    }
}
