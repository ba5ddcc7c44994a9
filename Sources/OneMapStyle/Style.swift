import Foundation
import OneMapCore

/// A style load error: which style, layer and key, and what is wrong.
public struct StyleError: Error, Sendable, CustomStringConvertible {
    public var style: String
    public var layer: String?
    public var key: String?
    public var reason: String
    public var description: String {
        var s = "style \(style)"
        if let layer { s += ", layer \"\(layer)\"" }
        if let key { s += ", key \"\(key)\"" }
        return s + ": " + reason
    }
}

/// The layer types onemap draws.
public enum StyleLayerType: String, Sendable { case background, fill, line, circle, symbol }

/// One style layer.
public struct StyleLayer: Sendable {
    public var id: String
    public var type: StyleLayerType
    /// The store layer it draws (absent for background).
    public var sourceLayer: String?
    public var minzoom: Double
    public var maxzoom: Double
    public var filter: Expression?
    public var paint: [String: Expression]
    public var layout: [String: Expression]
    /// Legend title for print maps (metadata."onemap:legend").
    public var legend: String?

    public func visible(atZoom z: Double) -> Bool { z >= minzoom && z < maxzoom && (layout["visibility"].map { $0.evaluate(EvaluationContext(zoom: z)) != .string("none") } ?? true) }

    /// Paint or layout value at a zoom for a feature.
    public func value(_ key: String, _ c: EvaluationContext) -> JSONValue? {
        (paint[key] ?? layout[key])?.evaluate(c)
    }
}

/// A style document: a documented subset of the MapLibre GL style specification (v8).
public struct Style: Sendable {
    public var name: String
    public var layers: [StyleLayer]
    public var metadata: JSONObject

    /// Keys accepted per layer type, with their value kind.
    enum Kind { case color, number, numbers, string, enumeration([String]), any }
    static let paintKeys: [StyleLayerType: [String: Kind]] = [
        .background: ["background-color": .color, "background-opacity": .number],
        .fill: ["fill-color": .color, "fill-opacity": .number, "fill-outline-color": .color, "fill-antialias": .any],
        .line: ["line-color": .color, "line-width": .number, "line-opacity": .number, "line-dasharray": .numbers, "line-offset": .number, "line-gap-width": .number],
        .circle: ["circle-color": .color, "circle-radius": .number, "circle-opacity": .number, "circle-stroke-color": .color, "circle-stroke-width": .number],
        .symbol: ["text-color": .color, "text-halo-color": .color, "text-halo-width": .number, "text-opacity": .number, "icon-color": .color, "icon-opacity": .number, "icon-halo-color": .color],
    ]
    static let layoutKeys: [StyleLayerType: [String: Kind]] = [
        .background: ["visibility": .enumeration(["visible", "none"])],
        .fill: ["visibility": .enumeration(["visible", "none"]), "fill-sort-key": .number],
        .line: ["visibility": .enumeration(["visible", "none"]), "line-cap": .enumeration(["butt", "round", "square"]), "line-join": .enumeration(["bevel", "round", "miter"]), "line-sort-key": .number],
        .circle: ["visibility": .enumeration(["visible", "none"]), "circle-sort-key": .number],
        .symbol: [
            "visibility": .enumeration(["visible", "none"]), "text-field": .any, "text-size": .number, "text-font": .any, "text-offset": .numbers,
            "text-anchor": .enumeration(["center", "left", "right", "top", "bottom"]), "text-max-width": .number, "text-allow-overlap": .any,
            "icon-image": .string, "icon-size": .number, "icon-allow-overlap": .any, "symbol-placement": .enumeration(["point", "line"]),
            "symbol-sort-key": .number, "symbol-spacing": .number, "text-padding": .number, "text-optional": .any,
        ],
    ]
    static let layerKeys: Set<String> = ["id", "type", "source", "source-layer", "minzoom", "maxzoom", "filter", "paint", "layout", "metadata"]

