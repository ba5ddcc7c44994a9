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

    /// Draws the page. Returns what did not fit on it (persons rows, summary lines), which
    /// `VillageAtlas.record` prints on continuation pages (续表) — nothing is dropped.
    func draw() throws -> PageOverflow {
        let cr = page.canvas
        let canvas = cr
        let text = TextEngine()
        let W = page.width, H = page.height
        let k = min(W, H) / 841.89  // 1 on A3, 0.71 on A4
        let m = 28 * k
        canvas.fillAll(Color(1, 1, 1))

        // Title block: the title shrinks to fit one line (24 → 15 pt on A3), else wraps; the
        // subtitle goes below whatever height the title took.
        var y = m
        y += drawTitle(text, cr, x: m, y: y, width: W - 2 * m, k: k) + 3 * k
        y += txt(text, cr, t("编制单位：\(options.compiler)　　编制日期：\(options.date)　　数据：演示数据（合成，非实测）",
                             "Compiled by \(options.compiler) · \(options.dateEN) · demonstration data (synthetic, not surveyed)"),
                 x: m, y: y, size: 10.5 * k, width: W - 2 * m, align: .center, colour: Color(0.3, 0.3, 0.3)) + 8 * k
        let top = y

        // Frames. Below the map frame: its longitude labels (≈ 12 pt), then the panels.
        let landscape = W > H
        let mapFrame: Frame
        let side: Frame
        let below = 16 * k
        if landscape {
            mapFrame = Frame(m, top, (W - 2 * m) * 0.66, H - m - below - top)
            side = Frame(mapFrame.x + mapFrame.w + 14 * k, top, W - m - (mapFrame.x + mapFrame.w + 14 * k), H - m - top)
        } else {
            mapFrame = Frame(m, top, W - 2 * m, (H - m - top) * 0.71)
            side = Frame(m, mapFrame.y + mapFrame.h + below, W - 2 * m, H - m - (mapFrame.y + mapFrame.h + below))
        }

        // One placement pass for the whole map frame: the frame's furniture first (north arrow,
        // scale bar, inset, latitude labels), then the page's own marks and labels, then the
        // map's labels, which give way to all of these.
        let (vp, denominator) = viewport(frame: mapFrame)
        let style = try atlas.map.style(atlas.styleName)
        let place = PagePlacement(bounds: Box(mapFrame.x + 3 * k, mapFrame.y + 3 * k, mapFrame.x + mapFrame.w - 3 * k, mapFrame.y + mapFrame.h - 3 * k))
        let arrowBox = Box(mapFrame.x + 14 * k, mapFrame.y + 14 * k, mapFrame.x + 44 * k, mapFrame.y + 62 * k)
        let bar = scaleBarLayout(text, denominator: denominator, x: mapFrame.x + 12 * k, y: mapFrame.y + mapFrame.h - 12 * k, k: k, maxWidth: mapFrame.w * 0.3)
        let inset = Frame(mapFrame.x + mapFrame.w - 180 * k, mapFrame.y + 10 * k, 170 * k, 140 * k)
        let latLabels = graticuleLabels(text, vp, frame: mapFrame, k: k)
        for b in [arrowBox, bar.box, inset.box] + latLabels.filter({ $0.inside }).map(\.box) { place.hard(b.grown(2 * k)) }
        let marks = displaced(overlayMarks(vp, mapFrame, k), within: place.bounds, k: k)
        for mk in marks { place.hard(mk.box) }
        place.map = try atlas.map.labels(style: style, viewport: vp).map { $0.offset(mapFrame.x, mapFrame.y) }
        place.replaced = Set(sheet.nearest.filter(\.reachable).map(\.name) + sheet.hazardPoints.compactMap { $0["name"]?.stringValue })
        var pageLabels = overlayLabels(text, vp, mapFrame, k)
        // Each label at its mark's drawn place (a displaced mark takes its label along).
        for (i, l) in pageLabels.enumerated() {
            if let mk = marks.first(where: { $0.origin.map { o in abs(o.0 - l.at.0) < 0.01 && abs(o.1 - l.at.1) < 0.01 } ?? false }) { pageLabels[i].at = (mk.x, mk.y) }
        }
        for l in pageLabels { place.place(l, text: text, k: k) }

        // Main map at a round scale.
        var drawn = Set<String>()
        cr.save()
        cr.rectangle(mapFrame.x, mapFrame.y, mapFrame.w, mapFrame.h)
        cr.clip()
        cr.translate(mapFrame.x, mapFrame.y)
        try atlas.map.draw(style: style, viewport: vp, canvas: canvas, text: text, drawn: { drawn.insert($0) },
                           keep: { place.keep($0.offset(mapFrame.x, mapFrame.y)) })
        drawOverlays(cr, vp, k)
        graticule(cr, vp, frame: mapFrame, k: k)
        cr.restore()
        for mk in marks {
            if let (ox, oy) = mk.origin {
                // Displaced from its true place by a mark already there: a tick line back to it.
                cr.moveTo(ox, oy); cr.lineTo(mk.x, mk.y)
                cr.setSourceRGBA(0.2, 0.2, 0.2, 0.8); cr.setLineWidth(0.7 * k); cr.stroke()
                cr.newPath(); cr.arc(ox, oy, 1.6 * k, 0, 2 * .pi); cr.setSourceRGB(0.2, 0.2, 0.2); cr.fill()
            }
            Icons.draw(mk.icon, cr, x: mk.x, y: mk.y, size: mk.size)
            drawn.insert("icon:" + mk.icon)
        }
        place.drawLabels(cr, text)
        for l in latLabels { label(text, cr, l.text, x: l.box.x0, y: l.box.y0, size: 8 * k, colour: Color(0.3, 0.3, 0.3)) }
        cr.setSourceRGB(0.1, 0.1, 0.1)
        cr.setLineWidth(1.2 * k)
        cr.rectangle(mapFrame.x, mapFrame.y, mapFrame.w, mapFrame.h)
        cr.stroke()
        northArrow(cr, text, box: arrowBox, k: k)
        scaleBar(cr, text, bar, k: k)
        try overview(cr, text, vp, frame: inset, k: k)

        // Legend (the levels of every zone in view, not only the village's), summary and
        // responsible persons; what does not fit continues overleaf.
        let routesVisible = sheet.evacuation.contains { e in
            zip(e.route, e.route.dropFirst()).reduce(0.0) { d, s in let a = vp.local(s.0), b = vp.local(s.1); return d + hypot(b.0 - a.0, b.1 - a.1) } > 8 * k
        }
        let levels = Set(try atlas.source.features(FeatureQuery(layer: "hazard_zones", bbox: vp.bbox(), predicate: .geometry)).compactMap { $0["level"]?.intValue }).sorted()
        var overflow = PageOverflow()
        if landscape {
            let lh = side.h * 0.36, ih = side.h * 0.30
            legend(cr, text, drawn: drawn, levels: levels, routesVisible: routesVisible, box: Frame(side.x, side.y, side.w, lh - 8 * k), k: k)
            overflow.summary = summary(cr, text, box: Frame(side.x, side.y + lh, side.w, ih - 8 * k), unplaced: place.unplaced, k: k)
            overflow.persons = persons(cr, text, box: Frame(side.x, side.y + lh + ih, side.w, side.h - lh - ih), k: k)
        } else {
            let lw = side.w * 0.27, sw = side.w * 0.31
            legend(cr, text, drawn: drawn, levels: levels, routesVisible: routesVisible, box: Frame(side.x, side.y, lw - 8 * k, side.h), k: k)
            overflow.summary = summary(cr, text, box: Frame(side.x + lw, side.y, sw - 8 * k, side.h), unplaced: place.unplaced, k: k)
            overflow.persons = persons(cr, text, box: Frame(side.x + lw + sw, side.y, side.w - lw - sw, side.h), k: k)
        }
        try canvas.check("draw the page of \(sheet.village["name"]?.stringValue ?? sheet.village.id)")
        return overflow
    }

    /// The page title, as large as fits on one line down to 15 pt (× k), else wrapped; returns its height.
    func drawTitle(_ text: TextEngine, _ cr: Canvas, x: Double, y: Double, width: Double, k: Double) -> Double {
        let name = Bidi.isolate(sheet.village["name"]?.stringValue ?? sheet.village.id)
        let title = options.english ? "Yumin County · \(Bidi.isolate(sheet.township)) · \(name) — Disaster Risk and Evacuation Map" : "裕民县\(Bidi.isolate(sheet.township))\(name)灾害风险与避险转移图"
        let l = fitted(text, title, size: 24 * k, minSize: 15 * k, width: width, bold: true)
        l.wrap(width: width, align: .center)
        cr.draw(l, x: x, y: y, color: Color(0.08, 0.08, 0.08))
        return l.size.h
    }

    /// Page footer of the village's continuation pages.
    func continuationTitle() -> String {
        let name = Bidi.isolate(sheet.village["name"]?.stringValue ?? sheet.village.id)
        return options.english ? "Yumin County · \(Bidi.isolate(sheet.township)) · \(name) — Disaster Risk and Evacuation Map (continued)" : "裕民县\(Bidi.isolate(sheet.township))\(name)灾害风险与避险转移图（续）"
    }

    // MARK: map

    /// The viewport showing the village with a margin at the largest round scale that fits.
    func viewport(frame: Frame) -> (Viewport, Double) {
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

    /// The village boundary and the evacuation routes (green, with arrows along them).
    func drawOverlays(_ cr: Canvas, _ vp: Viewport, _ k: Double) {
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
    }

    /// The page's own marks, in page coordinates: the assembly point at the village centre, the
    /// village's shelters and the nearest help (those inside the map frame).
    func overlayMarks(_ vp: Viewport, _ f: Frame, _ k: Double) -> [PageMark] {
        func at(_ c: Coord) -> (Double, Double) { let p = vp.local(c); return (f.x + p.0, f.y + p.1) }
        var out = [PageMark(icon: "assembly-point", at: at(sheet.centre), size: 20 * k)]
        for s in sheet.shelters { out.append(PageMark(icon: "shelter", at: at(s.geometry.representativePoint), size: 22 * k)) }
        // The nearest help the page labels with its minutes: its symbol is the page's own, so a
        // leader line always ends at one (the map's label of it gives way entirely).
        let icon = ["fire_stations": "fire-station", "micro_fire_stations": "micro-fire-station", "warehouses": "warehouse"]
        for h in sheet.nearest where h.reachable { out.append(PageMark(icon: icon[h.kind] ?? "fire-station", at: at(h.point), size: 16 * k)) }
        // The village's hazard points, named on the page (the map's own symbols give way).
        for h in sheet.hazardPoints { out.append(PageMark(icon: "hazard-point", at: at(h.geometry.representativePoint), size: 15 * k)) }
        return out.filter { f.box.contains($0.x, $0.y) }
    }

    /// Marks moved apart where they would cover one another (the assembly point, a shelter and a
    /// micro fire station often stand at the village committee): a later mark takes the first
    /// free spot on a ring around its true place; `origin` keeps the true place for a tick line.
    func displaced(_ marks: [PageMark], within bounds: Box, k: Double) -> [PageMark] {
        var out: [PageMark] = []
        for var mk in marks {
            if out.contains(where: { $0.box.overlaps(mk.box) }) {
                let x = mk.x, y = mk.y
                search: for ring in 1...3 {
                    let d = Double(ring) * (mk.size + 4 * k)
                    for a in stride(from: -90.0, to: 270, by: 45) {
                        var m = mk
                        m.x = x + d * cos(a * .pi / 180); m.y = y + d * sin(a * .pi / 180)
                        if m.box.within(bounds), !out.contains(where: { $0.box.overlaps(m.box) }) { mk = m; mk.origin = (x, y); break search }
                    }
                }
            }
            out.append(mk)
        }
        return out
    }

    /// The page's own labels in priority order: assembly point, shelters (capacity, person in
    /// charge, phone), then the nearest help with its time by road. Names are bidi-isolated
    /// and phones kept left to right, so a Uyghur or Kazakh name never reorders the digits.
    func overlayLabels(_ text: TextEngine, _ vp: Viewport, _ f: Frame, _ k: Double) -> [PageLabel] {
        func at(_ c: Coord) -> (Double, Double) { let p = vp.local(c); return (f.x + p.0, f.y + p.1) }
        let maxW = min(170 * k, f.w * 0.4)
        var out = [PageLabel(text: t("集合点（村委会）", "Assembly point"), at: at(sheet.centre), radius: 10 * k, size: 10 * k, colour: Self.green, maxWidth: maxW)]
        for s in sheet.shelters {
            let cap = s["capacity"]?.intValue.map(String.init) ?? "?"
            let who = fields([s["person_in_charge"]?.stringValue.map(Bidi.isolate), s["phone"]?.stringValue.map(Bidi.leftToRight)].compactMap { $0 })
            let line2 = t("容纳 \(cap) 人", "capacity \(cap)") + (who.isEmpty ? "" : " · \(who)")
            out.append(PageLabel(text: fields([Bidi.isolate(s["name"]?.stringValue ?? ""), line2], lines: true), at: at(s.geometry.representativePoint), radius: 11 * k,
                                 size: 9.5 * k, colour: Color(0.02, 0.4, 0.12), maxWidth: maxW))
        }
        for h in sheet.hazardPoints {
            out.append(PageLabel(text: Bidi.isolate(h["name"]?.stringValue ?? ""), at: at(h.geometry.representativePoint), radius: 8 * k, size: 8.5 * k,
                                 colour: Color(0.55, 0.35, 0), maxWidth: maxW))
        }
        for h in sheet.nearest where h.reachable {
            out.append(PageLabel(text: "\(Bidi.isolate(h.name)) \(String(format: "%.0f", (h.etaSeconds ?? 0) / 60))\(t("分钟", " min"))", at: at(h.point), radius: 9 * k,
                                 size: 9 * k, colour: Color(0.6, 0, 0), maxWidth: maxW))
        }
        return out.filter { f.box.contains($0.at.0, $0.at.1) }
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

    /// The graticule's step in degrees for a viewport (at most about 6 lines across).
    func graticuleStep(_ vp: Viewport) -> Double {
        let box = vp.bbox()
        let span = max(box.width, box.height)
        return [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5].first { span / $0 <= 6 } ?? 1
    }

    /// Longitude/latitude lines, drawn inside the map's clip (frame-local coordinates).
    func graticule(_ cr: Canvas, _ vp: Viewport, frame: Frame, k: Double) {
        let box = vp.bbox(), step = graticuleStep(vp)
        var lon = (box.minLon / step).rounded(.up) * step
        while lon <= box.maxLon {
            let x = vp.local(Coord(lon, box.center.lat)).0
            cr.moveTo(x, 0); cr.lineTo(x, frame.h)
            lon += step
        }
        var lat = (box.minLat / step).rounded(.up) * step
        while lat <= box.maxLat {
            let y = vp.local(Coord(box.center.lon, lat)).1
            cr.moveTo(0, y); cr.lineTo(frame.w, y)
            lat += step
        }
        cr.setSourceRGBA(0.25, 0.25, 0.3, 0.45)
        cr.setLineWidth(0.5 * k)
        cr.stroke()
    }

    /// The graticule's labels in page coordinates: longitudes centred below the frame,
    /// latitudes just inside its left edge (clear of the north arrow and the scale bar).
    func graticuleLabels(_ text: TextEngine, _ vp: Viewport, frame: Frame, k: Double) -> [(text: String, box: Box, inside: Bool)] {
        let box = vp.bbox(), step = graticuleStep(vp)
        // Whole minutes when the step is a whole number of minutes, else with seconds (a 0.005°
        // step is 18″: rounded to minutes, two lines would carry the same label).
        let withSeconds = abs(step * 60 - (step * 60).rounded()) > 1e-9
        func dms(_ v: Double, _ pos: String, _ neg: String) -> String {
            let total = Int((abs(v) * (withSeconds ? 3600 : 60)).rounded())
            let hemi = v >= 0 ? pos : neg
            if withSeconds { return String(format: "%d°%02d′%02d″%@", total / 3600, total / 60 % 60, total % 60, hemi) }
            return String(format: "%d°%02d′%@", total / 60, total % 60, hemi)
        }
        var out: [(String, Box, Bool)] = []
        var lon = (box.minLon / step).rounded(.up) * step
        while lon <= box.maxLon {
            let x = frame.x + vp.local(Coord(lon, box.center.lat)).0
            let s = dms(lon, "E", "W"), (w, h) = text.layout(s, size: 8 * k, bold: true).size
            if x - w / 2 >= frame.x, x + w / 2 <= frame.x + frame.w { out.append((s, Box(x - w / 2, frame.y + frame.h + 2 * k, x + w / 2, frame.y + frame.h + 2 * k + h), false)) }
            lon += step
        }
        var lat = (box.minLat / step).rounded(.up) * step
        while lat <= box.maxLat {
            let y = vp.local(Coord(box.center.lon, lat)).1
            if y > 70 * k, y < frame.h - 50 * k {
                let s = dms(lat, "N", "S"), (w, h) = text.layout(s, size: 8 * k, bold: true).size
                out.append((s, Box(frame.x + 3 * k, frame.y + y - 2 * k - h, frame.x + 3 * k + w, frame.y + y - 2 * k), true))
            }
            lat += step
        }
        return out
    }

    func northArrow(_ cr: Canvas, _ text: TextEngine, box: Box, k: Double) {
        let x = box.x0, y = box.y0, w = box.x1 - box.x0, h = box.y1 - box.y0
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

    /// A scale bar's length (metres), drawn width and box, from the page's scale.
    struct ScaleBar { var metres: Double; var width: Double; var x: Double; var y: Double; var denominator: Double; var box: Box }

    func scaleBarLayout(_ text: TextEngine, denominator: Double, x: Double, y: Double, k: Double, maxWidth: Double) -> ScaleBar {
        let mPerPt = denominator * 0.0254 / 72
        let lengths: [Double] = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000]
        let L = lengths.last { $0 / mPerPt <= maxWidth } ?? 50
        let w = L / mPerPt
        let ratio = text.layout("1:\(Int(denominator))", size: 8 * k).size.w
        return ScaleBar(metres: L, width: w, x: x, y: y, denominator: denominator,
                        box: Box(x - 6 * k, y - 30 * k, x + w + max(25 * k, 4 * k + ratio) + 6 * k, y + 4 * k))
    }

    func scaleBar(_ cr: Canvas, _ text: TextEngine, _ b: ScaleBar, k: Double) {
        let x = b.x, y = b.y, w = b.width, h = 5 * k, L = b.metres
        cr.rectangle(b.box.x0, b.box.y0, b.box.x1 - b.box.x0, b.box.y1 - b.box.y0)
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
        txt(text, cr, "1:\(Int(b.denominator))", x: x + w + 4 * k, y: y - 11 * k, size: 8 * k)
    }

    /// The county with its townships, the village and the main map's extent.
    func overview(_ cr: Canvas, _ text: TextEngine, _ vp: Viewport, frame f: Frame, k: Double) throws {
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

    /// A panel's frame and title band (the title shrinks to fit); returns the y below the band.
    func panel(_ cr: Canvas, _ text: TextEngine, _ title: String, _ box: Frame, _ k: Double) -> Double {
        cr.rectangle(box.x, box.y, box.w, box.h)
        cr.setSourceRGB(0.15, 0.15, 0.15)
        cr.setLineWidth(0.8 * k)
        cr.stroke()
        let l = fitted(text, title, size: 11 * k, minSize: 7.5 * k, width: box.w - 12 * k, bold: true)
        let band = max(18 * k, l.size.h + 4 * k)
        cr.rectangle(box.x, box.y, box.w, band)
        cr.setSourceRGB(0.93, 0.93, 0.9)
        cr.fill()
        cr.draw(l, x: box.x + 6 * k, y: box.y + (band - l.size.h) / 2, color: Color(0.08, 0.08, 0.08))
        return box.y + band + 6 * k
    }

    /// Only what this page shows: levels of the zones drawn, the style's layers that drew
    /// something (their titles come from the style's "onemap:legend" metadata), and the page's
    /// own marks. Entries are measured; when one column is full they continue in a second.
    func legend(_ cr: Canvas, _ text: TextEngine, drawn: Set<String>, levels: [Int], routesVisible: Bool, box: Frame, k: Double) {
        let top = panel(cr, text, t("图　例", "Legend"), box, k)
        var entries: [(String, (Double, Double) -> Void)] = []
        let sw = 22 * k
        let levelName = [1: t("Ⅰ级 重大风险区", "Level I (major)"), 2: t("Ⅱ级 较大风险区", "Level II"), 3: t("Ⅲ级 一般风险区", "Level III"), 4: t("Ⅳ级 低风险区", "Level IV (low)")]
        for l in levels {
            entries.append((levelName[l] ?? "", { x, y in
                let c = Self.levelColour[l]!
                cr.rectangle(x, y, sw, 10 * k)
                cr.setSourceRGBA(c.r, c.g, c.b, 0.35); cr.fillPreserve()
                cr.setSourceRGB(c.r, c.g, c.b); cr.setLineWidth(1 * k); cr.stroke()
            }))
        }
        if routesVisible { entries.append((t("避险转移路线", "Evacuation route"), { x, y in
            cr.moveTo(x, y + 5 * k); cr.lineTo(x + sw, y + 5 * k)
            cr.setSourceRGB(Self.green.r, Self.green.g, Self.green.b); cr.setLineWidth(3.2 * k); cr.stroke()
            self.arrows(cr, [(x, y + 5 * k), (x + sw, y + 5 * k)], every: 30 * k, size: 5 * k)
        })) }
        entries.append((t("集合点", "Assembly point"), { x, y in Icons.draw("assembly-point", cr, x: x + sw / 2, y: y + 5 * k, size: 12 * k) }))
        entries.append((t("村界", "Village boundary"), { x, y in
            cr.moveTo(x, y + 5 * k); cr.lineTo(x + sw, y + 5 * k)
            cr.setSourceRGB(0.45, 0.15, 0.55); cr.setLineWidth(2 * k); cr.setDash([5 * k, 2 * k]); cr.stroke()
        }))
        if let style = try? atlas.map.style(atlas.styleName) {
            let ctx = EvaluationContext(zoom: 14)
            for l in style.layers where drawn.contains(l.id) || (l.type == .symbol && (l.layout["icon-image"].map { e in drawn.contains("icon:" + (e.evaluate(ctx).stringValue ?? "")) } ?? false)) {
                guard let title = l.legend, l.sourceLayer != "hazard_zones" else { continue }
                let label = options.english ? (title.split(separator: " ", maxSplits: 1).last.map(String.init) ?? title) : (title.split(separator: " ").first.map(String.init) ?? title)
                // One entry per name: the page's own dashed boundary already says 村界.
                guard !entries.contains(where: { $0.0 == label }) else { continue }
                entries.append((label, { x, y in LayerTypes.drawSwatch(l, zoom: 14, on: cr, x: x, y: y, w: sw, h: 10 * k, k: k) }))
            }
        }
        let types = Set(sheet.zones.compactMap { $0["type"]?.stringValue }).sorted()
        let hazards = types.isEmpty ? nil : t("灾种：", "Hazards: ") + types.map { hazardName($0) }.joined(separator: t("、", ", "))
        // One column if everything fits, else two.
        let bottom = box.y + box.h - 4 * k
        let inner = box.w - 16 * k
        func heights(_ colW: Double) -> [Double] {
            entries.map { e in max(15.5 * k, text.layout(e.0, size: 9 * k).wrappedHeight(colW - sw - 6 * k) + 4 * k) }
        }
        var columns = 1
        var hs = heights(inner)
        let hazardH = hazards.map { text.layout($0, size: 9 * k).wrappedHeight(inner) + 4 * k } ?? 0
        if top + hs.reduce(0, +) + hazardH > bottom { columns = 2; hs = heights(inner / 2 - 4 * k) }
        let colW = columns == 1 ? inner : inner / 2 - 4 * k
        var x = box.x + 8 * k, y = top
        for (e, h) in zip(entries, hs) {
            if y + h > bottom - hazardH, columns == 2, x == box.x + 8 * k { x += colW + 8 * k; y = top }
            guard y + h <= bottom - hazardH else { break }
            cr.save(); e.1(x, y); cr.restore()
            txt(text, cr, e.0, x: x + sw + 6 * k, y: y - 1 * k, size: 9 * k, width: colW - sw - 6 * k)
            y += h
        }
        if let hazards { txt(text, cr, hazards, x: box.x + 8 * k, y: bottom - hazardH + 2 * k, size: 9 * k, width: inner) }
    }

    /// Risk and response: people at risk, zones, warning signals, nearest help, shelters (and
    /// any page label that found no place on the map). Paragraphs that do not fit are returned
    /// for the continuation page.
    func summary(_ cr: Canvas, _ text: TextEngine, box: Frame, unplaced: [String], k: Double) -> [(String, Bool)] {
        var y = panel(cr, text, t("风险与应急信息", "Risk and response"), box, k)
        let x = box.x + 8 * k, w = box.w - 16 * k
        var paras: [(String, Bool)] = []
        // A zone's households and people are the zone's (a county-wide earthquake zone counts the
        // county): the village's own figures when it lies in a zone, plus its hazard points'.
        let vh = sheet.village["households"]?.intValue ?? 0, vp = sheet.village["population"]?.intValue ?? 0
        let ph = sheet.hazardPoints.reduce(0) { $0 + ($1["households"]?.intValue ?? 0) }, pp = sheet.hazardPoints.reduce(0) { $0 + ($1["people"]?.intValue ?? 0) }
        if !sheet.zones.isEmpty {
            paras.append((t("受威胁：全村 \(vh) 户 \(vp) 人（位于 \(sheet.zones.count) 个风险区）", "At risk: the village's \(vh) households, \(vp) persons (in \(sheet.zones.count) risk zone\(sheet.zones.count == 1 ? "" : "s"))"), true))
        }
        if !sheet.hazardPoints.isEmpty {
            paras.append((t("隐患点威胁：\(ph) 户 \(pp) 人", "Hazard points threaten \(ph) households, \(pp) persons"), true))
        }
        if sheet.zones.isEmpty && sheet.hazardPoints.isEmpty { paras.append((t("受威胁：未划入风险区", "At risk: in no mapped risk zone"), true)) }
        for z in sheet.zones.sorted(by: { ($0["level"]?.intValue ?? 9, $0.id) < ($1["level"]?.intValue ?? 9, $1.id) }) {
            let type = hazardName(z["type"]?.stringValue)
            paras.append(("· \(type) \(["", "Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ"][z["level"]?.intValue ?? 0])\(t("级", "")) \(Bidi.isolate(z["name"]?.stringValue ?? "")) \(z["season"]?.stringValue ?? "")", false))
        }
        paras.append((t("预警信号：", "Warning signals: ") + (sheet.village["warning_signals"]?.stringValue ?? t("广播/大喇叭", "broadcast")), true))
        paras.append((t("最近救援力量（含出动时间）：", "Nearest help (with turnout):"), true))
        let kinds = ["fire_stations": t("消防", "Fire"), "micro_fire_stations": t("微型消防站", "Micro fire station"), "warehouses": t("物资库", "Warehouse")]
        for h in sheet.nearest {
            paras.append(("· \(kinds[h.kind] ?? h.kind) \(Bidi.isolate(h.name)) " + (h.reachable ? String(format: t("%.0f 分钟", "%.0f min"), (h.etaSeconds ?? 0) / 60) : t("无法到达", "unreachable")), false))
        }
        paras.append((t("避难场所：", "Shelters:"), true))
        for s in sheet.shelters {
            let secs = sheet.evacuation.filter { $0.to.id == s.id }.map(\.seconds).min()
            paras.append(("· \(Bidi.isolate(s["name"]?.stringValue ?? "")) \(t("容纳", "cap.")) \(s["capacity"]?.intValue ?? 0)\(t("人", "")) " + (secs.map { String(format: t("车程 %.0f 分钟", "%.0f min by road"), $0 / 60) } ?? ""), false))
        }
        if !unplaced.isEmpty {
            paras.append((t("图上未能注记（位置见图中符号）：", "Not labelled on the map (see the symbols):"), true))
            for u in unplaced { paras.append(("· " + u.replacingOccurrences(of: "\n", with: " "), false)) }
        }
        let bottom = box.y + box.h - 4 * k
        let note = t("（续见下页）", "(continued overleaf)")
        let noteH = text.layout(note, size: 9 * k).size.h
        func height(_ i: Int) -> Double { text.layout(paras[i].0, size: 9.5 * k, bold: paras[i].1).wrappedHeight(w) }
        for (i, p) in paras.enumerated() {
            let h = height(i)
            let last = i == paras.count - 1
            // A heading (bold) stays with the line after it.
            let next = p.1 && !last ? height(i + 1) + 3 * k : 0
            guard y + h + next + (last ? 0 : noteH) <= bottom || (last && y + h <= bottom) else {
                txt(text, cr, note, x: x, y: y, size: 9 * k, colour: Color(0.4, 0.4, 0.4))
                return Array(paras[i...])
            }
            txt(text, cr, p.0, x: x, y: y, size: 9.5 * k, bold: p.1, width: w)
            y += h + 3 * k
        }
        return []
    }

    /// Everyone responsible, in the order roles, name, phone (phones left to right). Column
    /// widths come from the content; names wrap. The rows that do not fit are returned with the
    /// table for the continuation page, and the page says how many and where.
    func persons(_ cr: Canvas, _ text: TextEngine, box: Frame, k: Double) -> (table: PrintTable, from: Int)? {
        let y = panel(cr, text, options.personalData ? t("责任人及联系电话", "Responsible persons")
                      : t("责任人（姓名电话仅限登录用户）", "Responsible persons (names: signed-in only)"), box, k)
        let table = personsTable(text, width: box.w - 12 * k, k: k)
        let note = t("（共 \(table.rows.count) 人，其余见续表）", "(\(table.rows.count) in all; the rest on the continuation page)")
        let noteH = text.layout(note, size: 8.5 * k).wrappedHeight(box.w - 12 * k) + 2 * k
        let x = box.x + 6 * k, w = box.w - 12 * k, bottom = box.y + box.h - 4 * k
        if table.fitting(text, from: 0, y: y, width: w, bottom: bottom, k: k) >= table.rows.count {
            _ = table.draw(text, cr, from: 0, x: x, y: y, width: w, bottom: bottom, k: k)
            return nil
        }
        // Not all fit: leave room for the note saying how many and where the rest are.
        let r = table.draw(text, cr, from: 0, x: x, y: y, width: w, bottom: bottom - noteH, k: k)
        txt(text, cr, note, x: x, y: r.y + 2 * k, size: 8.5 * k, width: w, colour: Color(0.6, 0, 0))
        return (table, r.next)
    }

    /// The persons table: information officers and other village roles, shelter managers,
    /// hazard-point monitors.
    func personsTable(_ text: TextEngine, width: Double, k: Double) -> PrintTable {
        var rows: [[String]] = []
        let order = ["admin_responsible", "evacuation_lead", "info_officer", "monitor"]
        for o in sheet.officers.sorted(by: { (order.firstIndex(of: $0["role"]?.stringValue ?? "") ?? 9, $0.id) < (order.firstIndex(of: $1["role"]?.stringValue ?? "") ?? 9, $1.id) }) {
            rows.append([o["role"]?.stringValue.flatMap(OfficerRole.init(rawValue:)).map { options.english ? $0.nameEN : $0.nameCN } ?? "",
                         Bidi.isolate(o["name"]?.stringValue ?? "—"), Bidi.leftToRight(o["phone"]?.stringValue ?? "—")])
        }
        for s in sheet.shelters where s["person_in_charge"] != nil {
            rows.append([t("避难场所负责人", "Shelter manager") + "（" + Bidi.isolate(s["name"]?.stringValue ?? "") + "）",
                         Bidi.isolate(s["person_in_charge"]?.stringValue ?? "—"), Bidi.leftToRight(s["phone"]?.stringValue ?? "—")])
        }
        for h in sheet.hazardPoints where h["monitor"] != nil {
            rows.append([t("监测人", "Monitor") + "（" + Bidi.isolate(h["name"]?.stringValue ?? "") + "）", Bidi.isolate(h["monitor"]?.stringValue ?? "—"),
                         Bidi.leftToRight(h["phone"]?.stringValue ?? "—")])
        }
        let header = [t("职责", "Role"), t("姓名", "Name"), t("电话", "Phone")]
        let widths = PrintTable.measuredWidths(text, header: header, rows: rows, width: width / k, size: 8.5, cap: [0.45, 0.45, 0.4], wrap: [true, true, false])
        return PrintTable(heading: options.personalData ? t("责任人及联系电话", "Responsible persons") : t("责任人（姓名电话仅限登录用户）", "Responsible persons (names: signed-in only)"),
                          header: header, widths: widths, rows: rows)
    }

    // MARK: text

    /// A map label with a white halo.
    func label(_ text: TextEngine, _ cr: Canvas, _ s: String, x: Double, y: Double, size: Double, colour: Color) {
        cr.draw(text.layout(s, size: size, bold: true), x: x, y: y, color: Color(colour.r, colour.g, colour.b), halo: Color(1, 1, 1, 0.95), haloWidth: 1.6)
    }
}

/// What a village page could not hold, printed on its continuation page(s).
struct PageOverflow {
    /// Summary paragraphs (text, bold) not printed.
    var summary: [(String, Bool)] = []
    /// The persons table and the first row not printed.
    var persons: (table: PrintTable, from: Int)?
    var isEmpty: Bool { summary.isEmpty && persons == nil }
}

/// A rectangle on the page by origin and size (points).
struct Frame {
    var x, y, w, h: Double
    init(_ x: Double, _ y: Double, _ w: Double, _ h: Double) { self.x = x; self.y = y; self.w = w; self.h = h }
    var box: Box { Box(x, y, x + w, y + h) }
}

/// A rectangle on the page by its corners (points).
struct Box {
    var x0, y0, x1, y1: Double
    init(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) { self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1 }
    func overlaps(_ o: Box) -> Bool { x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1 }
    func within(_ o: Box) -> Bool { x0 >= o.x0 && y0 >= o.y0 && x1 <= o.x1 && y1 <= o.y1 }
    func contains(_ x: Double, _ y: Double) -> Bool { x >= x0 && x <= x1 && y >= y0 && y <= y1 }
    func grown(_ d: Double) -> Box { Box(x0 - d, y0 - d, x1 + d, y1 + d) }
}

/// One of the page's own symbols (page coordinates).
struct PageMark {
    var icon: String
    var x, y, size: Double
    /// The true place when the mark was moved aside (`PageLayout.displaced`).
    var origin: (Double, Double)?
    init(icon: String, at p: (Double, Double), size: Double) { self.icon = icon; x = p.0; y = p.1; self.size = size }
    var box: Box { Box(x - size / 2, y - size / 2, x + size / 2, y + size / 2) }
}

/// One of the page's own labels: text for a mark at a point.
struct PageLabel {
    var text: String
    var at: (Double, Double)
    var radius: Double
    var size: Double
    var colour: Color
    var maxWidth: Double
}

extension MapLabel {
    /// The label moved by (dx, dy): frame-local to page coordinates.
    func offset(_ dx: Double, _ dy: Double) -> MapLabel {
        var m = self
        m.iconBox = iconBox.map { ($0.x0 + dx, $0.y0 + dy, $0.x1 + dx, $0.y1 + dy) }
        m.textBox = textBox.map { ($0.x0 + dx, $0.y0 + dy, $0.x1 + dx, $0.y1 + dy) }
        return m
    }
    var iconRect: Box? { iconBox.map { Box($0.x0, $0.y0, $0.x1, $0.y1) } }
    var textRect: Box? { textBox.map { Box($0.x0, $0.y0, $0.x1, $0.y1) } }
}

/// One label-placement pass for a page's map frame.
///
/// Hard boxes — the frame's furniture (north arrow, scale bar, inset, graticule labels), the
/// page's own marks, and each page label once placed — are never covered by any text. Each
/// page label tries 8 positions next to its mark, then the same directions further out with a
/// leader line; a position that covers no map label wins, else the one covering the fewest
/// (those map labels give way); a label with no position inside the frame clear of hard boxes
/// is listed beside the map instead (`unplaced`). Map labels are then drawn only where they
/// lie wholly inside the frame and touch no hard box; a label whose text cannot stay keeps its
/// icon when the icon can, and the map's own label of a resource the page marks and labels
/// (nearest help) gives way to the page's. Map labels never overlap each other (the renderer placed them).
final class PagePlacement {
    let bounds: Box
    private(set) var hardBoxes: [Box] = []
    var map: [MapLabel] = []
    /// Names whose map labels (icon and text) the page's own mark and label replace.
    var replaced: Set<String> = []
    private(set) var placed: [(label: PageLabel, box: Box, leader: (Double, Double, Double, Double)?)] = []
    private(set) var unplaced: [String] = []

    init(bounds: Box) { self.bounds = bounds }

    func hard(_ b: Box) { hardBoxes.append(b) }

    func place(_ l: PageLabel, text: TextEngine, k: Double) {
        let layout = text.layout(l.text, size: l.size, bold: true)
        if layout.size.w > l.maxWidth, !Bidi.hasRightToLeft(l.text) { layout.wrap(width: l.maxWidth, align: .left) }
        let (w, h) = layout.size
        let p = l.at, r = l.radius, gap = 3 * k
        // Directions: right, left, above, below, then the diagonals.
        let dirs: [(Double, Double)] = [(1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1)]
        var candidates: [(Box, Bool)] = []
        for (ring, d) in [0, 22 * k, 48 * k].enumerated() {
            for (dx, dy) in dirs {
                let ox = r + gap + d, oy = r + gap + d
                let x = dx > 0 ? p.0 + ox * (dy == 0 ? 1 : 0.75) : dx < 0 ? p.0 - ox * (dy == 0 ? 1 : 0.75) - w : p.0 - w / 2
                let y = dy > 0 ? p.1 + oy * (dx == 0 ? 1 : 0.75) : dy < 0 ? p.1 - oy * (dx == 0 ? 1 : 0.75) - h : p.1 - h / 2
                candidates.append((Box(x, y, x + w, y + h), ring > 0))
            }
        }
        var best: (Box, Bool, Double)?
        func leaderCrosses(_ b: Box) -> Bool {
            let tx = min(max(p.0, b.x0), b.x1), ty = min(max(p.1, b.y0), b.y1)
            return placed.contains { Self.segment((p.0, p.1), (tx, ty), meets: $0.box) }
        }
        for (b, leader) in candidates where b.within(bounds) && !hardBoxes.contains(where: { $0.overlaps(b) }) && !(leader && leaderCrosses(b)) {
            let cost = map.reduce(0.0) { c, m in
                c + ((m.textRect.map { $0.overlaps(b) } ?? false) && !replaced.contains(m.text ?? "") ? 1 : 0) + ((m.iconRect.map { $0.overlaps(b) } ?? false) ? 0.5 : 0)
            }
            if cost == 0 { best = (b, leader, 0); break }
            if best == nil || cost < best!.2 { best = (b, leader, cost) }
        }
        guard let (b, leader, _) = best else { unplaced.append(l.text); return }
        hardBoxes.append(b)
        var line: (Double, Double, Double, Double)?
        if leader {
            // From the mark's edge to the nearest point of the label's box.
            let tx = min(max(p.0, b.x0), b.x1), ty = min(max(p.1, b.y0), b.y1)
            let len = hypot(tx - p.0, ty - p.1)
            if len > r { line = (p.0 + (tx - p.0) * r / len, p.1 + (ty - p.1) * r / len, tx, ty) }
        }
        placed.append((l, b, line))
    }

    /// Whether the segment a–b passes through the box (sampled every half point).
    static func segment(_ a: (Double, Double), _ b: (Double, Double), meets box: Box) -> Bool {
        let n = max(1, Int(hypot(b.0 - a.0, b.1 - a.1) * 2))
        return (0...n).contains { i in
            let t = Double(i) / Double(n)
            return box.contains(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
        }
    }

    /// What of a map label may be drawn.
    func keep(_ m: MapLabel) -> MapLabel.Keep {
        if let t = m.text, replaced.contains(t) { return .none }
        let iconOK = m.iconRect.map { b in !hardBoxes.contains { $0.overlaps(b) } } ?? false
        let textOK = m.textRect.map { b in b.within(bounds) && !hardBoxes.contains { $0.overlaps(b) } && !replaced.contains(m.text ?? "") } ?? false
        if m.textRect == nil { return iconOK ? .all : .none }
        if textOK && (iconOK || m.iconRect == nil) { return .all }
        return iconOK ? .iconOnly : .none
    }

    func drawLabels(_ cr: Canvas, _ text: TextEngine) {
        for (l, b, leader) in placed {
            if let (x0, y0, x1, y1) = leader {
                cr.moveTo(x0, y0); cr.lineTo(x1, y1)
                cr.setSourceRGBA(l.colour.r, l.colour.g, l.colour.b, 0.9); cr.setLineWidth(0.8); cr.stroke()
            }
            let layout = text.layout(l.text, size: l.size, bold: true)
            if layout.size.w > l.maxWidth, !Bidi.hasRightToLeft(l.text) { layout.wrap(width: l.maxWidth, align: .left) }
            cr.draw(layout, x: b.x0, y: b.y0, color: l.colour, halo: Color(1, 1, 1, 0.95), haloWidth: 1.6)
        }
    }
}

/// How a printed text is aligned in its width.
enum Align { case left, center, right }

/// Draws text with its top-left at (x, y); returns its height.
@discardableResult
func txt(_ text: TextEngine, _ cr: Canvas, _ s: String, x: Double, y: Double, size: Double, bold: Bool = false, width: Double? = nil,
         align: Align = .left, colour: Color = Color(0.08, 0.08, 0.08)) -> Double
{
    let l = text.layout(s, size: size, bold: bold)
    if let width {
        let a: TextLayout.Alignment = align == .center ? .center : (align == .right ? .right : .left)
        l.wrap(width: width, align: a)
    }
    cr.draw(l, x: x, y: y, color: colour)
    return l.size.h
}

/// `s` laid out as large as fits `width` on one line, from `size` down to `minSize` in steps
/// of 5 %; below that it wraps at `minSize` (the caller sets the wrap width and alignment).
func fitted(_ text: TextEngine, _ s: String, size: Double, minSize: Double, width: Double, bold: Bool) -> TextLayout {
    var z = size
    var l = text.layout(s, size: z, bold: bold)
    while l.size.w > width, z > minSize {
        z = max(minSize, z * 0.95)
        l = text.layout(s, size: z, bold: bold)
    }
    return l
}

/// Fields joined by spaces — or, when one holds right-to-left text, one per line (and always
/// one per line with `lines`). Pango 1.50 reorders the digits of an isolated phone number
/// that a soft line break puts after an isolated Uyghur name ("0011372-0901"); explicit lines
/// keep each field whole, and the caller does not let such text wrap (`PagePlacement`).
func fields(_ parts: [String], lines: Bool = false) -> String {
    parts.joined(separator: lines || parts.contains(where: Bidi.hasRightToLeft) ? "\n" : " ")
}

extension TextLayout {
    /// The height after wrapping at `width`, left-aligned.
    func wrappedHeight(_ width: Double) -> Double {
        wrap(width: width, align: .left)
        return size.h
    }
}
