import Foundation
import Synchronization
import OneMapCore
import OneMapStore
import OneMapStyle

/// A label (icon and/or text) placed in the global pixel plane of one zoom (@1x pixels).
struct PlacedLabel: Sendable {
    var x: Double
    var y: Double
    var icon: String?
    var iconSize: Double
    var iconColor: Color?
    var iconOpacity: Double
    var text: String?
    var textSize: Double
    var bold: Bool
    /// Top-left of the text box relative to the anchor, before rotation.
    var textDX: Double
    var textDY: Double
    var textW: Double
    var textH: Double
    var angle: Double
    var textColor: Color
    var textOpacity: Double
    var halo: Color?
    var haloWidth: Double
    /// The union of `iconBox` and `textBox`.
    var box: (Double, Double, Double, Double)
    /// The icon's and the text's boxes as placed (padding included), @1x global pixels.
    var iconBox: (Double, Double, Double, Double)? = nil
    var textBox: (Double, Double, Double, Double)? = nil
    /// For a label that follows its line: its glyphs (grapheme clusters) one by one; empty
    /// for text set straight.
    var glyphs: [PlacedGlyph] = []
}

/// One glyph of a label that follows its line: the grapheme, its centre relative to the
/// label's anchor (@1x pixels) and its rotation (radians, clockwise).
struct PlacedGlyph: Sendable, Equatable {
    var text: String
    var dx: Double
    var dy: Double
    var angle: Double
}

/// Where labels go along a line (MapLibre's `symbol-placement: line`): anchors spread along the
/// line every `symbol-spacing` pixels (one in the middle of a shorter line), the label centred on
/// its anchor with each glyph on the line and turned with it, read left to right, and no bend
/// under the label sharper than `maxAngle` (25°: Mapnik's `max-char-angle-delta` is 22.5°,
/// MapLibre's `text-max-angle` 45° — at 45° a four-letter ref on a bend read as two words).
enum LineLabels {
    static let maxAngle = 25.0 * Double.pi / 180
    /// The most anchors one line gets.
    static let maxRepeats = 1000
    /// Glyph angles all within this of the first: the label is set straight, as one run.
    static let straightEnough = 3.0 * Double.pi / 180

    /// Whether a text must be set straight: right-to-left and joining scripts (Arabic, Hebrew,
    /// Syriac, Thaana) and bidi controls would be broken apart glyph by glyph.
    static func straightOnly(_ t: String) -> Bool {
        t.unicodeScalars.contains { s in
            switch s.value {
            case 0x0590...0x08FF, 0xFB1D...0xFDFF, 0xFE70...0xFEFF, 0x200E...0x200F, 0x202A...0x202E, 0x2066...0x2069: true
            default: false
            }
        }
    }

    /// The placements of a label along a polyline (@1x pixels): per anchor, its point and the
    /// glyphs' centres (relative to it) and angles. `advances` are the glyphs' widths in order.
    static func place(_ line: [(Double, Double)], advances: [Double], spacing: Double, pad: Double) -> [(anchor: (Double, Double), glyphs: [(dx: Double, dy: Double, angle: Double)])] {
        guard line.count > 1 else { return [] }
        var cum = [0.0]
        for i in 1..<line.count { cum.append(cum[i - 1] + hypot(line[i].0 - line[i - 1].0, line[i].1 - line[i - 1].1)) }
        let total = cum[cum.count - 1], length = advances.reduce(0, +)
        guard total >= length + 2 * pad, length > 0 else { return [] }
        // At most `maxRepeats` anchors a line (a line across a province at z18 would otherwise
        // ask for millions); beyond that they spread further apart, the same in every tile.
        let n = min(maxRepeats, max(1, Int(min(total / max(spacing, length + 2 * pad), Double(maxRepeats)))))
        let reversed = Array(line.reversed()), rcum = cum.reversed().map { total - $0 }
        var out: [(anchor: (Double, Double), glyphs: [(dx: Double, dy: Double, angle: Double)])] = []
        for k in 0..<n {
            let a = (Double(k) + 0.5) * total / Double(n)
            guard a - length / 2 >= 0, a + length / 2 <= total else { continue }
            // Read left to right (top to bottom on an upright line): on a line drawn the other
            // way, walk it backwards.
            let p0 = at(line, cum, a - length / 2), p1 = at(line, cum, a + length / 2)
            let theta = atan2(p1.point.1 - p0.point.1, p1.point.0 - p0.point.0)
            let (l, c, s) = theta > .pi / 2 || theta <= -.pi / 2 ? (reversed, rcum, total - a) : (line, cum, a)
            let start = s - length / 2
            // No sharp bend under the label.
            var sharp = false
            var j0 = 1, j1 = l.count - 1
            while j0 < j1 { let m = (j0 + j1) / 2; if c[m] <= start { j0 = m + 1 } else { j1 = m } }
            var j = j0
            while j < l.count - 1 && c[j] < start + length {
                let t0 = atan2(l[j].1 - l[j - 1].1, l[j].0 - l[j - 1].0), t1 = atan2(l[j + 1].1 - l[j].1, l[j + 1].0 - l[j].0)
                var d = abs(t1 - t0)
                if d > .pi { d = 2 * .pi - d }
                if d > maxAngle { sharp = true; break }
                j += 1
            }
            if sharp { continue }
            let anchor = at(l, c, s).point
            var glyphs: [(dx: Double, dy: Double, angle: Double)] = []
            var off = start
            for w in advances {
                let g = at(l, c, off + w / 2)
                glyphs.append((g.point.0 - anchor.0, g.point.1 - anchor.1, g.angle))
                off += w
            }
            out.append((anchor, glyphs))
        }
        return out
    }

