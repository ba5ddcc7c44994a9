import Foundation
import OneMapStyle

/// Marker symbols drawn as vector paths, so they are crisp at every scale and in PDF.
///
/// Adding an icon: one entry in `shapes` (its name and how it is drawn); `names`, style checking
/// and the legend follow from the table.
public enum Icons {
    /// The drawing tools an icon gets: the canvas translated to the icon's centre, its size, and
    /// the shared shapes.
    struct Pen {
        let cr: Canvas
        /// Box size and half of it, device units.
        let s: Double, r: Double
        /// The style's `icon-color`, replacing the icon's main colour.
        let tint: Color?
        let white = Color(1, 1, 1)
        func rgb(_ c: Color) { cr.setSourceRGBA(c.r, c.g, c.b, c.a) }
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
    }

    typealias Shape = @Sendable (_ pen: Pen) -> Void

    /// Every icon: its name (what a style's `icon-image` gives) and how it is drawn, centred at
    /// the origin in a box `pen.s` across.
    static let shapes: [(name: String, draw: Shape)] = [
        ("fire-station", { p in
            let cr = p.cr, r = p.r
            p.roundedSquare(r * 0.92, r * 0.25)
            p.rgb(p.tint ?? Color(0.84, 0.1, 0.11)); cr.fillPreserve(); p.outline()
            cr.newPath(); p.flame(r * 1.25); p.rgb(p.white); cr.fill()
        }),
        ("micro-fire-station", { p in
            let cr = p.cr, r = p.r
            cr.arc(0, 0, r * 0.8, 0, 2 * .pi)
            p.rgb(p.tint ?? Color(0.94, 0.33, 0.2)); cr.fillPreserve(); p.outline()
            cr.newPath(); p.flame(r * 0.95); p.rgb(p.white); cr.fill()
        }),
        ("warehouse", { p in
            let cr = p.cr, r = p.r
            cr.moveTo(0, -r * 0.95); cr.lineTo(r * 0.95, -r * 0.2); cr.lineTo(r * 0.95, r * 0.9)
            cr.lineTo(-r * 0.95, r * 0.9); cr.lineTo(-r * 0.95, -r * 0.2); cr.closePath()
            p.rgb(p.tint ?? Color(0.17, 0.35, 0.63)); cr.fillPreserve(); p.outline()
            cr.newPath(); cr.rectangle(-r * 0.45, -r * 0.05, r * 0.9, r * 0.7); p.rgb(p.white); cr.fill()
            cr.setLineWidth(p.s * 0.06); p.rgb(p.tint ?? Color(0.17, 0.35, 0.63))
            cr.moveTo(-r * 0.45, r * 0.3); cr.lineTo(r * 0.45, r * 0.3); cr.stroke()
        }),
        ("base-station", { p in
            p.cr.arc(0, 0, p.r * 0.82, 0, 2 * .pi)
            p.rgb(p.tint ?? Color(0.42, 0.24, 0.6)); p.cr.fillPreserve(); p.outline()
            p.cr.newPath(); p.rgb(p.white); p.antenna(p.r * 0.9)
        }),
        ("base-station-super", { p in
            p.cr.arc(0, 0, p.r * 0.82, 0, 2 * .pi)
            p.rgb(p.tint ?? Color(0.42, 0.24, 0.6)); p.cr.fillPreserve()
            p.cr.setLineWidth(p.s * 0.16); p.cr.setSourceRGB(1, 0.8, 0.1); p.cr.stroke()
            p.cr.newPath(); p.rgb(p.white); p.antenna(p.r * 0.9)
        }),
        ("base-station-backup", { p in
            let cr = p.cr, r = p.r
            cr.moveTo(0, -r); cr.lineTo(r, 0); cr.lineTo(0, r); cr.lineTo(-r, 0); cr.closePath()
            p.rgb(p.tint ?? Color(1, 0.5, 0)); cr.fillPreserve(); p.outline()
            cr.newPath(); p.rgb(p.white); p.antenna(r * 0.9)
        }),
        // An incident (突发事件): a red diamond with an exclamation mark.
        ("incident", { p in
            let cr = p.cr, r = p.r
            cr.moveTo(0, -r); cr.lineTo(r, 0); cr.lineTo(0, r); cr.lineTo(-r, 0); cr.closePath()
            p.rgb(p.tint ?? Color(0.85, 0.05, 0.05)); cr.fillPreserve(); p.outline()
            cr.newPath(); p.rgb(p.white)
            cr.rectangle(-r * 0.09, -r * 0.55, r * 0.18, r * 0.62); cr.fill()
            cr.arc(0, r * 0.32, r * 0.11, 0, 2 * .pi); cr.fill()
        }),
        ("shelter", { p in
            let cr = p.cr, r = p.r
            p.roundedSquare(r * 0.9, r * 0.2)
            p.rgb(p.tint ?? Color(0.1, 0.59, 0.25)); cr.fillPreserve(); p.outline()
            cr.newPath()
            cr.moveTo(0, -r * 0.6); cr.lineTo(r * 0.62, 0); cr.lineTo(r * 0.38, 0); cr.lineTo(r * 0.38, r * 0.55)
            cr.lineTo(-r * 0.38, r * 0.55); cr.lineTo(-r * 0.38, 0); cr.lineTo(-r * 0.62, 0); cr.closePath()
            p.rgb(p.white); cr.fill()
        }),
        ("hazard-point", { p in
            let cr = p.cr, r = p.r
            cr.moveTo(0, -r * 0.95); cr.lineTo(r, r * 0.8); cr.lineTo(-r, r * 0.8); cr.closePath()
            p.rgb(p.tint ?? Color(1, 0.75, 0)); cr.fillPreserve()
            cr.setLineWidth(p.s * 0.07); cr.setSourceRGB(0.25, 0.15, 0); cr.stroke()
            cr.setSourceRGB(0.2, 0.1, 0)
            cr.rectangle(-r * 0.09, -r * 0.4, r * 0.18, r * 0.7); cr.fill()
            cr.arc(0, r * 0.5, r * 0.1, 0, 2 * .pi); cr.fill()
        }),
        ("village", { p in
            p.cr.arc(0, 0, p.r * 0.55, 0, 2 * .pi)
            p.rgb(p.white); p.cr.fillPreserve()
            p.cr.setLineWidth(p.s * 0.16); p.rgb(p.tint ?? Color(0.2, 0.2, 0.2)); p.cr.stroke()
        }),
        ("township", { p in
            let cr = p.cr, r = p.r
            cr.rectangle(-r * 0.6, -r * 0.6, r * 1.2, r * 1.2)
            p.rgb(p.tint ?? Color(0.15, 0.15, 0.15)); cr.fillPreserve(); p.outline()
            cr.newPath(); cr.rectangle(-r * 0.25, -r * 0.25, r * 0.5, r * 0.5); p.rgb(p.white); cr.fill()
        }),
        // A closed road (道路封闭): the no-entry sign, a red disc with a white bar (GB 5768.2
        // 禁止驶入), for road-risk segments marked closed.
        ("road-closed", { p in
            let cr = p.cr, r = p.r
            cr.arc(0, 0, r * 0.9, 0, 2 * .pi)
            p.rgb(p.tint ?? Color(0.8, 0.0, 0.0)); cr.fillPreserve(); p.outline()
            cr.newPath(); cr.rectangle(-r * 0.58, -r * 0.17, r * 1.16, r * 0.34); p.rgb(p.white); cr.fill()
        }),
        // A restricted road (限行): a prohibition sign's white disc in an orange ring with an
        // orange bar, for road-risk segments marked restricted.
        ("road-restricted", { p in
            let cr = p.cr, r = p.r
            cr.arc(0, 0, r * 0.9, 0, 2 * .pi)
            p.rgb(p.tint ?? Color(0.93, 0.45, 0.0)); cr.fillPreserve(); p.outline()
            cr.newPath(); cr.arc(0, 0, r * 0.58, 0, 2 * .pi); p.rgb(p.white); cr.fill()
            cr.rectangle(-r * 0.4, -r * 0.13, r * 0.8, r * 0.26); p.rgb(p.tint ?? Color(0.93, 0.45, 0.0)); cr.fill()
        }),
        ("assembly-point", { p in
            let cr = p.cr, r = p.r
            cr.arc(0, 0, r * 0.8, 0, 2 * .pi)
            p.rgb(p.tint ?? Color(0.1, 0.59, 0.25)); cr.fillPreserve(); p.outline()
            cr.newPath(); p.rgb(p.white)
            for k in 0..<4 {
                let a = Double(k) * .pi / 2
                cr.moveTo(cos(a) * r * 0.2, sin(a) * r * 0.2)
                cr.lineTo(cos(a) * r * 0.6, sin(a) * r * 0.6)
            }
            cr.setLineWidth(p.s * 0.1); cr.stroke()
        }),
    ]

