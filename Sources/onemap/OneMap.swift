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
}
