/// A JSON value. Object keys keep their insertion order so output is stable and readable.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var doubleValue: Double? { if case .number(let d) = self { d } else { nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    public var isNull: Bool { self == .null }
    /// The number as an integer when it is a whole number in Int range.
    public var intValue: Int? {
        guard case .number(let d) = self, d.isFinite, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
    public subscript(_ key: String) -> JSONValue? { objectValue?[key] }

    /// The JSON type name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral v: String) { self = .string(v) }
    public init(integerLiteral v: Int) { self = .number(Double(v)) }
    public init(floatLiteral v: Double) { self = .number(v) }
    public init(booleanLiteral v: Bool) { self = .bool(v) }
    public init(arrayLiteral v: JSONValue...) { self = .array(v) }
    public init(dictionaryLiteral v: (String, JSONValue)...) { self = .object(JSONObject(v)) }
    public init(nilLiteral: ()) { self = .null }
}

/// An insertion-ordered JSON object.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]
    public init() {}
    public init(_ pairs: [(String, JSONValue)]) { for (k, v) in pairs { self[k] = v } }
    public subscript(_ key: String) -> JSONValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
    public var count: Int { keys.count }
    public var dictionary: [String: JSONValue] { values }
    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], values[keys[i]]!)
        }
    }
    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.values == b.values }
}

