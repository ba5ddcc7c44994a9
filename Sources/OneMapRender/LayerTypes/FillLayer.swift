import OneMapCore
import OneMapStyle

/// MapLibre `fill`: polygons filled, optionally outlined.
struct FillLayer: FeatureLayerType {
    let type = StyleLayerType.fill
    let paintKeys: [String: ValueKind] = ["fill-color": .color, "fill-opacity": .opacity, "fill-outline-color": .color, "fill-antialias": .boolean]
    let layoutKeys: [String: ValueKind] = ["fill-sort-key": .anyNumber]

    struct Properties {
        var color: Color
        var opacity: Double
        var outline: Color?
        var antialias: Bool
    }

    func resolve(_ l: StyleLayer, _ c: EvaluationContext) -> Properties? {
        guard let color = l.color("fill-color", c) else { return nil }
        return Properties(color: color, opacity: l.number("fill-opacity", c) ?? 1, outline: l.color("fill-outline-color", c),
                          antialias: l.value("fill-antialias", c)?.boolValue ?? true)
    }

    func draw(_ f: Feature, _ p: Properties, on canvas: Canvas, _ vp: Viewport) -> (Double, Double, Double, Double)? {
        guard !f.geometry.polygons.isEmpty else { return nil }
        let tolerance = 0.35 * vp.scale
        canvas.newPath()
        var b = emptyBox
        for poly in f.geometry.polygons {
            for ring in poly {
                let pts = Geometry2D.simplify(ring.map(vp.local), tolerance: tolerance)
                canvas.path(Geometry2D.clipRing(pts, vp.width * vp.scale, vp.height * vp.scale, pad: 64 * vp.scale), close: true)
                for q in pts { grow(&b, q) }
            }
        }
        canvas.setFillRule(.evenOdd)
        if !p.antialias { canvas.setAntialias(false) }
        canvas.setColor(p.color, opacity: p.opacity)
        if let o = p.outline {
            canvas.fillPreserve()
            canvas.setLineWidth(1 * vp.scale)
            canvas.setColor(o, opacity: p.opacity)
            canvas.stroke()
        } else {
            canvas.fill()
        }
        if !p.antialias { canvas.setAntialias(true) }
        return b
    }

    func drawSwatch(_ p: Properties, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double) {
        canvas.rectangle(x, y, w, h)
        canvas.setColor(p.color)
        if let o = p.outline {
            canvas.fillPreserve()
            canvas.setLineWidth(1 * k)
            canvas.setColor(o)
            canvas.stroke()
        } else {
            canvas.fill()
        }
    }
}
