import CCairo
import Foundation
import Testing
import OneMapTestSupport

@testable import OneMapCore
@testable import OneMapPrint
@testable import OneMapRender
@testable import OneMapRouting
@testable import OneMapStore

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

    @Test func atlasHasOnePagePerVillage() throws {
        let dir = TempDir()
        let villages = try atlas.villages(township: "新地乡")
        #expect(villages.count == 13)
        let pdf = try atlas.atlasPDF(villages, options: fixedOptions(), threads: 2)
        try Data(pdf).write(to: URL(fileURLWithPath: dir.file("atlas.pdf")))
        #expect(try poppler("pdfinfo", [dir.file("atlas.pdf")]).contains("Pages:           13"))
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

func pixels(_ path: String) throws -> (Int, Int, [UInt32]) {
    let p = PNGPixels(file: path)
    return (p.width, p.height, p.data)
}