/// A JSON syntax error with its line and column (1-based).
public struct JSONSyntaxError: OneMapError, Equatable {
    public var category: ErrorCategory { .badInput }
    public var line: Int
    public var column: Int
    public var reason: String
    public var description: String { "malformed JSON at line \(line), column \(column): \(reason)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes. Nesting is limited to keep hostile input from
/// exhausting the stack.
public struct JSONParser {
    public static let maxDepth = 128
    private let b: [UInt8]
    private var i = 0

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(b: bytes)
        // Skip a UTF-8 byte-order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
        p.skipWS()
        let v = try p.value(depth: 0)
        p.skipWS()
        if p.i < bytes.count { throw p.error("unexpected text after the JSON value") }
        return v
    }

    private init(b: [UInt8]) { self.b = b }

    private func error(_ reason: String) -> JSONSyntaxError {
        var line = 1, col = 1
        for k in 0..<min(i, b.count) {
            if b[k] == 0x0A { line += 1; col = 1 } else if b[k] & 0xC0 != 0x80 { col += 1 }
        }
        return JSONSyntaxError(line: line, column: col, reason: reason)
    }

    private mutating func skipWS() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        guard i < b.count else { throw error("unexpected end of input") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var obj = JSONObject()
            skipWS()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
            while true {
                skipWS()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a quoted object key") }
                let key = try string()
                skipWS()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':' after object key") }
                i += 1
                skipWS()
                let v = try value(depth: depth + 1)
                if obj[key] != nil { throw error("duplicate object key \"\(key)\"") }
                obj[key] = v
                skipWS()
                guard i < b.count else { throw error("unexpected end of input inside an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
                throw error("expected ',' or '}' in object")
            }
        case UInt8(ascii: "["):
            i += 1
            var arr: [JSONValue] = []
            skipWS()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
            while true {
                skipWS()
                arr.append(try value(depth: depth + 1))
                skipWS()
                guard i < b.count else { throw error("unexpected end of input inside an array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
                throw error("expected ',' or ']' in array")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw error("unexpected character '\(String(decoding: [b[i]], as: UTF8.self))'")
        }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, b[i..<(i + w.count)].elementsEqual(w) else { throw error("invalid literal") }
        i += w.count
    }

    private mutating func number() throws(JSONSyntaxError) -> Double {
        let start = i
        if b[i] == UInt8(ascii: "-") { i += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.i
            while p.i < p.b.count, p.b[p.i] >= 0x30, p.b[p.i] <= 0x39 { p.i += 1 }
            return p.i - s
        }
        guard i < b.count else { throw error("incomplete number") }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw error("invalid number") }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            if digits(&self) == 0 { throw error("expected digits after the decimal point") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            if digits(&self) == 0 { throw error("expected digits in the exponent") }
        }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        guard let d = Double(text) else { throw error("invalid number \(text)") }
        return d
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= b.count else { throw error("incomplete \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        var start = i
        while true {
            guard i < b.count else { throw error("unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                out.append(contentsOf: b[start..<i])
                i += 1
                break
            }
            if c < 0x20 { throw error("control character inside a string") }
            if c == UInt8(ascii: "\\") {
                out.append(contentsOf: b[start..<i])
                i += 1
                guard i < b.count else { throw error("unterminated escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xD800, scalar < 0xDC00 {
                        guard i + 6 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00, low < 0xE000 else { throw error("invalid low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if scalar >= 0xDC00, scalar < 0xE000 {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw error("invalid escape sequence")
                }
                start = i
                continue
            }
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }
}

/// Compact, deterministic JSON output.
public enum JSONWriter {
    public static func write(_ v: JSONValue, to out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): writeNumber(d, to: &out)
        case .string(let s): writeString(s, to: &out)
        case .array(let a):
            out += "["
            for (k, e) in a.enumerated() {
                if k > 0 { out += "," }
                write(e, to: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            var first = true
            for (k, e) in o {
                if !first { out += "," }
                first = false
                writeString(k, to: &out)
                out += ":"
                write(e, to: &out)
            }
            out += "}"
        }
    }

    public static func string(_ v: JSONValue) -> String {
        var s = ""
        write(v, to: &s)
        return s
    }

    /// Indented JSON for people (a mapping to edit, an inspection): containers that fit in 100
    /// characters stay on one line.
    public static func string(_ v: JSONValue, pretty: Bool) -> String {
        guard pretty else { return string(v) }
        func go(_ v: JSONValue, _ indent: String) -> String {
            let flat = string(v)
            if flat.count + indent.count <= 100 { return flat }
            let inner = indent + "  "
            switch v {
            case .array(let a):
                return "[\n" + a.map { inner + go($0, inner) }.joined(separator: ",\n") + "\n" + indent + "]"
            case .object(let o):
                return "{\n" + o.map { (k, e) in
                    var key = ""
                    writeString(k, to: &key)
                    return inner + key + ": " + go(e, inner)
                }.joined(separator: ",\n") + "\n" + indent + "}"
            default:
                return flat
            }
        }
        return go(v, "")
    }

    /// Whole numbers print without a fraction; others in Swift's shortest round-trip form.
    public static func writeNumber(_ d: Double, to out: inout String) {
        if !d.isFinite { out += "null"; return }
        if d.rounded() == d, abs(d) < 1e15 { out += String(Int64(d)); return }
        out += "\(d)"
    }

    public static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

/// Text rules every boundary applies (HTTP bodies and parameters, CLI arguments, imported files):
/// no C0 control characters (U+0000–U+001F), DEL or C1 controls (U+0080–U+009F) in ids, keys and
/// names — a NUL would cut a C string short, and the others print as nothing on a map — with
/// tab, line feed and carriage return allowed in free text only.
public enum TextRules {
    /// The first forbidden character in `s`, if any.
    public static func forbiddenControl(in s: String, allowingLineBreaks: Bool = false) -> Unicode.Scalar? {
        for u in s.unicodeScalars {
            let v = u.value
            if v < 0x20 {
                if allowingLineBreaks && (v == 0x09 || v == 0x0A || v == 0x0D) { continue }
                return u
            }
            if v == 0x7F || (v >= 0x80 && v <= 0x9F) { return u }
        }
        return nil
    }

    /// A reason when any string or key inside `v`, at any depth, breaks the rules (line breaks
    /// allowed in string values), else nil. `what`: the field, as the message names it.
    public static func problem(in v: JSONValue, _ what: String) -> String? {
        switch v {
        case .string(let s): return problem(s, what, allowingLineBreaks: true)
        case .array(let a):
            for (i, x) in a.enumerated() { if let p = problem(in: x, "\(what)[\(i)]") { return p } }
            return nil
        case .object(let o):
            for (k, x) in o {
                if let p = problem(k, "a key inside \(what)") { return p }
                if let p = problem(in: x, "\(what).\(k)") { return p }
            }
            return nil
        default: return nil
        }
    }

    /// "U+0000" for a scalar, as error messages name it.
    public static func name(_ u: Unicode.Scalar) -> String {
        let h = String(u.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// A reason when `s` breaks the rules, else nil. `what`: the field, as the message names it.
    public static func problem(_ s: String, _ what: String, allowingLineBreaks: Bool = false) -> String? {
        guard let u = forbiddenControl(in: s, allowingLineBreaks: allowingLineBreaks) else { return nil }
        return "\(what) contains the control character \(name(u)); \(allowingLineBreaks ? "only tab and line breaks are allowed" : "control characters are not allowed")"
    }
}

/// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
public enum UTF8Check {
    /// The offset of the first byte that does not start a valid sequence, or nil when all is valid.
    public static func firstInvalidOffset<C: Collection>(_ bytes: C) -> Int? where C.Element == UInt8 {
        var i = 0
        var need = 0, lo: UInt8 = 0x80, hi: UInt8 = 0xBF, start = 0
        for b in bytes {
            if need == 0 {
                start = i
                switch b {
                case 0x00...0x7F: break
                case 0xC2...0xDF: need = 1; lo = 0x80; hi = 0xBF
                case 0xE0: need = 2; lo = 0xA0; hi = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: need = 2; lo = 0x80; hi = 0xBF
                case 0xED: need = 2; lo = 0x80; hi = 0x9F
                case 0xF0: need = 3; lo = 0x90; hi = 0xBF
                case 0xF1...0xF3: need = 3; lo = 0x80; hi = 0xBF
                case 0xF4: need = 3; lo = 0x80; hi = 0x8F
                default: return i
                }
            } else {
                guard b >= lo && b <= hi else { return start }
                lo = 0x80; hi = 0xBF
                need -= 1
            }
            i += 1
        }
        return need == 0 ? nil : start
    }

    /// The bytes as a String, or nil when they are not valid UTF-8.
    public static func string<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
        firstInvalidOffset(bytes) == nil ? String(decoding: bytes, as: UTF8.self) : nil
    }

    /// Percent-decodes a URL component (RFC 3986 §2.1) into bytes; nil for a malformed escape.
    public static func percentDecoded(_ s: Substring.UTF8View) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var it = s.makeIterator()
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x37
            case 0x61...0x66: c - 0x57
            default: nil
            }
        }
        while let c = it.next() {
            if c == 0x25 {
                guard let a = it.next().flatMap(hex), let b = it.next().flatMap(hex) else { return nil }
                out.append(a << 4 | b)
            } else {
                out.append(c)
            }
        }
        return out
    }
}
