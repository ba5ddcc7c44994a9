import OneMapStyle

/// MapLibre `background`: paints the whole canvas.
struct BackgroundLayer: StyleLayerSpec {
    let type = StyleLayerType.background
    let paintKeys: [String: ValueKind] = ["background-color": .color, "background-opacity": .opacity]
    let layoutKeys: [String: ValueKind] = [:]

    /// The colour the canvas is painted with at `zoom` (white when unset), opacity applied.
    func color(_ layer: StyleLayer, zoom: Double) -> Color {
        let c = EvaluationContext(zoom: zoom)
        return (layer.color("background-color", c) ?? Color(1, 1, 1)).withAlpha(layer.number("background-opacity", c) ?? 1)
    }

    func draw(_ layer: StyleLayer, on canvas: Canvas, zoom: Double) { canvas.fillAll(color(layer, zoom: zoom)) }
}
