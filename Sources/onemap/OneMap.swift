import ArgumentParser
import Foundation
import OneMapCore
import OneMapStore

@main
struct OneMap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onemap",
        abstract: "裕民县应急指挥“一张图” — the county emergency-command one map.",
        subcommands: [Import.self, Export.self, Info.self, Schema.self, Features.self, Search.self, NearestStraight.self, Nearest.self, Route.self, Coverage.self, Isochrone.self, Render.self, Seed.self, ExportMBTiles.self, Serve.self, PrintMaps.self, Check.self, User.self, Audit.self, Backup.self, Restore.self])

    /// Checks the raw arguments before parsing: Swift would repair bytes that are not UTF-8 into
    /// U+FFFD, and a name or id with a control character would be stored or searched for as
    /// something else. One sentence and exit 64 (`EX_USAGE`).
    static func main() async {
        for i in 1..<Int(CommandLine.argc) {
            guard let p = CommandLine.unsafeArgv[i] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p))
            if let at = UTF8Check.firstInvalidOffset(bytes) {
                printError("error: argument \(i) is not UTF-8 (byte 0x\(String(bytes[at], radix: 16, uppercase: true)) at \(at)); set a UTF-8 locale (LANG=C.UTF-8) or convert the text (iconv -f GBK -t UTF-8)")
                Foundation.exit(64)
            }
            if let why = TextRules.problem(String(decoding: bytes, as: UTF8.self), "argument \(i)", allowingLineBreaks: true) {
                printError("error: \(why)")
                Foundation.exit(64)
            }
        }
        await Self.main(nil)
    }
}
