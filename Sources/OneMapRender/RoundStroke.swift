import Foundation
import CCairo
import OneMapStyle

/// Strokes with round caps and joins, rasterised row by row straight into an image canvas.
///
/// Such a stroke is the set of points within half the line width w of the polyline, so a
/// pixel's coverage follows from its centre's distance d to the nearest segment:
/// clamp(w/2 + ½ − d, 0, 1) for a line at least a pixel wide (a box filter across the edge),
/// w · clamp(1 − d, 0, 1) for a thinner one (the same ink per unit length). The nearest segment
/// gives the largest coverage, so segments merge by taking the maximum: joins and crossings of
/// one stroke are covered once, as Cairo covers its stroke polygon once.
///
/// Rows are done in order, each with the segments that reach it (a scanline with an active
/// list): a row's coverage is built in a one-row buffer and blended into the canvas at once,
/// so each canvas row a stroke touches is read and written once.
///
/// Why not Cairo: road networks are thousands of short strokes, and Cairo 1.16 tessellates each
/// into a polygon and scan-converts it — a few µs a stroke even for three segments. Measured on
/// the 100-county store (`onemap-bench tiles`, z12, one thread, best of 3): drawing a metatile
/// 41 → 35 ms, seeding 870 → 960 tiles/s; the pixels are within the reference-image tolerance
/// of Cairo's (`RoundStrokeTests`). A first version that built each stroke's coverage in a
/// canvas-sized buffer and blended afterwards was no faster than Cairo: both passes missed the
/// cache on every row.
struct RoundStroke {
    private struct Segment {
        var ax: Double, ay: Double, bx: Double, by: Double
        /// Unit direction (0 for a dot) and length.
        var ux: Double, uy: Double, len: Double
        var top: Int, bottom: Int
        /// Flat (butt) ends instead of round ones, at a path's first and last point.
        var buttStart = false, buttEnd = false
    }
    private var row: [UInt8]
    private var segments: [Segment] = []
    private var rows = ScanRows()
    /// The column ranges a row's segments wrote (a ring crossing a row writes two, far apart:
    /// only they are blended, not the gap).
    private var spans: [(Int, Int)] = []
    /// Where the early reads of each row go, so that they are not optimised away.
    private(set) var sink: UInt32 = 0
    let width: Int, height: Int

    init(width: Int, height: Int) {
        self.width = width; self.height = height
        row = [UInt8](repeating: 0, count: width + 2)
    }

