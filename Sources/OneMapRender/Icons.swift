import Foundation
import OneMapStyle

/// Marker symbols drawn as vector paths, so they are crisp at every scale and in PDF.
public enum Icons {
    /// Every icon name a style's `icon-image` may give (style loading refuses any other).
    public static let names = ["fire-station", "micro-fire-station", "warehouse", "base-station", "base-station-super", "base-station-backup",
                               "shelter", "hazard-point", "village", "township", "incident", "assembly-point"]

    /// Draws icon `name` centred at (x, y) with a box `size` device units across. A name that is
    /// not in `names` (possible only from data, since styles are checked at load) draws a grey
    /// question mark: never another symbol's meaning.
    package static func draw(_ name: String, _ cr: Canvas, x: Double, y: Double, size s: Double, tint: Color? = nil) {
        let r = s / 2
        cr.newPath()
        cr.save()
        cr.translate(x, y)
        cr.setLineJoin(.round)
        func rgb(_ c: Color) { cr.setSourceRGBA(c.r, c.g, c.b, c.a) }
        let white = Color(1, 1, 1)
        func outline(_ w: Double = 0.09) {
            cr.setLineWidth(s * w)
            rgb(white)
            cr.strokePreserve()
        }
        func roundedSquare(_ h: Double, _ rad: Double) {
            cr.newSubPath()
            cr.arc(h - rad, -h + rad, rad, -.pi / 2, 0)
            cr.arc(h - rad, h - rad, rad, 0, .pi / 2)
            cr.arc(-h + rad, h - rad, rad, .pi / 2, .pi)
            cr.arc(-h + rad, -h + rad, rad, .pi, 1.5 * .pi)
            cr.closePath()
        }
        func flame(_ k: Double) {
            cr.moveTo(0, -0.62 * k)
            cr.curveTo(0.42 * k, -0.2 * k, 0.5 * k, 0.25 * k, 0.3 * k, 0.5 * k)
            cr.curveTo(0.15 * k, 0.65 * k, -0.15 * k, 0.65 * k, -0.3 * k, 0.5 * k)
            cr.curveTo(-0.5 * k, 0.25 * k, -0.35 * k, -0.05 * k, -0.12 * k, -0.18 * k)
            cr.curveTo(-0.1 * k, 0.05 * k, 0.05 * k, 0.1 * k, 0.05 * k, 0.1 * k)
            cr.curveTo(0.1 * k, -0.15 * k, -0.05 * k, -0.4 * k, 0, -0.62 * k)
            cr.closePath()
        }
        func antenna(_ k: Double) {
            cr.setLineWidth(s * 0.08)
            cr.moveTo(0, -0.45 * k); cr.lineTo(-0.3 * k, 0.5 * k)
            cr.moveTo(0, -0.45 * k); cr.lineTo(0.3 * k, 0.5 * k)
            cr.moveTo(-0.18 * k, 0.15 * k); cr.lineTo(0.18 * k, 0.15 * k)
            cr.stroke()
            cr.newSubPath()
            cr.arc(0, -0.45 * k, 0.5 * k, -0.85 * .pi, -0.6 * .pi)
            cr.newSubPath()
            cr.arc(0, -0.45 * k, 0.5 * k, -0.4 * .pi, -0.15 * .pi)
            cr.stroke()
        }
        switch name {
        case "fire-station":
            roundedSquare(r * 0.92, r * 0.25)
            rgb(tint ?? Color(0.84, 0.1, 0.11)); cr.fillPreserve(); outline()
            cr.newPath(); flame(r * 1.25); rgb(white); cr.fill()
        case "micro-fire-station":
            cr.arc(0, 0, r * 0.8, 0, 2 * .pi)
            rgb(tint ?? Color(0.94, 0.33, 0.2)); cr.fillPreserve(); outline()
            cr.newPath(); flame(r * 0.95); rgb(white); cr.fill()
        case "warehouse":
            cr.moveTo(0, -r * 0.95); cr.lineTo(r * 0.95, -r * 0.2); cr.lineTo(r * 0.95, r * 0.9)
            cr.lineTo(-r * 0.95, r * 0.9); cr.lineTo(-r * 0.95, -r * 0.2); cr.closePath()
            rgb(tint ?? Color(0.17, 0.35, 0.63)); cr.fillPreserve(); outline()
            cr.newPath(); cr.rectangle(-r * 0.45, -r * 0.05, r * 0.9, r * 0.7); rgb(white); cr.fill()
            cr.setLineWidth(s * 0.06); rgb(tint ?? Color(0.17, 0.35, 0.63))
            cr.moveTo(-r * 0.45, r * 0.3); cr.lineTo(r * 0.45, r * 0.3); cr.stroke()
        case "base-station", "base-station-super", "base-station-backup":
            if name == "base-station-backup" {
                cr.moveTo(0, -r); cr.lineTo(r, 0); cr.lineTo(0, r); cr.lineTo(-r, 0); cr.closePath()
                rgb(tint ?? Color(1, 0.5, 0)); cr.fillPreserve(); outline()
            } else {
                cr.arc(0, 0, r * 0.82, 0, 2 * .pi)
                rgb(tint ?? Color(0.42, 0.24, 0.6)); cr.fillPreserve()
                if name == "base-station-super" {
                    cr.setLineWidth(s * 0.16); cr.setSourceRGB(1, 0.8, 0.1); cr.stroke()
                } else { outline() }
            }
            cr.newPath(); rgb(white); antenna(r * 0.9)
        case "shelter":
            roundedSquare(r * 0.9, r * 0.2)
            rgb(tint ?? Color(0.1, 0.59, 0.25)); cr.fillPreserve(); outline()
            cr.newPath()
            cr.moveTo(0, -r * 0.6); cr.lineTo(r * 0.62, 0); cr.lineTo(r * 0.38, 0); cr.lineTo(r * 0.38, r * 0.55)
            cr.lineTo(-r * 0.38, r * 0.55); cr.lineTo(-r * 0.38, 0); cr.lineTo(-r * 0.62, 0); cr.closePath()
            rgb(white); cr.fill()
        case "hazard-point":
            cr.moveTo(0, -r * 0.95); cr.lineTo(r, r * 0.8); cr.lineTo(-r, r * 0.8); cr.closePath()
            rgb(tint ?? Color(1, 0.75, 0)); cr.fillPreserve()
            cr.setLineWidth(s * 0.07); cr.setSourceRGB(0.25, 0.15, 0); cr.stroke()
            cr.setSourceRGB(0.2, 0.1, 0)
            cr.rectangle(-r * 0.09, -r * 0.4, r * 0.18, r * 0.7); cr.fill()
            cr.arc(0, r * 0.5, r * 0.1, 0, 2 * .pi); cr.fill()
        case "village":
            cr.arc(0, 0, r * 0.55, 0, 2 * .pi)
            rgb(white); cr.fillPreserve()
            cr.setLineWidth(s * 0.16); rgb(tint ?? Color(0.2, 0.2, 0.2)); cr.stroke()
        case "township":
            cr.rectangle(-r * 0.6, -r * 0.6, r * 1.2, r * 1.2)
            rgb(tint ?? Color(0.15, 0.15, 0.15)); cr.fillPreserve(); outline()
            cr.newPath(); cr.rectangle(-r * 0.25, -r * 0.25, r * 0.5, r * 0.5); rgb(white); cr.fill()
        case "assembly-point":
            cr.arc(0, 0, r * 0.8, 0, 2 * .pi)
            rgb(tint ?? Color(0.1, 0.59, 0.25)); cr.fillPreserve(); outline()
            cr.newPath(); rgb(white)
            for k in 0..<4 {
                let a = Double(k) * .pi / 2
                cr.moveTo(cos(a) * r * 0.2, sin(a) * r * 0.2)
                cr.lineTo(cos(a) * r * 0.6, sin(a) * r * 0.6)
            }
            cr.setLineWidth(s * 0.1); cr.stroke()
        case "incident":
            for k in 0..<10 {
                let a = Double(k) * .pi / 5 - .pi / 2, rr = k % 2 == 0 ? r : r * 0.45
                if k == 0 { cr.moveTo(cos(a) * rr, sin(a) * rr) } else { cr.lineTo(cos(a) * rr, sin(a) * rr) }
            }
            cr.closePath()
            rgb(tint ?? Color(0.9, 0, 0)); cr.fillPreserve(); outline(0.07)
        default:  // unknown: a grey disc with a question mark
            cr.arc(0, 0, r * 0.75, 0, 2 * .pi)
            rgb(Color(0.55, 0.55, 0.55)); cr.fillPreserve(); outline()
            cr.newPath(); rgb(white); cr.setLineWidth(s * 0.1)
            cr.arc(0, -r * 0.15, r * 0.25, -.pi, 0.4 * .pi); cr.lineTo(0, r * 0.2); cr.stroke()
            cr.arc(0, r * 0.42, r * 0.07, 0, 2 * .pi); cr.fill()
        }
        cr.newPath()
        cr.restore()
    }
}
