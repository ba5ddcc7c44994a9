import Foundation
import OneMapCore
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

/// Places every label of a style at one zoom over the whole data extent, once. Tiles then draw
/// the labels that touch them, so a label crossing any tile or metatile edge is the same label
/// on both sides and can never be cut or doubled. (The county's few thousand labels make this
/// cheap; a province-size deployment would place per region instead.)
enum LabelPlacer {
    struct Candidate {
        var priority: Double
        var order: Int
        var id: String
        var label: PlacedLabel
        var iconBox: (Double, Double, Double, Double)?
        var textBox: (Double, Double, Double, Double)?
        var textOptional: Bool
        var allowOverlap: Bool
        var dedupeText: String?
        var spacing: Double
    }

    static func place(style: Style, zoom: Int, features: [String: [Feature]], text: TextEngine) -> [PlacedLabel] {
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
                    (tw, th) = text.layout(t, size: size, maxWidth: line ? nil : sym.textMaxWidth.map { $0 * size }).size
                }
                label.textW = tw; label.textH = th
                var cand = Candidate(priority: sym.sortKey ?? Double(li), order: li, id: f.id, label: label, iconBox: nil, textBox: nil,
                                     textOptional: sym.textOptional, allowOverlap: sym.allowOverlap, dedupeText: nil, spacing: sym.spacing)
                if line {
                    // Along the longest straight piece of the line, if the text fits on it.
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
                        let anchor = sym.textAnchor
                        let off = sym.textOffset
                        var dx = -tw / 2, dy = -th / 2
                        switch anchor {
                        case "top": dy = 0
                        case "bottom": dy = -th
                        case "left": dx = 0
                        case "right": dx = -tw
                        default: break
                        }
                        dx += (off.first ?? 0) * size
                        dy += (off.count > 1 ? off[1] : 0) * size
                        cand.label.textDX = dx
                        cand.label.textDY = dy
                        cand.textBox = (g.0 + dx - pad, g.1 + dy - pad, g.0 + dx + tw + pad, g.1 + dy + th + pad)
                    }
                }
                candidates.append(cand)
            }
        }
        candidates.sort { ($0.priority, $0.order, $0.id) < ($1.priority, $1.order, $1.id) }
        var grid = CollisionGrid()
        var placedText: [String: [(Double, Double)]] = [:]
        var out: [PlacedLabel] = []
        for var c in candidates {
            if let t = c.dedupeText, let others = placedText[t], others.contains(where: { hypot($0.0 - c.label.x, $0.1 - c.label.y) < c.spacing }) { continue }
            let iconOK = c.iconBox.map { c.allowOverlap || !grid.collides($0) } ?? true
            var textOK = c.textBox.map { c.allowOverlap || !grid.collides($0) } ?? true
            if !iconOK { continue }
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
            if let t = c.dedupeText { placedText[t, default: []].append((c.label.x, c.label.y)) }
            out.append(c.label)
        }
        return out
    }
}
