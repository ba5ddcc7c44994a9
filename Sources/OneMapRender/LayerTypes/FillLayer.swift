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
        var b = emptyBox
        let polygons = f.geometry.polygons.map { poly in
            poly.map { ring in
                let pts = Geometry2D.simplify(ring.map(vp.local), tolerance: tolerance)
                for q in pts { grow(&b, q) }
                return Geometry2D.clipRing(pts, vp.width * vp.scale, vp.height * vp.scale, pad: 64 * vp.scale)
            }
        }
        // Antialiased and without an outline: straight into the pixels where the canvas
        // allows (`PolygonFill`; holes turned against their exterior for its nonzero rule).
        if p.antialias, p.outline == nil, !canvas.vector,
           canvas.fillDirect(polygons.flatMap(PolygonFill.oriented), color: p.color, opacity: p.opacity) {
            return b
        }
        canvas.newPath()
        for poly in polygons { for ring in poly { canvas.path(ring, close: true) } }
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
