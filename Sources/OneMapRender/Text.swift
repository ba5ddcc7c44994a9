import CCairo
import Foundation

/// Pango text for one thread: a context from the thread's own font map, metrics unhinted so
/// sizes are the same at every scale and on every tile.
package final class TextEngine {
    static let family = "Noto Sans CJK SC"
    package let context: OpaquePointer
    private var fonts: [Int: OpaquePointer] = [:]

    package init() {
        let map = pango_cairo_font_map_get_default()  // per-thread since Pango 1.32
        context = pango_font_map_create_context(map)
        let opts = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(opts, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(opts, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_antialias(opts, CAIRO_ANTIALIAS_GRAY)
        pango_cairo_context_set_font_options(context, opts)
        cairo_font_options_destroy(opts)
    }

    deinit {
        for (_, f) in fonts { pango_font_description_free(f) }
        g_object_unref(UnsafeMutableRawPointer(context))
    }

    package func font(size: Double, bold: Bool = false) -> OpaquePointer {
        let key = Int(size * 64) * 2 + (bold ? 1 : 0)
        if let f = fonts[key] { return f }
        let f = pango_font_description_new()!
        pango_font_description_set_family(f, TextEngine.family)
        pango_font_description_set_absolute_size(f, size * Double(PANGO_SCALE))
        if bold { pango_font_description_set_weight(f, PANGO_WEIGHT_BOLD) }
        fonts[key] = f
        return f
    }

    /// A laid-out text. The caller owns the layout (release with `free`).
    package func layout(_ text: String, size: Double, bold: Bool = false, maxWidth: Double? = nil) -> OpaquePointer {
        let l = pango_layout_new(context)!
        pango_layout_set_font_description(l, font(size: size, bold: bold))
        pango_layout_set_text(l, text, -1)
        if let maxWidth {
            pango_layout_set_width(l, Int32(maxWidth * Double(PANGO_SCALE)))
            pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR)
            pango_layout_set_alignment(l, PANGO_ALIGN_CENTER)
        }
        return l
    }

    package static func free(_ l: OpaquePointer) { g_object_unref(UnsafeMutableRawPointer(l)) }

    /// Logical size of a layout in pixels.
    package static func size(_ l: OpaquePointer) -> (w: Double, h: Double) {
        var ink = PangoRectangle(), logical = PangoRectangle()
        pango_layout_get_extents(l, &ink, &logical)
        return (Double(logical.width) / Double(PANGO_SCALE), Double(logical.height) / Double(PANGO_SCALE))
    }

    /// Glyphs the font could not draw (shown as boxes).
    package static func unknownGlyphs(_ l: OpaquePointer) -> Int { Int(pango_layout_get_unknown_glyphs_count(l)) }

    /// Draws a layout with its top-left at (x, y), rotated by `angle` about its centre, with a halo.
    package func draw(_ l: OpaquePointer, on cr: OpaquePointer, x: Double, y: Double, angle: Double = 0, color: (Double, Double, Double, Double),
              halo: (Double, Double, Double, Double)?, haloWidth: Double)
    {
        pango_cairo_update_context(cr, context)
        pango_layout_context_changed(l)
        let (w, h) = TextEngine.size(l)
        cairo_save(cr)
        cairo_translate(cr, x + w / 2, y + h / 2)
        if angle != 0 { cairo_rotate(cr, angle) }
        cairo_translate(cr, -w / 2, -h / 2)
        if let halo, haloWidth > 0, halo.3 > 0 {
            cairo_new_path(cr)
            pango_cairo_layout_path(cr, l)
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
            cairo_set_line_width(cr, haloWidth * 2)
            cairo_set_source_rgba(cr, halo.0, halo.1, halo.2, halo.3)
            cairo_stroke(cr)
        }
        cairo_move_to(cr, 0, 0)
        cairo_set_source_rgba(cr, color.0, color.1, color.2, color.3)
        pango_cairo_show_layout(cr, l)
        cairo_new_path(cr)
        cairo_restore(cr)
    }
}
