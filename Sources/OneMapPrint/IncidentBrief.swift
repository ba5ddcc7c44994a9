import Foundation
import OneMapCore
import OneMapRender
import OneMapRouting
import OneMapStore
import OneMapStyle

/// The duty leader's A4 brief of an incident (`GET /api/incidents/{id}/brief.pdf`): title, type,
/// level, status and times; a map of the incident with the analysis radius, the routes of the
/// nearest resources and the road risks on them; then the analysis as tables (hazard zones,
/// villages at risk, contacts with phones, shelters, nearest resources with ETAs and stock,
/// road risks, the timeline). Tables flow onto continuation pages (续表) — no row is dropped.
public struct IncidentBrief: Sendable {
    public var analysis: IncidentAnalysis
    public var timeline: [IncidentUpdate]
    /// People's names and phones printed (false for anonymous readers: "—").
    public var personalData: Bool

    public init(analysis: IncidentAnalysis, timeline: [IncidentUpdate], personalData: Bool) {
        self.analysis = analysis; self.timeline = timeline; self.personalData = personalData
    }

    static let W = 595.28, H = 841.89, m = 36.0
    static let kindColour: [String: Color] = [
        "fire_stations": Color(0.80, 0.10, 0.10), "micro_fire_stations": Color(0.95, 0.45, 0.05),
        "warehouses": Color(0.10, 0.35, 0.75), "shelters": Color(0.05, 0.55, 0.25),
    ]
    static let kindName: [String: String] = ["fire_stations": "消防站", "micro_fire_stations": "微型消防站", "warehouses": "物资储备库", "shelters": "避难场所"]