    /// The point at distance `d` along a polyline and the direction of its segment there.
    static func at(_ l: [(Double, Double)], _ cum: [Double], _ d: Double) -> (point: (Double, Double), angle: Double) {
        // The first vertex at or past `d` (binary search: lines may have thousands of vertices).
        var lo = 1, hi = l.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cum[mid] < d { lo = mid + 1 } else { hi = mid }
        }
        let i = lo
        let seg = cum[i] - cum[i - 1], t = seg > 0 ? min(1, max(0, (d - cum[i - 1]) / seg)) : 0
        let a = l[i - 1], b = l[i]
        return ((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t), atan2(b.1 - a.1, b.0 - a.0))
    }
}

/// Boxes already taken, bucketed in a grid.
struct CollisionGrid {
    let cell = 64.0
    var cells: [Int64: [(Double, Double, Double, Double)]] = [:]

    func key(_ x: Int, _ y: Int) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: y))) }
    func range(_ b: (Double, Double, Double, Double)) -> (ClosedRange<Int>, ClosedRange<Int>) {
        (Int((b.0 / cell).rounded(.down))...Int((b.2 / cell).rounded(.down)), Int((b.1 / cell).rounded(.down))...Int((b.3 / cell).rounded(.down)))
    }
    func collides(_ b: (Double, Double, Double, Double)) -> Bool {
        let (xr, yr) = range(b)
        for x in xr { for y in yr { for o in cells[key(x, y)] ?? [] where !(b.2 < o.0 || b.0 > o.2 || b.3 < o.1 || b.1 > o.3) { return true } } }
        return false
    }
    mutating func insert(_ b: (Double, Double, Double, Double)) {
        let (xr, yr) = range(b)
        for x in xr { for y in yr { cells[key(x, y), default: []].append(b) } }
    }
}

/// The placement rule for a style's labels at one zoom, in @1x global pixels: every symbol
/// layer's features give candidates (icon and/or text boxes at an anchor); in order of
/// (priority = symbol-sort-key or layer order, layer order, feature id) each candidate is placed
/// unless its icon meets a placed box (then nothing), or its text does (then the icon alone when
/// the text is optional), or a placed label of the same text lies within its symbol-spacing.
///
/// `place` runs this greedily over a full list (the reference); `LabelIndex` computes the same
/// outcome lazily, region by region, so that a tile costs what its neighbourhood holds, not
/// what the whole store holds — and neighbouring metatiles agree on every label because both
/// evaluate the one global rule.
enum LabelPlacer {
    struct Candidate {
        var priority: Double
        var order: Int
        var id: String
        var label: PlacedLabel
        var iconBox: (Double, Double, Double, Double)?
        var textBox: (Double, Double, Double, Double)?
        var textOptional: Bool
        /// Where the text may go, in the order tried (MapLibre `text-variable-anchor`): the
        /// first that fits is taken. Empty: only `textBox`, at `label.textDX/DY`.
        var textOptions: [TextOption] = []
        /// MapLibre `icon-allow-overlap` / `text-allow-overlap`: that part is placed whatever it
        /// meets (and still keeps later labels away); the other part is not (an icon that may
        /// overlap keeps its text only where the text fits, else, with `textOptional`, shows alone).
        var iconAllowOverlap: Bool
        var textAllowOverlap: Bool
        var dedupeText: String?
        var spacing: Double

        /// One place for the text: its top-left relative to the anchor and its box (padding
        /// included, @1x global pixels).
        struct TextOption { var dx: Double; var dy: Double; var box: (Double, Double, Double, Double) }

        /// How many places the text may take (1 without variable anchors).
        var textOptionCount: Int { textOptions.isEmpty ? 1 : textOptions.count }
        /// The text's box at option `k` (nil: no text).
        func textBox(_ k: Int) -> (Double, Double, Double, Double)? { textOptions.isEmpty || textBox == nil ? textBox : textOptions[k].box }
        /// This candidate with its text at option `k`.
        func withText(_ k: Int) -> Candidate {
            guard !textOptions.isEmpty, textBox != nil else { return self }
            var c = self
            c.label.textDX = textOptions[k].dx
            c.label.textDY = textOptions[k].dy
            c.textBox = textOptions[k].box
            return c
        }
    }

    /// The farthest a candidate's boxes may reach from its anchor (@1x pixels); one reaching
    /// farther (a very long name) is not placed, so that a neighbourhood of this size holds every
    /// label a candidate can meet. Symbol spacing is capped at the same distance.
    static let reach = 512.0

