import OneMapCore
import OneMapStyle

/// MapLibre `line`: stroked lines with width, dash, cap and join.
struct LineLayer: FeatureLayerType {
    let type = StyleLayerType.line
    let paintKeys: [String: ValueKind] = [
        "line-color": .color, "line-width": .number(0...200), "line-opacity": .opacity, "line-dasharray": .numbers(count: 1...16, each: 0...100),
    ]
    let layoutKeys: [String: ValueKind] = [
        "line-cap": .enumeration(["butt", "round", "square"]), "line-join": .enumeration(["bevel", "round", "miter"]), "line-sort-key": .anyNumber,
    ]

    struct Properties {
        var color: Color
        /// @1x pixels.
        var width: Double
        var opacity: Double
        /// In line widths, as MapLibre's `line-dasharray`.
        var dash: [Double]
        var cap: LineCap
        var join: LineJoin
    }

    func resolve(_ l: StyleLayer, _ c: EvaluationContext) -> Properties? {
        guard let color = l.color("line-color", c) else { return nil }
        let w = l.number("line-width", c) ?? 1
        guard w > 0 else { return nil }
        return Properties(color: color, width: w, opacity: l.number("line-opacity", c) ?? 1,
                          dash: l.numbers("line-dasharray", c).flatMap { d in d.contains { $0 > 0 } ? d : nil } ?? [],
                          cap: l.value("line-cap", c)?.stringValue.flatMap(LineCap.init) ?? .butt,
                          join: l.value("line-join", c)?.stringValue.flatMap(LineJoin.init) ?? .round)
    }

    func draw(_ f: Feature, _ p: Properties, on canvas: Canvas, _ vp: Viewport) -> (Double, Double, Double, Double)? {
        let w = p.width * vp.scale
        let tolerance = 0.35 * vp.scale
        var b = emptyBox
        let paths = f.geometry.paths.map { Geometry2D.simplify($0.map(vp.local), tolerance: tolerance) }
        for pts in paths { for q in pts { grow(&b, q) } }
        // Round joins with round or flat ends, dashed or not: straight into the pixels where
        // the canvas allows (`RoundStroke`). A closed ring shows no ends.
        if p.join == .round, p.cap != .square, !canvas.vector {
            let closed = p.dash.isEmpty && paths.allSatisfy { $0.count > 2 && $0.first! == $0.last! }
            let pieces = p.dash.isEmpty ? paths : paths.flatMap { RoundStroke.dashes($0, pattern: p.dash.map { max(0.01, $0 * w) }) }
            if canvas.strokeRound(pieces, lineWidth: w, butt: p.cap == .butt && !closed, color: p.color, opacity: p.opacity) {
                return (b.0 - w, b.1 - w, b.2 + w, b.3 + w)
            }
        }
        canvas.newPath()
        for pts in paths { canvas.path(pts, close: false) }
        canvas.setLineWidth(w)
        canvas.setLineCap(p.cap)
        canvas.setLineJoin(p.join)
        canvas.setDash(p.dash.map { max(0.01, $0 * w) })
        canvas.setColor(p.color, opacity: p.opacity)
        canvas.stroke()
        canvas.setDash([])
        return (b.0 - w, b.1 - w, b.2 + w, b.3 + w)
    }

    /// A horizontal stroke through the box's middle, width clamped to 1…6 (× k); a near-white
    /// line (a road's fill) gets a grey casing so it shows on paper.
    func drawSwatch(_ p: Properties, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double) {
        let lw = min(6, max(1, p.width)) * k
        let my = y + h / 2
        if p.color.r + p.color.g + p.color.b > 2.6 {
            canvas.moveTo(x, my); canvas.lineTo(x + w, my)
            canvas.setSourceRGB(0.55, 0.55, 0.55); canvas.setLineWidth(lw + 1.6 * k); canvas.stroke()
        }
        canvas.moveTo(x, my); canvas.lineTo(x + w, my)
        canvas.setColor(p.color)
        canvas.setLineWidth(lw)
        if !p.dash.isEmpty { canvas.setDash(p.dash.map { $0 * 2 * k }) }
        canvas.stroke()
    }
}