    /// Every icon name a style's `icon-image` may give (style loading refuses any other).
    public static let names: [String] = shapes.map(\.name)
    private static let byName: [String: Shape] = Dictionary(shapes.map { ($0.name, $0.draw) }, uniquingKeysWith: { a, _ in a })

    /// Draws icon `name` centred at (x, y) with a box `size` device units across. A name that is
    /// not in `names` (possible only from data, since styles are checked at load) draws a grey
    /// question mark: never another symbol's meaning.
    package static func draw(_ name: String, _ cr: Canvas, x: Double, y: Double, size s: Double, tint: Color? = nil) {
        cr.newPath()
        cr.save()
        cr.translate(x, y)
        cr.setLineJoin(.round)
        let pen = Pen(cr: cr, s: s, r: s / 2, tint: tint)
        (byName[name] ?? unknown)(pen)
        cr.newPath()
        cr.restore()
    }

    /// A grey disc with a question mark.
    static let unknown: Shape = { p in
        let cr = p.cr, r = p.r
        cr.arc(0, 0, r * 0.75, 0, 2 * .pi)
        p.rgb(Color(0.55, 0.55, 0.55)); cr.fillPreserve(); p.outline()
        cr.newPath(); p.rgb(p.white); cr.setLineWidth(p.s * 0.1)
        cr.arc(0, -r * 0.15, r * 0.25, -.pi, 0.4 * .pi); cr.lineTo(0, r * 0.2); cr.stroke()
        cr.arc(0, r * 0.42, r * 0.07, 0, 2 * .pi); cr.fill()
    }
}