    /// Every candidate of a style's symbol layers at a zoom for `features` (unsorted).
    static func candidates(style: Style, zoom: Int, features: [String: [Feature]], text: TextEngine) -> [Candidate] {
        let vp = Viewport(zoom: zoom, originX: 0, originY: 0, width: 0, height: 0, scale: 1)
        var candidates: [Candidate] = []
        let z = Double(zoom)
        for (li, layer) in style.layers.enumerated() where layer.type == .symbol && layer.visible(atZoom: z) {
            guard let src = layer.sourceLayer, let fs = features[src] else { continue }
            for f in fs {
                let ctx = EvaluationContext(zoom: z, properties: f.properties, geometryType: f.geometry.kind.rawValue)
                if let filter = layer.filter, filter.evaluate(ctx) != .bool(true) { continue }
                guard let sym = LayerTypes.symbol.resolve(layer, ctx) else { continue }
                let size = sym.textSize, iconSize = sym.iconSize, icon = sym.icon, pad = sym.textPadding
                let line = sym.alongLine
                var label = PlacedLabel(x: 0, y: 0, icon: icon, iconSize: iconSize, iconColor: sym.iconColor, iconOpacity: sym.iconOpacity,
                                        text: sym.text, textSize: size, bold: false, textDX: 0, textDY: 0, textW: 0, textH: 0, angle: 0,
                                        textColor: sym.textColor, textOpacity: sym.textOpacity, halo: sym.halo, haloWidth: sym.haloWidth, box: (0, 0, 0, 0))
                var tw = 0.0, th = 0.0
                if let t = label.text {
                    (tw, th) = text.measure(t, size: size, maxWidth: line ? nil : sym.textMaxWidth.map { $0 * size })
                }
                label.textW = tw; label.textH = th
                var cand = Candidate(priority: sym.sortKey ?? Double(li), order: li, id: f.id, label: label, iconBox: nil, textBox: nil,
                                     textOptional: sym.textOptional, iconAllowOverlap: sym.iconAllowOverlap, textAllowOverlap: sym.textAllowOverlap, dedupeText: nil, spacing: sym.spacing)
                if line, let t = label.text, !LineLabels.straightOnly(t) {
                    // Glyph by glyph along the longest part of the line, at every anchor that fits.
                    var best: [(Double, Double)] = [], bestLen = 0.0
                    for path in f.geometry.paths where path.count > 1 {
                        let px = Geometry2D.simplify(path.map { vp.globalPixel($0) }, tolerance: 0.5)
                        var len = 0.0
                        for i in 1..<px.count { len += hypot(px[i].0 - px[i - 1].0, px[i].1 - px[i - 1].1) }
                        if len > bestLen { bestLen = len; best = px }
                    }
                    guard bestLen >= tw + 2 * pad else { continue }
                    let chars = t.map(String.init)
                    let advances = chars.map { text.glyph($0, size: size).size.w }
                    for (k, p) in LineLabels.place(best, advances: advances, spacing: min(sym.spacing, reach), pad: pad + 4).enumerated() {
                        var c = cand
                        if k > 0 { c.id = f.id + "#\(k)" }
                        c.label.x = p.anchor.0
                        c.label.y = p.anchor.1
                        var box = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
                        let a0 = p.glyphs[0].angle
                        if p.glyphs.allSatisfy({ abs(remainder($0.angle - a0, 2 * .pi)) <= LineLabels.straightEnough }) {
                            // Where the line is straight under it, the label is set as one run
                            // (kerning and shaping kept), turned with the line.
                            let first = p.glyphs[0], last = p.glyphs[p.glyphs.count - 1]
                            let angle = atan2(last.dy - first.dy, last.dx - first.dx)
                            c.label.angle = p.glyphs.count > 1 ? angle : a0
                            c.label.textDX = -tw / 2
                            c.label.textDY = -th / 2
                            let ex = abs(cos(c.label.angle)) * tw / 2 + abs(sin(c.label.angle)) * th / 2 + pad
                            let ey = abs(sin(c.label.angle)) * tw / 2 + abs(cos(c.label.angle)) * th / 2 + pad
                            box = (c.label.x - ex, c.label.y - ey, c.label.x + ex, c.label.y + ey)
                        } else {
                            c.label.glyphs = zip(chars, p.glyphs).map { PlacedGlyph(text: $0, dx: $1.dx, dy: $1.dy, angle: $1.angle) }
                            for (g, w) in zip(p.glyphs, advances) {
                                let ex = abs(cos(g.angle)) * w / 2 + abs(sin(g.angle)) * th / 2 + pad
                                let ey = abs(sin(g.angle)) * w / 2 + abs(cos(g.angle)) * th / 2 + pad
                                box = (min(box.0, p.anchor.0 + g.dx - ex), min(box.1, p.anchor.1 + g.dy - ey), max(box.2, p.anchor.0 + g.dx + ex), max(box.3, p.anchor.1 + g.dy + ey))
                            }
                        }
                        c.textBox = box
                        c.dedupeText = t
                        guard box.0 >= c.label.x - reach, box.2 <= c.label.x + reach, box.1 >= c.label.y - reach, box.3 <= c.label.y + reach else { continue }
                        c.spacing = min(c.spacing, reach)
                        candidates.append(c)
                    }
                    continue
                } else if line {
                    // Set straight (a right-to-left name) along the longest straight piece, if it fits there.
                    guard label.text != nil else { continue }
                    var bestLen = 0.0, bestA = (0.0, 0.0), bestB = (0.0, 0.0)
                    for path in f.geometry.paths where path.count > 1 {
                        var prev = vp.globalPixel(path[0])
                        for c in path.dropFirst() {
                            let p = vp.globalPixel(c)
                            let len = hypot(p.0 - prev.0, p.1 - prev.1)
                            if len > bestLen { bestLen = len; bestA = prev; bestB = p }
                            prev = p
                        }
                    }
                    guard bestLen >= tw + 2 * pad + 8 else { continue }
                    var angle = atan2(bestB.1 - bestA.1, bestB.0 - bestA.0)
                    if angle > .pi / 2 { angle -= .pi } else if angle < -.pi / 2 { angle += .pi }
                    cand.label.x = (bestA.0 + bestB.0) / 2
                    cand.label.y = (bestA.1 + bestB.1) / 2
                    cand.label.angle = angle
                    cand.label.textDX = -tw / 2
                    cand.label.textDY = -th / 2
                    let ex = abs(cos(angle)) * tw / 2 + abs(sin(angle)) * th / 2 + pad
                    let ey = abs(sin(angle)) * tw / 2 + abs(cos(angle)) * th / 2 + pad
                    cand.textBox = (cand.label.x - ex, cand.label.y - ey, cand.label.x + ex, cand.label.y + ey)
                    cand.dedupeText = label.text
                } else {
                    let anchorPoint: Coord
                    if case .point(let c) = f.geometry { anchorPoint = c } else if let a = (f["center"] ?? f["seat"])?.arrayValue, a.count == 2, let x = a[0].doubleValue, let y = a[1].doubleValue {
                        anchorPoint = Coord(x, y)
                    } else { anchorPoint = f.geometry.representativePoint }
                    let g = vp.globalPixel(anchorPoint)
                    cand.label.x = g.0
                    cand.label.y = g.1
                    if icon != nil {
                        cand.iconBox = (g.0 - iconSize / 2, g.1 - iconSize / 2, g.0 + iconSize / 2, g.1 + iconSize / 2)
                    }
                    if label.text != nil {
                        let off = sym.textOffset
                        func place(_ anchor: String, _ ox: Double, _ oy: Double) -> Candidate.TextOption {
                            var dx = -tw / 2, dy = -th / 2
                            switch anchor {
                            case "top": dy = 0
                            case "bottom": dy = -th
                            case "left": dx = 0
                            case "right": dx = -tw
                            default: break
                            }
                            dx += ox * size
                            dy += oy * size
                            return .init(dx: dx, dy: dy, box: (g.0 + dx - pad, g.1 + dy - pad, g.0 + dx + tw + pad, g.1 + dy + th + pad))
                        }
                        var first = place(sym.textAnchor, off.first ?? 0, off.count > 1 ? off[1] : 0)
                        if let anchors = sym.textVariableAnchor {
                            // MapLibre's `text-offset` with variable anchors: its absolute values,
                            // x away from the anchor for left/right, y for top/bottom.
                            let ax = abs(off.first ?? 0), ay = abs(off.count > 1 ? off[1] : 0)
                            cand.textOptions = anchors.map { a in
                                place(a, a == "left" ? ax : a == "right" ? -ax : 0, a == "top" ? ay : a == "bottom" ? -ay : 0)
                            }
                            first = cand.textOptions[0]
                        }
                        cand.label.textDX = first.dx
                        cand.label.textDY = first.dy
                        cand.textBox = first.box
                    }
                }
                let b = [cand.iconBox, cand.textBox].compactMap { $0 } + cand.textOptions.map(\.box)
                guard b.allSatisfy({ $0.0 >= cand.label.x - reach && $0.2 <= cand.label.x + reach && $0.1 >= cand.label.y - reach && $0.3 <= cand.label.y + reach }) else { continue }
                cand.spacing = min(cand.spacing, reach)
                candidates.append(cand)
            }
        }
        return candidates
    }

