import CCairo
import Foundation
import OneMapCore
import OneMapStyle

/// A Cairo call that left its context or surface in an error state.
///
/// Cairo records the first failure in the context and ignores later drawing; `Canvas.check`
/// turns that status into this error, naming the operation that was being finished (the model
/// is swift-nio's `syscall` funnel: one place turns a C status into a typed error).
public struct CanvasError: OneMapError {
    /// What onemap was doing ("encode tile", "write PDF").
    public var operation: String
    /// Cairo's status code (`cairo_status_t`).
    public var status: UInt32
    /// Cairo's own sentence for the status.
    public var message: String
    public var category: ErrorCategory { status == CAIRO_STATUS_NO_MEMORY.rawValue ? .unavailable : .internal }
    public var description: String { "\(operation): Cairo failed (\(status)): \(message)" }

    init(_ operation: String, _ s: cairo_status_t) {
        self.operation = operation
        status = s.rawValue
        message = String(cString: cairo_status_to_string(s))
    }
}

/// The one funnel from a Cairo status to a Swift error.
@inline(__always)
func cairoCheck(_ s: cairo_status_t, _ operation: @autoclosure () -> String) throws(CanvasError) {
    guard s == CAIRO_STATUS_SUCCESS else { throw CanvasError(operation(), s) }
}

/// How stroked line ends look (Cairo `cairo_line_cap_t`, MapLibre `line-cap`).
package enum LineCap: String, Sendable { case butt, round, square }
/// How stroked corners look (Cairo `cairo_line_join_t`, MapLibre `line-join`).
package enum LineJoin: String, Sendable { case bevel, round, miter }
/// Which side of a self-crossing path is inside.
package enum FillRule: Sendable { case winding, evenOdd }