    /// Strokes `paths` (pixel coordinates of the canvas, (0, 0) its top-left corner) `w` pixels
    /// wide in premultiplied ARGB32 `color` (0xAARRGGBB) onto `pixels` (`stride` bytes per
    /// row), with round joins and round ends — flat (butt) ends when `butt`, which a path of
    /// one point does not show. Non-finite points are skipped.
    mutating func stroke(_ paths: [[(Double, Double)]], lineWidth w: Double, butt: Bool = false, color: UInt32, pixels: UnsafeMutableRawPointer, stride: Int) {
        let reach = w >= 1 ? w / 2 + 0.5 : 1
        let full = w >= 1
        segments.removeAll(keepingCapacity: true)
        func add(_ a: (Double, Double), _ b: (Double, Double)) {
            let dx = b.0 - a.0, dy = b.1 - a.1, len = (dx * dx + dy * dy).squareRoot()
            let top = Int((min(a.1, b.1) - reach - 0.5).rounded(.down)), bottom = Int((max(a.1, b.1) + reach - 0.5).rounded(.up))
            guard bottom >= 0, top < height, max(a.0, b.0) + reach >= 0, min(a.0, b.0) - reach < Double(width) else { return }
            segments.append(Segment(ax: a.0, ay: a.1, bx: b.0, by: b.1, ux: len > 0 ? dx / len : 0, uy: len > 0 ? dy / len : 0, len: len,
                                    top: max(0, top), bottom: min(height - 1, bottom)))
        }
        for path in paths {
            var last: (Double, Double)?
            let first = segments.count
            var firstPoint: (Double, Double)?
            for p in path where p.0.isFinite && p.1.isFinite && abs(p.0) < 1e7 && abs(p.1) < 1e7 {
                if let l = last, l != p { add(l, p) }
                if firstPoint == nil { firstPoint = p }
                last = p
            }
            if butt {
                // Flat ends where the path starts and ends (segments off the canvas are not
                // kept, and their ends are off it too).
                if segments.count > first, let f = firstPoint, segments[first].ax == f.0 && segments[first].ay == f.1 { segments[first].buttStart = true }
                if segments.count > first, let l = last, segments[segments.count - 1].bx == l.0 && segments[segments.count - 1].by == l.1 { segments[segments.count - 1].buttEnd = true }
            } else if segments.count == first, let l = last, firstPoint.map({ $0 == l }) == true, path.allSatisfy({ !$0.0.isFinite || !$0.1.isFinite || $0 == l }) {
                // A path of one point (or all one point): a dot, as Cairo's round cap draws it.
                add(l, l)
            }
        }
        guard !segments.isEmpty else { return }
        segments.sort { $0.top < $1.top }
        let sa = color >> 24
        let w255 = w * 255
        rows.start(segments.lazy.map { ($0.top, $0.bottom) })
        var touched: UInt32 = 0
        defer { sink = touched }
        row.withUnsafeMutableBufferPointer { buf in
            let cov = buf.baseAddress!
            while let y = rows.nextRow() {
                let active = rows.active
                let cy = Double(y) + 0.5
                // Start reading this row's pixels now, while its coverage is computed: a stroke
                // touches each canvas row in a line or two, and a miss costs more than the row.
                let guess = min(width - 1, max(0, Int(segments[active[0]].ax)))
                touched &+= (pixels + y * stride).assumingMemoryBound(to: UInt32.self)[guess]
                spans.removeAll(keepingCapacity: true)
                for i in active {
                    let s = segments[i]
                    // The row's x-range within `reach`: the end discs and the band along the
                    // segment (over-wide is harmless: the distance below is exact).
                    var xa = Double.infinity, xb = -Double.infinity
                    let ay = cy - s.ay, by = cy - s.by
                    if abs(ay) < reach { let h = (reach * reach - ay * ay).squareRoot(); xa = s.ax - h; xb = s.ax + h }
                    if abs(by) < reach { let h = (reach * reach - by * by).squareRoot(); xa = min(xa, s.bx - h); xb = max(xb, s.bx + h) }
                    if abs(s.uy) > 1e-9 {
                        let xc = s.ax + (cy - s.ay) * s.ux / s.uy, half = reach / abs(s.uy)
                        xa = min(xa, max(min(s.ax, s.bx) - reach, xc - half)); xb = max(xb, min(max(s.ax, s.bx) + reach, xc + half))
                    } else if s.len > 0 && abs(ay) < reach {
                        xa = min(xa, min(s.ax, s.bx)); xb = max(xb, max(s.ax, s.bx))
                    }
                    guard xa <= xb else { continue }
                    let x0 = max(0, Int((xa - 0.5).rounded(.down))), x1 = min(width - 1, Int((xb - 0.5).rounded(.up)))
                    guard x0 <= x1 else { continue }
                    spans.append((x0, x1))
                    // Along the segment t, across it s (signed), both linear in x.
                    var dx = Double(x0) + 0.5 - s.ax
                    let dy = cy - s.ay
                    let butt = s.buttStart || s.buttEnd
                    if !butt && s.len > 0 {
                        // Round ends: the span splits into the pixels nearest the start point,
                        // those nearest the segment's inside (where the distance is linear in x)
                        // and those nearest the end point, found once, not tested per pixel.
                        // t(px) = (dx + px − x0)·ux + dy·uy; t ≤ 0 is the start disc, t ≥ len the end's.
                        var startLo = x1 + 1, startHi = x1, endLo = x1 + 1, endHi = x1, inLo = x0, inHi = x1
                        if abs(s.ux) < 1e-12 {
                            let t = dy * s.uy
                            if t <= 0 { startLo = x0; inLo = x1 + 1 } else if t >= s.len { endLo = x0; inLo = x1 + 1 }
                        } else {
                            // The (fractional) pixel where t = 0 and where t = len.
                            let at0 = Double(x0) + (-dy * s.uy) / s.ux - dx, atLen = Double(x0) + (s.len - dy * s.uy) / s.ux - dx
                            func clampIndex(_ v: Double) -> Int { v < Double(x0) ? x0 - 1 : v > Double(x1) ? x1 + 1 : Int(v.rounded(.down)) }
                            if s.ux > 0 {
                                // px ≤ at0: start; px ≥ atLen: end.
                                let a = clampIndex(at0), b = clampIndex(atLen.rounded(.up))
                                startLo = x0; startHi = min(x1, a)
                                endLo = max(x0, b); endHi = x1
                                if endLo <= startHi { endLo = startHi + 1 }
                                inLo = startHi + 1; inHi = endLo - 1
                            } else {
                                // px ≤ atLen: end; px ≥ at0: start.
                                let a = clampIndex(atLen), b = clampIndex(at0.rounded(.up))
                                endLo = x0; endHi = min(x1, a)
                                startLo = max(x0, b); startHi = x1
                                if startLo <= endHi { startLo = endHi + 1 }
                                inLo = endHi + 1; inHi = startLo - 1
                            }
                        }
                        @inline(__always) func put(_ px: Int, _ d: Double) {
                            let c = full ? min(255, max(0, (reach - d) * 255)) : max(0, (1 - d) * w255)
                            let k = UInt8(c + 0.5)
                            if k > cov[px] { cov[px] = k }
                        }
                        if startLo <= startHi {
                            for px in startLo...startHi { let ex = Double(px - x0) + dx; put(px, (ex * ex + dy * dy).squareRoot()) }
                        }
                        if endLo <= endHi {
                            let ey = dy - (s.by - s.ay)
                            for px in endLo...endHi { let ex = Double(px - x0) + dx - (s.bx - s.ax); put(px, (ex * ex + ey * ey).squareRoot()) }
                        }
                        if inLo <= inHi {
                            var e = (Double(inLo - x0) + dx) * s.uy - dy * s.ux
                            for px in inLo...inHi { put(px, abs(e)); e += s.uy }
                        }
                        continue
                    }
                    for px in x0...x1 {
                        let t = dx * s.ux + dy * s.uy
                        var d: Double, f = 1.0
                        if t <= 0 && !s.buttStart {
                            d = (dx * dx + dy * dy).squareRoot()
                        } else if t >= s.len && !s.buttEnd {
                            let ex = dx - (s.bx - s.ax), ey = dy - (s.by - s.ay)
                            d = (ex * ex + ey * ey).squareRoot()
                        } else {
                            d = abs(dx * s.uy - dy * s.ux)
                            if butt {
                                // A flat end: a box filter across it, half a pixel either side.
                                if s.buttStart { f = min(1, max(0, 0.5 + t)) }
                                if s.buttEnd { f = min(f, max(0, 0.5 + s.len - t)) }
                            }
                        }
                        let c = (full ? min(255, max(0, (reach - d) * 255)) : max(0, (1 - d) * w255)) * f
                        let k = UInt8(c + 0.5)
                        if k > cov[px] { cov[px] = k }
                        dx += 1
                    }
                }
                PixelBlend.merge(&spans)
                // Blend: dst = src·k + dst·(1 − srcAlpha·k), premultiplied, per channel.
                let dst = (pixels + y * stride).assumingMemoryBound(to: UInt32.self)
                for (lo, hi) in spans {
                    for px in lo...hi {
                        let k = UInt32(cov[px])
                        guard k > 0 else { continue }
                        cov[px] = 0
                        if k == 255 && sa == 255 { dst[px] = color; continue }
                        let src = PixelBlend.scaled(color, k)
                        dst[px] = src &+ PixelBlend.scaled(dst[px], 255 - src >> 24)
                    }
                }
            }
        }
    }
}