    static func before(_ a: Candidate, _ b: Candidate) -> Bool { (a.priority, a.order, a.id) < (b.priority, b.order, b.id) }

    /// Overlap as the placement sees it (touching boxes collide).
    @inline(__always) static func meets(_ a: (Double, Double, Double, Double), _ b: (Double, Double, Double, Double)) -> Bool {
        !(a.2 < b.0 || a.0 > b.2 || a.3 < b.1 || a.1 > b.3)
    }

    /// The whole rule, greedily over every candidate (the reference `LabelIndex` must equal).
    static func place(style: Style, zoom: Int, features: [String: [Feature]], text: TextEngine) -> [PlacedLabel] {
        var candidates = candidates(style: style, zoom: zoom, features: features, text: text)
        candidates.sort { ($0.priority, $0.order, $0.id) < ($1.priority, $1.order, $1.id) }
        var grid = CollisionGrid()
        var placedText: [String: [(Double, Double)]] = [:]
        var out: [PlacedLabel] = []
        for var c in candidates {
            if let t = c.dedupeText, let others = placedText[t], others.contains(where: { hypot($0.0 - c.label.x, $0.1 - c.label.y) < c.spacing }) { continue }
            let iconOK = c.iconBox.map { c.iconAllowOverlap || !grid.collides($0) } ?? true
            if !iconOK { continue }
            // The first place where the text fits (one place without variable anchors).
            var textOK = false
            for k in 0..<c.textOptionCount where c.textBox(k).map({ c.textAllowOverlap || !grid.collides($0) }) ?? true {
                c = c.withText(k)
                textOK = true
                break
            }
            if !textOK {
                guard c.textOptional, c.iconBox != nil else { continue }
                c.label.text = nil
                c.textBox = nil
                textOK = true
            }
            var box = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
            for b in [c.iconBox, c.textBox].compactMap({ $0 }) {
                grid.insert(b)
                box = (min(box.0, b.0), min(box.1, b.1), max(box.2, b.2), max(box.3, b.3))
            }
            c.label.box = box
            c.label.iconBox = c.iconBox
            c.label.textBox = c.textBox
            // Only a shown text repeats: a label placed as its icon alone keeps no one else's
            // text away (as `LabelIndex.evaluate` decides it).
            if let t = c.dedupeText, c.textBox != nil { placedText[t, default: []].append((c.label.x, c.label.y)) }
            out.append(c.label)
        }
        return out
    }
}

