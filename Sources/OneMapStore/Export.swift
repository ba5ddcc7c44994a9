import Foundation
import OneMapCore

extension Store {
    /// Writes every non-empty layer (or the given ones) to `<dir>/<layer>.geojson`, one feature per
    /// line so diffs stay readable. Returns the files written with their feature counts.
    public func exportGeoJSON(to dir: String, layers: [String]? = nil) throws -> [(file: String, features: Int)] {
        let names = layers ?? Layers.names
        for n in names { _ = try Layers.spec(n) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var out: [(String, Int)] = []
        for n in names {
            let fs = try allFeatures(of: n)
            if fs.isEmpty && layers == nil { continue }
            let file = (dir as NSString).appendingPathComponent("\(n).geojson")
            try Store.featureCollectionText(fs, name: n).write(toFile: file, atomically: true, encoding: .utf8)
            out.append((file, fs.count))
        }
        return out
    }

    /// A FeatureCollection as text, one feature per line.
    public static func featureCollectionText(_ features: [Feature], name: String) -> String {
        var s = "{\"type\":\"FeatureCollection\",\"name\":"
        JSONWriter.writeString(name, to: &s)
        s += ",\"features\":[\n"
        for (k, f) in features.enumerated() {
            JSONWriter.write(GeoJSON.json(f), to: &s)
            s += k + 1 < features.count ? ",\n" : "\n"
        }
        s += "]}\n"
        return s
    }
}