    public static func load(path: String) throws -> Style {
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw StyleError(style: name, reason: "cannot read \(path): \(error.localizedDescription)")
        }
        let v: JSONValue
        do { v = try JSONParser.parse(bytes) } catch {
            throw StyleError(style: name, reason: error.description)
        }
        return try parse(v, name: name)
    }

    public static func parse(_ v: JSONValue, name: String) throws(StyleError) -> Style {
        func fail(_ layer: String?, _ key: String?, _ reason: String) -> StyleError { StyleError(style: name, layer: layer, key: key, reason: reason) }
        guard let o = v.objectValue else { throw fail(nil, nil, "a style must be a JSON object") }
        guard o["version"]?.intValue == 8 else { throw fail(nil, "version", "must be 8 (MapLibre GL style specification v8)") }
        for (k, _) in o where !["version", "name", "metadata", "sources", "layers", "glyphs", "sprite", "center", "zoom"].contains(k) {
            throw fail(nil, k, "unknown top-level key")
        }
        guard let layers = o["layers"]?.arrayValue else { throw fail(nil, "layers", "a style needs a \"layers\" array") }
        var out: [StyleLayer] = []
        var ids = Set<String>()
        for (n, lv) in layers.enumerated() {
            guard let l = lv.objectValue else { throw fail("#\(n)", nil, "a layer must be an object") }
            guard let id = l["id"]?.stringValue, !id.isEmpty else { throw fail("#\(n)", "id", "every layer needs a string id") }
            guard ids.insert(id).inserted else { throw fail(id, "id", "duplicate layer id") }
            for (k, _) in l where !layerKeys.contains(k) { throw fail(id, k, "unknown layer key; allowed: \(layerKeys.sorted().joined(separator: ", "))") }
            guard let t = l["type"]?.stringValue, let type = StyleLayerType(rawValue: t) else {
                throw fail(id, "type", "type must be one of background, fill, line, circle, symbol")
            }
            let source = l["source-layer"]?.stringValue
            if type != .background && source == nil { throw fail(id, "source-layer", "a \(t) layer needs a source-layer (a store layer name)") }
            func zoom(_ k: String, _ d: Double) throws(StyleError) -> Double {
                guard let v = l[k] else { return d }
                guard let z = v.doubleValue, z >= 0, z <= 24 else { throw fail(id, k, "must be a number 0…24") }
                return z
            }
            var filter: Expression?
            if let f = l["filter"] {
                do { filter = try ExpressionParser.parse(f, filter: true) } catch { throw fail(id, "filter", error.reason) }
            }
            func props(_ section: String, _ allowed: [String: Kind]) throws(StyleError) -> [String: Expression] {
                guard let v = l[section] else { return [:] }
                guard let obj = v.objectValue else { throw fail(id, section, "must be an object") }
                var out: [String: Expression] = [:]
                for (k, value) in obj {
                    guard let kind = allowed[k] else {
                        throw fail(id, k, "unknown \(section) property for a \(t) layer; allowed: \(allowed.keys.sorted().joined(separator: ", "))")
                    }
                    let e: Expression
                    do { e = try ExpressionParser.parse(value, filter: false) } catch { throw fail(id, k, error.reason) }
                    if case .literal(let lit) = e, let reason = check(lit, kind) { throw fail(id, k, reason) }
                    out[k] = e
                }
                return out
            }
            let paint = try props("paint", paintKeys[type]!)
            let layout = try props("layout", layoutKeys[type]!)
            out.append(StyleLayer(id: id, type: type, sourceLayer: source, minzoom: try zoom("minzoom", 0), maxzoom: try zoom("maxzoom", 24.01),
                                  filter: filter, paint: paint, layout: layout, legend: l["metadata"]?["onemap:legend"]?.stringValue))
        }
        return Style(name: name, layers: out, metadata: o["metadata"]?.objectValue ?? JSONObject())
    }

    static func check(_ v: JSONValue, _ kind: Kind) -> String? {
        switch kind {
        case .color: return v.stringValue.flatMap(Color.parse) == nil ? "not a colour: \(JSONWriter.string(v))" : nil
        case .number: return v.doubleValue == nil ? "must be a number, got \(JSONWriter.string(v))" : nil
        case .numbers: return v.arrayValue?.allSatisfy({ $0.doubleValue != nil }) == true ? nil : "must be an array of numbers"
        case .string: return v.stringValue == nil ? "must be a string" : nil
        case .enumeration(let vals): return v.stringValue.map(vals.contains) == true ? nil : "must be one of \(vals.joined(separator: ", "))"
        case .any: return nil
        }
    }

    /// The store layers this style reads.
    public var sourceLayers: Set<String> { Set(layers.compactMap(\.sourceLayer)) }
}

/// Why an expression could not be parsed.
public struct ExpressionError: Error, Sendable { public var reason: String }

