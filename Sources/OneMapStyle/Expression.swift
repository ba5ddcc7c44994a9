import OneMapCore

/// A style expression: the subset of the MapLibre GL expression language onemap evaluates.
public indirect enum Expression: Sendable {
    case literal(JSONValue)
    case get(String)
    case has(String)
    case zoom
    case compare(String, Expression, Expression)
    case inList(Expression, [JSONValue])
    case all([Expression])
    case any([Expression])
    case not(Expression)
    case interpolate(input: Expression, stops: [(Double, Expression)])
    case step(input: Expression, base: Expression, stops: [(Double, Expression)])
    case match(input: Expression, cases: [([JSONValue], Expression)], fallback: Expression)
    case caseOf([(Expression, Expression)], fallback: Expression)
    case concat([Expression])
    case toString(Expression)
    case coalesce([Expression])
    case arithmetic(String, [Expression])


    /// Whether the value depends on feature properties (else it depends on zoom at most).
    public var usesProperties: Bool {
        switch self {
        case .literal, .zoom: false
        case .get, .has: true
        case .compare(_, let a, let b): a.usesProperties || b.usesProperties
        case .inList(let a, _), .not(let a), .toString(let a): a.usesProperties
        case .all(let xs), .any(let xs), .concat(let xs), .coalesce(let xs), .arithmetic(_, let xs): xs.contains { $0.usesProperties }
        case .interpolate(let i, let s): i.usesProperties || s.contains { $0.1.usesProperties }
        case .step(let i, let b, let s): i.usesProperties || b.usesProperties || s.contains { $0.1.usesProperties }
        case .match(let i, let c, let f): i.usesProperties || f.usesProperties || c.contains { $0.1.usesProperties }
        case .caseOf(let c, let f): f.usesProperties || c.contains { $0.0.usesProperties || $0.1.usesProperties }
        }
    }

    /// The literal values the expression can return as its result (the outputs of `match`,
    /// `case`, `step`, `interpolate` stops and `coalesce`); computed results are not included.
    /// Style loading checks each against the property's value kind.
    public var outputLiterals: [JSONValue] {
        switch self {
        case .literal(let v): [v]
        case .get, .has, .zoom, .compare, .inList, .all, .any, .not, .concat, .toString, .arithmetic: []
        case .interpolate(_, let s): s.flatMap { $0.1.outputLiterals }
        case .step(_, let b, let s): b.outputLiterals + s.flatMap { $0.1.outputLiterals }
        case .match(_, let c, let f): c.flatMap { $0.1.outputLiterals } + f.outputLiterals
        case .caseOf(let c, let f): c.flatMap { $0.1.outputLiterals } + f.outputLiterals
        case .coalesce(let xs): xs.flatMap(\.outputLiterals)
        }
    }

    /// Why the expression cannot be a filter (its value is not always true or false), or nil.
    public var notBoolean: String? {
        switch self {
        case .literal(let v): return v.boolValue == nil ? "\(JSONWriter.string(v)) is not true or false" : nil
        case .compare, .inList, .has, .not: return nil
        case .all(let xs), .any(let xs): return xs.lazy.compactMap(\.notBoolean).first
        case .match(_, let c, let f): return (c.map(\.1) + [f]).lazy.compactMap(\.notBoolean).first
        case .caseOf(let c, let f): return (c.map(\.1) + [f]).lazy.compactMap(\.notBoolean).first
        case .get(let k): return "[\"get\", \"\(k)\"] is a property value, not a test; compare it, e.g. [\"==\", [\"get\", \"\(k)\"], …]"
        default: return "it gives a value, not a test"
        }
    }

    /// Property names the expression reads.
    public var properties: Set<String> {
        switch self {
        case .literal, .zoom: []
        case .get(let k), .has(let k): [k]
        case .compare(_, let a, let b): a.properties.union(b.properties)
        case .inList(let a, _), .not(let a), .toString(let a): a.properties
        case .all(let xs), .any(let xs), .concat(let xs), .coalesce(let xs), .arithmetic(_, let xs): xs.reduce(into: Set<String>()) { $0.formUnion($1.properties) }
        case .interpolate(let i, let s): s.reduce(i.properties) { $0.union($1.1.properties) }
        case .step(let i, let b, let s): s.reduce(i.properties.union(b.properties)) { $0.union($1.1.properties) }
        case .match(let i, let c, let f): c.reduce(i.properties.union(f.properties)) { $0.union($1.1.properties) }
        case .caseOf(let c, let f): c.reduce(f.properties) { $0.union($1.0.properties).union($1.1.properties) }
        }
    }
}

