import Foundation
import Synchronization
import OneMapCore
import OneMapRender
import OneMapRouting
import OneMapStore
import OneMapStyle

/// Paper sizes in PDF points (1/72 inch).
public enum Paper: String, Sendable, CaseIterable {
    case a4 = "A4", a3 = "A3"
    public var size: (w: Double, h: Double) { self == .a4 ? (595.28, 841.89) : (841.89, 1190.55) }
}

/// Page options.
public struct PageOptions: Sendable {
    public var paper: Paper = .a3
    public var landscape = false
    public var english = false
    public var compiler = "裕民县应急管理局"
    /// Print people's names and phones (officers, shelter managers, monitors). Off for pages
    /// served to anonymous users: the persons table then lists the roles and says where the
    /// names are.
    public var personalData = true
    public var date: String = {
        let f = DateFormatter()
        f.dateFormat = "yyyy年M月d日"
        f.timeZone = TimeZone(identifier: "Asia/Shanghai")
        return f.string(from: Date())
    }()
    public init() {}
    /// `date` for English pages: "2026年11月30日" as "30 November 2026" (other text as given).
    public var dateEN: String {
        let parts = date.split(whereSeparator: { "年月日".contains($0) }).compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return date }
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        return "\(parts[2]) \(months[parts[1] - 1]) \(parts[0])"
    }
    public var pageSize: (w: Double, h: Double) { landscape ? (paper.size.h, paper.size.w) : paper.size }
}

/// Print errors as sentences.
public struct PrintError: OneMapError {
    public var category: ErrorCategory
    public var description: String
    public init(_ d: String) { self.init(.badInput, d) }
    public init(_ category: ErrorCategory, _ d: String) { self.category = category; description = d }
}

/// Everything one village page shows, gathered before drawing.
struct VillageSheet: Sendable {
    var village: Feature
    var township: String
    var boundary: [[[Coord]]]
    var centre: Coord
    var zones: [Feature]
    var hazardPoints: [Feature]
    var shelters: [Feature]
    var officers: [Feature]
    var evacuation: [(from: Coord, to: Feature, route: [Coord], seconds: Double)]
    var nearest: [ResourceHit]
}

/// Lays out and draws village hazard and evacuation maps (PDF, vector) and atlases.
public final class VillageAtlas: Sendable {
    /// Where villages, zones, shelters and officers come from.
    public let source: any FeatureSource
    public let router: RoadRouter
    public let map: MapRenderer
    public let styleName: String

    public init(source: any FeatureSource, router: RoadRouter, map: MapRenderer, style: String = "print") throws {
        self.source = source; self.router = router; self.map = map; self.styleName = style
        _ = try map.style(style)
    }

    /// Officers by village code and township names by code, read once per store revision (an
    /// atlas read every officer of the county for each of its pages).
    private let lookups = Mutex<(revision: StoreRevision?, officers: [String: [Feature]], townships: [String: String])>((nil, [:], [:]))

    func lookup() throws -> (officers: [String: [Feature]], townships: [String: String]) {
        let rev = try source.revision()
        if let hit = lookups.withLock({ $0.revision == rev ? ($0.officers, $0.townships) : nil }) { return hit }
        let officers = Dictionary(grouping: try source.all("info_officers").filter { $0["village"]?.stringValue != nil }) { $0["village"]!.stringValue! }
        let townships = Dictionary(try source.all("townships").compactMap { t in t["code"]?.stringValue.map { ($0, t["name"]?.stringValue ?? "") } }, uniquingKeysWith: { a, _ in a })
        lookups.withLock { $0 = (rev, officers, townships) }
        return (officers, townships)
    }

    /// Finds a village by id, code or name; an unknown one is an error listing close matches.
    public func village(_ key: String) throws -> Feature {
        let all = try source.all("villages")
        guard !all.isEmpty else { throw PrintError(.notFound, "no village \"\(key)\": the store has no villages; import data first") }
        if let v = all.first(where: { $0.id == key || $0["code"]?.stringValue == key || $0["name"]?.stringValue == key }) { return v }
        let names = all.compactMap { v -> (String, Int)? in
            guard let n = v["name"]?.stringValue else { return nil }
            return (n, VillageAtlas.distance(Array(key), Array(n)) - (n.contains(key) || key.contains(n) ? 3 : 0))
        }.sorted { $0.1 < $1.1 }.prefix(5).map { $0.0 }
        throw PrintError(.notFound, "no village \"\(key)\"; did you mean: \(names.joined(separator: ", "))?")
    }

