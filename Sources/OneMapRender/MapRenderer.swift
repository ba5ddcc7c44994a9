import Foundation
import Synchronization
import OneMapCore
import OneMapStore
import OneMapStyle

/// Rendering errors, as sentences.
public struct RenderError: OneMapError {
    public var category: ErrorCategory
    public var description: String
    public init(_ d: String) { self.init(.badInput, d) }
    public init(_ category: ErrorCategory, _ d: String) { self.category = category; description = d }
}

/// Draws a feature source's layers with a style onto a `Canvas`.
///
/// Thread-safe: every call builds its own canvas and Pango context; the shared label
/// placements are immutable values behind a lock, rebuilt when the source's revision moves.
public final class MapRenderer: Sendable {
    /// Where features come from (the SpatiaLite store today).
    public let source: any FeatureSource
    public let styles: [String: Style]
    private let placements = PlacementCache()

    public init(source: any FeatureSource, styles: [Style]) {
        self.source = source
        self.styles = Dictionary(uniqueKeysWithValues: styles.map { ($0.name, $0) })
    }

    /// Loads every `*.json` style in a directory (except routing profiles), checking each
    /// against the layer types onemap draws. Throws `StyleError` naming style, layer and key.
    public convenience init(source: any FeatureSource, stylesDirectory: String) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: stylesDirectory).filter { $0.hasSuffix(".json") && !$0.hasPrefix("routing") }.sorted()
        let styles = try files.map { f throws(StyleError) in try LayerTypes.loadStyle(path: (stylesDirectory as NSString).appendingPathComponent(f)) }
        self.init(source: source, styles: styles)
    }

    /// Reads a style file with the keys onemap's layer types accept (for tools and tests).
    public static func loadStyle(path: String) throws(StyleError) -> Style { try LayerTypes.loadStyle(path: path) }
    /// Checks a style document with the keys onemap's layer types accept.
    public static func parseStyle(_ v: JSONValue, name: String) throws(StyleError) -> Style { try LayerTypes.parseStyle(v, name: name) }

    public var styleNames: [String] { styles.keys.sorted() }

    /// Per store layer, the properties any of the styles reads (filters, values, labels, sort
    /// keys, anchors): an edit changing none of them, nor the geometry, changes no pixel.
    public var drawnAttributes: [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for s in styles.values { for l in s.sourceLayers { out[l, default: []].formUnion(s.attributes(of: l)) } }
        return out
    }

    public func style(_ name: String) throws(RenderError) -> Style {
        guard let s = styles[name] else {
            throw RenderError(.notFound, "unknown style \"\(name)\"; the styles are: \(styleNames.joined(separator: ", "))")
        }
        return s
    }

    /// The label index of a style at a zoom for the store's current revision (a new revision
    /// starts new indexes: labels are re-decided where tiles next ask).
    func labelIndex(_ style: Style, zoom: Int) throws -> LabelIndex {
        let seq = try source.revision()
        let key = "\(style.name)/\(zoom)"
        if let hit = placements.get(key, seq: seq) { return hit }
        return placements.put(key, LabelIndex(style: style, zoom: zoom, source: source), seq: seq)
    }

    /// Placed labels of a style at a zoom whose boxes meet a box of @1x global pixels.
    func labels(_ style: Style, zoom: Int, in box: (Double, Double, Double, Double), text: TextEngine) throws -> [PlacedLabel] {
        try labelIndex(style, zoom: zoom).labels(in: box, text: text)
    }

    /// Every placed label of a style at a zoom (tests and tools): the greedy rule over all data
    /// at once, which is what the index gives region by region (a test checks they agree) —
    /// and far quicker than asking the index for the whole extent cell by cell.
    func allLabels(_ style: Style, zoom: Int, text: TextEngine) throws -> [PlacedLabel] {
        var features: [String: [Feature]] = [:]
        for l in style.layers where l.type == .symbol {
            guard let src = l.sourceLayer, features[src] == nil else { continue }
            features[src] = try source.all(src, attributes: style.attributes(of: src))
        }
        return LabelPlacer.place(style: style, zoom: zoom, features: features, text: text)
    }

    /// The tiles whose labels differ between the data at revision `from` and at `to` (the
    /// source now), for each style and zoom asked: labels that appeared, vanished, moved or
    /// changed, followed through their knock-ons however far (`LabelIndex.changes`). `edits`
    /// are the journal's edits from `from` to `to`; their before-images give the past
    /// (`PastSource`). A label counts for every tile its box comes within 8 px of (the margin
    /// `draw` draws labels with). Bulk edits (imports) have no images and are left to the caller.
    ///
    /// Where this renderer holds the label index of `from`, its candidates are reused for both
    /// sides, and the index of `to` it builds (reading again only the cells of edited features)
    /// serves the next tiles — so the work after an edit follows the edit, not the data.
    /// Throws `StoreError` when the source cannot be read.
    /// `budget` bounds the work (seconds): past it, the rest of the styles and zooms expire each
    /// edit's box grown by three tiles (a label's reach) instead — knock-on chains beyond that
    /// are then not followed.
    public func labelChanges(undoing edits: [JournalEdit], from: StoreRevision, to: StoreRevision, at pairs: Set<StyleZoom>, budget: Double = 0.5) throws -> [TileRange] {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(budget * 1e9)
        let edits = edits.filter { !$0.bulk }
        guard !edits.isEmpty else { return [] }
        let past = PastSource(current: source, undoing: edits)
        let layers = Set(edits.map(\.layer))
        let text = TextEngine()
        var out: [TileRange] = []
        // Each edited feature as it was before the first edit and is after the last.
        var first: [String: Feature?] = [:], last: [String: Feature?] = [:], layerOf: [String: String] = [:]
        for e in edits {
            guard let id = e.featureID ?? e.before?.id ?? e.after?.id else { continue }
            let k = e.layer + "\u{1}" + id
            if first[k] == nil { first[k] = .some(e.before) }
            last[k] = .some(e.after)
            layerOf[k] = e.layer
        }
        func images(_ m: [String: Feature?]) -> [String: [Feature]] {
            var out: [String: [Feature]] = [:]
            for case let (k, f?) in m { out[layerOf[k]!, default: []].append(f) }
            return out
        }
        let pastImages = images(first), nowImages = images(last)
        // Each edit's box grown by three tiles (a label's reach) at zoom `z`, without comparing.
        func byBox(_ z: Int, _ key: String) {
            for e in edits { out.append(TileCache.reach(of: e.box, zoom: z, grow: 3)) }
            placements.drop(key)
        }
        for z in Set(pairs.map(\.zoom)).sorted() {
            for name in pairs.filter({ $0.zoom == z }).map(\.style).sorted() {
                guard let style = styles[name] else { continue }
                let symbols = style.layers.filter { $0.type == .symbol && $0.visible(atZoom: Double(z)) && $0.sourceLayer.map(layers.contains) == true }
                guard !symbols.isEmpty else { continue }
                // The edited features' labels in both states: where the comparison starts (their
                // boxes) and which cells of a carried index must be read again (their anchors').
                let edited = LabelPlacer.candidates(style: style, zoom: z, features: pastImages, text: text)
                    + LabelPlacer.candidates(style: style, zoom: z, features: nowImages, text: text)
                let key = "\(style.name)/\(z)"
                let maxI = (1 << z) - 1
                // An edit of a line across many tiles at this zoom (hundreds of label anchors):
                // its box grown by three tiles (a label's reach) is expired instead of following
                // every knock-on — bounded work for a bounded loss of exactness.
                if edited.count > LabelIndex.maxEditedCandidates || DispatchTime.now().uptimeNanoseconds > deadline {
                    byBox(z, key)
                    continue
                }
                let seeds = edited.map(LabelIndex.bounds)
                let anchors = edited.map { ($0.label.x, $0.label.y, $0.label.x, $0.label.y) }
                let before = placements.get(key, seq: from), ready = placements.get(key, seq: to)
                let new = ready ?? before.map { LabelIndex(carrying: $0, source: source, dropping: anchors, keepDecisions: false) } ?? LabelIndex(style: style, zoom: z, source: source)
                let old = before.map { LabelIndex(carrying: $0, source: past, dropping: [], keepDecisions: true) } ?? LabelIndex(style: style, zoom: z, source: past)
                guard let boxes = try LabelIndex.changes(old: old, new: new, seeds: seeds, text: text, deadline: deadline) else {
                    byBox(z, key)
                    continue
                }
                // Kept for the next tiles only if nothing moved meanwhile (else its cells may mix states).
                if ready == nil, try source.revision() == to { _ = placements.put(key, new, seq: to) }
                for b in boxes {
                    func tile(_ v: Double) -> Int { v.isFinite ? min(maxI, max(0, Int((v / 256).rounded(.down)))) : 0 }
                    out.append(TileRange(z: z, minX: tile(b.0 - 8), minY: tile(b.1 - 8), maxX: tile(b.2 + 8), maxY: tile(b.3 + 8)))
                }
            }
        }
        return out
    }

    /// Draws a viewport: background, geometry layers in order (each by its layer type), then the
    /// placed labels. `drawn` hears the id of every layer that put ink in the viewport (and
    /// "icon:NAME" for icons), for print legends.
    /// Returns which cells of a `grid`×`grid` split of the viewport received any feature.
    /// `keep`, when given, decides per label what of it is drawn (a printed page drops the map
    /// labels that would touch its own labels, legend or frame; see `MapLabel`).
    @discardableResult
    package func draw(style: Style, viewport vp: Viewport, canvas: Canvas, text: TextEngine, grid: Int = 1, drawn: ((String) -> Void)? = nil,
                      keep: ((MapLabel) -> MapLabel.Keep)? = nil) throws -> [Bool] {
        let z = Double(vp.zoom)
        var touched = [Bool](repeating: false, count: grid * grid)
        let cellW = vp.width * vp.scale / Double(grid), cellH = vp.height * vp.scale / Double(grid)
        func touch(_ b: (Double, Double, Double, Double)) {
            guard b.2 >= 0, b.3 >= 0, b.0 <= vp.width * vp.scale, b.1 <= vp.height * vp.scale else { return }
            // Clamp before converting: a box may be as large as a style allows, or not finite.
            func cell(_ v: Double, _ size: Double) -> Int { v.isNaN ? 0 : Int(min(Double(grid), max(-1, v / size))) }
            let x0 = max(0, cell(b.0, cellW)), x1 = min(grid - 1, cell(b.2, cellW)), y0 = max(0, cell(b.1, cellH)), y1 = min(grid - 1, cell(b.3, cellH))
            guard x0 <= x1, y0 <= y1 else { return }
            for x in x0...x1 { for y in y0...y1 { touched[y * grid + x] = true } }
        }
        // One query per source layer for the whole viewport, with the attributes the style reads.
        let box = vp.drawnBBox(margin: 24)
        var cache: [String: [Feature]] = [:]
        func features(_ src: String) throws -> [Feature] {
            if let f = cache[src] { return f }
            let f = Array(try source.features(FeatureQuery(layer: src, bbox: box, predicate: .envelope, zoom: vp.zoom, attributes: style.attributes(of: src))))
            cache[src] = f
            return f
        }
        for layer in style.layers where layer.visible(atZoom: z) && layer.type != .symbol {
            let ink: (_ box: (Double, Double, Double, Double)) -> Void = { b in touch(b); drawn?(layer.id) }
            switch layer.type {
            case .background: LayerTypes.background.draw(layer, on: canvas, zoom: z)
            case .fill: LayerTypes.fill.draw(layer, try features(layer.sourceLayer!), on: canvas, vp, drawn: ink)
            case .line: LayerTypes.line.draw(layer, try features(layer.sourceLayer!), on: canvas, vp, drawn: ink)
            case .circle: LayerTypes.circle.draw(layer, try features(layer.sourceLayer!), on: canvas, vp, drawn: ink)
            case .symbol: break
            }
        }
        // Labels: those whose box touches the drawn area, drawn whole, in reverse placement
        // order — the label placed first (most important: incidents, the seat's name) is drawn
        // last, on top of an icon that may overlap it, as MapLibre draws the symbol layer it
        // places first on top.
        let a = vp.drawnArea
        let left = a.x - 8, top = a.y - 8, right = a.x + a.width + 8, bottom = a.y + a.height + 8
        for var l in try labels(style, zoom: vp.zoom, in: (left, top, right, bottom), text: text).reversed() where !(l.box.2 < left || l.box.0 > right || l.box.3 < top || l.box.1 > bottom) {
            if let keep {
                switch keep(MapLabel(l, vp)) {
                case .all: break
                case .none: continue
                case .iconOnly:
                    guard l.icon != nil else { continue }
                    l.text = nil
                    if let b = l.iconBox { l.box = b }
                }
            }
            LayerTypes.symbol.draw(l, on: canvas, vp, text: text)
            if let icon = l.icon { drawn?("icon:" + icon) }
            touch(((l.box.0 - vp.originX) * vp.scale, (l.box.1 - vp.originY) * vp.scale, (l.box.2 - vp.originX) * vp.scale, (l.box.3 - vp.originY) * vp.scale))
        }
        try canvas.check("draw style \(style.name)")
        return touched
    }

    /// The style's labels (icons and texts) that touch a viewport, in its device coordinates,
    /// as the map would draw them: for a printed page placing its own labels around them.
    package func labels(style: Style, viewport vp: Viewport) throws -> [MapLabel] {
        let left = vp.originX - 8, top = vp.originY - 8, right = vp.originX + vp.width + 8, bottom = vp.originY + vp.height + 8
        return try labels(style, zoom: vp.zoom, in: (left, top, right, bottom), text: TextEngine()).filter { l in !(l.box.2 < left || l.box.0 > right || l.box.3 < top || l.box.1 > bottom) }.map { MapLabel($0, vp) }
    }

    /// Renders any viewport to PNG (for whole-area images, coverage maps and the seam test).
    public func renderPNG(style name: String, viewport: Viewport) throws -> [UInt8] {
        let style = try style(name)
        let canvas = Canvas(width: Int((viewport.width * viewport.scale).rounded()), height: Int((viewport.height * viewport.scale).rounded()))
        try draw(style: style, viewport: viewport, canvas: canvas, text: TextEngine())
        return try canvas.png(x: 0, y: 0, w: canvas.width, h: canvas.height)
    }

    /// For every label of a style at a zoom, how many glyphs the font lacks (should be 0).
    public func unknownGlyphs(style name: String, zoom: Int) throws -> [(text: String, unknown: Int)] {
        let text = TextEngine()
        return try allLabels(try style(name), zoom: zoom, text: text).compactMap { l in
            guard let t = l.text else { return nil }
            return (t, text.layout(t, size: l.textSize).unknownGlyphs)
        }
    }

    /// How many labels a style places at a zoom.
    public func labelCount(style name: String, zoom: Int) throws -> Int { try allLabels(try style(name), zoom: zoom, text: TextEngine()).count }
}

