import CCairo
import Foundation

/// Pango text for one thread: a context from the thread's own font map, metrics unhinted so
/// sizes are the same at every scale and on every tile.
///
/// Not Sendable: one engine per thread (Pango contexts are not thread-safe).
package final class TextEngine {
    static let family = "Noto Sans CJK SC"
    let context: OpaquePointer
    private var fonts: [Int: OpaquePointer] = [:]

    package init() {
        let map = pango_cairo_font_map_get_default()  // per-thread since Pango 1.32
        context = pango_font_map_create_context(map)
        let opts = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(opts, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(opts, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_antialias(opts, CAIRO_ANTIALIAS_GRAY)
        pango_cairo_context_set_font_options(context, opts)
        pango_context_set_base_dir(context, PANGO_DIRECTION_LTR)
        cairo_font_options_destroy(opts)
    }

    deinit {
        for (_, f) in fonts { pango_font_description_free(f) }
        g_object_unref(UnsafeMutableRawPointer(context))
    }

    func font(size: Double, bold: Bool) -> OpaquePointer {
        let key = Int(size * 64) * 2 + (bold ? 1 : 0)
        if let f = fonts[key] { return f }
        let f = pango_font_description_new()!
        pango_font_description_set_family(f, TextEngine.family)
        pango_font_description_set_absolute_size(f, size * Double(PANGO_SCALE))
        if bold { pango_font_description_set_weight(f, PANGO_WEIGHT_BOLD) }
        fonts[key] = f
        return f
    }

    private var glyphLayouts: [String: TextLayout] = [:]
    private var sizes: [String: (w: Double, h: Double)] = [:]

    /// The size `layout` would give, remembered per text, size and width (label candidates ask
    /// for the same road refs and names over and over). Bounded (cleared past 16,384 entries).
    package func measure(_ text: String, size: Double, maxWidth: Double? = nil) -> (w: Double, h: Double) {
        let key = "\(size)|\(maxWidth ?? -1)|\(text)"
        if let s = sizes[key] { return s }
        if sizes.count > 16_384 { sizes.removeAll() }
        let s = layout(text, size: size, maxWidth: maxWidth).size
        sizes[key] = s
        return s
    }

    /// One grapheme laid out at `size` (a glyph of a label along a line), kept for reuse: line
    /// labels measure and draw their glyphs one by one, and a Pango layout per glyph per label
    /// was most of their cost. Bounded (cleared past 4,096 entries).
    package func glyph(_ g: String, size: Double) -> TextLayout {
        let key = "\(size)|\(g)"
        if let l = glyphLayouts[key] { return l }
        if glyphLayouts.count > 4096 { glyphLayouts.removeAll() }
        let l = layout(g, size: size)
        glyphLayouts[key] = l
        return l
    }

    /// Lays out `text` at `size` device units. With `maxWidth` it wraps at word or character
    /// boundaries and centres the lines (map labels).
    package func layout(_ text: String, size: Double, bold: Bool = false, maxWidth: Double? = nil) -> TextLayout {
        let l = TextLayout(engine: self, text: text, size: size, bold: bold)
        if let maxWidth { l.wrap(width: maxWidth, align: .center) }
        return l
    }
}

/// Laid-out text, freed when the last reference goes. Sizes are in device units.
package final class TextLayout {
    package enum Alignment { case left, center, right }
    let raw: OpaquePointer
    let engine: TextEngine

    init(engine: TextEngine, text: String, size: Double, bold: Bool) {
        self.engine = engine
        raw = pango_layout_new(engine.context)!
        pango_layout_set_font_description(raw, engine.font(size: size, bold: bold))
        // Left-to-right paragraphs (the page and map languages are Chinese and English); a
        // right-to-left name inside is its own run, isolated by the caller (`Bidi`). Pango's
        // default guesses the direction from the first letter, which would right-align and
        // reorder a whole label that merely starts with a Uyghur name.
        pango_layout_set_auto_dir(raw, 0)
        pango_layout_set_text(raw, text, -1)
    }

    deinit { g_object_unref(UnsafeMutableRawPointer(raw)) }

    /// Wraps lines to `width` at word (else character) boundaries, aligned as given.
    package func wrap(width: Double, align: Alignment) {
        pango_layout_set_width(raw, Int32(width * Double(PANGO_SCALE)))
        pango_layout_set_wrap(raw, PANGO_WRAP_WORD_CHAR)
        setAlignment(align)
    }

    private func setAlignment(_ a: Alignment) {
        pango_layout_set_alignment(raw, a == .center ? PANGO_ALIGN_CENTER : (a == .right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT))
    }

    /// The logical size (advance width, line height × lines).
    package var size: (w: Double, h: Double) {
        var ink = PangoRectangle(), logical = PangoRectangle()
        pango_layout_get_extents(raw, &ink, &logical)
        return (Double(logical.width) / Double(PANGO_SCALE), Double(logical.height) / Double(PANGO_SCALE))
    }

    /// Glyphs the font could not draw (they would show as boxes); 0 when every glyph exists.
    package var unknownGlyphs: Int { Int(pango_layout_get_unknown_glyphs_count(raw)) }
}
