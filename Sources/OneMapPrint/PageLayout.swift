import Foundation
import OneMapCore
import OneMapRender
import OneMapRouting
import OneMapStore
import OneMapStyle

/// Draws one village page: title block, main map with evacuation routes, graticule, north arrow,
/// scale bar and overview inset, then legend, risk summary and the table of responsible persons.
struct PageLayout {
    let atlas: VillageAtlas
    let sheet: VillageSheet
    let options: PageOptions
    let page: RecordedPage

    /// A hazard type's name in the page's language (the raw value when unknown).
    func hazardName(_ raw: String?) -> String {
        guard let raw else { return "" }
        return HazardType(rawValue: raw).map { options.english ? $0.nameEN : $0.nameCN } ?? raw
    }
    static let levelColour = [1: Color(0.89, 0.1, 0.11), 2: Color(1, 0.5, 0), 3: Color(0.96, 0.77, 0), 4: Color(0.17, 0.51, 0.73)]
    static let green = Color(0.05, 0.55, 0.2)

    func t(_ cn: String, _ en: String) -> String { options.english ? en : cn }

    func draw() throws {
        let cr = page.canvas
        let canvas = cr
        let text = TextEngine()
        let W = page.width, H = page.height
        let k = min(W, H) / 841.89  // 1 on A3, 0.71 on A4
        let m = 28 * k
        canvas.fillAll(Color(1, 1, 1))

        // Title block.
        let name = sheet.village["name"]?.stringValue ?? sheet.village.id
        let title = options.english ? "Yumin County · \(sheet.township) · \(name) — Disaster Risk and Evacuation Map" : "裕民县\(sheet.township)\(name)灾害风险与避险转移图"
        let titleH = 58 * k
        txt(text, cr, title, x: m, y: m, size: 24 * k, bold: true, width: W - 2 * m, align: .center)
        txt(text, cr, t("编制单位：\(options.compiler)　　编制日期：\(options.date)　　数据：演示数据（合成，非实测）",
                          "Compiled by \(options.compiler) · \(options.date) · demonstration data (synthetic, not surveyed)"),
            x: m, y: m + 33 * k, size: 10.5 * k, width: W - 2 * m, align: .center, colour: Color(0.3, 0.3, 0.3))

        // Frames.
        let landscape = W > H
        let mapFrame: (x: Double, y: Double, w: Double, h: Double)
        let side: (x: Double, y: Double, w: Double, h: Double)
        if landscape {
            mapFrame = (m, m + titleH, (W - 2 * m) * 0.66, H - 2 * m - titleH)
            side = (mapFrame.x + mapFrame.w + 14 * k, m + titleH, W - m - (mapFrame.x + mapFrame.w + 14 * k), H - 2 * m - titleH)
        } else {
            mapFrame = (m, m + titleH, W - 2 * m, (H - 2 * m - titleH) * 0.71)
            side = (m, mapFrame.y + mapFrame.h + 12 * k, W - 2 * m, H - m - (mapFrame.y + mapFrame.h + 12 * k))
        }

        // Main map at a round scale.
        let (vp, denominator) = viewport(frame: mapFrame)
        var drawn = Set<String>()
        cr.save()
        cr.rectangle(mapFrame.x, mapFrame.y, mapFrame.w, mapFrame.h)
        cr.clip()
        cr.translate(mapFrame.x, mapFrame.y)
        try atlas.map.draw(style: try atlas.map.style(atlas.styleName), viewport: vp, canvas: canvas, text: text, drawn: { drawn.insert($0) })
        drawOverlays(cr, text, vp, k)
        graticule(cr, text, vp, frame: mapFrame, k: k, labels: false)
        cr.restore()
        graticule(cr, text, vp, frame: mapFrame, k: k, labels: true)
        cr.setSourceRGB(0.1, 0.1, 0.1)
        cr.setLineWidth(1.2 * k)
        cr.rectangle(mapFrame.x, mapFrame.y, mapFrame.w, mapFrame.h)
        cr.stroke()
        northArrow(cr, text, x: mapFrame.x + 14 * k, y: mapFrame.y + 14 * k, k: k)
        scaleBar(cr, text, vp, denominator: denominator, x: mapFrame.x + 12 * k, y: mapFrame.y + mapFrame.h - 12 * k, k: k, maxWidth: mapFrame.w * 0.3)
        try overview(cr, text, vp, frame: (mapFrame.x + mapFrame.w - 170 * k - 10 * k, mapFrame.y + 10 * k, 170 * k, 140 * k), k: k)

        // Legend, summary and responsible persons.
        if landscape {
            let lh = side.h * 0.36, ih = side.h * 0.30
            legend(cr, text, drawn: drawn, box: (side.x, side.y, side.w, lh - 8 * k), k: k)
            summary(cr, text, box: (side.x, side.y + lh, side.w, ih - 8 * k), k: k)
            persons(cr, text, box: (side.x, side.y + lh + ih, side.w, side.h - lh - ih), k: k)
        } else {
            let lw = side.w * 0.3, sw = side.w * 0.33
            legend(cr, text, drawn: drawn, box: (side.x, side.y, lw - 8 * k, side.h), k: k)
            summary(cr, text, box: (side.x + lw, side.y, sw - 8 * k, side.h), k: k)
            persons(cr, text, box: (side.x + lw + sw, side.y, side.w - lw - sw, side.h), k: k)
        }
        try canvas.check("draw the page of \(name)")
    }

