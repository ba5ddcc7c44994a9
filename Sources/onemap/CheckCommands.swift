import ArgumentParser
import Foundation
import OneMapCore
import OneMapPrint
import OneMapRouting
import OneMapStore
import OneMapStyle

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check data for mistakes that make answers wrong without an error.", subcommands: [CheckRoads.self])
}

/// `onemap check roads`: gaps, crossings without junctions, duplicates, zero-length roads,
/// one-ways that lead nowhere and isolated fragments, as a list, JSON or a map.
struct CheckRoads: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roads",
        abstract: "Check the road network's topology (as GRASS v.clean and QGIS's Topology Checker do): gaps, crossings without a junction, duplicates, zero-length roads, one-ways that lead nowhere, isolated fragments.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Report road ends this close to another road without meeting it, metres.") var tolerance = 2.0
    @Flag(help: "JSON output.") var json = false
    @Option(help: "Draw the problems on a PNG map.") var png: String?
    @Option(help: "List at most this many problems (all go into --json and --png).") var limit = 50

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard tolerance >= 0, tolerance <= 100 else { throw CLIError("--tolerance must be 0…100 m (write a negative value as --tolerance=-1), got \(tolerance)") }
        if let png { try checkOutputFolder(png) }
        let s = try store.open()
        let profile = try loadProfile(nil)
        let report = RoadTopology.check(RoadTopology.roads(try s.allFeatures(of: "roads")), profile: profile, gapTolerance: tolerance)
        if json {
            print(JSONWriter.string(report.json))
        } else {
            print(report.summary)
            for p in report.problems.prefix(limit) { print("  \(p.kind.rawValue): \(p.description)") }
            if report.problems.count > limit { print("  … and \(report.problems.count - limit) more (--json lists all)") }
        }
        if let png {
            var m = ResultMap(title: "道路拓扑检查 Road topology: \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
            let colours: [TopologyProblem.Kind: Color] = [
                .gap: Color(0.85, 0.1, 0.1), .crossing: Color(0.9, 0.45, 0), .duplicate: Color(0.5, 0.2, 0.7), .zeroLength: Color(0.4, 0.4, 0.4),
                .onewayDeadEnd: Color(0.1, 0.3, 0.8), .onewayNoEntry: Color(0.1, 0.5, 0.9), .fragment: Color(0.2, 0.6, 0.2),
            ]
            for p in report.problems { m.point(p.at, colours[p.kind]!, label: report.problems.count <= 40 ? p.roads.first : nil) }
            m.legend = TopologyProblem.Kind.allCases.filter { report.count($0) > 0 }.map { ("\($0.rawValue) \(report.count($0))", colours[$0]!) }
            let extent = report.problems.isEmpty ? nil : BBox(covering: report.problems.map(\.at)).expanded(by: 0.002)
            try Data(try m.png(map: try openRenderer(s), extent: extent)).write(to: URL(fileURLWithPath: png))
            printError("wrote \(png)")
        }
    }
}