/// A drawing surface and its context: the only type in onemap that calls Cairo (besides the
/// PNG encoder reading finished pixels and the PDF writer replaying recorded pages).
///
/// Device units are pixels on an image canvas and points (1/72 in) on a recording (PDF) canvas.
/// The drawing calls are Cairo's, named in Swift: a path is built (`moveTo`, `lineTo`, `arc`…),
/// then painted (`fill`, `stroke`…) with the current source, line width, dash, cap and join.
///
/// Not Sendable: a canvas is created and drawn inside one render call, on one thread; once
/// `finish()`ed, its pixels may be encoded from several threads (`DrawnMetatile`).
package final class Canvas {
    let surface: OpaquePointer
    let cr: OpaquePointer
    /// Size in device units.
    package let width: Int
    package let height: Int
    /// A recording (vector, for PDF) canvas: halos are written as simplified outlines.
    let vector: Bool
    /// Text halos on an image canvas are painted from a dilated glyph mask (fast); false strokes
    /// the glyph outlines, as a vector canvas does (the tests compare the two).
    package var dilatedHalos = true
    /// The pixels of a larger drawing this canvas shows from (`init(width:height:offsetX:offsetY:)`).
    private(set) var deviceOffset = (x: 0, y: 0)
    /// `RoundStroke`'s row buffer, made on first use.
    var roundStroke: RoundStroke?
    /// `PolygonFill`'s row buffer, made on first use.
    var polygonFill: PolygonFill?

    /// An ARGB32 image canvas of `width`×`height` pixels, transparent.
    package init(width: Int, height: Int) {
        self.width = width
        self.height = height
        vector = false
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height))
        cr = cairo_create(surface)
    }

    /// An ARGB32 image canvas of `width`×`height` pixels showing the part of a larger drawing
    /// from (`offsetX`, `offsetY`) on (device pixels): drawing uses the larger drawing's
    /// coordinates, so its pixels equal that drawing's to the bit.
    package convenience init(width: Int, height: Int, offsetX: Int, offsetY: Int) {
        self.init(width: width, height: height)
        cairo_surface_set_device_offset(surface, Double(-offsetX), Double(-offsetY))
        deviceOffset = (offsetX, offsetY)
    }

    /// A vector canvas that records drawing operations (for PDF pages), `width`×`height` points.
    package init(recordingWidth width: Double, height: Double) {
        self.width = Int(width.rounded())
        self.height = Int(height.rounded())
        vector = true
        var extents = cairo_rectangle_t(x: 0, y: 0, width: width, height: height)
        surface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents)
        cr = cairo_create(surface)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    /// Throws if any drawing on this canvas failed (Cairo keeps the first error).
    package func check(_ operation: @autoclosure () -> String) throws(CanvasError) {
        try cairoCheck(cairo_status(cr), operation())
        try cairoCheck(cairo_surface_status(surface), operation())
    }

    // MARK: state

    package func save() { cairo_save(cr) }
    package func restore() { cairo_restore(cr) }
    /// Runs `body` with the graphics state (transform, clip, source, line style) restored after.
    package func withSavedState<T>(_ body: () throws -> T) rethrows -> T {
        cairo_save(cr)
        defer { cairo_restore(cr) }
        return try body()
    }
    package func translate(_ x: Double, _ y: Double) { cairo_translate(cr, x, y) }
    package func rotate(_ radians: Double) { cairo_rotate(cr, radians) }
    package func scale(_ sx: Double, _ sy: Double) { cairo_scale(cr, sx, sy) }
    package func clip() { cairo_clip(cr) }

    // MARK: paths

    package func newPath() { cairo_new_path(cr) }
    package func newSubPath() { cairo_new_sub_path(cr) }
    package func moveTo(_ x: Double, _ y: Double) { cairo_move_to(cr, x, y) }
    package func lineTo(_ x: Double, _ y: Double) { cairo_line_to(cr, x, y) }
    package func curveTo(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ x3: Double, _ y3: Double) { cairo_curve_to(cr, x1, y1, x2, y2, x3, y3) }
    package func closePath() { cairo_close_path(cr) }
    package func rectangle(_ x: Double, _ y: Double, _ w: Double, _ h: Double) { cairo_rectangle(cr, x, y, w, h) }
    /// A circular arc about (x, y), angles in radians clockwise from +x.
    package func arc(_ x: Double, _ y: Double, _ r: Double, _ a0: Double, _ a1: Double) { cairo_arc(cr, x, y, r, a0, a1) }
    /// A polyline (closed when `close`) through device points.
    package func path(_ pts: [(Double, Double)], close: Bool) {
        guard let f = pts.first else { return }
        cairo_move_to(cr, f.0, f.1)
        for p in pts.dropFirst() { cairo_line_to(cr, p.0, p.1) }
        if close { cairo_close_path(cr) }
    }

    // MARK: paint

    package func setSourceRGB(_ r: Double, _ g: Double, _ b: Double) { cairo_set_source_rgb(cr, r, g, b) }
    package func setSourceRGBA(_ r: Double, _ g: Double, _ b: Double, _ a: Double) { cairo_set_source_rgba(cr, r, g, b, a) }
    /// The source colour, its alpha multiplied by `opacity`.
    package func setColor(_ c: Color, opacity: Double = 1) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a * opacity) }
    package func setLineWidth(_ w: Double) { cairo_set_line_width(cr, w) }
    /// Dash lengths in device units; empty for a solid line.
    package func setDash(_ d: [Double]) { d.isEmpty ? cairo_set_dash(cr, nil, 0, 0) : cairo_set_dash(cr, d, Int32(d.count), 0) }
    package func setLineCap(_ c: LineCap) {
        cairo_set_line_cap(cr, c == .round ? CAIRO_LINE_CAP_ROUND : c == .square ? CAIRO_LINE_CAP_SQUARE : CAIRO_LINE_CAP_BUTT)
    }
    package func setLineJoin(_ j: LineJoin) {
        cairo_set_line_join(cr, j == .round ? CAIRO_LINE_JOIN_ROUND : j == .bevel ? CAIRO_LINE_JOIN_BEVEL : CAIRO_LINE_JOIN_MITER)
    }
    package func setFillRule(_ r: FillRule) { cairo_set_fill_rule(cr, r == .evenOdd ? CAIRO_FILL_RULE_EVEN_ODD : CAIRO_FILL_RULE_WINDING) }
    /// Antialiasing of fills and strokes (MapLibre `fill-antialias`).
    package func setAntialias(_ on: Bool) { cairo_set_antialias(cr, on ? CAIRO_ANTIALIAS_DEFAULT : CAIRO_ANTIALIAS_NONE) }
    package func fill() { cairo_fill(cr) }
    package func fillPreserve() { cairo_fill_preserve(cr) }
    package func stroke() { cairo_stroke(cr) }
    package func strokePreserve() { cairo_stroke_preserve(cr) }
    package func paint() { cairo_paint(cr) }

    /// Replaces every pixel with `c` (not blended).
    package func fillAll(_ c: Color) {
        cairo_save(cr)
        cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE)
        setColor(c)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    /// Draws what `body` draws as one group, then composites it with `opacity` (so overlapping
    /// parts of one icon do not show through each other).
    package func withOpacity(_ opacity: Double, _ body: () throws -> Void) rethrows {
        guard opacity < 1 else { return try body() }
        cairo_push_group(cr)
        defer {
            cairo_pop_group_to_source(cr)
            cairo_paint_with_alpha(cr, max(0, opacity))
        }
        try body()
    }

    /// Draws another canvas (a recorded page) with its origin at (x, y).
    package func draw(_ other: Canvas, x: Double = 0, y: Double = 0) {
        cairo_save(cr)
        cairo_set_source_surface(cr, other.surface, x, y)
        cairo_paint(cr)
        cairo_restore(cr)
    }

    // MARK: text

    /// Draws a layout with its top-left at (x, y), rotated by `angle` about its centre, with a
    /// halo `haloWidth` device units wide when `halo` is given.
    /// What of a text `draw` paints: a label whose glyphs are drawn one by one paints every
    /// halo first, then every glyph, so no halo covers a neighbouring glyph.
    package enum TextParts { case both, halo, fill }

    package func draw(_ l: TextLayout, x: Double, y: Double, angle: Double = 0, color: Color, halo: Color? = nil, haloWidth: Double = 0, parts: TextParts = .both) {
        pango_cairo_update_context(cr, l.engine.context)
        // No pango_layout_context_changed: since Pango 1.32.4 a layout sees a changed context by
        // its serial and lays itself out again only then (forcing it re-shaped every label twice).
        let (w, h) = l.size
        cairo_save(cr)
        cairo_translate(cr, x + w / 2, y + h / 2)
        if angle != 0 { cairo_rotate(cr, angle) }
        cairo_translate(cr, -w / 2, -h / 2)
        if let halo, haloWidth > 0, halo.a > 0, parts != .fill {
            if vector || !dilatedHalos || !paintDilatedHalo(l, color: halo, width: haloWidth) {
                cairo_new_path(cr)
                pango_cairo_layout_path(cr, l.raw)
                if vector { simplifyHaloPath(tolerance: 0.35 * haloWidth) }
                cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
                cairo_set_line_width(cr, haloWidth * 2)
                setColor(halo)
                cairo_stroke(cr)
            }
        }
        if parts != .halo {
            cairo_move_to(cr, 0, 0)
            setColor(color)
            pango_cairo_show_layout(cr, l.raw)
        }
        cairo_new_path(cr)
        cairo_restore(cr)
    }

    /// Paints a text halo on an image canvas as the glyphs' coverage grown by `width` (user
    /// units) — what stroking the outlines twice as wide with round joins covers, together with
    /// the glyphs. The glyphs are drawn (from Cairo's glyph cache) into an A8 mask around the
    /// layout and the mask is dilated by a disc with antialiased rim (`HaloMask.dilate`).
    /// Stroking the outlines was measured at about a quarter of a z12 metatile's drawing
    /// (100-county store: 113 ms with halos stroked, 82 ms without halos); the glyph outlines
    /// of Chinese names are long curved paths, and the stroker puts a round join on each of
    /// their flattened vertices. Returns false (nothing painted) when the layout is too large
    /// to mask, so the caller strokes instead.
    private func paintDilatedHalo(_ l: TextLayout, color: Color, width: Double) -> Bool {
        var ink = PangoRectangle(), logical = PangoRectangle()
        pango_layout_get_pixel_extents(l.raw, &ink, &logical)
        let ux0 = Double(min(ink.x, logical.x)), uy0 = Double(min(ink.y, logical.y))
        let ux1 = Double(max(ink.x + ink.width, logical.x + logical.width)), uy1 = Double(max(ink.y + ink.height, logical.y + logical.height))
        var m = cairo_matrix_t()
        cairo_get_matrix(cr, &m)
        // The radius in device pixels (the transform is a rotation and a uniform scale).
        let r = width * (abs(m.xx * m.yy - m.xy * m.yx)).squareRoot()
        var bx0 = Double.infinity, by0 = Double.infinity, bx1 = -Double.infinity, by1 = -Double.infinity
        for (cx, cy) in [(ux0, uy0), (ux1, uy0), (ux0, uy1), (ux1, uy1)] {
            var dx = cx, dy = cy
            cairo_user_to_device(cr, &dx, &dy)
            bx0 = min(bx0, dx); by0 = min(by0, dy); bx1 = max(bx1, dx); by1 = max(by1, dy)
        }
        let pad = (r + 2).rounded(.up)
        let x0 = (bx0 - pad).rounded(.down), y0 = (by0 - pad).rounded(.down)
        let w = Int((bx1 + pad).rounded(.up) - x0), h = Int((by1 + pad).rounded(.up) - y0)
        guard r > 0, r < 16, w > 0, h > 0, w * h <= 1 << 20 else { return false }
        let mask = cairo_image_surface_create(CAIRO_FORMAT_A8, Int32(w), Int32(h))
        defer { cairo_surface_destroy(mask) }
        let mcr = cairo_create(mask)
        m.x0 -= x0; m.y0 -= y0
        cairo_set_matrix(mcr, &m)
        pango_cairo_show_layout(mcr, l.raw)
        cairo_destroy(mcr)
        cairo_surface_flush(mask)
        guard cairo_surface_status(mask) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(mask) else { return false }
        HaloMask.dilate(data, stride: Int(cairo_image_surface_get_stride(mask)), width: w, height: h, radius: r)
        cairo_surface_mark_dirty(mask)
        cairo_save(cr)
        cairo_identity_matrix(cr)
        setColor(color)
        cairo_mask_surface(cr, mask, x0, y0)
        cairo_restore(cr)
        return true
    }

    /// Replaces the current path (glyph outlines for a halo) with a flattened, thinned copy:
    /// vertices closer than `tolerance` device units to the last kept one are dropped. A halo is
    /// a stroke as wide as two halo widths, so detail finer than a third of one cannot show;
    /// in a PDF the glyph curves were most of a page's content stream (measured: halos made the
    /// village atlas 34 KB/page instead of 12, and a third of its write time).
    private func simplifyHaloPath(tolerance: Double) {
        let saved = cairo_get_tolerance(cr)
        cairo_set_tolerance(cr, tolerance)
        guard let path = cairo_copy_path_flat(cr) else { cairo_set_tolerance(cr, saved); return }
        defer { cairo_path_destroy(path); cairo_set_tolerance(cr, saved) }
        guard path.pointee.status == CAIRO_STATUS_SUCCESS else { return }
        cairo_new_path(cr)
        var ring: [(Double, Double)] = []
        func flush() {
            let pts = Geometry2D.simplify(ring, tolerance: tolerance)
            if pts.count > 2 {
                cairo_move_to(cr, pts[0].0, pts[0].1)
                for p in pts.dropFirst() { cairo_line_to(cr, p.0, p.1) }
                cairo_close_path(cr)
            }
            ring.removeAll(keepingCapacity: true)
        }
        var i: Int32 = 0
        // An empty path (a space's outline) has no data at all.
        guard let data = path.pointee.data, path.pointee.num_data > 0 else { return }
        while i < path.pointee.num_data {
            let header = data[Int(i)].header
            switch header.type {
            case CAIRO_PATH_MOVE_TO:
                flush()
                ring.append((data[Int(i) + 1].point.x, data[Int(i) + 1].point.y))
            case CAIRO_PATH_LINE_TO:
                ring.append((data[Int(i) + 1].point.x, data[Int(i) + 1].point.y))
            case CAIRO_PATH_CLOSE_PATH:
                flush()
            default: break
            }
            i += header.length
        }
        flush()
    }

    // MARK: output

    /// Ends drawing: Cairo's pending work is written to the pixels and its status checked. After
    /// it, `png(…, flush: false)` may run on several threads at once (it only reads pixels).
    package func finish() throws(CanvasError) {
        cairo_surface_flush(surface)
        try check("draw")
    }

    /// Encodes a region of an image canvas as PNG. `flush: false` after `finish()` only.
    package func png(x: Int, y: Int, w: Int, h: Int, flush: Bool = true) throws(CanvasError) -> [UInt8] {
        if flush {
            cairo_surface_flush(surface)
            try check("encode PNG")
        }
        guard let base = cairo_image_surface_get_data(surface) else { throw CanvasError("encode PNG (not an image canvas)", CAIRO_STATUS_SURFACE_TYPE_MISMATCH) }
        let stride = Int(cairo_image_surface_get_stride(surface))
        return PNGEncoder.encode(base: UnsafeRawPointer(base) + y * stride + x * 4, stride: stride, w: w, h: h)
    }

    /// The pixel at (x, y) of an image canvas: Cairo ARGB32, premultiplied, as 0xAARRGGBB.
    package func pixel(x: Int, y: Int) -> UInt32 {
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let base = cairo_image_surface_get_data(surface), x >= 0, y >= 0, x < width, y < height else { return 0 }
        return UnsafeRawPointer(base + y * stride).assumingMemoryBound(to: UInt32.self)[x]
    }
}