    // MARK: map

    /// The viewport showing the village with a margin at the largest round scale that fits.
    func viewport(frame: (x: Double, y: Double, w: Double, h: Double)) -> (Viewport, Double) {
        let box = sheet.village.geometry.bbox
        let lat = sheet.centre.lat
        let mPerPt = 0.0254 / 72
        let widthM = Geodesy.distance(Coord(box.minLon, lat), Coord(box.maxLon, lat)) * 1.5
        let heightM = Geodesy.distance(Coord(box.center.lon, box.minLat), Coord(box.center.lon, box.maxLat)) * 1.5
        let denominators: [Double] = [2000, 5000, 10000, 15000, 20000, 25000, 50000, 100000, 250000]
        let d = denominators.first { frame.w * mPerPt * $0 >= widthM && frame.h * mPerPt * $0 >= heightM } ?? 250000
        // Ground metres per point d·mPerPt; choose the zoom whose @1x pixel is 1–2 points.
        var z = 0, s = 1.0
        for zz in 0...20 {
            let probe = Viewport(zoom: zz, originX: 0, originY: 0, width: 1, height: 1, scale: 1)
            let ss = probe.metresPerPixel(atLat: lat) / (d * mPerPt)
            if ss >= 1 { z = zz; s = ss } else { break }
        }
        var vp = Viewport(zoom: z, originX: 0, originY: 0, width: frame.w / s, height: frame.h / s, scale: s)
        let c = vp.globalPixel(box.center)
        vp.originX = c.0 - vp.width / 2
        vp.originY = c.1 - vp.height / 2
        return (vp, d)
    }