    /// The brief as PDF bytes (fonts embedded). Throws `CanvasError` or the map's errors.
    public func pdf(map: MapRenderer, style: String = "print") throws -> [UInt8] {
        let text = TextEngine()
        let flow = PageFlow(width: Self.W, height: Self.H, margin: Self.m, text: text)
        let page = flow.page
        let a = analysis, f = a.incident
        let title = f["title"]?.stringValue ?? f.id
        let type = f["type"]?.stringValue.flatMap(IncidentType.init(rawValue:))
        let level = f["level"]?.intValue ?? 0
        let status = f["status"]?.stringValue.flatMap(IncidentStatus.init(rawValue:))
        var y = Self.m
        y += txt(text, page.canvas, "突发事件简报 · \(Bidi.isolate(title))", x: Self.m, y: y, size: 17, bold: true, width: Self.W - 2 * Self.m) + 4
        let levels = ["", "Ⅰ级（特别重大）", "Ⅱ级（重大）", "Ⅲ级（较大）", "Ⅳ级（一般）"]
        let meta = [
            "类型：\(type?.nameCN ?? f["type"]?.stringValue ?? "—")", "等级：\(level >= 1 && level <= 4 ? levels[level] : "—")",
            "状态：\(status?.nameCN ?? "—")", "伤亡：\(f["casualties"]?.intValue.map(String.init) ?? "未报")",
        ].joined(separator: "　")
        y += txt(text, page.canvas, meta, x: Self.m, y: y, size: 10, width: Self.W - 2 * Self.m) + 2
        let when = "报告时间：\(f["reported_at"]?.stringValue ?? "—")　报告人：\(Bidi.isolate(f["reported_by"]?.stringValue ?? "—"))　位置：\(String(format: "%.5f, %.5f", a.at.lon, a.at.lat))　编号：\(Bidi.leftToRight(f.id))"
        y += txt(text, page.canvas, when, x: Self.m, y: y, size: 9, width: Self.W - 2 * Self.m, colour: Color(0.3, 0.3, 0.3)) + 4
        if let d = f["description"]?.stringValue, !d.isEmpty {
            y += txt(text, page.canvas, d, x: Self.m, y: y, size: 9.5, width: Self.W - 2 * Self.m) + 4
        }

        // The map.
        let frame = (x: Self.m, y: y + 2, w: Self.W - 2 * Self.m, h: 300.0)
        try drawMap(page.canvas, text, map: map, style: style, frame: frame)
        y = frame.y + frame.h + 12

        // The tables, flowing onto new pages.
        var tables: [(String, [String], [Double], [[String]])] = []
        let redacted = "—（仅限登录用户）"
        tables.append(("所在风险区", ["类型", "等级", "名称", "户", "人"], [0.25, 0.12, 0.39, 0.12, 0.12],
                       a.zones.map { z in [z["type"]?.stringValue.flatMap(HazardType.init(rawValue:))?.nameCN ?? "", z["level"]?.intValue.map { "\($0)级" } ?? "", z["name"]?.stringValue ?? "",
                                           z["households"]?.intValue.map(String.init) ?? "", z["people"]?.intValue.map(String.init) ?? ""] }))
        tables.append(("受威胁村庄（\(Int(a.radiusMetres / 1000 * 10) / 10) km 内或所在风险区内）：\(a.villages.count) 个村，\(a.householdsAtRisk) 户，\(a.peopleAtRisk) 人",
                       ["村", "距离", "风险区内", "户", "人"], [0.40, 0.15, 0.15, 0.15, 0.15],
                       a.villages.map { v in [v.feature["name"]?.stringValue ?? v.feature.id, Self.km(v.metres), v.inZone ? "是" : "", v.feature["households"]?.intValue.map(String.init) ?? "",
                                              v.feature["population"]?.intValue.map(String.init) ?? ""] }))
        let villageName = Dictionary(a.villages.compactMap { v in v.feature["code"]?.stringValue.map { ($0, v.feature["name"]?.stringValue ?? $0) } }, uniquingKeysWith: { x, _ in x })
        tables.append(("联系人（灾害信息员、责任人）", ["村", "职责", "姓名", "电话"], [0.28, 0.24, 0.22, 0.26],
                       a.contacts.map { o in [villageName[o["village"]?.stringValue ?? ""] ?? "", o["role"]?.stringValue.flatMap(OfficerRole.init(rawValue:))?.nameCN ?? "",
                                              personalData ? (o["name"]?.stringValue ?? "") : redacted, personalData ? Bidi.leftToRight(o["phone"]?.stringValue ?? "") : ""] }))
        tables.append(("避难场所", ["名称", "距离", "容量", "在场", "状态", "负责人 / 电话"], [0.30, 0.10, 0.10, 0.10, 0.10, 0.30],
                       a.shelters.map { s in
                           let p = s.feature
                           let who = personalData ? fields([p["person_in_charge"]?.stringValue.map(Bidi.isolate), p["phone"]?.stringValue.map(Bidi.leftToRight)].compactMap { $0 }) : redacted
                           return [p["name"]?.stringValue ?? p.id, Self.km(s.metres), p["capacity"]?.intValue.map(String.init) ?? "", p["occupancy"]?.intValue.map(String.init) ?? "",
                                   p["status"]?.stringValue.flatMap(ShelterStatus.init(rawValue:))?.nameCN ?? "未报", who]
                       }))
        var resources: [[String]] = []
        for kind in IncidentAnalysis.routedKinds {
            for h in (a.nearest?.hits ?? []) where h.kind == kind {
                var detail = h.note ?? ""
                if kind == "warehouses", let rows = a.stock[h.id]?.arrayValue, !rows.isEmpty {
                    detail = rows.map { r in "\(r["item"]?.stringValue ?? "")\(Self.qty(r["quantity"]?.doubleValue ?? 0))\(r["unit"]?.stringValue ?? "")" }.joined(separator: "、")
                }
                resources.append([Self.kindName[kind] ?? kind, h.name, h.etaSeconds.map { String(format: "%.0f 分", ($0 / 60).rounded(.up)) } ?? "不可达",
                                  h.roadMetres.map { Self.km($0) } ?? "—", detail])
            }
        }
        tables.append(("最近救援力量（道路，含出动准备时间）" + (a.routingNote.map { "：\($0)" } ?? ""), ["类别", "名称", "到达", "路程", "物资 / 说明"], [0.16, 0.28, 0.12, 0.12, 0.32], resources))
        tables.append(("路线上的道路风险", ["路段", "风险", "等级", "状态", "说明"], [0.30, 0.15, 0.10, 0.12, 0.33],
                       a.routeRisks.map { r in [r.risk["name"]?.stringValue ?? r.risk.id, r.risk["risk_type"]?.stringValue ?? "", r.risk["level"]?.intValue.map { "\($0)级" } ?? "",
                                                [ "open": "通行", "restricted": "限行", "closed": "封闭"][r.risk["status"]?.stringValue ?? ""] ?? "", r.risk["note"]?.stringValue ?? ""] }))
        tables.append(("事件进展", ["时间", "人员", "内容"], [0.26, 0.20, 0.54],
                       timeline.map { u in
                           var what = [String]()
                           if u.kind == "reported" { what.append("报告") }
                           for k in u.changes?.keys ?? [] {
                               guard let pair = u.changes?[k]?.arrayValue, pair.count == 2 else { continue }
                               what.append("\(k): \(Self.short(pair[0])) → \(Self.short(pair[1]))")
                           }
                           if let n = u.note { what.append(n) }
                           let who = personalData ? (u.actor.hasPrefix("user:") ? String(u.actor.dropFirst(5)) : u.actor) : "—"
                           return [u.at, who, what.joined(separator: "；")]
                       }))

        flow.y = y
        for (heading, header, widths, rows) in tables { flow.add(PrintTable(heading: heading, header: header, widths: widths, rows: rows)) }
        flow.footers("裕民县应急指挥一张图 · 演示数据（合成）")
        for p in flow.pages { try p.canvas.check("draw the incident brief") }
        return try PDFDocument.write(pages: flow.pages.map(\.canvas), width: Self.W, height: Self.H, title: "突发事件简报 \(title)")
    }