/// Writes recorded canvases as the pages of one PDF, fonts embedded and subset.
package enum PDFDocument {
    final class Sink { var bytes: [UInt8] = [] }

    /// The PDF bytes; throws `CanvasError` when Cairo fails.
    package static func write(pages: [Canvas], width: Double, height: Double, title: String, creator: String = "onemap") throws(CanvasError) -> [UInt8] {
        let sink = Sink()
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        guard let surface = cairo_pdf_surface_create_for_stream({ closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            Unmanaged<Sink>.fromOpaque(closure).takeUnretainedValue().bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }, box.toOpaque(), width, height) else { throw CanvasError("write PDF", CAIRO_STATUS_NO_MEMORY) }
        defer { cairo_surface_destroy(surface) }
        try cairoCheck(cairo_surface_status(surface), "write PDF")
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, creator)
        guard let cr = cairo_create(surface) else { throw CanvasError("write PDF", CAIRO_STATUS_NO_MEMORY) }
        for p in pages {
            cairo_save(cr)
            cairo_set_source_surface(cr, p.surface, 0, 0)
            cairo_paint(cr)
            cairo_restore(cr)
            cairo_show_page(cr)
        }
        let drawn = cairo_status(cr)
        cairo_destroy(cr)
        cairo_surface_finish(surface)
        try cairoCheck(drawn, "write PDF")
        try cairoCheck(cairo_surface_status(surface), "write PDF")
        return sink.bytes
    }
}