/// What an expression is evaluated against.
public struct EvaluationContext {
    public var zoom: Double
    public var properties: [String: JSONValue]
    public var geometryType: String
    public init(zoom: Double, properties: [String: JSONValue] = [:], geometryType: String = "") {
        self.zoom = zoom; self.properties = properties; self.geometryType = geometryType
    }
}

extension Expression {
    public func evaluate(_ c: EvaluationContext) -> JSONValue {
        switch self {
        case .literal(let v): return v
        case .get(let k): return k == "$type" ? .string(c.geometryType) : (c.properties[k] ?? .null)
        case .has(let k): return .bool(c.properties[k] != nil)
        case .zoom: return .number(c.zoom)
        case .compare(let op, let a, let b):
            let x = a.evaluate(c), y = b.evaluate(c)
            switch op {
            case "==": return .bool(x == y)
            case "!=": return .bool(x != y)
            default:
                if let p = x.doubleValue, let q = y.doubleValue {
                    switch op {
                    case "<": return .bool(p < q)
                    case "<=": return .bool(p <= q)
                    case ">": return .bool(p > q)
                    default: return .bool(p >= q)
                    }
                }
                if let p = x.stringValue, let q = y.stringValue {
                    switch op {
                    case "<": return .bool(p < q)
                    case "<=": return .bool(p <= q)
                    case ">": return .bool(p > q)
                    default: return .bool(p >= q)
                    }
                }
                return .bool(false)
            }
        case .inList(let a, let list): return .bool(list.contains(a.evaluate(c)))
        case .all(let xs): return .bool(xs.allSatisfy { $0.evaluate(c) == .bool(true) })
        case .any(let xs): return .bool(xs.contains { $0.evaluate(c) == .bool(true) })
        case .not(let a): return .bool(a.evaluate(c) != .bool(true))
        case .interpolate(let input, let stops):
            guard let x = input.evaluate(c).doubleValue, !stops.isEmpty else { return .null }
            if x <= stops[0].0 { return stops[0].1.evaluate(c) }
            for i in 1..<stops.count where x <= stops[i].0 {
                let (x0, e0) = stops[i - 1], (x1, e1) = stops[i]
                let t = (x - x0) / (x1 - x0)
                return Expression.lerp(e0.evaluate(c), e1.evaluate(c), t)
            }
            return stops[stops.count - 1].1.evaluate(c)
        case .step(let input, let base, let stops):
            guard let x = input.evaluate(c).doubleValue else { return base.evaluate(c) }
            var out = base
            for (s, e) in stops where x >= s { out = e }
            return out.evaluate(c)
        case .match(let input, let cases, let fallback):
            let v = input.evaluate(c)
            for (labels, e) in cases where labels.contains(v) { return e.evaluate(c) }
            return fallback.evaluate(c)
        case .caseOf(let cases, let fallback):
            for (cond, e) in cases where cond.evaluate(c) == .bool(true) { return e.evaluate(c) }
            return fallback.evaluate(c)
        // Each part its own bidi isolate: a Uyghur or Kazakh name never captures the digits or
        // Latin of the part next to it (see `Bidi`).
        case .concat(let xs): return .string(xs.map { Bidi.isolate(Expression.text($0.evaluate(c))) }.joined())
        case .toString(let a): return .string(Expression.text(a.evaluate(c)))
        case .coalesce(let xs):
            for x in xs { let v = x.evaluate(c); if !v.isNull { return v } }
            return .null
        case .arithmetic(let op, let xs):
            let v = xs.map { $0.evaluate(c).doubleValue ?? 0 }
            switch op {
            case "+": return .number(v.reduce(0, +))
            case "*": return .number(v.reduce(1, *))
            case "-": return .number(v.count == 1 ? -v[0] : v[0] - v[1])
            default: return .number(v.count == 2 && v[1] != 0 ? v[0] / v[1] : 0)
            }
        }
    }

    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): s
        case .null: ""
        default: JSONWriter.string(v)
        }
    }

    static func lerp(_ a: JSONValue, _ b: JSONValue, _ t: Double) -> JSONValue {
        if let x = a.doubleValue, let y = b.doubleValue { return .number(x + (y - x) * t) }
        if let s = a.stringValue, let u = b.stringValue, let p = Color.parse(s), let q = Color.parse(u) { return .string(Color.mix(p, q, t).hex) }
        if let xs = a.arrayValue, let ys = b.arrayValue, xs.count == ys.count { return .array(zip(xs, ys).map { lerp($0, $1, t) }) }
        return t < 0.5 ? a : b
    }
}
