import Foundation
import OneMapCore
import OneMapRender
import OneMapRouting
import OneMapStyle

/// A picture of an analysis result: our base map fitted to the result, with lines and points on
/// top, a title and a small legend. Used for coverage, nearest-resource routes and isochrones.
public struct ResultMap {
    public struct Line { public var coords: [Coord]; public var colour: Color; public var width: Double }
    public struct Point { public var at: Coord; public var colour: Color; public var label: String?; public var icon: String? }

    public var title: String
    public var lines: [Line] = []
    public var points: [Point] = []
    public var legend: [(String, Color)] = []
    public var width = 1400.0, height = 1000.0

    public init(title: String) { self.title = title }

    public mutating func line(_ c: [Coord], _ colour: Color, width: Double = 4) { lines.append(Line(coords: c, colour: colour, width: width)) }
    public mutating func point(_ at: Coord, _ colour: Color, label: String? = nil, icon: String? = nil) { points.append(Point(at: at, colour: colour, label: label, icon: icon)) }

    /// Renders to PNG with `style` (a base style) as the background.
    public func png(map: MapRenderer, style: String = "command-base", extent: BBox? = nil) throws -> [UInt8] {
        var box = extent ?? BBox.empty
        if extent == nil {
            for l in lines { box = box.union(BBox(covering: l.coords)) }
            for p in points { box.extend(p.at) }
        }
        if box.isEmpty { box = BBox(minLon: 82.1, minLat: 45.5, maxLon: 83.5, maxLat: 46.5) }
        let pad = max(box.width, box.height) * 0.08 + 0.005
        // Fit at a whole zoom, then enlarge by up to 2× so the result fills the picture.
        let fit = Viewport.fitting(box.expanded(by: pad), width: width, height: height - 60, scale: 1, maxZoom: 16)
        let e = box.expanded(by: pad)
        let a = fit.globalPixel(Coord(e.minLon, e.maxLat)), b = fit.globalPixel(Coord(e.maxLon, e.minLat))
        let s = max(1, min(2, min(width / (b.0 - a.0), (height - 60) / (b.1 - a.1))))
        let vp = Viewport(zoom: fit.zoom, originX: (a.0 + b.0) / 2 - width / s / 2, originY: (a.1 + b.1) / 2 - (height - 60) / s / 2,
                          width: width / s, height: (height - 60) / s, scale: s)
        let canvas = Canvas(width: Int(width), height: Int(height))
        let cr = canvas
        let text = TextEngine()
        canvas.fillAll(Color(1, 1, 1))
        cr.save()
        cr.translate(0, 60)
        cr.rectangle(0, 0, width, height - 60)
        cr.clip()
        try map.draw(style: try map.style(style), viewport: vp, canvas: canvas, text: text)
        for l in lines where l.coords.count > 1 {
            cr.newPath()
            for (i, c) in l.coords.enumerated() { let p = vp.local(c); i == 0 ? cr.moveTo(p.0, p.1) : cr.lineTo(p.0, p.1) }
            cr.setLineCap(.round); cr.setLineJoin(.round)
            cr.setSourceRGBA(1, 1, 1, 0.9); cr.setLineWidth(l.width + 3); cr.strokePreserve()
            cr.setSourceRGBA(l.colour.r, l.colour.g, l.colour.b, l.colour.a); cr.setLineWidth(l.width); cr.stroke()
        }
        for p in points {
            let (x, y) = vp.local(p.at)
            if let icon = p.icon { Icons.draw(icon, cr, x: x, y: y, size: 22) } else {
                cr.newPath()
                cr.arc(x, y, 7, 0, 2 * .pi)
                cr.setSourceRGBA(p.colour.r, p.colour.g, p.colour.b, 1); cr.fillPreserve()
                cr.setSourceRGB(1, 1, 1); cr.setLineWidth(2); cr.stroke()
            }
            if let label = p.label {
                cr.draw(text.layout(label, size: 12, bold: true), x: x + 10, y: y - 8, color: Color(0.1, 0.1, 0.1), halo: Color(1, 1, 1, 0.95), haloWidth: 2)
            }
        }
        cr.restore()
        // Title bar and legend.
        cr.rectangle(0, 0, width, 60)
        cr.setSourceRGB(0.1, 0.13, 0.18); cr.fill()
        cr.draw(text.layout(title, size: 22, bold: true), x: 16, y: 14, color: Color(1, 1, 1))
        var lx = width - 16
        for (name, c) in legend.reversed() {
            let l = text.layout(name, size: 14)
            let w = l.size.w
            lx -= w
            cr.draw(l, x: lx, y: 20, color: Color(1, 1, 1))
            lx -= 24
            cr.rectangle(lx, 22, 16, 16)
            cr.setSourceRGBA(c.r, c.g, c.b, c.a); cr.fill()
            lx -= 20
        }
        return try canvas.png(x: 0, y: 0, w: canvas.width, h: canvas.height)
    }
}