    func drawOverlays(_ cr: Canvas, _ text: TextEngine, _ vp: Viewport, _ k: Double) {
        // Village boundary.
        cr.newPath()
        for poly in sheet.boundary {
            for ring in poly {
                for (i, c) in ring.enumerated() { let p = vp.local(c); i == 0 ? cr.moveTo(p.0, p.1) : cr.lineTo(p.0, p.1) }
                cr.closePath()
            }
        }
        cr.setSourceRGBA(0.45, 0.15, 0.55, 0.9)
        cr.setLineWidth(2.6 * k)
        cr.setDash([8 * k, 3 * k, 2 * k, 3 * k])
        cr.stroke()
        cr.setDash([])
        // Evacuation routes, green with arrows along them.
        for e in sheet.evacuation {
            let pts = e.route.map(vp.local)
            guard pts.count > 1 else { continue }
            cr.newPath()
            for (i, p) in pts.enumerated() { i == 0 ? cr.moveTo(p.0, p.1) : cr.lineTo(p.0, p.1) }
            cr.setLineCap(.round)
            cr.setLineJoin(.round)
            cr.setSourceRGB(1, 1, 1)
            cr.setLineWidth(6.5 * k)
            cr.strokePreserve()
            cr.setSourceRGB(Self.green.r, Self.green.g, Self.green.b)
            cr.setLineWidth(3.6 * k)
            cr.stroke()
            arrows(cr, pts, every: 55 * k, size: 7 * k)
        }
        // Assembly point at the village centre, shelters with capacity and the person in charge,
        // the nearest help: icons first, then each label on the first free side of its icon.
        let placer = OverlayLabels()
        let c = vp.local(sheet.centre)
        let shelterPoints = sheet.shelters.map { vp.local($0.geometry.representativePoint) }
        Icons.draw("assembly-point", cr, x: c.0, y: c.1, size: 20 * k)
        placer.occupy(c, radius: 10 * k)
        for p in shelterPoints {
            Icons.draw("shelter", cr, x: p.0, y: p.1, size: 22 * k)
            placer.occupy(p, radius: 11 * k)
        }
        placer.place(self, text, cr, t("集合点（村委会）", "Assembly point"), at: c, radius: 10 * k, size: 10 * k, colour: Self.green)
        for (s, p) in zip(sheet.shelters, shelterPoints) {
            let cap = s["capacity"]?.intValue.map(String.init) ?? "?"
            let who = s["person_in_charge"]?.stringValue ?? ""
            placer.place(self, text, cr, "\(s["name"]?.stringValue ?? "")\n\(t("容纳", "capacity ")) \(cap) \(t("人", "")) · \(who) \(s["phone"]?.stringValue ?? "")",
                         at: p, radius: 11 * k, size: 9.5 * k, colour: Color(0.02, 0.4, 0.12))
        }
        for h in sheet.nearest where h.reachable {
            let p = vp.local(h.point)
            guard p.0 > 0, p.1 > 0, p.0 < vp.width * vp.scale, p.1 < vp.height * vp.scale else { continue }
            placer.place(self, text, cr, "\(h.name) \(String(format: "%.0f", (h.etaSeconds ?? 0) / 60))\(t("分钟", " min"))", at: p, radius: 9 * k, size: 9 * k, colour: Color(0.6, 0, 0))
        }
    }

    func arrows(_ cr: Canvas, _ pts: [(Double, Double)], every: Double, size: Double) {
        var acc = every / 2
        for i in 1..<pts.count {
            let a = pts[i - 1], b = pts[i]
            let len = hypot(b.0 - a.0, b.1 - a.1)
            guard len > 0 else { continue }
            var t = acc
            while t < len {
                let x = a.0 + (b.0 - a.0) * t / len, y = a.1 + (b.1 - a.1) * t / len
                let ang = atan2(b.1 - a.1, b.0 - a.0)
                cr.save()
                cr.translate(x, y)
                cr.rotate(ang)
                cr.moveTo(size, 0)
                cr.lineTo(-size * 0.7, size * 0.75)
                cr.lineTo(-size * 0.3, 0)
                cr.lineTo(-size * 0.7, -size * 0.75)
                cr.closePath()
                cr.setSourceRGB(1, 1, 1)
                cr.setLineWidth(size * 0.25)
                cr.strokePreserve()
                cr.setSourceRGB(Self.green.r, Self.green.g, Self.green.b)
                cr.fill()
                cr.restore()
                t += every
            }
            acc = t - len
        }
    }

