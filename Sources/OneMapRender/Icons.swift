import CCairo
import Foundation
import OneMapStyle

/// Marker symbols drawn as vector paths, so they are crisp at every scale and in PDF.
public enum Icons {
    public static let names = ["fire-station", "micro-fire-station", "warehouse", "base-station", "base-station-super", "base-station-backup",
                               "shelter", "hazard-point", "village", "township", "incident", "assembly-point"]

    /// Draws icon `name` centred at (x, y) with a box `size` pixels across.
    package static func draw(_ name: String, _ cr: OpaquePointer, x: Double, y: Double, size s: Double, tint: Color? = nil) {
        let r = s / 2
        cairo_new_path(cr)
        cairo_save(cr)
        cairo_translate(cr, x, y)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        func rgb(_ c: Color) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a) }
        let white = Color(1, 1, 1)
        func outline(_ w: Double = 0.09) {
            cairo_set_line_width(cr, s * w)
            rgb(white)
            cairo_stroke_preserve(cr)
        }
        func roundedSquare(_ h: Double, _ rad: Double) {
            cairo_new_sub_path(cr)
            cairo_arc(cr, h - rad, -h + rad, rad, -.pi / 2, 0)
            cairo_arc(cr, h - rad, h - rad, rad, 0, .pi / 2)
            cairo_arc(cr, -h + rad, h - rad, rad, .pi / 2, .pi)
            cairo_arc(cr, -h + rad, -h + rad, rad, .pi, 1.5 * .pi)
            cairo_close_path(cr)
        }
        func flame(_ k: Double) {
            cairo_move_to(cr, 0, -0.62 * k)
            cairo_curve_to(cr, 0.42 * k, -0.2 * k, 0.5 * k, 0.25 * k, 0.3 * k, 0.5 * k)
            cairo_curve_to(cr, 0.15 * k, 0.65 * k, -0.15 * k, 0.65 * k, -0.3 * k, 0.5 * k)
            cairo_curve_to(cr, -0.5 * k, 0.25 * k, -0.35 * k, -0.05 * k, -0.12 * k, -0.18 * k)
            cairo_curve_to(cr, -0.1 * k, 0.05 * k, 0.05 * k, 0.1 * k, 0.05 * k, 0.1 * k)
            cairo_curve_to(cr, 0.1 * k, -0.15 * k, -0.05 * k, -0.4 * k, 0, -0.62 * k)
            cairo_close_path(cr)
        }
        func antenna(_ k: Double) {
            cairo_set_line_width(cr, s * 0.08)
            cairo_move_to(cr, 0, -0.45 * k); cairo_line_to(cr, -0.3 * k, 0.5 * k)
            cairo_move_to(cr, 0, -0.45 * k); cairo_line_to(cr, 0.3 * k, 0.5 * k)
            cairo_move_to(cr, -0.18 * k, 0.15 * k); cairo_line_to(cr, 0.18 * k, 0.15 * k)
            cairo_stroke(cr)
            cairo_new_sub_path(cr)
            cairo_arc(cr, 0, -0.45 * k, 0.5 * k, -0.85 * .pi, -0.6 * .pi)
            cairo_new_sub_path(cr)
            cairo_arc(cr, 0, -0.45 * k, 0.5 * k, -0.4 * .pi, -0.15 * .pi)
            cairo_stroke(cr)
        }
        switch name {
        case "fire-station":
            roundedSquare(r * 0.92, r * 0.25)
            rgb(tint ?? Color(0.84, 0.1, 0.11)); cairo_fill_preserve(cr); outline()
            cairo_new_path(cr); flame(r * 1.25); rgb(white); cairo_fill(cr)
        case "micro-fire-station":
            cairo_arc(cr, 0, 0, r * 0.8, 0, 2 * .pi)
            rgb(tint ?? Color(0.94, 0.33, 0.2)); cairo_fill_preserve(cr); outline()
            cairo_new_path(cr); flame(r * 0.95); rgb(white); cairo_fill(cr)
        case "warehouse":
            cairo_move_to(cr, 0, -r * 0.95); cairo_line_to(cr, r * 0.95, -r * 0.2); cairo_line_to(cr, r * 0.95, r * 0.9)
            cairo_line_to(cr, -r * 0.95, r * 0.9); cairo_line_to(cr, -r * 0.95, -r * 0.2); cairo_close_path(cr)
            rgb(tint ?? Color(0.17, 0.35, 0.63)); cairo_fill_preserve(cr); outline()
            cairo_new_path(cr); cairo_rectangle(cr, -r * 0.45, -r * 0.05, r * 0.9, r * 0.7); rgb(white); cairo_fill(cr)
            cairo_set_line_width(cr, s * 0.06); rgb(tint ?? Color(0.17, 0.35, 0.63))
            cairo_move_to(cr, -r * 0.45, r * 0.3); cairo_line_to(cr, r * 0.45, r * 0.3); cairo_stroke(cr)
        case "base-station", "base-station-super", "base-station-backup":
            if name == "base-station-backup" {
                cairo_move_to(cr, 0, -r); cairo_line_to(cr, r, 0); cairo_line_to(cr, 0, r); cairo_line_to(cr, -r, 0); cairo_close_path(cr)
                rgb(tint ?? Color(1, 0.5, 0)); cairo_fill_preserve(cr); outline()
            } else {
                cairo_arc(cr, 0, 0, r * 0.82, 0, 2 * .pi)
                rgb(tint ?? Color(0.42, 0.24, 0.6)); cairo_fill_preserve(cr)
                if name == "base-station-super" {
                    cairo_set_line_width(cr, s * 0.16); cairo_set_source_rgb(cr, 1, 0.8, 0.1); cairo_stroke(cr)
                } else { outline() }
            }
            cairo_new_path(cr); rgb(white); antenna(r * 0.9)
        case "shelter":
            roundedSquare(r * 0.9, r * 0.2)
            rgb(tint ?? Color(0.1, 0.59, 0.25)); cairo_fill_preserve(cr); outline()
            cairo_new_path(cr)
            cairo_move_to(cr, 0, -r * 0.6); cairo_line_to(cr, r * 0.62, 0); cairo_line_to(cr, r * 0.38, 0); cairo_line_to(cr, r * 0.38, r * 0.55)
            cairo_line_to(cr, -r * 0.38, r * 0.55); cairo_line_to(cr, -r * 0.38, 0); cairo_line_to(cr, -r * 0.62, 0); cairo_close_path(cr)
            rgb(white); cairo_fill(cr)
        case "hazard-point":
            cairo_move_to(cr, 0, -r * 0.95); cairo_line_to(cr, r, r * 0.8); cairo_line_to(cr, -r, r * 0.8); cairo_close_path(cr)
            rgb(tint ?? Color(1, 0.75, 0)); cairo_fill_preserve(cr)
            cairo_set_line_width(cr, s * 0.07); cairo_set_source_rgb(cr, 0.25, 0.15, 0); cairo_stroke(cr)
            cairo_set_source_rgb(cr, 0.2, 0.1, 0)
            cairo_rectangle(cr, -r * 0.09, -r * 0.4, r * 0.18, r * 0.7); cairo_fill(cr)
            cairo_arc(cr, 0, r * 0.5, r * 0.1, 0, 2 * .pi); cairo_fill(cr)
        case "village":
            cairo_arc(cr, 0, 0, r * 0.55, 0, 2 * .pi)
            rgb(white); cairo_fill_preserve(cr)
            cairo_set_line_width(cr, s * 0.16); rgb(tint ?? Color(0.2, 0.2, 0.2)); cairo_stroke(cr)
        case "township":
            cairo_rectangle(cr, -r * 0.6, -r * 0.6, r * 1.2, r * 1.2)
            rgb(tint ?? Color(0.15, 0.15, 0.15)); cairo_fill_preserve(cr); outline()
            cairo_new_path(cr); cairo_rectangle(cr, -r * 0.25, -r * 0.25, r * 0.5, r * 0.5); rgb(white); cairo_fill(cr)
        case "assembly-point":
            cairo_arc(cr, 0, 0, r * 0.8, 0, 2 * .pi)
            rgb(tint ?? Color(0.1, 0.59, 0.25)); cairo_fill_preserve(cr); outline()
            cairo_new_path(cr); rgb(white)
            for k in 0..<4 {
                let a = Double(k) * .pi / 2
                cairo_move_to(cr, cos(a) * r * 0.2, sin(a) * r * 0.2)
                cairo_line_to(cr, cos(a) * r * 0.6, sin(a) * r * 0.6)
            }
            cairo_set_line_width(cr, s * 0.1); cairo_stroke(cr)
        default:  // "incident" and anything unknown: a red star
            for k in 0..<10 {
                let a = Double(k) * .pi / 5 - .pi / 2, rr = k % 2 == 0 ? r : r * 0.45
                if k == 0 { cairo_move_to(cr, cos(a) * rr, sin(a) * rr) } else { cairo_line_to(cr, cos(a) * rr, sin(a) * rr) }
            }
            cairo_close_path(cr)
            rgb(tint ?? Color(0.9, 0, 0)); cairo_fill_preserve(cr); outline(0.07)
        }
        cairo_new_path(cr)
        cairo_restore(cr)
    }
}