    /// The map frame: base map fitted to the incident, radius and routes; routes by kind, the
    /// road risks on them, the resources numbered as in the table.
    func drawMap(_ cr: Canvas, _ text: TextEngine, map: MapRenderer, style: String, frame: (x: Double, y: Double, w: Double, h: Double)) throws {
        let a = analysis
        let dLat = a.radiusMetres / 111_000, dLon = a.radiusMetres / (111_000 * max(0.2, cos(a.at.lat * .pi / 180)))
        var box = BBox(minLon: a.at.lon - dLon, minLat: a.at.lat - dLat, maxLon: a.at.lon + dLon, maxLat: a.at.lat + dLat)
        for h in a.nearest?.hits ?? [] where h.reachable { box = box.union(BBox(covering: h.route)) }
        let vp = Viewport.fitting(box.expanded(by: max(box.width, box.height) * 0.04), width: frame.w, height: frame.h, scale: 1, maxZoom: 16)
        cr.save()
        cr.rectangle(frame.x, frame.y, frame.w, frame.h)
        cr.clip()
        cr.translate(frame.x, frame.y)
        _ = try map.draw(style: try map.style(style), viewport: vp, canvas: cr, text: text)
        // The analysis radius.
        let c = vp.local(a.at)
        let r = vp.local(Coord(a.at.lon + dLon, a.at.lat)).0 - c.0
        cr.newPath(); cr.arc(c.0, c.1, r, 0, 2 * .pi)
        cr.setSourceRGBA(0.8, 0.1, 0.1, 0.06); cr.fillPreserve()
        cr.setSourceRGBA(0.8, 0.1, 0.1, 0.7); cr.setLineWidth(1); cr.setDash([4, 3]); cr.stroke(); cr.setDash([])
        // Road risks on routes, under the routes.
        for rr in a.routeRisks {
            for line in rr.risk.geometry.paths {
                cr.newPath()
                for (i, p) in line.enumerated() { let q = vp.local(p); i == 0 ? cr.moveTo(q.0, q.1) : cr.lineTo(q.0, q.1) }
                cr.setSourceRGBA(0.55, 0, 0.55, 0.85); cr.setLineWidth(7); cr.setLineCap(.round); cr.stroke()
            }
        }
        var n = 0
        for kind in IncidentAnalysis.routedKinds {
            let colour = Self.kindColour[kind] ?? Color(0.2, 0.2, 0.2)
            for h in (a.nearest?.hits ?? []) where h.kind == kind && h.reachable {
                n += 1
                cr.newPath()
                for (i, p) in h.route.enumerated() { let q = vp.local(p); i == 0 ? cr.moveTo(q.0, q.1) : cr.lineTo(q.0, q.1) }
                cr.setLineCap(.round); cr.setLineJoin(.round)
                cr.setSourceRGBA(1, 1, 1, 0.9); cr.setLineWidth(4.5); cr.strokePreserve()
                cr.setColor(colour); cr.setLineWidth(2.2); cr.stroke()
                let q = vp.local(h.point)
                cr.newPath(); cr.arc(q.0, q.1, 6.5, 0, 2 * .pi)
                cr.setColor(colour); cr.fillPreserve(); cr.setSourceRGB(1, 1, 1); cr.setLineWidth(1.2); cr.stroke()
                let l = text.layout("\(n)", size: 7, bold: true)
                cr.draw(l, x: q.0 - l.size.w / 2, y: q.1 - l.size.h / 2, color: Color(1, 1, 1))
            }
        }
        // The incident: a red diamond.
        cr.newPath(); cr.moveTo(c.0, c.1 - 10); cr.lineTo(c.0 + 8, c.1); cr.lineTo(c.0, c.1 + 10); cr.lineTo(c.0 - 8, c.1); cr.closePath()
        cr.setSourceRGB(0.85, 0.05, 0.05); cr.fillPreserve(); cr.setSourceRGB(1, 1, 1); cr.setLineWidth(1.5); cr.stroke()
        cr.restore()
        cr.setSourceRGB(0.1, 0.1, 0.1); cr.setLineWidth(1); cr.rectangle(frame.x, frame.y, frame.w, frame.h); cr.stroke()
        // Legend strip along the bottom of the frame.
        var lx = frame.x + 6
        let ly = frame.y + frame.h - 16
        cr.rectangle(frame.x + 1, ly - 3, frame.w - 2, 18); cr.setSourceRGBA(1, 1, 1, 0.85); cr.fill()
        for kind in IncidentAnalysis.routedKinds {
            cr.setColor(Self.kindColour[kind]!); cr.rectangle(lx, ly + 3, 14, 4); cr.fill()
            let l = text.layout(Self.kindName[kind]!, size: 8)
            cr.draw(l, x: lx + 17, y: ly, color: Color(0.1, 0.1, 0.1))
            lx += 17 + l.size.w + 12
        }
        cr.setSourceRGBA(0.55, 0, 0.55, 0.85); cr.rectangle(lx, ly + 2, 14, 6); cr.fill()
        let l = text.layout("路线上的道路风险　虚线圈：分析半径 \(Int(a.radiusMetres)) m", size: 8)
        cr.draw(l, x: lx + 17, y: ly, color: Color(0.1, 0.1, 0.1))
    }

    static func km(_ m: Double) -> String { m < 1000 ? "\(Int(m.rounded())) m" : String(format: "%.1f km", m / 1000) }
    static func qty(_ q: Double) -> String { q == q.rounded() ? String(Int(q)) : String(format: "%.1f", q) }
    static func short(_ v: JSONValue) -> String {
        switch v {
        case .null: "—"
        case .string(let s): s
        default: JSONWriter.string(v)
        }
    }
}