/// The placement rule of `LabelPlacer`, evaluated lazily for one style at one zoom and one store
/// revision: candidates are read per 512-pixel cell (by anchor) only where a tile asks, and a
/// candidate's outcome is decided from the outcomes of the higher-priority candidates near it
/// (within `LabelPlacer.reach`), which are decided first — the greedy rule's own definition,
/// so the result is exactly `LabelPlacer.place` over all data, whatever order tiles come in.
///
/// A tile therefore costs the candidates of its neighbourhood (plus, rarely, a chain of
/// higher-priority collisions leading further), not the whole store; after an edit the next
/// tile recomputes only its own neighbourhood. Thread-safe (one lock; renders share it).
final class LabelIndex: Sendable {
    /// Not placed, placed whole (the text at option k, see `Candidate.textOptions`), or as its
    /// icon alone.
    enum Outcome: Equatable { case none, full(Int), iconOnly }
    struct Ref: Hashable { var cell: Int64; var i: Int32 }
    struct Entry {
        var c: LabelPlacer.Candidate
        var bounds: (Double, Double, Double, Double)
        /// The outcome and the neighbour list, valid when decided/linked in the state's epoch.
        var outcome: Outcome = .none
        var neighbours: [Ref] = []
        var decidedIn: Int32 = -1
        var linkedIn: Int32 = -1
    }
    struct State {
        var cells: [Int64: [Entry]] = [:]
        /// Bumped to forget every outcome and neighbour list at once (an index carried over to
        /// the next revision) without touching the entries.
        var epoch: Int32 = 0
        func outcome(_ r: Ref) -> Outcome? {
            let e = cells[r.cell]![Int(r.i)]
            return e.decidedIn == epoch ? e.outcome : nil
        }
        func neighbours(_ r: Ref) -> [Ref]? {
            let e = cells[r.cell]![Int(r.i)]
            return e.linkedIn == epoch ? e.neighbours : nil
        }
    }
    static let cell = 512.0
    /// Past this many labels of edited features at one zoom, `MapRenderer.labelChanges` expires
    /// by box instead of comparing placements.
    static let maxEditedCandidates = 256

    let style: Style
    let zoom: Int
    let source: any FeatureSource
    /// The memory budget in cells: when a request starts with more read, the index starts
    /// afresh (outcomes are deterministic, so only time is lost). 2,048 cells of 512 px hold a
    /// few tens of MB of candidates — a region's worth of one zoom would otherwise stay until
    /// the next edit.
    let maxCells: Int
    private let state = Mutex(State())

    init(style: Style, zoom: Int, source: any FeatureSource, maxCells: Int = 2048) {
        self.style = style; self.zoom = zoom; self.source = source; self.maxCells = maxCells
    }

    /// An index over `source`, starting from the candidates `base` has read: after an edit,
    /// only the cells holding an edited feature's anchor (those meeting `dropping`, @1x global
    /// pixels) are read again — reading (the store query and the text layout of every
    /// candidate) is what costs; deciding again is cheap. With `keepDecisions` (when `source`
    /// shows the same state as `base`'s), outcomes are kept too.
    init(carrying base: LabelIndex, source: any FeatureSource, dropping: [(Double, Double, Double, Double)], keepDecisions: Bool) {
        style = base.style; zoom = base.zoom; self.source = source; maxCells = base.maxCells
        var st = base.state.withLock { $0 }
        for b in dropping { for k in LabelIndex.cells(b) { st.cells[k] = nil } }
        if !keepDecisions || !dropping.isEmpty { st.epoch += 1 }
        state.withLock { $0 = st }
    }

    /// Cells read so far (for tests and the memory budget).
    var cellCount: Int { state.withLock { $0.cells.count } }