/// A placed map label as seen in one viewport: boxes in its device coordinates (scale applied).
package struct MapLabel {
    /// What of a label a page lets the map draw.
    package enum Keep { case all, iconOnly, none }
    package var text: String?
    package var iconBox: (x0: Double, y0: Double, x1: Double, y1: Double)?
    package var textBox: (x0: Double, y0: Double, x1: Double, y1: Double)?

    init(_ l: PlacedLabel, _ vp: Viewport) {
        func local(_ b: (Double, Double, Double, Double)) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
            ((b.0 - vp.originX) * vp.scale, (b.1 - vp.originY) * vp.scale, (b.2 - vp.originX) * vp.scale, (b.3 - vp.originY) * vp.scale)
        }
        text = l.text
        iconBox = l.iconBox.map(local)
        textBox = l.textBox.map(local)
    }
}

/// Label indexes per style/zoom, for the current journal position and the one before it (whose
/// candidates the next revision's indexes start from, see `labelChanges`).
final class PlacementCache: Sendable {
    private struct Generation { var seq: StoreRevision?; var entries: [String: LabelIndex] = [:] }
    private let state = Mutex((current: Generation(), previous: Generation()))

    func get(_ key: String, seq: StoreRevision) -> LabelIndex? {
        state.withLock { st in st.current.seq == seq ? st.current.entries[key] : st.previous.seq == seq ? st.previous.entries[key] : nil }
    }
    /// Forgets a style/zoom's indexes (the next tile starts afresh).
    func drop(_ key: String) { state.withLock { $0.current.entries[key] = nil; $0.previous.entries[key] = nil } }
    /// Keeps `v` unless another thread put one first (then that one is returned). A newer
    /// revision makes the current generation the previous one; an older one is not kept.
    func put(_ key: String, _ v: LabelIndex, seq s: StoreRevision) -> LabelIndex {
        state.withLock { st in
            if s != st.current.seq {
                if let c = st.current.seq, c.generation == s.generation, c.sequence > s.sequence { return v }
                st.previous = st.current
                st.current = Generation(seq: s)
            }
            if let there = st.current.entries[key] { return there }
            st.current.entries[key] = v
            return v
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