/// Parses JSON into expressions; accepts the legacy filter syntax (["==", "key", value]) and
/// legacy zoom functions ({"stops": [[z, v], …]}).
public enum ExpressionParser {
    public static func parse(_ v: JSONValue, filter: Bool) throws(ExpressionError) -> Expression {
        if case .object(let o) = v {
            guard let stops = o["stops"]?.arrayValue else { throw ExpressionError(reason: "an object value must be a zoom function with \"stops\"") }
            var out: [(Double, Expression)] = []
            for s in stops {
                guard let pair = s.arrayValue, pair.count == 2, let z = pair[0].doubleValue else { throw ExpressionError(reason: "stops must be [zoom, value] pairs") }
                out.append((z, .literal(pair[1])))
            }
            return .interpolate(input: .zoom, stops: out)
        }
        guard case .array(let a) = v, let op = a.first?.stringValue else { return .literal(v) }
        // A literal array of numbers (dash arrays, offsets).
        func arg(_ i: Int) throws(ExpressionError) -> Expression {
            guard i < a.count else { throw ExpressionError(reason: "\"\(op)\" needs more arguments") }
            return try parse(a[i], filter: filter)
        }
        func key(_ i: Int) throws(ExpressionError) -> Expression {
            // Legacy filters name the property as a bare string.
            if i < a.count, let s = a[i].stringValue { return .get(s) }
            return try arg(i)
        }
        let legacy = filter && a.count > 1 && a[1].stringValue != nil
        switch op {
        case "literal": guard a.count == 2 else { throw ExpressionError(reason: "literal takes one value") }; return .literal(a[1])
        case "get": guard a.count == 2, let k = a[1].stringValue else { throw ExpressionError(reason: "get takes a property name") }; return .get(k)
        case "has", "!has":
            guard a.count == 2, let k = a[1].stringValue else { throw ExpressionError(reason: "has takes a property name") }
            return op == "has" ? .has(k) : .not(.has(k))
        case "zoom": return .zoom
        case "==", "!=", "<", "<=", ">", ">=":
            guard a.count == 3 else { throw ExpressionError(reason: "\"\(op)\" takes two arguments") }
            return .compare(op, legacy ? try key(1) : try arg(1), legacy ? .literal(a[2]) : try arg(2))
        case "in", "!in":
            let e: Expression
            if legacy {
                e = .inList(.get(a[1].stringValue!), Array(a.dropFirst(2)))
            } else {
                guard a.count == 3 else { throw ExpressionError(reason: "in takes a value and a list") }
                let list: [JSONValue]
                if case .literal(.array(let xs)) = try arg(2) { list = xs } else if let xs = a[2].arrayValue, xs.first?.stringValue != "literal" { list = xs } else {
                    throw ExpressionError(reason: "the list of \"in\" must be [\"literal\", [...]]")
                }
                e = .inList(try arg(1), list)
            }
            return op == "in" ? e : .not(e)
        case "all": return .all(try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) })
        case "any": return .any(try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) })
        case "none": return .not(.any(try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) }))
        case "!": return .not(try arg(1))
        case "interpolate":
            guard a.count >= 5, a[1].arrayValue?.first?.stringValue == "linear" else {
                throw ExpressionError(reason: "interpolate must be [\"interpolate\", [\"linear\"], input, stop, value, …]")
            }
            var stops: [(Double, Expression)] = []
            var i = 3
            while i + 1 < a.count {
                guard let z = a[i].doubleValue else { throw ExpressionError(reason: "interpolate stops must be numbers") }
                if let last = stops.last, z <= last.0 { throw ExpressionError(reason: "interpolate stops must increase") }
                stops.append((z, try arg(i + 1)))
                i += 2
            }
            return .interpolate(input: try arg(2), stops: stops)
        case "step":
            guard a.count >= 3 else { throw ExpressionError(reason: "step needs an input and a base value") }
            var stops: [(Double, Expression)] = []
            var i = 3
            while i + 1 < a.count {
                guard let z = a[i].doubleValue else { throw ExpressionError(reason: "step stops must be numbers") }
                stops.append((z, try arg(i + 1)))
                i += 2
            }
            return .step(input: try arg(1), base: try arg(2), stops: stops)
        case "match":
            guard a.count >= 5, a.count % 2 == 1 else { throw ExpressionError(reason: "match must be [\"match\", input, label, value, …, fallback]") }
            var cases: [([JSONValue], Expression)] = []
            var i = 2
            while i + 1 < a.count - 1 + 1 && i < a.count - 1 {
                let labels = a[i].arrayValue ?? [a[i]]
                cases.append((labels, try arg(i + 1)))
                i += 2
            }
            return .match(input: try arg(1), cases: cases, fallback: try arg(a.count - 1))
        case "case":
            guard a.count >= 4, a.count % 2 == 0 else { throw ExpressionError(reason: "case must be [\"case\", condition, value, …, fallback]") }
            var cases: [(Expression, Expression)] = []
            var i = 1
            while i + 1 < a.count - 1 {
                cases.append((try arg(i), try arg(i + 1)))
                i += 2
            }
            return .caseOf(cases, fallback: try arg(a.count - 1))
        case "concat": return .concat(try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) })
        case "to-string": return .toString(try arg(1))
        case "coalesce": return .coalesce(try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) })
        case "+", "-", "*", "/": return .arithmetic(op, try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) })
        default:
            if a.allSatisfy({ $0.doubleValue != nil }) { return .literal(v) }
            throw ExpressionError(reason: "unknown expression operator \"\(op)\"")
        }
    }
}