    static func key(_ x: Int, _ y: Int) -> Int64 { Int64(x) << 32 | Int64(UInt32(bitPattern: Int32(truncatingIfNeeded: y))) }
    static func cells(_ b: (Double, Double, Double, Double)) -> [Int64] {
        let x0 = Int((b.0 / cell).rounded(.down)), x1 = Int((b.2 / cell).rounded(.down))
        let y0 = Int((b.1 / cell).rounded(.down)), y1 = Int((b.3 / cell).rounded(.down))
        guard x1 - x0 < 4096, y1 - y0 < 4096 else { return [] }
        var out: [Int64] = []
        for x in x0...x1 { for y in y0...y1 { out.append(key(x, y)) } }
        return out
    }

    /// The placed labels whose boxes meet `box` (@1x global pixels at this zoom).
    func labels(in box: (Double, Double, Double, Double), text: TextEngine) throws -> [PlacedLabel] {
        try prefetch(around: box, text: text)
        return try state.withLock { st in
            let r = LabelPlacer.reach
            try load(LabelIndex.cells((box.0 - r, box.1 - r, box.2 + r, box.3 + r)), &st, text)
            var out: [(LabelPlacer.Candidate, Outcome)] = []
            for k in LabelIndex.cells((box.0 - r, box.1 - r, box.2 + r, box.3 + r)) {
                for i in 0..<(st.cells[k]?.count ?? 0) {
                    let e = st.cells[k]![i]
                    guard LabelPlacer.meets(e.bounds, box) else { continue }
                    let o = try decide(Ref(cell: k, i: Int32(i)), &st, text)
                    guard o != .none else { continue }
                    out.append((st.cells[k]![i].c, o))
                }
            }
            // In placement order, as the greedy rule lists them (the renderer draws them in
            // reverse, the first placed on top), the same in every tile. A label placed as its
            // icon alone may no longer meet the box its text did.
            return out.sorted { LabelPlacer.before($0.0, $1.0) }.map { LabelIndex.placed($0.0, $0.1) }.filter { LabelPlacer.meets($0.box, box) }
        }
    }

    static func placed(_ c: LabelPlacer.Candidate, _ o: Outcome) -> PlacedLabel {
        var c = c, text: (Double, Double, Double, Double)?
        if case .full(let k) = o { c = c.withText(k); text = c.textBox }
        var l = c.label
        if o == .iconOnly { l.text = nil }
        var box = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
        for b in [c.iconBox, text].compactMap({ $0 }) { box = (min(box.0, b.0), min(box.1, b.1), max(box.2, b.2), max(box.3, b.3)) }
        l.box = box
        l.iconBox = c.iconBox
        l.textBox = text
        return l
    }

    /// Reads the candidates of the cells not read yet (under the lock).
    private func load(_ keys: [Int64], _ st: inout State, _ text: TextEngine) throws {
        for (k, entries) in try read(keys.filter { st.cells[$0] == nil }, text) { st.cells[k] = entries }
    }

    /// Reads, outside the lock, the cells a request surely needs — its box grown by the reach;
    /// the neighbours' cells beyond are read under the lock as deciding finds them (reading a
    /// wider ring up front made a single cold tile read four times the cells).
    /// Reading is what costs (a store query per symbol layer and the text layout of every
    /// candidate): with it under the lock, seeding threads at one zoom took turns. Two threads
    /// may read the same cell at once; they read the same source, and the first stored wins.
    private func prefetch(around box: (Double, Double, Double, Double), text: TextEngine) throws {
        let r = LabelPlacer.reach
        let keys = LabelIndex.cells((box.0 - r, box.1 - r, box.2 + r, box.3 + r))
        let missing = state.withLock { st in
            if st.cells.count > maxCells { st = State() }
            return keys.filter { st.cells[$0] == nil }
        }
        guard !missing.isEmpty else { return }
        let read = try self.read(missing, text)
        state.withLock { st in for (k, entries) in read where st.cells[k] == nil { st.cells[k] = entries } }
    }

    /// The candidates of several cells (a cell's are those of the features whose envelope
    /// meets it with their anchor in it, half-open, so each lives in exactly one cell) from one store query over the box around them and one
    /// pass over its features, each candidate given to the cell holding its anchor (when that
    /// cell is asked for). A candidate depends on its feature only, not on the box read, so
    /// this equals reading cell by cell — where a road crossing n cells was read, decoded and
    /// laid out n times (measured: label reading was 19% of a cold z12 metatile on the
    /// 100-county store).
    private func read(_ keys: [Int64], _ text: TextEngine) throws -> [Int64: [Entry]] {
        guard !keys.isEmpty else { return [:] }
        let z = Double(zoom)
        let sources = Set(style.layers.filter { $0.type == .symbol && $0.visible(atZoom: z) }.compactMap(\.sourceLayer))
        let cells = keys.map { (Int(Int32(truncatingIfNeeded: $0 >> 32)), Int(Int32(truncatingIfNeeded: $0))) }
        let cx0 = cells.map(\.0).min()!, cx1 = cells.map(\.0).max()!, cy0 = cells.map(\.1).min()!, cy1 = cells.map(\.1).max()!
        let c = LabelIndex.cell
        let box = Viewport(zoom: zoom, originX: Double(cx0) * c, originY: Double(cy0) * c, width: Double(cx1 - cx0 + 1) * c, height: Double(cy1 - cy0 + 1) * c, scale: 1).bbox()
        var features: [String: [Feature]] = [:]
        for src in sources {
            features[src] = Array(try source.features(FeatureQuery(layer: src, bbox: box, predicate: .envelope, attributes: style.attributes(of: src))))
        }
        var out: [Int64: [Entry]] = [:]
        for k in keys { out[k] = [] }
        for cand in LabelPlacer.candidates(style: style, zoom: zoom, features: features, text: text) {
            let k = LabelIndex.key(Int((cand.label.x / c).rounded(.down)), Int((cand.label.y / c).rounded(.down)))
            if out[k] != nil { out[k]!.append(Entry(c: cand, bounds: LabelIndex.bounds(cand))) }
        }
        return out
    }

