import Foundation
import OneMapCore
import OneMapStyle

/// MapLibre `symbol`: an icon and/or text per feature, at a point or along a line. Placement
/// (collisions, deduplication along lines) is `LabelPlacer`'s, across all symbol layers; this
/// type owns the keys, resolves them per feature, draws a placed label and the legend swatch.
struct SymbolLayer: StyleLayerSpec {
    let type = StyleLayerType.symbol
    let paintKeys: [String: ValueKind] = [
        "text-color": .color, "text-halo-color": .color, "text-halo-width": .number(0...20), "text-opacity": .opacity, "icon-color": .color,
        "icon-opacity": .opacity,
    ]
    let layoutKeys: [String: ValueKind] = [
        "text-field": .text, "text-size": .number(0...100), "text-offset": .numbers(count: 2...2, each: -20...20),
        "text-anchor": .enumeration(["center", "left", "right", "top", "bottom"]),
        "text-variable-anchor": .enumerations(["center", "left", "right", "top", "bottom"]), "text-max-width": .number(1...100), "text-allow-overlap": .boolean,
        "text-padding": .number(0...100), "text-optional": .boolean, "icon-image": .enumeration([""] + Icons.names), "icon-size": .number(0...8),
        "icon-allow-overlap": .boolean, "symbol-placement": .enumeration(["point", "line"]), "symbol-sort-key": .anyNumber,
        "symbol-spacing": .number(1...10_000),
    ]

    /// A feature's symbol properties, sizes in @1x pixels.
    struct Properties {
        var text: String?
        var icon: String?
        var textSize: Double
        /// The icon's box: 16 px × `icon-size`.
        var iconSize: Double
        var iconColor: Color?
        var iconOpacity: Double
        var textColor: Color
        var textOpacity: Double
        var halo: Color?
        var haloWidth: Double
        /// In ems (× text size), MapLibre's unit.
        var textMaxWidth: Double?
        var textOffset: [Double]
        var textAnchor: String
        /// MapLibre `text-variable-anchor`: the anchors to try in order (the first whose text
        /// fits is used); nil: `textAnchor` only.
        var textVariableAnchor: [String]?
        var textPadding: Double
        var textOptional: Bool
        var iconAllowOverlap: Bool
        var textAllowOverlap: Bool
        var alongLine: Bool
        var sortKey: Double?
        var spacing: Double
    }

    func resolve(_ l: StyleLayer, _ c: EvaluationContext) -> Properties? {
        let text = l.value("text-field", c).map { v -> String in
            if case .string(let s) = v { return s }
            return v.isNull ? "" : JSONWriter.string(v)
        } ?? ""
        let icon = l.value("icon-image", c)?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if text.isEmpty && icon == nil { return nil }
        return Properties(
            text: text.isEmpty ? nil : text, icon: icon, textSize: l.number("text-size", c) ?? 12, iconSize: 16 * (l.number("icon-size", c) ?? 1),
            iconColor: l.color("icon-color", c), iconOpacity: l.number("icon-opacity", c) ?? 1,
            textColor: l.color("text-color", c) ?? Color(0.1, 0.1, 0.1), textOpacity: l.number("text-opacity", c) ?? 1,
            halo: l.color("text-halo-color", c), haloWidth: l.number("text-halo-width", c) ?? 0,
            textMaxWidth: l.number("text-max-width", c), textOffset: l.numbers("text-offset", c).flatMap { $0.count == 2 ? $0 : nil } ?? [0, 0],
            textAnchor: l.value("text-anchor", c)?.stringValue ?? "center",
            textVariableAnchor: l.value("text-variable-anchor", c)?.arrayValue.map { $0.compactMap(\.stringValue) }.flatMap { $0.isEmpty ? nil : $0 },
            textPadding: l.number("text-padding", c) ?? 2,
            textOptional: l.value("text-optional", c) == .bool(true),
            iconAllowOverlap: l.value("icon-allow-overlap", c) == .bool(true), textAllowOverlap: l.value("text-allow-overlap", c) == .bool(true),
            alongLine: l.value("symbol-placement", c)?.stringValue == "line", sortKey: l.number("symbol-sort-key", c),
            spacing: l.number("symbol-spacing", c) ?? 250)
    }

    /// Draws a placed label into the viewport: icon, then text with its halo.
    func draw(_ l: PlacedLabel, on canvas: Canvas, _ vp: Viewport, text: TextEngine) {
        let x = (l.x - vp.originX) * vp.scale, y = (l.y - vp.originY) * vp.scale
        if let icon = l.icon {
            canvas.withOpacity(l.iconOpacity) { Icons.draw(icon, canvas, x: x, y: y, size: l.iconSize * vp.scale, tint: l.iconColor) }
        }
        if l.text != nil, !l.glyphs.isEmpty {
            // Along its line, glyph by glyph: every halo, then every glyph.
            let layouts = l.glyphs.map { text.glyph($0.text, size: l.textSize * vp.scale) }
            canvas.withOpacity(l.textOpacity) {
                for parts in [Canvas.TextParts.halo, .fill] {
                    for (g, layout) in zip(l.glyphs, layouts) where !g.text.allSatisfy(\.isWhitespace) {
                        let (w, h) = layout.size
                        canvas.draw(layout, x: x + g.dx * vp.scale - w / 2, y: y + g.dy * vp.scale - h / 2, angle: g.angle, color: l.textColor,
                                    halo: l.halo, haloWidth: l.haloWidth * vp.scale, parts: parts)
                    }
                }
            }
        } else if let t = l.text {
            let layout = text.layout(t, size: l.textSize * vp.scale)
            canvas.withOpacity(l.textOpacity) {
                canvas.draw(layout, x: x + l.textDX * vp.scale, y: y + l.textDY * vp.scale, angle: l.angle, color: l.textColor,
                            halo: l.halo, haloWidth: l.haloWidth * vp.scale)
            }
        }
    }

    /// The layer's icon at print zoom, centred in the box (nothing for text-only layers).
    func drawSwatch(_ layer: StyleLayer, zoom: Double, on canvas: Canvas, x: Double, y: Double, w: Double, h: Double, k: Double) {
        guard let icon = layer.value("icon-image", EvaluationContext(zoom: zoom))?.stringValue, !icon.isEmpty else { return }
        Icons.draw(icon, canvas, x: x + w / 2, y: y + h / 2, size: 13 * k)
    }
}