extension RoundStroke {
    /// The dashes of `path`: `pattern` gives on and off lengths in pixels in turn (an odd count
    /// is read twice, as Cairo reads it), starting afresh at the path's first point; each dash
    /// is a polyline following the path's bends.
    static func dashes(_ path: [(Double, Double)], pattern: [Double]) -> [[(Double, Double)]] {
        let pat = pattern.count % 2 == 1 ? pattern + pattern : pattern
        guard path.count > 1, pat.contains(where: { $0 > 0 }), pat.allSatisfy({ $0 >= 0 && $0.isFinite }) else { return path.count > 1 ? [path] : [] }
        var out: [[(Double, Double)]] = []
        var k = 0, left = pat[0], on = true
        var current: [(Double, Double)] = [path[0]]
        for i in 1..<path.count {
            var a = path[i - 1]
            let b = path[i]
            var seg = hypot(b.0 - a.0, b.1 - a.1)
            while seg > left {
                let f = left / seg
                let p = (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)
                if on { current.append(p); out.append(current) }
                current = [p]
                seg -= left; a = p
                k = (k + 1) % pat.count; left = pat[k]; on.toggle()
                if out.count > 1_000_000 { return out }
            }
            left -= seg
            if on { current.append(b) } else { current = [b] }
        }
        if on && current.count > 1 { out.append(current) }
        return out
    }
}

