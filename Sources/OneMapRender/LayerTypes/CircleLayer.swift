import OneMapCore
import OneMapStyle

/// MapLibre `circle`: a disc at each point (at the representative point of other geometries).
struct CircleLayer: FeatureLayerType {
    let type = StyleLayerType.circle
    let paintKeys: [String: ValueKind] = [
        "circle-color": .color, "circle-radius": .number(0...200), "circle-opacity": .opacity, "circle-stroke-color": .color,
        "circle-stroke-width": .number(0...50),
    ]
    let layoutKeys: [String: ValueKind] = ["circle-sort-key": .anyNumber]

    struct Properties {
        var color: Color
        /// @1x pixels.
        var radius: Double
        var opacity: Double
        var strokeColor: Color?
        var strokeWidth: Double
    }

    func resolve(_ l: StyleLayer, _ c: EvaluationContext) -> Properties? {
        Properties(color: l.color("circle-color", c) ?? Color(0, 0, 0), radius: l.number("circle-radius", c) ?? 5, opacity: l.number("circle-opacity", c) ?? 1,
                   strokeColor: l.color("circle-stroke-color", c), strokeWidth: l.number("circle-stroke-width", c) ?? 0)
    }

    func draw(_ f: Feature, _ p: Properties, on canvas: Canvas, _ vp: Viewport) -> (Double, Double, Double, Double)? {
        let r = p.radius * vp.scale, sw = p.strokeWidth * vp.scale
        let pts: [Coord]
        switch f.geometry {
        case .point(let c): pts = [c]
        case .multiPoint(let cs): pts = cs
        default: pts = [f.geometry.representativePoint]
        }
        var b = emptyBox
        for c in pts {
            let (x, y) = vp.local(c)
            disc(canvas, x, y, r, sw, p)
            grow(&b, (x - r - sw, y - r - sw)); grow(&b, (x + r + sw, y + r + sw))
        }
        return pts.isEmpty ? nil : b
    }

    func drawSwatch(_ p: Properties, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double) {
        disc(canvas, x + w / 2, y + h / 2, min(h / 2, p.radius * k), p.strokeWidth * k, p)
    }

    private func disc(_ canvas: Canvas, _ x: Double, _ y: Double, _ r: Double, _ sw: Double, _ p: Properties) {
        canvas.newPath()
        canvas.arc(x, y, r, 0, 2 * .pi)
        canvas.setColor(p.color, opacity: p.opacity)
        if sw > 0, let sc = p.strokeColor {
            canvas.fillPreserve()
            canvas.setLineWidth(sw)
            canvas.setColor(sc, opacity: p.opacity)
            canvas.stroke()
        } else {
            canvas.fill()
        }
    }
}
