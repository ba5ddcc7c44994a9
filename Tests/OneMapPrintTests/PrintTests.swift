import CCairo
import Foundation
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapPrint
@testable import OneMapRender
@testable import OneMapRouting
@testable import OneMapStore
@testable import OneMapStyle

let repoRoot = repositoryRoot()
let updateReferences = ProcessInfo.processInfo.environment["ONEMAP_UPDATE_REFERENCES"] == "1"


let shared = TempDir("print")
let atlas: VillageAtlas = {
    let s = try! Store(path: shared.file("demo.sqlite"))
    _ = try! s.importGeoJSON(at: repoRoot + "/GeoData")
    return try! VillageAtlas(source: s, router: try! RoadRouter(source: s), map: try! MapRenderer(source: s, stylesDirectory: repoRoot + "/Styles"))
}()

/// Runs a poppler tool and returns its standard output.
func poppler(_ tool: String, _ args: [String]) throws -> String {
    let r = try runProgram("/usr/bin/" + tool, args)
    #expect(r.status == 0, "\(tool) failed")
    return r.out
}

func fixedOptions() -> PageOptions {
    var o = PageOptions()
    o.date = "2026年11月29日"
    return o
}

@Suite(.serialized) struct PrintTests {
    @Test func villagePDFHasTheRightPageTextAndEmbeddedCJKFont() throws {
        let dir = TempDir()
        let v = try atlas.village("新地北村")
        let pdf = try atlas.pdf(village: "新地北村", options: fixedOptions())
        try Data(pdf).write(to: URL(fileURLWithPath: dir.file("v.pdf")))
        let info = try poppler("pdfinfo", [dir.file("v.pdf")])
        #expect(info.contains("Pages:           1"))
        #expect(info.contains("Page size:       841.89 x 1190.55 pts (A3)"), "\(info)")
        let text = try poppler("pdftotext", ["-layout", dir.file("v.pdf"), "-"])
        #expect(text.contains("新地北村"))
        #expect(text.contains("灾害风险与避险转移图"))
        #expect(text.contains("新地乡"))
        #expect(text.contains("图") && text.contains("例"))
        // Every information officer of the village, with phone number, is printed as text.
        let officers = try atlas.source.all("info_officers").filter { $0["village"] == v["code"] }
        #expect(officers.count >= 3)
        for o in officers {
            #expect(text.contains(o["phone"]!.stringValue!), "phone of \(o["name"]!.stringValue!) missing")
            #expect(text.contains(o["name"]!.stringValue!.prefix(3)), "name \(o["name"]!.stringValue!) missing")
        }
        let fonts = try poppler("pdffonts", [dir.file("v.pdf")])
        let cjk = fonts.split(separator: "\n").filter { $0.contains("NotoSansCJK") }
        #expect(!cjk.isEmpty)
        for line in cjk { #expect(line.contains(" yes yes "), "CJK font not embedded and subset: \(line)") }
        #expect(try poppler("pdfimages", ["-list", dir.file("v.pdf")]).split(separator: "\n").count == 2, "the page must be vector, without raster images")
        #expect(pdf.count < 500 * 1024)
    }

    @Test func paperAndOrientation() throws {
        let dir = TempDir()
        var o = fixedOptions()
        o.paper = .a4
        o.landscape = true
        o.english = true
        try Data(try atlas.pdf(village: "喀拉苏村", options: o)).write(to: URL(fileURLWithPath: dir.file("a4.pdf")))
        let info = try poppler("pdfinfo", [dir.file("a4.pdf")])
        #expect(info.contains("Page size:       841.89 x 595.28 pts (A4)"), "\(info)")
        let text = try poppler("pdftotext", [dir.file("a4.pdf"), "-"])
        #expect(text.contains("Disaster Risk and Evacuation Map"))
        #expect(text.contains("Legend"))
    }

    @Test func atlasHasAPagePerVillageAndItsContinuations() throws {
        let dir = TempDir()
        let villages = try atlas.villages(township: "新地乡")
        #expect(villages.count == 13)
        let perVillage = try atlas.recordPages(villages, options: fixedOptions(), threads: 2)
        #expect(perVillage.count == 13)
        let pdf = try atlas.atlasPDF(villages, options: fixedOptions(), threads: 2)
        try Data(pdf).write(to: URL(fileURLWithPath: dir.file("atlas.pdf")))
        #expect(try poppler("pdfinfo", [dir.file("atlas.pdf")]).contains("Pages:           \(perVillage.map(\.count).reduce(0, +))"))
        let text = try poppler("pdftotext", [dir.file("atlas.pdf"), "-"])
        for v in villages { #expect(text.contains(v["name"]!.stringValue!)) }
        #expect(throws: PrintError.self) { try atlas.villages(township: "月亮乡") }
    }

    /// Every village page routes its people from the village centre to the fastest of its
    /// shelters, by road; the route on the page is the router's own.
    @Test func everyVillageHasAnEvacuationRouteToItsFastestShelter() throws {
        for v in try atlas.villages(township: "新地乡") {
            let name = v["name"]!.stringValue!
            let sheet = try atlas.sheet(v)
            #expect(!sheet.shelters.isEmpty, "\(name) has no shelter")
            let e = try #require(sheet.evacuation.first { $0.from == sheet.centre }, "\(name): no evacuation route from the centre")
            #expect(sheet.shelters.contains { $0.id == e.to.id })
            #expect(e.route.count >= 2 && e.seconds >= 0, "a shelter at the village committee is 0 s away")
            let direct = try atlas.router.route(from: sheet.centre, to: e.to.geometry.representativePoint)
            #expect(abs((direct.seconds ?? .infinity) - e.seconds) < 0.01, "\(name): page \(e.seconds) s, router \(direct.seconds ?? -1) s")
            #expect(direct.route == e.route)
            for other in sheet.shelters {
                let t = try atlas.router.route(from: sheet.centre, to: other.geometry.representativePoint)
                if let secs = t.seconds { #expect(e.seconds <= secs + 0.01, "\(name): \(other.id) is faster than the printed shelter") }
            }
            #expect(Geodesy.distance(e.route.first!, sheet.centre) < 2000 && Geodesy.distance(e.route.last!, e.to.geometry.representativePoint) < 2000)
        }
    }

    @Test func unknownVillageListsCloseMatches() {
        do {
            _ = try atlas.village("新地北")
            Issue.record("found a village that does not exist")
        } catch let e as PrintError {
            #expect(e.description.contains("no village \"新地北\""))
            #expect(e.description.contains("新地北村"))
        } catch { Issue.record("\(error)") }
    }

    /// The page rasterised by poppler matches the reference image.
    @Test func rasterisedPageMatchesReference() throws {
        let dir = TempDir()
        try Data(try atlas.pdf(village: "喀拉苏村", options: fixedOptions())).write(to: URL(fileURLWithPath: dir.file("p.pdf")))
        _ = try poppler("pdftoppm", ["-png", "-r", "40", "-singlefile", dir.file("p.pdf"), dir.file("p")])
        let ref = repoRoot + "/Tests/OneMapPrintTests/References/karasu-a3-40dpi.png"
        if updateReferences || !FileManager.default.fileExists(atPath: ref) {
            try FileManager.default.copyItem(atPath: dir.file("p.png"), toPath: ref + ".tmp")
            try? FileManager.default.removeItem(atPath: ref)
            try FileManager.default.moveItem(atPath: ref + ".tmp", toPath: ref)
            if !updateReferences { Issue.record("reference written; check it in") }
            return
        }
        let a = try pixels(dir.file("p.png")), b = try pixels(ref)
        #expect(a.0 == b.0 && a.1 == b.1)
        var bad = 0
        for i in 0..<min(a.2.count, b.2.count) {
            if PNGPixels.channelDistance(a.2[i] & 0xFFFFFF, b.2[i] & 0xFFFFFF) > 40 { bad += 1 }
        }
        #expect(Double(bad) / Double(a.2.count) < 0.01, "\(bad) pixels differ")
    }

    @Test func pngAtADPI() throws {
        let png = try atlas.png(village: "新地北村", dpi: 50, options: fixedOptions())
        let dir = TempDir()
        try Data(png).write(to: URL(fileURLWithPath: dir.file("v.png")))
        let p = try pixels(dir.file("v.png"))
        #expect(p.0 == Int((841.89 * 50 / 72).rounded()) && p.1 == Int((1190.55 * 50 / 72).rounded()))
        #expect(throws: PrintError.self) { try atlas.png(village: "新地北村", dpi: 5000, options: fixedOptions()) }
    }
}

/// Issue #13: every name, every number, no text on text.
@Suite(.serialized) struct PrintTextTests {
    /// Over the whole atlas, in Chinese and in English (A3 portrait and A4 landscape): no two
    /// words' boxes (`pdftotext -bbox`) overlap by more than a sliver (1 pt each way: the joined
    /// letters of Arabic script touch), and no word leaves its page.
    @Test(arguments: [false, true]) func atlasHasNoTextOnText(english: Bool) throws {
        var o = fixedOptions()
        o.english = english
        if english { o.paper = .a4; o.landscape = true }
        let dir = TempDir()
        let villages = try atlas.villages()
        try Data(try atlas.atlasPDF(villages, options: o, threads: 2)).write(to: URL(fileURLWithPath: dir.file("atlas.pdf")))
        // Labels along lines are turned with them; pdftotext cuts text turned near 45° into
        // pieces ("S2" + "01") whose boxes overlap each other. A pair that joins into one
        // road's ref or name is such a cut, not two labels.
        var lineLabels = Set<String>()
        for r in try atlas.source.all("roads", attributes: ["ref", "name"]) { for k in ["ref", "name"] { if let t = r[k]?.stringValue { lineLabels.insert(t) } } }
        let c = try textCollisions(dir.file("atlas.pdf"), onePiece: lineLabels)
        #expect(c.words > villages.count * 60, "too few words read back: \(c.words)")
        #expect(c.overlaps.isEmpty, "\(c.overlaps.count) overlapping word pairs, e.g. \(c.overlaps.prefix(8))")
        #expect(c.off.isEmpty, "words off the page: \(c.off.prefix(8))")
    }

    /// A shelter run by someone whose name is in Uyghur script: the phone reads left to right
    /// on the map label and in the persons table, never "0011372-0901".
    @Test func uyghurNamePrintsItsPhoneInOrder() throws {
        let s = try #require(try atlas.source.all("shelters").first { Bidi.hasRightToLeft($0["person_in_charge"]?.stringValue ?? "") }, "the demo data has no such shelter")
        let phone = try #require(s["phone"]?.stringValue)
        let village = try #require(try atlas.source.all("villages").first { $0["code"] == s["village"] })
        let dir = TempDir()
        for english in [false, true] {
            var o = fixedOptions()
            o.english = english
            try Data(try atlas.pdf(village: village.id, options: o)).write(to: URL(fileURLWithPath: dir.file("v.pdf")))
            let text = Bidi.stripped(try poppler("pdftotext", [dir.file("v.pdf"), "-"]))
            let parts = phone.split(separator: "-")
            let reversed = parts.reversed().joined(separator: "-")
            // On the map (the shelter's label) and in the table (its manager's row).
            #expect(text.components(separatedBy: phone).count - 1 >= 2, "\(phone) printed fewer than twice (english: \(english))")
            #expect(!text.contains(reversed), "phone printed reversed as \(reversed)")
            // The Arabic-script part of the name is printed too (as its letters).
            let script = try #require(s["person_in_charge"]?.stringValue?.split(separator: " ").last)
            #expect(script.unicodeScalars.filter { Bidi.hasRightToLeft(String($0)) }.allSatisfy { u in text.unicodeScalars.contains(u) })
        }
        // The same through the style's concat: each part is its own isolate.
        let e = try ExpressionParser.parse(JSONValue.array([.string("concat"), .array([.string("get"), .string("n")]), .string(" 0901-0011372")]), filter: false)
        let v = e.evaluate(EvaluationContext(zoom: 12, properties: ["n": .string("ئەنۋەر")])).stringValue
        #expect(v == "\u{2068}ئەنۋەر\u{2069} 0901-0011372")
        #expect(e.evaluate(EvaluationContext(zoom: 12, properties: ["n": .string("王建国")])).stringValue == "王建国 0901-0011372")
    }

    /// A village with 40+ responsible persons: every one is printed with their phone, the map
    /// page says how many and that the rest follow, and the continuation page is headed 续表.
    @Test func everyResponsiblePersonIsPrinted() throws {
        let officers = try atlas.source.all("info_officers")
        let byVillage = Dictionary(grouping: officers.filter { $0["village"] != nil }) { $0["village"]!.stringValue! }
        let (code, people) = try #require(byVillage.max { $0.value.count < $1.value.count })
        #expect(people.count >= 40, "the demo data's largest roster is \(people.count)")
        let v = try #require(try atlas.source.all("villages").first { $0["code"]?.stringValue == code })
        let dir = TempDir()
        // Portrait and landscape (a landscape page's continuation is landscape too: it once
        // continued at portrait size and lost the rows below the page), Chinese and English.
        for (paper, landscape, english) in [(Paper.a3, false, false), (.a4, false, false), (.a4, true, false), (.a4, true, true)] {
            var o = fixedOptions()
            o.paper = paper
            o.landscape = landscape
            o.english = english
            try Data(try atlas.pdf(village: v.id, options: o)).write(to: URL(fileURLWithPath: dir.file("v.pdf")))
            let info = try poppler("pdfinfo", [dir.file("v.pdf")])
            let pages = Int(info.split(separator: "\n").first { $0.hasPrefix("Pages:") }!.split(separator: " ").last!)!
            #expect(pages >= 2)
            let first = Bidi.stripped(try poppler("pdftotext", ["-f", "1", "-l", "1", dir.file("v.pdf"), "-"]))
            let rest = Bidi.stripped(try poppler("pdftotext", ["-f", "2", dir.file("v.pdf"), "-"]))
            #expect(first.contains(english ? "the rest on the continuation page" : "其余见续表"))
            #expect(rest.contains(english ? "(continued)" : "续表"))
            #expect(rest.contains(english ? "page \(pages) of \(pages)" : "第 \(pages) / \(pages) 页"))
            let all = first + rest
            let paper = "\(paper)\(landscape ? " landscape" : "")\(english ? " en" : "")"
            for p in people { #expect(all.contains(p["phone"]!.stringValue!), "\(p["name"]!.stringValue!) (\(p.id)) missing on \(paper)") }
            let shelter = try #require(try atlas.source.all("shelters").first { $0["village"]?.stringValue == code })
            #expect(all.contains(english ? "Shelter manager" : "避难场所负责人"), "the shelter manager's row is missing on \(paper)")
            #expect(all.contains(shelter["phone"]!.stringValue!))
            let c = try textCollisions(dir.file("v.pdf"))
            #expect(c.overlaps.isEmpty && c.off.isEmpty, "\(c.overlaps.prefix(5)) \(c.off.prefix(5))")
        }
    }

    /// Long names: a 12-character village name, a 60-character shelter name and a long
    /// township name, in Chinese and English on A4 — the title stays above the subtitle, every
    /// word stays on the page and off other words.
    @Test func longNamesFitTheirBoxes() throws {
        let store = try Store(path: shared.file("long-\(UUID().uuidString).sqlite"))
        _ = try store.importGeoJSON(at: repoRoot + "/GeoData")
        let v = try #require(try store.all("villages").first { $0["name"]?.stringValue == "喀拉苏村" })
        try store.patch(layer: "villages", id: v.id, changes: ["properties": ["name": .string("喀拉苏阿克吐别克库尔特村")]], ifVersion: nil, actor: "test")
        let sh = try #require(try store.all("shelters").first { $0["village"] == v["code"] })
        try store.patch(layer: "shelters", id: sh.id, changes: ["properties": ["name": .string("喀拉苏阿克吐别克库尔特村村民委员会文化活动广场及村小学操场应急避难场所（东区临时安置点）")]],
                        ifVersion: nil, actor: "test")
        let a = try VillageAtlas(source: store, router: try RoadRouter(source: store), map: try MapRenderer(source: store, stylesDirectory: repoRoot + "/Styles"))
        let dir = TempDir()
        for (english, paper) in [(false, Paper.a4), (true, Paper.a4), (true, Paper.a3)] {
            var o = fixedOptions()
            o.english = english
            o.paper = paper
            try Data(try a.pdf(village: v.id, options: o)).write(to: URL(fileURLWithPath: dir.file("v.pdf")))
            let c = try textCollisions(dir.file("v.pdf"))
            #expect(c.overlaps.isEmpty && c.off.isEmpty, "english \(english) \(paper): \(c.overlaps.prefix(5)) \(c.off.prefix(5))")
            let text = try poppler("pdftotext", ["-f", "1", "-l", "1", dir.file("v.pdf"), "-"])
            #expect(text.contains("喀拉苏阿克吐别克库尔特村"))
        }
    }
}

/// Word boxes read back by `pdftotext -bbox`: pairs overlapping by more than `sliver` points
/// both ways (same page), and words outside their page.
func textCollisions(_ pdf: String, sliver: Double = 1, onePiece: Set<String> = []) throws -> (words: Int, overlaps: [String], off: [String]) {
    let html = try poppler("pdftotext", ["-bbox", pdf, "-"])
    var pages: [(w: Double, h: Double, words: [(Double, Double, Double, Double, String)])] = []
    func attr(_ line: Substring, _ name: String) -> Double? {
        guard let r = line.range(of: name + "=\"") else { return nil }
        return Double(line[r.upperBound...].prefix { $0 != "\"" })
    }
    for line in html.split(separator: "\n") {
        if line.contains("<page "), let w = attr(line, "width"), let h = attr(line, "height") { pages.append((w, h, [])); continue }
        guard line.contains("<word "), !pages.isEmpty, let x0 = attr(line, "xMin"), let y0 = attr(line, "yMin"), let x1 = attr(line, "xMax"), let y1 = attr(line, "yMax") else { continue }
        let word = line.split(separator: ">", maxSplits: 1).last.map { String($0.prefix { $0 != "<" }) } ?? ""
        pages[pages.count - 1].words.append((x0, y0, x1, y1, word))
    }
    var overlaps: [String] = [], off: [String] = [], n = 0
    for (i, p) in pages.enumerated() {
        n += p.words.count
        for w in p.words where w.0 < -0.5 || w.1 < -0.5 || w.2 > p.w + 0.5 || w.3 > p.h + 0.5 { off.append("p\(i + 1) \(w.4)") }
        let ws = p.words.sorted { $0.0 < $1.0 }
        for a in 0..<ws.count {
            var b = a + 1
            while b < ws.count, ws[b].0 < ws[a].2 - sliver {
                let ix = min(ws[a].2, ws[b].2) - max(ws[a].0, ws[b].0), iy = min(ws[a].3, ws[b].3) - max(ws[a].1, ws[b].1)
                if ix > sliver, iy > sliver, !onePiece.contains(ws[a].4 + ws[b].4), !onePiece.contains(ws[b].4 + ws[a].4) { overlaps.append("p\(i + 1) \(ws[a].4) × \(ws[b].4)") }
                b += 1
            }
        }
    }
    return (n, overlaps, off)
}

func pixels(_ path: String) throws -> (Int, Int, [UInt32]) {
    let p = PNGPixels(file: path)
    return (p.width, p.height, p.data)
}