    /// Higher-priority candidates that can affect `ref`: boxes that may meet its boxes, or the
    /// same text within its spacing.
    private func neighbours(_ ref: Ref, _ st: inout State, _ text: TextEngine) throws -> [Ref] {
        if let n = st.neighbours(ref) { return n }
        let me = st.cells[ref.cell]![Int(ref.i)]
        let r = LabelPlacer.reach
        let around = LabelIndex.cells((me.bounds.0 - r, me.bounds.1 - r, me.bounds.2 + r, me.bounds.3 + r))
        try load(around, &st, text)
        var out: [Ref] = []
        for k in around {
            for (i, e) in (st.cells[k] ?? []).enumerated() where LabelPlacer.before(e.c, me.c) {
                let sameText = me.c.dedupeText != nil && e.c.dedupeText == me.c.dedupeText
                    && hypot(e.c.label.x - me.c.label.x, e.c.label.y - me.c.label.y) < me.c.spacing
                if sameText || LabelPlacer.meets(e.bounds, me.bounds) { out.append(Ref(cell: k, i: Int32(i))) }
            }
        }
        out.sort { LabelPlacer.before(st.cells[$0.cell]![Int($0.i)].c, st.cells[$1.cell]![Int($1.i)].c) }
        st.cells[ref.cell]![Int(ref.i)].neighbours = out
        st.cells[ref.cell]![Int(ref.i)].linkedIn = st.epoch
        return out
    }

    /// The outcome of one candidate, deciding first (without recursion: chains can be long)
    /// every undecided higher-priority neighbour.
    private func decide(_ ref: Ref, _ st: inout State, _ text: TextEngine) throws -> Outcome {
        if let o = st.outcome(ref) { return o }
        var stack = [ref]
        while let top = stack.last {
            if st.outcome(top) != nil { stack.removeLast(); continue }
            let ns = try neighbours(top, &st, text)
            if let open = ns.first(where: { st.outcome($0) == nil }) { stack.append(open); continue }
            let o = evaluate(st.cells[top.cell]![Int(top.i)].c, ns.map { (st.cells[$0.cell]![Int($0.i)].c, st.outcome($0)!) })
            st.cells[top.cell]![Int(top.i)].outcome = o
            st.cells[top.cell]![Int(top.i)].decidedIn = st.epoch
            stack.removeLast()
        }
        return st.outcome(ref)!
    }

    /// The greedy rule for one candidate given its decided higher-priority neighbours.
    private func evaluate(_ c: LabelPlacer.Candidate, _ ns: [(c: LabelPlacer.Candidate, outcome: Outcome)]) -> Outcome {
        var boxes: [(Double, Double, Double, Double)] = []
        for n in ns {
            switch n.outcome {
            case .none: continue
            case .full(let k):
                if let t = c.dedupeText, n.c.dedupeText == t, hypot(n.c.label.x - c.label.x, n.c.label.y - c.label.y) < c.spacing { return .none }
                boxes += [n.c.iconBox, n.c.textBox(k)].compactMap { $0 }
            case .iconOnly:
                if let b = n.c.iconBox { boxes.append(b) }
            }
        }
        func free(_ b: (Double, Double, Double, Double)?, _ anyway: Bool) -> Bool { b.map { x in anyway || !boxes.contains { LabelPlacer.meets($0, x) } } ?? true }
        guard free(c.iconBox, c.iconAllowOverlap) else { return .none }
        for k in 0..<c.textOptionCount where free(c.textBox(k), c.textAllowOverlap) { return .full(k) }
        return c.textOptional && c.iconBox != nil ? .iconOnly : .none
    }
}

extension LabelIndex {
    /// A candidate's identity across two placements: its symbol layer and feature.
    struct Key: Hashable { var order: Int; var id: String }