/// The process allocator, set for rendering.
public enum Allocator {
    /// Metatile canvases (16 MB, 64 MB at @2x) come and go with every render: glibc's sliding
    /// mmap threshold soon serves them from the heap and keeps the freed space, and one arena
    /// per thread multiplies that. Blocks of 1 MB and more are mapped and returned at once, and
    /// arenas are limited to the cores. Measured on the 100-county store after 400 cold tiles
    /// through the server (Benchmarks/region.sh): 288 → 181 MB of anonymous memory, no
    /// measurable change in render time. Call once at start, before threads allocate.
    public static func tuneForRendering() {
        onemap_tune_malloc(1 << 20, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
    }
}

/// Grey-level dilation of an 8-bit coverage mask, for text halos.
enum HaloMask {
    /// Grows the shape in the `width`×`height` mask at `data` (`stride` bytes per row) by
    /// `radius` pixels, antialiased. A pixel of coverage c (0…1) is read as the shape's edge
    /// lying c − ½ beyond its centre, so a neighbour at distance d covers r + c − d of the pixel
    /// (clamped to 0…1) — thin, partly covered glyph strokes get a full halo, as a stroked
    /// outline would give them, instead of a faint one. Pixels within `radius + 1` of the border
    /// see only the mask's own pixels.
    static func dilate(_ data: UnsafeMutablePointer<UInt8>, stride: Int, width w: Int, height h: Int, radius r: Double) {
        // A stroked outline's antialiased rim reaches a little further than the model above:
        // 0.15 px more matched its bright pixels within 3% (`HaloTests`).
        let r = r + 0.15
        let reach = Int((r + 1).rounded(.up))
        var offsets: [(dx: Int, dy: Int, lift: Int)] = []
        for dy in -reach...reach {
            for dx in -reach...reach {
                let d = Double(dx * dx + dy * dy).squareRoot()
                // In coverage units: a neighbour of coverage c gives c + lift here.
                if d < r + 1 { offsets.append((dx, dy, Int(((r - d) * 255).rounded()))) }
            }
        }
        let src = [UInt8](UnsafeBufferPointer(start: data, count: stride * h))
        src.withUnsafeBufferPointer { s in
            let sp = s.baseAddress!
            for y in 0..<h { (data + y * stride).update(repeating: 0, count: w) }
            for o in offsets {
                let yFrom = max(0, -o.dy), yTo = min(h, h - o.dy)
                let xFrom = max(0, -o.dx), xTo = min(w, w - o.dx)
                guard yFrom < yTo, xFrom < xTo else { continue }
                let lift = Int16(clamping: o.lift)
                for y in yFrom..<yTo {
                    let out = data + y * stride, inp = sp + (y + o.dy) * stride + o.dx
                    if lift >= 255 {
                        for x in xFrom..<xTo where inp[x] != 0 { out[x] = 255 }
                    } else if lift >= 0 {
                        for x in xFrom..<xTo {
                            let c = Int16(inp[x])
                            let v = c == 0 ? 0 : min(255, c &+ lift)
                            out[x] = max(out[x], UInt8(truncatingIfNeeded: v))
                        }
                    } else {
                        for x in xFrom..<xTo { out[x] = max(out[x], UInt8(truncatingIfNeeded: max(0, Int16(inp[x]) &+ lift))) }
                    }
                }
            }
        }
    }
}
