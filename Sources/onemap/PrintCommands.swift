import ArgumentParser
import Foundation
import OneMapCore
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore

struct PageArguments: ParsableArguments {
    @Option(help: "A4 or A3.") var paper = "A3"
    @Flag(help: "Landscape instead of portrait.") var landscape = false
    @Flag(help: "English titles and labels.") var english = false
    @Option(help: "Compiling unit printed in the title block.") var compiler = "裕民县应急管理局"

    func options() throws -> PageOptions {
        guard let p = Paper(rawValue: paper.uppercased()) else {
            throw CLIError("--paper must be A4 or A3, got \"\(paper)\"")
        }
        var o = PageOptions()
        o.paper = p; o.landscape = landscape; o.english = english; o.compiler = compiler
        return o
    }
}

func openAtlas(_ store: StoreOptions) throws -> VillageAtlas {
    let s = try store.open()
    let map = try openRenderer(s)
    do { return try VillageAtlas(source: s, router: try makeRouter(s), map: map) } catch let e as RoutingError {
        throw e
    }
}


struct PrintMaps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "print", abstract: "Print village hazard and evacuation maps (PDF or PNG).",
                                                    subcommands: [PrintVillage.self, PrintAtlas.self])
}

struct PrintVillage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "village", abstract: "One village's map.")
    @Argument(help: "Village id, code or name, e.g. 新地北村.") var village: String
    @OptionGroup var page: PageArguments
    @Option(name: .shortAndLong, help: "Output file (default: <village>.pdf or .png).") var out: String?
    @Flag(help: "PNG instead of PDF.") var png = false
    @Option(help: "PNG resolution.") var dpi = 150.0
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let atlas = try openAtlas(store)
        let options = try page.options()
        try reportingErrors {
            let v = try atlas.village(village)
            let name = v["name"]?.stringValue ?? v.id
            let path = out ?? "\(name).\(png ? "png" : "pdf")"
            let t0 = Date()
            let bytes = png ? try atlas.png(village: v.id, dpi: dpi, options: options) : try atlas.pdf(village: v.id, options: options)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            print(String(format: "wrote %@ (%@, %.0f KB) in %.2f s", path, name, Double(bytes.count) / 1024, Date().timeIntervalSince(t0)))
        }
    }
}

struct PrintAtlas: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "atlas", abstract: "Every village (or one township's): one PDF, or one file each.")
    @Option(help: "Only this township (name or code).") var township: String?
    @Option(name: .shortAndLong, help: "One multi-page PDF.") var out: String?
    @Option(help: "One PDF per village into this folder.") var outDir: String?
    @Option(help: "Worker threads (default: all cores).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup var page: PageArguments
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard (out == nil) != (outDir == nil) else {
            throw CLIError("give either --out atlas.pdf or --out-dir DIR")
        }
        let atlas = try openAtlas(store)
        let options = try page.options()
        try reportingErrors {
            let villages = try atlas.villages(township: township)
            guard !villages.isEmpty else { throw PrintError("no villages to print") }
            let bar = ProgressBar("atlas")
            let t0 = Date()
            let perVillage = try atlas.recordPages(villages, options: options, threads: threads) { done, total in bar.update(done, total, "villages") }
            let pages = perVillage.flatMap { $0 }
            bar.finish()
            if let out {
                let bytes = try atlas.writePDF(pages, options: options)
                try Data(bytes).write(to: URL(fileURLWithPath: out))
                print(String(format: "wrote %@: %d pages, %.0f KB (%.0f KB/page) in %.2f s", out, pages.count, Double(bytes.count) / 1024, Double(bytes.count) / 1024 / Double(pages.count), Date().timeIntervalSince(t0)))
            } else if let outDir {
                try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
                for (v, p) in zip(villages, perVillage) {
                    let bytes = try atlas.writePDF(p, options: options)
                    try Data(bytes).write(to: URL(fileURLWithPath: (outDir as NSString).appendingPathComponent("\(v["code"]?.stringValue ?? v.id)-\(v["name"]?.stringValue ?? "").pdf")))
                }
                print(String(format: "wrote %d PDFs to %@ in %.2f s", perVillage.count, outDir, Date().timeIntervalSince(t0)))
            }
        }
    }
}