extension Canvas {
    /// Strokes `paths` (device pixels) `lineWidth` wide with round caps and joins in `color` at
    /// `opacity` with `RoundStroke`, straight into the pixels; false (nothing drawn) when this
    /// canvas cannot take it — a recording canvas, a transform, clip or group (`withOpacity`)
    /// in effect — and the caller strokes with Cairo.
    func strokeRound(_ paths: [[(Double, Double)]], lineWidth: Double, butt: Bool = false, color c: Color, opacity: Double) -> Bool {
        guard lineWidth > 0, lineWidth < 64, let (data, stride) = directPixels() else { return false }
        if roundStroke == nil { roundStroke = RoundStroke(width: width, height: height) }
        let ox = Double(deviceOffset.x), oy = Double(deviceOffset.y)
        let local = ox == 0 && oy == 0 ? paths : paths.map { $0.map { ($0.0 - ox, $0.1 - oy) } }
        roundStroke!.stroke(local, lineWidth: lineWidth, butt: butt, color: Canvas.premultiplied(c, opacity), pixels: data, stride: stride)
        cairo_surface_mark_dirty(surface)
        return true
    }

    /// The image's pixels and bytes per row, flushed for writing, when onemap's own rasterisers
    /// may draw on this canvas: an image (not a recording) canvas, no transform, no clip
    /// narrower than the canvas, no group (`withOpacity`) in effect; nil otherwise. Call
    /// `cairo_surface_mark_dirty` after writing.
    func directPixels() -> (UnsafeMutableRawPointer, Int)? {
        guard !vector, cairo_get_group_target(cr) == surface else { return nil }
        var m = cairo_matrix_t()
        cairo_get_matrix(cr, &m)
        guard m.xx == 1, m.yy == 1, m.xy == 0, m.yx == 0, m.x0 == 0, m.y0 == 0 else { return nil }
        let ox = Double(deviceOffset.x), oy = Double(deviceOffset.y)
        var x1 = 0.0, y1 = 0.0, x2 = 0.0, y2 = 0.0
        cairo_clip_extents(cr, &x1, &y1, &x2, &y2)
        guard x1 <= ox, y1 <= oy, x2 >= ox + Double(width), y2 >= oy + Double(height) else { return nil }
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { return nil }
        return (UnsafeMutableRawPointer(data), Int(cairo_image_surface_get_stride(surface)))
    }

    /// `c` at `opacity` as premultiplied ARGB32 (0xAARRGGBB).
    static func premultiplied(_ c: Color, _ opacity: Double) -> UInt32 {
        let a = max(0, min(1, c.a * opacity))
        func ch(_ v: Double) -> UInt32 { UInt32((max(0, min(1, v)) * a * 255).rounded()) }
        return UInt32((a * 255).rounded()) << 24 | ch(c.r) << 16 | ch(c.g) << 8 | ch(c.b)
    }
}
