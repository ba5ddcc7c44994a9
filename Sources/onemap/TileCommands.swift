import ArgumentParser
import Foundation
import OneMapCore
import OneMapRender
import OneMapStore
import OneMapStyle

enum Paths {
    /// Styles/ next to the working directory, or ONEMAP_STYLES.
    static var styles: String { ProcessInfo.processInfo.environment["ONEMAP_STYLES"] ?? "Styles" }
}

func openRenderer(_ store: Store) throws -> MapRenderer {
    do { return try MapRenderer(store: store, stylesDirectory: Paths.styles) } catch let e as StyleError {
        printError("error: \(e.description)")
        throw ExitCode(1)
    }
}

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Render one XYZ tile (or a larger area) to PNG.")
    @Option(help: "Style name (a file in Styles/).") var style = "command"
    @Option(help: "z/x/y") var tile: String?
    @Option(help: "Render the area of w×h tiles from --tile as one image, e.g. 2x2.") var area: String?
    @Option(help: "1 or 2 (@2x).") var scale = 1
    @Option(name: .shortAndLong, help: "Output PNG.") var out: String
    @OptionGroup var store: StoreOptions

    func run() throws {
        guard let tile else {
            printError("error: give --tile z/x/y")
            throw ExitCode(1)
        }
        let t: TileID
        do { t = try TileID(parsing: tile) } catch {
            printError("error: \(error.description)")
            throw ExitCode(1)
        }
        guard scale == 1 || scale == 2 else {
            printError("error: --scale must be 1 or 2")
            throw ExitCode(1)
        }
        let map = try openRenderer(try store.open())
        do {
            let bytes: [UInt8]
            if let area {
                let p = area.split(separator: "x").compactMap { Int($0) }
                guard p.count == 2, p[0] > 0, p[1] > 0, p[0] * p[1] <= 256 else {
                    printError("error: --area must be WxH tiles, at most 256 tiles")
                    throw ExitCode(1)
                }
                let vp = Viewport(zoom: t.z, originX: Double(t.x * 256), originY: Double(t.y * 256), width: Double(p[0] * 256), height: Double(p[1] * 256), scale: Double(scale))
                bytes = try map.renderPNG(style: style, viewport: vp)
            } else {
                bytes = try TileRenderer(map: map).renderTile(style: style, tile: t, scale: scale)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: out))
            print("wrote \(out) (\(bytes.count) bytes)")
        } catch let e as RenderError {
            printError("error: \(e.description)")
            throw ExitCode(1)
        }
    }
}
