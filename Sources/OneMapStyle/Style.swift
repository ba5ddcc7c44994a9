import Foundation
import OneMapCore

/// A style load error: which style, layer and key, and what is wrong.
public struct StyleError: OneMapError {
    public var category: ErrorCategory { .badInput }
    public var style: String
    public var layer: String?
    public var key: String?
    public var reason: String
    public init(style: String, layer: String? = nil, key: String? = nil, reason: String) {
        self.style = style; self.layer = layer; self.key = key; self.reason = reason
    }
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
    /// The value kind its layer type declares for each paint and layout key the layer sets.
    public var kinds: [String: ValueKind] = [:]

    public func visible(atZoom z: Double) -> Bool { z >= minzoom && z < maxzoom && (layout["visibility"].map { $0.evaluate(EvaluationContext(zoom: z)) != .string("none") } ?? true) }

    /// Whether any paint or layout value depends on feature properties (else the layer's
    /// properties are resolved once per zoom).
    public var isDataDriven: Bool { paint.values.contains { $0.usesProperties } || layout.values.contains { $0.usesProperties } }

    /// The feature properties the layer reads (filter, paint, layout).
    public var featureProperties: Set<String> {
        var out = filter?.properties ?? []
        for e in paint.values { out.formUnion(e.properties) }
        for e in layout.values { out.formUnion(e.properties) }
        out.remove("$type")
        return out
    }

    /// Paint or layout value at a zoom for a feature.
    public func value(_ key: String, _ c: EvaluationContext) -> JSONValue? {
        (paint[key] ?? layout[key])?.evaluate(c)
    }
}

/// The value a style property takes, checked at load on every literal the expression can give.
public enum ValueKind: Sendable {
    case color, string, boolean
    /// A finite number in the range (MapLibre's minimum, and a maximum that keeps drawing bounded).
    case number(ClosedRange<Double>)
    /// An array of `count` finite numbers, each in `each`.
    case numbers(count: ClosedRange<Int>, each: ClosedRange<Double>)
    /// One of these strings (a MapLibre enum, or the names of onemap's icons).
    case enumeration([String])
    /// An array of one or more of these strings, each once (MapLibre `text-variable-anchor`);
    /// a literal array, as the spec's array-of-enum properties take it.
    case enumerations([String])
    /// A formatted string: any scalar is shown as text.
    case text
}

extension ValueKind {
    /// Any finite number (sort keys).
    public static let anyNumber = ValueKind.number(-1e12...1e12)
    /// 0…1.
    public static let opacity = ValueKind.number(0...1)
    static func show(_ r: ClosedRange<Double>) -> String {
        func f(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d) }
        return "\(f(r.lowerBound))…\(f(r.upperBound))"
    }
}

/// What one style layer type (background, fill, line, circle, symbol) accepts: the keys of its
/// `paint` and `layout` objects and their value kinds. Each layer type in `OneMapRender`
/// declares its own, and style loading takes the accepted keys from there, so the keys a style
/// may use are exactly the keys that are drawn (MapLibre Native's layer-owned properties).
public protocol StyleLayerSpec: Sendable {
    var type: StyleLayerType { get }
    var paintKeys: [String: ValueKind] { get }
    /// Besides `visibility`, which every layer type takes.
    var layoutKeys: [String: ValueKind] { get }
}

/// A style document: a documented subset of the MapLibre GL style specification (v8).
public struct Style: Sendable {
    public var name: String
    public var layers: [StyleLayer]
    public var metadata: JSONObject

    static let layerKeys: Set<String> = ["id", "type", "source", "source-layer", "minzoom", "maxzoom", "filter", "paint", "layout", "metadata"]

