import CCairo
import Foundation
import OneMapStyle

/// A Cairo image surface and its drawing context, owned by one thread at a time.
///
/// Not Sendable: a canvas is created, drawn and encoded inside one render call.
package final class Canvas {
    package let surface: OpaquePointer
    package let cr: OpaquePointer
    package let width: Int
    package let height: Int

    package init(width: Int, height: Int) {
        self.width = width
        self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
        cr = cairo_create(surface)
    }

    /// A canvas drawing into a PDF page (for print).
    package init(pdfSurface: OpaquePointer, width: Int, height: Int) {
        self.width = width
        self.height = height
        surface = pdfSurface
        cr = cairo_create(surface)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    package func setColor(_ c: Color, opacity: Double = 1) {
        cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a * opacity)
    }

    package func fillAll(_ c: Color) {
        cairo_save(cr)
        cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE)
        setColor(c)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    package func path(_ pts: [(Double, Double)], close: Bool) {
        guard let f = pts.first else { return }
        cairo_move_to(cr, f.0, f.1)
        for p in pts.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        if close { cairo_close_path(cr) }
    }

    /// Encodes a region of the surface as PNG.
    package func png(x: Int, y: Int, w: Int, h: Int) -> [UInt8] {
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = UnsafeRawPointer(cairo_image_surface_get_data(surface)!)
        return PNGEncoder.encode(base: data + y * stride + x * 4, stride: stride, w: w, h: h)
    }
}