    /// Every candidate whose bounds meet `box` (@1x global pixels), decided (`.none` included).
    func decided(meeting box: (Double, Double, Double, Double), text: TextEngine) throws -> [Key: (LabelPlacer.Candidate, Outcome)] {
        try prefetch(around: box, text: text)
        return try state.withLock { st in
            let r = LabelPlacer.reach
            let keys = LabelIndex.cells((box.0 - r, box.1 - r, box.2 + r, box.3 + r))
            try load(keys, &st, text)
            var out: [Key: (LabelPlacer.Candidate, Outcome)] = [:]
            for k in keys {
                for i in 0..<(st.cells[k]?.count ?? 0) where LabelPlacer.meets(st.cells[k]![i].bounds, box) {
                    let o = try decide(Ref(cell: k, i: Int32(i)), &st, text)
                    let c = st.cells[k]![i].c
                    out[Key(order: c.order, id: c.id)] = (c, o)
                }
            }
            return out
        }
    }

    /// Whether two decided candidates draw the same pixels (both absent or unplaced counts as same).
    static func sameDrawing(_ a: (LabelPlacer.Candidate, Outcome)?, _ b: (LabelPlacer.Candidate, Outcome)?) -> Bool {
        let pa = a.flatMap { $0.1 == .none ? nil : $0 }, pb = b.flatMap { $0.1 == .none ? nil : $0 }
        guard let pa, let pb else { return pa == nil && pb == nil }
        let x = placed(pa.0, pa.1), y = placed(pb.0, pb.1)
        func eq(_ u: (Double, Double, Double, Double)?, _ v: (Double, Double, Double, Double)?) -> Bool {
            switch (u, v) {
            case (nil, nil): true
            case let (u?, v?): u == v
            default: false
            }
        }
        return pa.1 == pb.1 && x.glyphs == y.glyphs && x.x == y.x && x.y == y.y && x.angle == y.angle && x.text == y.text && x.icon == y.icon && x.iconSize == y.iconSize
            && x.iconColor == y.iconColor && x.iconOpacity == y.iconOpacity && x.textSize == y.textSize && x.bold == y.bold
            && x.textDX == y.textDX && x.textDY == y.textDY && x.textW == y.textW && x.textH == y.textH && x.textColor == y.textColor
            && x.textOpacity == y.textOpacity && x.halo == y.halo && x.haloWidth == y.haloWidth && eq(x.iconBox, y.iconBox) && eq(x.textBox, y.textBox)
    }

    /// Where the labels drawn by `old` and `new` (the same style and zoom over two states of the
    /// data) differ: the boxes (@1x global pixels, drawn labels only) of every label that
    /// appeared, vanished, moved or changed. `seeds` must meet every edited
    /// feature's candidates in both states (their bounds do; so does the feature's box).
    ///
    /// Exact by the greedy rule's locality: a candidate's outcome depends only on its own data
    /// and the outcomes of higher-priority candidates whose boxes meet its own (or of the same
    /// text within its spacing). So from the edited candidates outward, every candidate meeting
    /// a changed one is compared, and the comparison spreads only through labels that changed —
    /// a chain of knock-ons is followed as far as it goes, and no further.
    /// Returns nil when `deadline` (uptime nanoseconds) passes first.
    static func changes(old: LabelIndex, new: LabelIndex, seeds: [(Double, Double, Double, Double)], text: TextEngine, deadline: UInt64 = .max) throws -> [(Double, Double, Double, Double)]? {
        // Both sides' candidates as found so far. The seeds are read first, all of them: an
        // edited candidate may sit elsewhere in each state, and only once both of its versions
        // are known may it be compared (an unedited one has the same bounds on both sides).
        var was: [Key: (LabelPlacer.Candidate, Outcome)] = [:], now = was
        var pending: [Key] = []
        var late = false
        func read(_ d: (Double, Double, Double, Double)) throws {
            guard !late else { return }
            if DispatchTime.now().uptimeNanoseconds > deadline { late = true; return }
            let a = try old.decided(meeting: d, text: text), b = try new.decided(meeting: d, text: text)
            for (k, v) in a where was[k] == nil { was[k] = v; pending.append(k) }
            for (k, v) in b where now[k] == nil { now[k] = v; pending.append(k) }
        }
        for d in seeds { try read(d) }
        if late { return nil }
        var checked = Set<Key>()
        var out: [(Double, Double, Double, Double)] = []
        while let k = pending.popLast() {
            guard checked.insert(k).inserted else { continue }
            let x = was[k], y = now[k]
            guard !sameDrawing(x, y) else { continue }
            for (c, o) in [x, y].compactMap({ $0 }) {
                // The knock-ons: lower-priority candidates meeting this one's boxes or, for a
                // line label, repeating its text within the spacing (capped at the reach).
                try read(LabelIndex.bounds(c))
                if c.dedupeText != nil {
                    let r = LabelPlacer.reach
                    try read((c.label.x - r, c.label.y - r, c.label.x + r, c.label.y + r))
                }
                if o != .none { out.append(placed(c, o).box) }
            }
            if late { return nil }
        }
        return late ? nil : out
    }

    static func bounds(_ c: LabelPlacer.Candidate) -> (Double, Double, Double, Double) {
        var b = (c.label.x, c.label.y, c.label.x, c.label.y)
        for x in [c.iconBox, c.textBox].compactMap({ $0 }) + c.textOptions.map(\.box) { b = (min(b.0, x.0), min(b.1, x.1), max(b.2, x.2), max(b.3, x.3)) }
        return b
    }
}