    /// Longitude/latitude lines (inside the clip) or their labels (outside the frame).
    func graticule(_ cr: Canvas, _ text: TextEngine, _ vp: Viewport, frame: (x: Double, y: Double, w: Double, h: Double), k: Double, labels: Bool) {
        let box = vp.bbox()
        let span = max(box.width, box.height)
        let step = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5].first { span / $0 <= 6 } ?? 1
        func dms(_ v: Double, _ pos: String, _ neg: String) -> String {
            let a = abs(v), d = Int(a), mm = Int(((a - Double(d)) * 60).rounded())
            return mm == 60 ? "\(d + 1)°00′\(v >= 0 ? pos : neg)" : String(format: "%d°%02d′%@", d, mm, v >= 0 ? pos : neg)
        }
        var lon = (box.minLon / step).rounded(.up) * step
        while lon <= box.maxLon {
            let x = vp.local(Coord(lon, box.center.lat)).0
            if labels {
                txt(text, cr, dms(lon, "E", "W"), x: frame.x + x - 30 * k, y: frame.y + frame.h + 2 * k, size: 8 * k, width: 60 * k, align: .center, colour: Color(0.3, 0.3, 0.3))
            } else {
                cr.moveTo(x, 0); cr.lineTo(x, frame.h)
            }
            lon += step
        }
        var lat = (box.minLat / step).rounded(.up) * step
        while lat <= box.maxLat {
            let y = vp.local(Coord(box.center.lon, lat)).1
            if labels {
                guard y > 70 * k, y < frame.h - 50 * k else { lat += step; continue }
                label(text, cr, dms(lat, "N", "S"), x: frame.x + 3 * k, y: frame.y + y - 11 * k, size: 8 * k, colour: Color(0.3, 0.3, 0.3))
            } else {
                cr.moveTo(0, y); cr.lineTo(frame.w, y)
            }
            lat += step
        }
        if !labels {
            cr.setSourceRGBA(0.25, 0.25, 0.3, 0.45)
            cr.setLineWidth(0.5 * k)
            cr.stroke()
        }
    }

    func northArrow(_ cr: Canvas, _ text: TextEngine, x: Double, y: Double, k: Double) {
        let w = 30 * k, h = 48 * k
        cr.rectangle(x, y, w, h)
        cr.setSourceRGBA(1, 1, 1, 0.85)
        cr.fill()
        let cx = x + w / 2
        cr.moveTo(cx, y + 16 * k); cr.lineTo(cx + 9 * k, y + h - 6 * k); cr.lineTo(cx, y + h - 13 * k); cr.closePath()
        cr.setSourceRGB(0.1, 0.1, 0.1); cr.fill()
        cr.moveTo(cx, y + 16 * k); cr.lineTo(cx - 9 * k, y + h - 6 * k); cr.lineTo(cx, y + h - 13 * k); cr.closePath()
        cr.setLineWidth(0.8 * k); cr.stroke()
        txt(text, cr, t("北", "N"), x: x, y: y + 1 * k, size: 11 * k, bold: true, width: w, align: .center)
    }

    func scaleBar(_ cr: Canvas, _ text: TextEngine, _ vp: Viewport, denominator: Double, x: Double, y: Double, k: Double, maxWidth: Double) {
        let mPerPt = denominator * 0.0254 / 72
        let lengths: [Double] = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000]
        let L = lengths.last { $0 / mPerPt <= maxWidth } ?? 50
        let w = L / mPerPt, h = 5 * k
        cr.rectangle(x - 6 * k, y - 30 * k, w + 56 * k, 34 * k)
        cr.setSourceRGBA(1, 1, 1, 0.85)
        cr.fill()
        for i in 0..<4 {
            cr.rectangle(x + w * Double(i) / 4, y - h - 4 * k, w / 4, h)
            if i % 2 == 0 { cr.setSourceRGB(0.1, 0.1, 0.1) } else { cr.setSourceRGB(1, 1, 1) }
            cr.fillPreserve()
            cr.setSourceRGB(0.1, 0.1, 0.1)
            cr.setLineWidth(0.6 * k)
            cr.stroke()
        }
        func fmt(_ v: Double) -> String { v >= 1000 ? (v.truncatingRemainder(dividingBy: 1000) == 0 ? "\(Int(v / 1000)) km" : String(format: "%.1f km", v / 1000)) : "\(Int(v)) m" }
        for (f, s) in [(0.0, "0"), (0.5, fmt(L / 2)), (1.0, fmt(L))] {
            txt(text, cr, s, x: x + w * f - 25 * k, y: y - h - 18 * k, size: 8 * k, width: 50 * k, align: .center)
        }
        txt(text, cr, "1:\(Int(denominator))", x: x + w + 4 * k, y: y - 11 * k, size: 8 * k)
    }

    /// The county with its townships, the village and the main map's extent.
    func overview(_ cr: Canvas, _ text: TextEngine, _ vp: Viewport, frame f: (x: Double, y: Double, w: Double, h: Double), k: Double) throws {
        let county = try atlas.source.all("county").first
        let townships = try atlas.source.all("townships")
        let box = county?.geometry.bbox ?? townships.reduce(BBox.empty) { $0.union($1.geometry.bbox) }
        guard !box.isEmpty else { return }
        let ov = Viewport.fitting(box.expanded(by: 0.02), width: f.w, height: f.h, scale: 1, maxZoom: 14)
        // Scale the fitted viewport to fill the inset.
        let a = ov.globalPixel(Coord(box.minLon, box.maxLat)), b = ov.globalPixel(Coord(box.maxLon, box.minLat))
        let sx = (f.w - 8 * k) / (b.0 - a.0), sy = (f.h - 8 * k) / (b.1 - a.1), sc = min(sx, sy)
        func p(_ c: Coord) -> (Double, Double) {
            let g = ov.globalPixel(c)
            return (f.x + 4 * k + (g.0 - a.0) * sc + ((f.w - 8 * k) - (b.0 - a.0) * sc) / 2, f.y + 4 * k + (g.1 - a.1) * sc + ((f.h - 8 * k) - (b.1 - a.1) * sc) / 2)
        }
        cr.rectangle(f.x, f.y, f.w, f.h)
        cr.setSourceRGBA(1, 1, 1, 0.95)
        cr.fillPreserve()
        cr.setSourceRGB(0.2, 0.2, 0.2)
        cr.setLineWidth(0.8 * k)
        cr.stroke()
        func polys(_ g: Geometry) {
            for poly in g.polygons {
                for ring in poly {
                    for (i, c) in ring.enumerated() { let q = p(c); i == 0 ? cr.moveTo(q.0, q.1) : cr.lineTo(q.0, q.1) }
                    cr.closePath()
                }
            }
        }
        for tw in townships { polys(tw.geometry) }
        cr.setSourceRGB(0.55, 0.5, 0.62); cr.setLineWidth(0.5 * k); cr.stroke()
        if let county { polys(county.geometry); cr.setSourceRGB(0.42, 0.31, 0.54); cr.setLineWidth(1.2 * k); cr.stroke() }
        let ext = vp.bbox()
        let q1 = p(Coord(ext.minLon, ext.maxLat)), q2 = p(Coord(ext.maxLon, ext.minLat))
        cr.rectangle(q1.0, q1.1, max(3 * k, q2.0 - q1.0), max(3 * k, q2.1 - q1.1))
        cr.setSourceRGB(0.85, 0, 0); cr.setLineWidth(1.5 * k); cr.stroke()
        txt(text, cr, t("位置示意", "Location"), x: f.x + 4 * k, y: f.y + 2 * k, size: 8 * k, colour: Color(0.3, 0.3, 0.3))
    }

    // MARK: panels

    func panel(_ cr: Canvas, _ text: TextEngine, _ title: String, _ box: (Double, Double, Double, Double), _ k: Double) -> Double {
        cr.rectangle(box.0, box.1, box.2, box.3)
        cr.setSourceRGB(0.15, 0.15, 0.15)
        cr.setLineWidth(0.8 * k)
        cr.stroke()
        cr.rectangle(box.0, box.1, box.2, 18 * k)
        cr.setSourceRGB(0.93, 0.93, 0.9)
        cr.fill()
        txt(text, cr, title, x: box.0 + 6 * k, y: box.1 + 2.5 * k, size: 11 * k, bold: true)
        return box.1 + 24 * k
    }

    /// Only what this page shows: levels of the zones drawn, the style's layers that drew
    /// something (their titles come from the style's "onemap:legend" metadata), and the page's own marks.
    func legend(_ cr: Canvas, _ text: TextEngine, drawn: Set<String>, box: (Double, Double, Double, Double), k: Double) {
        var y = panel(cr, text, t("图　例", "Legend"), box, k)
        let x = box.0 + 8 * k, sw = 22 * k, row = 15.5 * k
        let bottom = box.1 + box.3 - 4 * k
        func entry(_ label: String, _ swatch: () -> Void) {
            guard y + row <= bottom else { return }
            cr.save(); swatch(); cr.restore()
            txt(text, cr, label, x: x + sw + 6 * k, y: y - 1 * k, size: 9 * k, width: box.2 - sw - 20 * k)
            y += row
        }
        let style = (try? atlas.map.style(atlas.styleName))
        let levels = Set(sheet.zones.compactMap { $0["level"]?.intValue }).sorted()
        let levelName = [1: t("Ⅰ级 重大风险区", "Level I (major)"), 2: t("Ⅱ级 较大风险区", "Level II"), 3: t("Ⅲ级 一般风险区", "Level III"), 4: t("Ⅳ级 低风险区", "Level IV (low)")]
        for l in levels {
            entry(levelName[l] ?? "") {
                let c = Self.levelColour[l]!
                cr.rectangle(x, y, sw, 10 * k)
                cr.setSourceRGBA(c.r, c.g, c.b, 0.35); cr.fillPreserve()
                cr.setSourceRGB(c.r, c.g, c.b); cr.setLineWidth(1 * k); cr.stroke()
            }
        }
        entry(t("避险转移路线", "Evacuation route")) {
            cr.moveTo(x, y + 5 * k); cr.lineTo(x + sw, y + 5 * k)
            cr.setSourceRGB(Self.green.r, Self.green.g, Self.green.b); cr.setLineWidth(3.2 * k); cr.stroke()
            arrows(cr, [(x, y + 5 * k), (x + sw, y + 5 * k)], every: 30 * k, size: 5 * k)
        }
        entry(t("集合点", "Assembly point")) { Icons.draw("assembly-point", cr, x: x + sw / 2, y: y + 5 * k, size: 12 * k) }
        entry(t("村界", "Village boundary")) {
            cr.moveTo(x, y + 5 * k); cr.lineTo(x + sw, y + 5 * k)
            cr.setSourceRGB(0.45, 0.15, 0.55); cr.setLineWidth(2 * k); cr.setDash([5 * k, 2 * k]); cr.stroke()
        }
        guard let style else { return }
        let ctx = EvaluationContext(zoom: 14)
        for l in style.layers where drawn.contains(l.id) || (l.type == .symbol && (l.layout["icon-image"].map { e in drawn.contains("icon:" + (e.evaluate(ctx).stringValue ?? "")) } ?? false)) {
            guard let title = l.legend, l.sourceLayer != "hazard_zones" else { continue }
            let label = options.english ? (title.split(separator: " ", maxSplits: 1).last.map(String.init) ?? title) : (title.split(separator: " ").first.map(String.init) ?? title)
            entry(label) { LayerTypes.drawSwatch(l, zoom: 14, on: cr, x: x, y: y, w: sw, h: 10 * k, k: k) }
        }
        let types = Set(sheet.zones.compactMap { $0["type"]?.stringValue }).sorted()
        if !types.isEmpty, y + 2 * row <= bottom {
            txt(text, cr, t("灾种：", "Hazards: ") + types.map { hazardName($0) }.joined(separator: t("、", ", ")),
                x: x, y: y + 2 * k, size: 9 * k, width: box.2 - 16 * k)
        }
    }

    func summary(_ cr: Canvas, _ text: TextEngine, box: (Double, Double, Double, Double), k: Double) {
        var y = panel(cr, text, t("风险与应急信息", "Risk and response"), box, k)
        let x = box.0 + 8 * k, w = box.2 - 16 * k
        func para(_ s: String, bold: Bool = false) {
            guard y < box.1 + box.3 - 12 * k else { return }
            y += txt(text, cr, s, x: x, y: y, size: 9.5 * k, bold: bold, width: w) + 3 * k
        }
        let hh = sheet.zones.reduce(0) { $0 + ($1["households"]?.intValue ?? 0) } + sheet.hazardPoints.reduce(0) { $0 + ($1["households"]?.intValue ?? 0) }
        let pp = sheet.zones.reduce(0) { $0 + ($1["people"]?.intValue ?? 0) } + sheet.hazardPoints.reduce(0) { $0 + ($1["people"]?.intValue ?? 0) }
        para(t("受威胁：\(hh) 户 \(pp) 人", "At risk: \(hh) households, \(pp) persons"), bold: true)
        for z in sheet.zones.sorted(by: { ($0["level"]?.intValue ?? 9) < ($1["level"]?.intValue ?? 9) }).prefix(6) {
            let type = hazardName(z["type"]?.stringValue)
            para("· \(type) \(["", "Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ"][z["level"]?.intValue ?? 0])\(t("级", "")) \(z["name"]?.stringValue ?? "") \(z["season"]?.stringValue ?? "")")
        }
        para(t("预警信号：", "Warning signals: ") + (sheet.village["warning_signals"]?.stringValue ?? t("广播/大喇叭", "broadcast")), bold: true)
        para(t("最近救援力量（含出动时间）：", "Nearest help (with turnout):"), bold: true)
        let kinds = ["fire_stations": t("消防", "Fire"), "micro_fire_stations": t("微型消防站", "Micro fire station"), "warehouses": t("物资库", "Warehouse")]
        for h in sheet.nearest {
            para("· \(kinds[h.kind] ?? h.kind) \(h.name) " + (h.reachable ? String(format: t("%.0f 分钟", "%.0f min"), (h.etaSeconds ?? 0) / 60) : t("无法到达", "unreachable")))
        }
        para(t("避难场所：", "Shelters:"), bold: true)
        for s in sheet.shelters {
            let secs = sheet.evacuation.filter { $0.to.id == s.id }.map(\.seconds).min()
            para("· \(s["name"]?.stringValue ?? "") \(t("容纳", "cap.")) \(s["capacity"]?.intValue ?? 0)\(t("人", "")) " + (secs.map { String(format: t("车程 %.0f 分钟", "%.0f min by road"), $0 / 60) } ?? ""))
        }
    }

    func persons(_ cr: Canvas, _ text: TextEngine, box: (Double, Double, Double, Double), k: Double) {
        var y = panel(cr, text, options.personalData ? t("责任人及联系电话", "Responsible persons")
                      : t("责任人（姓名电话仅限登录用户）", "Responsible persons (names: signed-in only)"), box, k)
        var rows: [(String, String, String)] = []
        for o in sheet.officers.sorted(by: { ($0["role"]?.stringValue ?? "") < ($1["role"]?.stringValue ?? "") }) {
            rows.append((o["role"]?.stringValue.flatMap(OfficerRole.init(rawValue:)).map { options.english ? $0.nameEN : $0.nameCN } ?? "", o["name"]?.stringValue ?? "—", o["phone"]?.stringValue ?? "—"))
        }

        for s in sheet.shelters where s["person_in_charge"] != nil {
            rows.append((t("避难场所负责人", "Shelter manager"), s["person_in_charge"]?.stringValue ?? "", s["phone"]?.stringValue ?? ""))
        }
        for h in sheet.hazardPoints where h["monitor"] != nil {
            rows.append((t("监测人", "Monitor") + "(" + (h["name"]?.stringValue ?? "") + ")", h["monitor"]?.stringValue ?? "", h["phone"]?.stringValue ?? ""))
        }
        let x = box.0 + 6 * k, w = box.2 - 12 * k
        let cols = [0.0, 0.42, 0.72].map { x + $0 * w }
        let row = 14.5 * k
        for (i, h) in [t("职责", "Role"), t("姓名", "Name"), t("电话", "Phone")].enumerated() { txt(text, cr, h, x: cols[i], y: y, size: 9 * k, bold: true) }
        y += row
        for r in rows {
            guard y + row <= box.1 + box.3 - 4 * k else { break }
            cr.moveTo(x, y - 2 * k); cr.lineTo(x + w, y - 2 * k)
            cr.setSourceRGB(0.85, 0.85, 0.85); cr.setLineWidth(0.4 * k); cr.stroke()
            txt(text, cr, r.0, x: cols[0], y: y, size: 8.5 * k, width: cols[1] - cols[0] - 4 * k, ellipsize: true)
            txt(text, cr, r.1, x: cols[1], y: y, size: 8.5 * k, width: cols[2] - cols[1] - 4 * k, ellipsize: true)
            txt(text, cr, r.2, x: cols[2], y: y, size: 8.5 * k)
            y += row
        }
    }

    // MARK: text

    /// A map label with a white halo.
    func label(_ text: TextEngine, _ cr: Canvas, _ s: String, x: Double, y: Double, size: Double, colour: Color) {
        cr.draw(text.layout(s, size: size, bold: true), x: x, y: y, color: Color(colour.r, colour.g, colour.b), halo: Color(1, 1, 1, 0.95), haloWidth: 1.6)
    }
}