    /// Levenshtein distance over characters.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        var prev = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var cur = [i + 1] + [Int](repeating: 0, count: b.count)
            for (j, cb) in b.enumerated() { cur[j + 1] = min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (ca == cb ? 0 : 1)) }
            prev = cur
        }
        return prev[b.count]
    }

    func sheet(_ v: Feature) throws -> VillageSheet {
        let code = v["code"]?.stringValue ?? ""
        let centre = v["center"]?.arrayValue.flatMap { a in a.count == 2 ? Coord(a[0].doubleValue ?? 0, a[1].doubleValue ?? 0) : nil } ?? v.geometry.representativePoint
        let box = v.geometry.bbox
        let known = try lookup()
        let township = v["township"]?.stringValue.flatMap { known.townships[$0] } ?? ""
        let zones = try source.features(FeatureQuery(layer: "hazard_zones", bbox: box, predicate: .geometry)).filter { z in
            // Zones that touch the village: any vertex inside the other, or overlapping envelopes with the centre inside.
            v.geometry.polygons.contains { poly in z.geometry.allCoords.contains { Planar.polygonContains(poly, $0) } }
                || z.geometry.polygons.contains { poly in v.geometry.allCoords.contains { Planar.polygonContains(poly, $0) } }
        }
        let points = try source.features(FeatureQuery(layer: "hazard_points", bbox: box.expanded(by: 0.03), predicate: .geometry)).filter { $0["village"]?.stringValue == code }
        var shelters = try source.features(FeatureQuery(layer: "shelters", bbox: box.expanded(by: 0.1), predicate: .geometry)).filter { $0["village"]?.stringValue == code }
        if shelters.isEmpty { shelters = try nearestShelter(to: centre).map { [$0] } ?? [] }
        let officers = known.officers[code] ?? []
        // Evacuation: from the village centre and each hazard point to the village's shelters.
        var evacuation: [(Coord, Feature, [Coord], Double)] = []
        for origin in [centre] + points.map({ $0.geometry.representativePoint }) {
            var best: (Feature, [Coord], Double)?
            for s in shelters {
                // A shelter or origin too far from any road has no route; any other failure is an error.
                let r: RouteAnswer
                do { r = try router.route(from: origin, to: s.geometry.representativePoint) } catch let e as RoutingError where e.category == .unprocessable { continue }
                if r.reachable, let secs = r.seconds, secs < (best?.2 ?? .infinity) { best = (s, r.route, secs) }
            }
            if let best { evacuation.append((origin, best.0, best.1, best.2)) }
        }
        let nearest: [ResourceHit]
        do { nearest = try router.nearest(to: centre, kinds: ["fire_stations", "micro_fire_stations", "warehouses"], k: 1).hits } catch let e as RoutingError where e.category == .unprocessable {
            nearest = []
        }
        return VillageSheet(village: v, township: township, boundary: v.geometry.polygons, centre: centre, zones: zones, hazardPoints: points,
                            shelters: shelters, officers: officers, evacuation: evacuation.map { (from: $0.0, to: $0.1, route: $0.2, seconds: $0.3) }, nearest: nearest)
    }

    /// The shelter nearest `p` in a straight line, searched in growing boxes (≈11, 33, 110, 330 km).
    func nearestShelter(to p: Coord) throws -> Feature? {
        for d in [0.1, 0.3, 1, 3] {
            let box = BBox(minLon: p.lon - d, minLat: p.lat - d, maxLon: p.lon + d, maxLat: p.lat + d)
            let hits = try source.features(FeatureQuery(layer: "shelters", bbox: box)).map { ($0, Store.distance(from: p, to: $0.geometry)) }
            // Only a hit within the box's inscribed radius is surely the nearest.
            if let best = hits.min(by: { ($0.1, $0.0.id) < ($1.1, $1.0.id) }), best.1 <= d * 111_000 * cos(p.lat * .pi / 180) { return best.0 }
        }
        return nil
    }

    /// One village as a one-page PDF.
    public func pdf(village key: String, options: PageOptions = PageOptions()) throws -> [UInt8] {
        let v = try village(key)
        return try PDFWriter.write(pages: try record(v, options), size: options.pageSize)
    }

    /// One village as PNG at a DPI: its map page, and below it any continuation pages (续表),
    /// one image so that no responsible person is left out of a picture.
    public func png(village key: String, dpi: Double, options: PageOptions = PageOptions()) throws -> [UInt8] {
        guard dpi >= 36, dpi <= 600 else { throw PrintError("dpi must be 36…600, got \(dpi.formatted())") }
        let v = try village(key)
        let pages = try record(v, options)
        let k = dpi / 72
        let size = options.pageSize
        let ph = Int((size.h * k).rounded())
        let canvas = Canvas(width: Int((size.w * k).rounded()), height: ph * pages.count)
        canvas.fillAll(Color(0.6, 0.6, 0.6))
        for (i, page) in pages.enumerated() {
            canvas.save()
            canvas.translate(0, Double(ph * i))
            canvas.scale(k, k)
            canvas.draw(page.canvas)
            canvas.restore()
        }
        return try canvas.png(x: 0, y: 0, w: canvas.width, h: canvas.height)
    }

    /// Villages of the county, or of one township (by name or code), in code order.
    public func villages(township: String? = nil) throws -> [Feature] {
        var all = try source.all("villages")
        if let t = township {
            let ts = try source.all("townships")
            guard let tw = ts.first(where: { $0["name"]?.stringValue == t || $0["code"]?.stringValue == t }) else {
                throw PrintError(.notFound, "no township \"\(t)\"; the townships are: \(ts.compactMap { $0["name"]?.stringValue }.joined(separator: ", "))")
            }
            all = all.filter { $0["township"] == tw["code"] }
        }
        return all.sorted { ($0["code"]?.stringValue ?? $0.id) < ($1["code"]?.stringValue ?? $1.id) }
    }

    /// Pages recorded in parallel (layout, routing and text shaping on all cores), one list per
    /// village (its map page, then any continuation pages); the caller replays them into one
    /// PDF or writes one file per village.
    public func recordPages(_ villages: [Feature], options: PageOptions, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [[RecordedPage]] {
        let out = PageSlots(count: villages.count)
        DispatchQueue.concurrentPerform(iterations: max(1, min(threads, villages.count))) { _ in
            while let i = out.next() {
                do { out.set(i, try record(villages[i], options)) } catch { out.fail(PrintError(ErrorCategory.of(error), "\(villages[i]["name"]?.stringValue ?? villages[i].id): \(error)")) }
                progress?(out.finished, villages.count)
            }
        }
        if let f = out.failure { throw f }
        return out.pages
    }

    /// The atlas as one multi-page PDF.
    public func atlasPDF(_ villages: [Feature], options: PageOptions, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [UInt8] {
        try PDFWriter.write(pages: try recordPages(villages, options: options, threads: threads, progress: progress).flatMap { $0 }, size: options.pageSize)
    }

    /// Records a village's pages as Cairo drawing operations (vector): the map page, then, when
    /// its summary or persons table did not fit, continuation pages (续表) holding the rest.
    public func record(_ v: Feature, _ options: PageOptions) throws -> [RecordedPage] {
        var s = try sheet(v)
        if !options.personalData {
            s.officers = s.officers.map { Layers.redact($0, layer: "info_officers") }
            s.shelters = s.shelters.map { Layers.redact($0, layer: "shelters") }
            s.hazardPoints = s.hazardPoints.map { Layers.redact($0, layer: "hazard_points") }
        }
        let size = options.pageSize
        let page = RecordedPage(width: size.w, height: size.h)
        let layout = PageLayout(atlas: self, sheet: s, options: options, page: page)
        let overflow = try layout.draw()
        let footer = layout.t("裕民县应急管理局 · 演示数据（合成，非实测）", "Yumin County Emergency Management · demonstration data (synthetic)")
        let text = TextEngine()
        func pageWord(_ i: Int, _ n: Int) -> String { layout.t("第 \(i) / \(n) 页", "page \(i) of \(n)") }
        let mapMargin = 28 * min(size.w, size.h) / 841.89  // PageLayout's
        let note = "\(layout.sheet.village["name"]?.stringValue ?? v.id) · \(footer)"
        guard !overflow.isEmpty else {
            PageFlow.footers([page], note: note, text: text, margin: { _ in mapMargin }, pageWord: pageWord)
            return [page]
        }
        // Continuation pages of the same size and orientation, under the village's title.
        let margin = 40 * min(size.w, size.h) / 841.89
        let title = layout.continuationTitle()
        let flow = PageFlow(width: size.w, height: size.h, margin: margin, text: text) { p, text in
            txt(text, p.canvas, title, x: margin, y: margin, size: 15 * margin / 40, bold: true, width: size.w - 2 * margin, align: .center) + 14
        }
        let mark = layout.t("（续表）", " (continued)")
        if !overflow.summary.isEmpty {
            flow.add(PrintTable(heading: layout.t("风险与应急信息", "Risk and response"), header: [layout.t("内容", "Item")], widths: [1],
                                rows: overflow.summary.map { [$0.0] }, size: 9.5), continued: true, mark: mark)
        }
        if let (table, from) = overflow.persons { flow.add(table, from: from, continued: true, mark: mark) }
        let pages = [page] + flow.pages
        // Page numbers over the village's pages: the map page is 1 of n.
        PageFlow.footers(pages, note: note, text: text, margin: { $0 == 0 ? mapMargin : margin }, pageWord: pageWord)
        for p in flow.pages { try p.canvas.check("draw the continuation of \(v["name"]?.stringValue ?? v.id)") }
        return pages
    }
}

/// A page recorded as vector drawing operations, replayable onto a PDF or image canvas.
///
/// `@unchecked Sendable`: recorded once by one thread, then only replayed (read) — Cairo
/// recording surfaces may be used as a source from several threads once finished.
public final class RecordedPage: @unchecked Sendable {
    let canvas: Canvas
    /// Points (1/72 in).
    public let width: Double, height: Double

    init(width: Double, height: Double) {
        self.width = width; self.height = height
        canvas = Canvas(recordingWidth: width, height: height)
    }
}

/// Writes recorded pages into one PDF with fonts embedded and subset.
enum PDFWriter {
    static func write(pages: [RecordedPage], size: (w: Double, h: Double)) throws -> [UInt8] {
        try PDFDocument.write(pages: pages.map(\.canvas), width: size.w, height: size.h, title: "裕民县村级灾害风险与避险转移图")
    }
}

/// The pages of an atlas being recorded on several threads: the next village to take, the
/// pages done, and the first failure (which stops the others taking more).
final class PageSlots: Sendable {
    private struct State {
        var slots: [[RecordedPage]?]
        var nextIndex = 0
        var finished = 0
        var failure: (any Error)?
    }
    private let state: Mutex<State>
    init(count: Int) { state = Mutex(State(slots: Array(repeating: nil, count: count))) }
    func next() -> Int? {
        state.withLock { s in
            guard s.nextIndex < s.slots.count, s.failure == nil else { return nil }
            defer { s.nextIndex += 1 }
            return s.nextIndex
        }
    }
    func set(_ i: Int, _ p: [RecordedPage]) { state.withLock { $0.slots[i] = p; $0.finished += 1 } }
    func fail(_ e: any Error) { state.withLock { if $0.failure == nil { $0.failure = e } } }
    var finished: Int { state.withLock { $0.finished } }
    var failure: (any Error)? { state.withLock { $0.failure } }
    var pages: [[RecordedPage]] { state.withLock { $0.slots.compactMap { $0 } } }
}

extension VillageAtlas {
    /// Recorded pages written as one PDF.
    public func writePDF(_ pages: [RecordedPage], options: PageOptions) throws -> [UInt8] {
        try PDFWriter.write(pages: pages, size: options.pageSize)
    }
}
