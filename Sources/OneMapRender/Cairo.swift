import CCairo
import Foundation
import OneMapStyle

/// A Cairo image surface and its drawing context, owned by one thread at a time.
///
/// Not Sendable: a canvas is created, drawn and encoded inside one render call.
final class Canvas {
    let surface: OpaquePointer
    let cr: OpaquePointer
    let width: Int
    let height: Int

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
        cr = cairo_create(surface)
    }

    /// A canvas drawing into a PDF page (for print).
    init(pdfSurface: OpaquePointer, width: Int, height: Int) {
        self.width = width
        self.height = height
        surface = pdfSurface
        cr = cairo_create(surface)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    func setColor(_ c: Color, opacity: Double = 1) {
        cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a * opacity)
    }

    func fillAll(_ c: Color) {
        cairo_save(cr)
        cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE)
        setColor(c)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    func path(_ pts: [(Double, Double)], close: Bool) {
        guard let f = pts.first else { return }
        cairo_move_to(cr, f.0, f.1)
        for p in pts.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        if close { cairo_close_path(cr) }
    }

    /// Encodes a region of the surface as PNG.
    func png(x: Int, y: Int, w: Int, h: Int) -> [UInt8] {
        cairo_surface_flush(surface)
        let sub = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(w), Int32(h))!
        defer { cairo_surface_destroy(sub) }
        let c = cairo_create(sub)!
        cairo_set_source_surface(c, surface, Double(-x), Double(-y))
        cairo_set_operator(c, CAIRO_OPERATOR_SOURCE)
        cairo_paint(c)
        cairo_destroy(c)
        return PNGEncoder.encode(surface: sub)
    }
}

/// PNG encoding of ARGB32 Cairo surfaces: paletted (8-bit) when the image has at most 256
/// distinct colours — most map tiles once antialiasing is limited to flat areas — else RGBA.
enum PNGEncoder {
    final class Sink {
        var bytes: [UInt8] = []
    }

    static func encode(surface: OpaquePointer) -> [UInt8] {
        let sink = Sink()
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        cairo_surface_write_to_png_stream(surface, { closure, data, length in
            let s = Unmanaged<Sink>.fromOpaque(closure!).takeUnretainedValue()
            s.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }, box.toOpaque())
        return sink.bytes
    }
}