    /// Reads and checks a style file against the layer types given (see `parse`).
    /// Throws `StyleError` naming the style, layer and key of the first problem.
    public static func load(path: String, types: [any StyleLayerSpec]) throws(StyleError) -> Style {
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw StyleError(style: name, reason: "cannot read \(path): \(error.localizedDescription)")
        }
        let v: JSONValue
        do { v = try JSONParser.parse(bytes) } catch {
            throw StyleError(style: name, reason: error.description)
        }
        return try parse(v, name: name, types: types)
    }

    /// Checks a style document: known top-level and layer keys, a layer type from `types`, only
    /// the paint/layout keys that type declares, expressions well-formed with the right number of
    /// arguments, and every literal a property can take of the kind the type declares.
    public static func parse(_ v: JSONValue, name: String, types: [any StyleLayerSpec]) throws(StyleError) -> Style {
        func fail(_ layer: String?, _ key: String?, _ reason: String) -> StyleError { StyleError(style: name, layer: layer, key: key, reason: reason) }
        let specs = Dictionary(types.map { ($0.type.rawValue, $0) }, uniquingKeysWith: { a, _ in a })
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
            guard let t = l["type"]?.stringValue, let spec = specs[t] else {
                throw fail(id, "type", "type must be one of \(types.map(\.type.rawValue).joined(separator: ", "))")
            }
            let type = spec.type
            let source = l["source-layer"]?.stringValue
            if type != .background && source == nil { throw fail(id, "source-layer", "a \(t) layer needs a source-layer (a store layer name)") }
            if type == .background, l["source-layer"] != nil || l["source"] != nil { throw fail(id, "source-layer", "a background layer draws no source") }
            if let src = l["source"] {
                guard let name = src.stringValue, o["sources"]?[name] != nil || o["sources"] == nil else {
                    throw fail(id, "source", "\(JSONWriter.string(src)) is not one of the style's sources (\(o["sources"]?.objectValue?.keys.joined(separator: ", ") ?? "none"))")
                }
            }
            if let md = l["metadata"] {
                guard let m = md.objectValue else { throw fail(id, "metadata", "must be an object") }
                if let legend = m["onemap:legend"], legend.stringValue == nil { throw fail(id, "metadata", "\"onemap:legend\" must be a string") }
            }
            func zoom(_ k: String, _ d: Double) throws(StyleError) -> Double {
                guard let v = l[k] else { return d }
                guard let z = v.doubleValue, z >= 0, z <= 24 else { throw fail(id, k, "must be a number 0…24") }
                return z
            }
            var filter: Expression?
            if let f = l["filter"] {
                do { filter = try ExpressionParser.parse(f, filter: true) } catch { throw fail(id, "filter", error.reason) }
                if let reason = filter!.notBoolean { throw fail(id, "filter", "a filter must be true or false for each feature: \(reason)") }
            }
            var kinds: [String: ValueKind] = [:]
            func props(_ section: String, _ allowed: [String: ValueKind]) throws(StyleError) -> [String: Expression] {
                guard let v = l[section] else { return [:] }
                guard let obj = v.objectValue else { throw fail(id, section, "must be an object") }
                var out: [String: Expression] = [:]
                for (k, value) in obj {
                    guard let kind = allowed[k] else {
                        throw fail(id, k, "unknown or unsupported \(section) property for a \(t) layer; onemap draws: \(allowed.keys.sorted().joined(separator: ", "))")
                    }
                    let e: Expression
                    if case .enumerations = kind, value.arrayValue != nil {
                        e = .literal(value)
                    } else {
                        do { e = try ExpressionParser.parse(value, filter: false) } catch { throw fail(id, k, error.reason) }
                    }
                    for lit in e.outputLiterals { if let reason = check(lit, kind) { throw fail(id, k, reason) } }
                    out[k] = e
                    kinds[k] = kind
                }
                return out
            }
            let paint = try props("paint", spec.paintKeys)
            var layoutKeys = spec.layoutKeys
            layoutKeys["visibility"] = .enumeration(["visible", "none"])
            let layout = try props("layout", layoutKeys)
            let minzoom = try zoom("minzoom", 0), maxzoom = try zoom("maxzoom", 24.01)
            guard minzoom < maxzoom else { throw fail(id, "maxzoom", "maxzoom \(maxzoom) must be above minzoom \(minzoom): the layer would never draw") }
            out.append(StyleLayer(id: id, type: type, sourceLayer: source, minzoom: minzoom, maxzoom: maxzoom,
                                  filter: filter, paint: paint, layout: layout, legend: l["metadata"]?["onemap:legend"]?.stringValue, kinds: kinds))
        }
        return Style(name: name, layers: out, metadata: o["metadata"]?.objectValue ?? JSONObject())
    }

    /// Why a literal is not of `kind`, or nil when it is.
    static func check(_ v: JSONValue, _ kind: ValueKind) -> String? {
        if v.isNull { return nil }  // a data-driven value that is absent: the type's default
        switch kind {
        case .color: return v.stringValue.flatMap(Color.parse) == nil ? "not a colour: \(JSONWriter.string(v))" : nil
        case .number(let r):
            guard let d = v.doubleValue, d.isFinite else { return "must be a number, got \(JSONWriter.string(v))" }
            return r.contains(d) ? nil : "must be in \(ValueKind.show(r)), got \(JSONWriter.string(v))"
        case .numbers(let count, let each):
            guard let a = v.arrayValue, a.allSatisfy({ $0.doubleValue?.isFinite == true }) else { return "must be an array of numbers, got \(JSONWriter.string(v))" }
            guard count.contains(a.count) else { return "must have \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound)…\(count.upperBound)") numbers, got \(a.count)" }
            guard a.allSatisfy({ each.contains($0.doubleValue!) }) else { return "every number must be in \(ValueKind.show(each)), got \(JSONWriter.string(v))" }
            if each.lowerBound >= 0, !a.contains(where: { $0.doubleValue! > 0 }) { return "needs a number above 0, got \(JSONWriter.string(v))" }
            return nil
        case .string: return v.stringValue == nil ? "must be a string, got \(JSONWriter.string(v))" : nil
        case .boolean: return v.boolValue == nil ? "must be true or false, got \(JSONWriter.string(v))" : nil
        case .enumeration(let vals):
            return v.stringValue.map(vals.contains) == true ? nil : "\(JSONWriter.string(v)) is not one of \(vals.filter { !$0.isEmpty }.joined(separator: ", "))"
        case .text: return v.arrayValue != nil || v.objectValue != nil ? "must be text, got \(JSONWriter.string(v))" : nil
        case .enumerations(let vals):
            guard let a = v.arrayValue, !a.isEmpty, a.allSatisfy({ $0.stringValue.map(vals.contains) == true }) else {
                return "must be an array of one or more of \(vals.joined(separator: ", ")), got \(JSONWriter.string(v))"
            }
            return Set(a.compactMap(\.stringValue)).count == a.count ? nil : "names a value twice: \(JSONWriter.string(v))"
        }
    }

    /// The feature properties the style reads from a store layer: what its layers need, plus
    /// the label anchors (`center`, `seat`) symbol layers place point labels at.
    public func attributes(of sourceLayer: String) -> Set<String> {
        var out = Set<String>()
        for l in layers where l.sourceLayer == sourceLayer {
            out.formUnion(l.featureProperties)
            if l.type == .symbol { out.formUnion(["center", "seat"]) }
        }
        return out
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
            guard !stops.isEmpty else { throw ExpressionError(reason: "a zoom function needs at least one stop") }
            var out: [(Double, Expression)] = []
            for s in stops {
                guard let pair = s.arrayValue, pair.count == 2, let z = pair[0].doubleValue else { throw ExpressionError(reason: "stops must be [zoom, value] pairs") }
                if let last = out.last, z <= last.0 { throw ExpressionError(reason: "zoom function stops must increase") }
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
        // Argument counts as the MapLibre expression reference gives them; a wrong count is a
        // load error, never a crash or a silent default at render time.
        let arity: [String: ClosedRange<Int>] = [
            "zoom": 0...0, "!": 1...1, "to-string": 1...1, "-": 1...2, "/": 2...2, "+": 2...Int.max, "*": 2...Int.max,
            "concat": 1...Int.max, "coalesce": 1...Int.max,
        ]
        if let r = arity[op], !r.contains(a.count - 1) {
            let want = r.lowerBound == r.upperBound ? "\(r.lowerBound)" : (r.upperBound == Int.max ? "at least \(r.lowerBound)" : "\(r.lowerBound) or \(r.upperBound)")
            throw ExpressionError(reason: "\"\(op)\" takes \(want) argument\(want == "1" ? "" : "s"), got \(a.count - 1)")
        }
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
            if let kind = a.count > 1 ? a[1].arrayValue?.first?.stringValue : nil, kind != "linear" {
                throw ExpressionError(reason: "onemap interpolates linearly only; [\"\(kind)\", …] is not supported")
            }
            guard a.count >= 5, a.count % 2 == 1, a[1].arrayValue?.first?.stringValue == "linear" else {
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
            guard a.count % 2 == 1 else { throw ExpressionError(reason: "step must be [\"step\", input, base, stop, value, …]: a stop has no value") }
            while i + 1 < a.count {
                guard let z = a[i].doubleValue else { throw ExpressionError(reason: "step stops must be numbers") }
                if let last = stops.last, z <= last.0 { throw ExpressionError(reason: "step stops must increase") }
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
        case "+", "-", "*", "/":
            let args = try (1..<a.count).map { (i: Int) throws(ExpressionError) -> Expression in try arg(i) }
            for case .literal(let v) in args where v.doubleValue == nil { throw ExpressionError(reason: "\"\(op)\" takes numbers, got \(JSONWriter.string(v))") }
            return .arithmetic(op, args)
        default:
            if a.allSatisfy({ $0.doubleValue != nil }) { return .literal(v) }
            throw ExpressionError(reason: "unknown expression operator \"\(op)\"")
        }
    }
}
