import OneMapCore
import OneMapStore
import OneMapStyle

/// A style layer type that draws features of one store layer: it owns its keys (the
/// `StyleLayerSpec` part that style loading reads), resolves them into typed properties, draws
/// a feature on a `Canvas` and draws its legend swatch for print.
///
/// Adding a layer type: one file conforming to this protocol (or `SymbolLayerType`'s shape for
/// labels), listed in `LayerTypes.all`.
protocol FeatureLayerType: StyleLayerSpec {
    /// Properties resolved for one feature (or once per zoom when none is data-driven).
    associatedtype Properties
    /// Typed properties of `layer` in `ctx`; nil when the layer draws nothing for it.
    func resolve(_ layer: StyleLayer, _ ctx: EvaluationContext) -> Properties?
    /// Draws one feature; returns its device-space bounding box (minX, minY, maxX, maxY) or nil
    /// when nothing was drawn.
    func draw(_ f: Feature, _ p: Properties, on canvas: Canvas, _ vp: Viewport) -> (Double, Double, Double, Double)?
    /// A legend swatch in the box at (x, y) of `w`×`h` device units; `k` scales line widths.
    func drawSwatch(_ p: Properties, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double)
}

extension FeatureLayerType {
    /// Draws `features` of `layer` in order of its sort key (MapLibre `*-sort-key`: higher
    /// keys above), resolving the properties once when none depends on feature properties.
    /// `drawn` receives each device box that received ink.
    func draw(_ layer: StyleLayer, _ features: [Feature], on canvas: Canvas, _ vp: Viewport, drawn: (_ box: (Double, Double, Double, Double)) -> Void) {
        let z = Double(vp.zoom)
        let sortKey = layer.layout["\(type.rawValue)-sort-key"]
        var ordered = features
        if let sortKey {
            let keyed = features.map { f in (f, sortKey.evaluate(EvaluationContext(zoom: z, properties: f.properties, geometryType: f.geometry.kind.rawValue)).doubleValue ?? 0) }
            ordered = keyed.enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.map(\.element.0)
        }
        let constant: Properties? = layer.isDataDriven ? nil : resolve(layer, EvaluationContext(zoom: z))
        if !layer.isDataDriven && constant == nil { return }
        for f in ordered {
            let ctx = EvaluationContext(zoom: z, properties: f.properties, geometryType: f.geometry.kind.rawValue)
            if let filter = layer.filter, filter.evaluate(ctx) != .bool(true) { continue }
            guard let p = constant ?? resolve(layer, ctx) else { continue }
            if let box = draw(f, p, on: canvas, vp) { drawn(box) }
        }
    }

    /// The legend swatch of `layer` at a print zoom, when it has one.
    func drawSwatch(_ layer: StyleLayer, zoom: Double, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double) {
        guard let p = resolve(layer, EvaluationContext(zoom: zoom)) else { return }
        canvas.withSavedState { drawSwatch(p, on: canvas, x: x, y: y, w: w, h: h, k: k) }
    }
}

/// The layer types onemap draws, in one list: style loading takes their keys from here and the
/// renderer and print legend dispatch on it.
package enum LayerTypes {
    static let background = BackgroundLayer()
    static let fill = FillLayer()
    static let line = LineLayer()
    static let circle = CircleLayer()
    static let symbol = SymbolLayer()

    /// Every style layer type (the specs style loading checks keys against).
    package static let all: [any StyleLayerSpec] = [background, fill, line, circle, symbol]

    /// Reads a style file, accepting exactly the keys these layer types draw and source layers
    /// the store has.
    package static func loadStyle(path: String) throws(StyleError) -> Style { try checkSources(try Style.load(path: path, types: all)) }
    /// Checks a style document, accepting exactly the keys these layer types draw and source
    /// layers the store has.
    package static func parseStyle(_ v: JSONValue, name: String) throws(StyleError) -> Style { try checkSources(try Style.parse(v, name: name, types: all)) }

    /// Every `source-layer` must be a store layer: a typo is the style's error at load, not a
    /// 404 on every tile.
    static func checkSources(_ s: Style) throws(StyleError) -> Style {
        for l in s.layers { if let src = l.sourceLayer, Layers.byName[src] == nil {
            throw StyleError(style: s.name, layer: l.id, key: "source-layer", reason: "\"\(src)\" is not a store layer; the layers are: \(Layers.names.joined(separator: ", "))")
        } }
        return s
    }

    /// Draws the legend swatch of any style layer.
    package static func drawSwatch(_ layer: StyleLayer, zoom: Double, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double) {
        switch layer.type {
        case .background: return
        case .fill: fill.drawSwatch(layer, zoom: zoom, on: canvas, x: x, y: y, w: w, h: h, k: k)
        case .line: line.drawSwatch(layer, zoom: zoom, on: canvas, x: x, y: y, w: w, h: h, k: k)
        case .circle: circle.drawSwatch(layer, zoom: zoom, on: canvas, x: x, y: y, w: w, h: h, k: k)
        case .symbol: symbol.drawSwatch(layer, zoom: zoom, on: canvas, x: x, y: y, w: w, h: h, k: k)
        }
    }
}

extension StyleLayer {
    /// The colour a property resolves to, if it is one.
    func color(_ key: String, _ c: EvaluationContext) -> Color? { value(key, c)?.stringValue.flatMap(Color.parse) }

    /// The number a property resolves to, held to the range its layer type declares: literals
    /// were checked at load, but a value read from a feature (`["get", …]`) may be anything.
    func number(_ key: String, _ c: EvaluationContext) -> Double? {
        guard let d = value(key, c)?.doubleValue, d.isFinite else { return nil }
        if case .number(let r)? = kinds[key] { return min(max(d, r.lowerBound), r.upperBound) }
        return d
    }

    /// The numbers an array property resolves to, each held to its declared range.
    func numbers(_ key: String, _ c: EvaluationContext) -> [Double]? {
        guard let a = value(key, c)?.arrayValue else { return nil }
        let d = a.compactMap(\.doubleValue).filter(\.isFinite)
        guard case .numbers(let count, let each)? = kinds[key] else { return d }
        guard count.contains(d.count) else { return nil }
        return d.map { min(max($0, each.lowerBound), each.upperBound) }
    }
}

/// Grows a device box to include a point.
@inline(__always)
func grow(_ b: inout (Double, Double, Double, Double), _ p: (Double, Double)) {
    b = (min(b.0, p.0), min(b.1, p.1), max(b.2, p.0), max(b.3, p.1))
}
let emptyBox = (Double.infinity, Double.infinity, -Double.infinity, -Double.infinity)