/// Labels of the page's own marks, each put on the first side of its mark (right, left, above,
/// below) where it overlaps no other mark or label.
final class OverlayLabels {
    private var taken: [(Double, Double, Double, Double)] = []

    func occupy(_ p: (Double, Double), radius r: Double) { taken.append((p.0 - r, p.1 - r, p.0 + r, p.1 + r)) }

    func place(_ page: PageLayout, _ text: TextEngine, _ cr: Canvas, _ s: String, at p: (Double, Double), radius r: Double, size: Double, colour: Color) {
        let (w, h) = text.layout(s, size: size, bold: true).size
        let gap = 3.0
        let candidates = [(p.0 + r + gap, p.1 - h / 2), (p.0 - r - gap - w, p.1 - h / 2), (p.0 - w / 2, p.1 - r - gap - h), (p.0 - w / 2, p.1 + r + gap)]
        func free(_ c: (Double, Double)) -> Bool {
            !taken.contains { !($0.2 < c.0 || $0.0 > c.0 + w || $0.3 < c.1 || $0.1 > c.1 + h) }
        }
        let spot = candidates.first(where: free) ?? candidates[0]
        taken.append((spot.0, spot.1, spot.0 + w, spot.1 + h))
        page.label(text, cr, s, x: spot.0, y: spot.1, size: size, colour: colour)
    }
}

/// How a printed text is aligned in its width.
enum Align { case left, center, right }

/// Draws text with its top-left at (x, y); returns its height.
@discardableResult
func txt(_ text: TextEngine, _ cr: Canvas, _ s: String, x: Double, y: Double, size: Double, bold: Bool = false, width: Double? = nil,
         align: Align = .left, colour: Color = Color(0.08, 0.08, 0.08), ellipsize: Bool = false) -> Double
{
    let l = text.layout(s, size: size, bold: bold)
    if let width {
        let a: TextLayout.Alignment = align == .center ? .center : (align == .right ? .right : .left)
        if ellipsize { l.ellipsize(width: width, align: a) } else { l.wrap(width: width, align: a) }
    }
    cr.draw(l, x: x, y: y, color: colour)
    return l.size.h
}
