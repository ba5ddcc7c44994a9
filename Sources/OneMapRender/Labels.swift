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
    var halo: Color?
    var haloWidth: Double
    var box: (Double, Double, Double, Double)
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
                let str = layer.value("text-field", ctx).map { v -> String in
                    if case .string(let s) = v { return s }
                    return v.isNull ? "" : JSONWriter.string(v)
                } ?? ""
                let icon = layer.value("icon-image", ctx)?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                if str.isEmpty && icon == nil { continue }
                let size = layer.value("text-size", ctx)?.doubleValue ?? 12
                let iconSize = 16 * (layer.value("icon-size", ctx)?.doubleValue ?? 1)
                let sortKey = layer.value("symbol-sort-key", ctx)?.doubleValue ?? Double(li)
                let line = layer.value("symbol-placement", ctx)?.stringValue == "line"
                var label = PlacedLabel(x: 0, y: 0, icon: icon, iconSize: iconSize, iconColor: layer.value("icon-color", ctx)?.stringValue.flatMap(Color.parse),
                                        text: str.isEmpty ? nil : str, textSize: size, bold: false, textDX: 0, textDY: 0, textW: 0, textH: 0, angle: 0,
                                        textColor: layer.value("text-color", ctx)?.stringValue.flatMap(Color.parse) ?? Color(0.1, 0.1, 0.1),
                                        halo: layer.value("text-halo-color", ctx)?.stringValue.flatMap(Color.parse),
                                        haloWidth: layer.value("text-halo-width", ctx)?.doubleValue ?? 0, box: (0, 0, 0, 0))
                var tw = 0.0, th = 0.0
                if let t = label.text {
                    let maxW = layer.value("text-max-width", ctx)?.doubleValue.map { $0 * size }
                    let l = text.layout(t, size: size, maxWidth: line ? nil : maxW)
                    (tw, th) = TextEngine.size(l)
                    TextEngine.free(l)
                }
                label.textW = tw; label.textH = th
                let pad = layer.value("text-padding", ctx)?.doubleValue ?? 2
                var cand = Candidate(priority: sortKey, order: li, id: f.id, label: label, iconBox: nil, textBox: nil,
                                     textOptional: layer.value("text-optional", ctx) == .bool(true),
                                     allowOverlap: layer.value("text-allow-overlap", ctx) == .bool(true) || layer.value("icon-allow-overlap", ctx) == .bool(true),
                                     dedupeText: nil, spacing: layer.value("symbol-spacing", ctx)?.doubleValue ?? 250)
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
                        let anchor = layer.value("text-anchor", ctx)?.stringValue ?? "center"
                        let off = layer.value("text-offset", ctx)?.arrayValue?.compactMap(\.doubleValue) ?? [0, 0]
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
            if let t = c.dedupeText { placedText[t, default: []].append((c.label.x, c.label.y)) }
            out.append(c.label)
        }
        return out
    }
}
