import OneMapCore

/// One reason a feature was refused: where it is and what is wrong.
public struct FeatureProblem: OneMapError, Equatable {
    public var category: ErrorCategory { .badInput }
    public var file: String
    /// The feature's index in its collection, or nil for a problem with the whole file.
    public var index: Int?
    public var featureID: String?
    /// The property (or "geometry", "id") the problem is about.
    public var property: String?
    public var reason: String

    public init(file: String, index: Int?, featureID: String? = nil, property: String? = nil, reason: String) {
        self.file = file; self.index = index; self.featureID = featureID; self.property = property; self.reason = reason
    }

    public var description: String {
        var s = file
        if let index { s += ": feature \(index)" }
        if let featureID { s += " (id \(featureID))" }
        if let property { s += ", \(property)" }
        return s + ": " + reason
    }
}

/// A feature accepted for a layer, with properties normalised to their declared types.
public struct ValidFeature: Sendable {
    public var feature: Feature
    /// Properties the layer does not declare, kept verbatim in the `extra` column.
    public var extra: JSONObject
}

/// The outcome of validating one feature.
public enum Validation: Sendable {
    case valid(ValidFeature)
    case invalid([FeatureProblem])
}

/// Checks GeoJSON features against a layer spec. Checks that need the database (polygon validity
/// through GEOS, references to existing rows) are done by the importer.
public enum Validator {
    /// Validates one GeoJSON Feature object; returns the feature or every problem found.
    public static func validate(_ v: JSONValue, layer: LayerSpec, file: String, index: Int) -> Validation {
        guard let o = v.objectValue else {
            return .invalid([FeatureProblem(file: file, index: index, reason: "a feature must be a JSON object, got \(v.typeName)")])
        }
        var early: [FeatureProblem] = []
        if o["type"]?.stringValue != "Feature" {
            early.append(FeatureProblem(file: file, index: index, property: "type", reason: "\"type\" must be \"Feature\""))
        }
        var geometry: Result<Geometry, GeometryProblem>
        if let g = o["geometry"], !g.isNull {
            do { geometry = .success(try GeoJSON.geometry(from: g)) } catch { geometry = .failure(GeometryProblem(error.reason)) }
        } else {
            geometry = .failure(GeometryProblem("missing geometry"))
        }
        let properties: JSONObject?
        switch o["properties"] {
        case .object(let p)?: properties = p
        case nil, .null?: properties = JSONObject()
        default: properties = nil
        }
        return validate(id: o["id"], geometry: geometry, properties: properties, layer: layer, file: file, index: index, early: early)
    }

    /// Why a feature has no usable geometry.
    public struct GeometryProblem: Error, Sendable {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    /// Validates a feature given as parts (as a foreign-format importer has it): `id` a string or
    /// integer JSON value, the geometry in WGS84 lon/lat, `properties` nil when they were not an object.
    public static func validate(id idValue: JSONValue?, geometry geometryResult: Result<Geometry, GeometryProblem>, properties: JSONObject?,
                                layer: LayerSpec, file: String, index: Int, early: [FeatureProblem] = []) -> Validation {
        var problems = early
        func fail(_ prop: String?, _ reason: String, id: String? = nil) {
            problems.append(FeatureProblem(file: file, index: index, featureID: id, property: prop, reason: reason))
        }
        var id: String?
        switch idValue {
        case .string(let s)? where !s.isEmpty && s.count <= 200:
            if let why = TextRules.problem(s, "the feature id") { fail("id", why) } else { id = s }
        // Integer ids within ±2^53 (exact in a JSON number; beyond it ids would collide).
        case .number(let d)? where d.rounded() == d && d.isFinite && abs(d) <= 9_007_199_254_740_992: id = String(Int64(d))
        case nil, .null?: fail("id", "missing feature id (a string or integer \"id\" member is required)")
        default: fail("id", "feature id must be a non-empty string (≤ 200 characters) or an integer within ±2^53")
        }

        var geometry: Geometry?
        switch geometryResult {
        case .success(let geom):
            if layer.geometry.contains(geom.kind) {
                geometry = geom
            } else {
                fail("geometry", "layer \(layer.name) takes \(layer.geometry.map(\.rawValue).joined(separator: " or ")), got \(geom.kind.rawValue)", id: id)
            }
        case .failure(let p):
            fail("geometry", p.reason, id: id)
        }

        var props: [String: JSONValue] = [:]
        var extra = JSONObject()
        let input: JSONObject
        if let properties {
            input = properties
        } else {
            fail("properties", "\"properties\" must be an object", id: id)
            input = JSONObject()
        }
        for (key, value) in input {
            if let why = TextRules.problem(key, "the property name \"\(key.unicodeScalars.map { $0.value < 0x20 ? "?" : String($0) }.joined())\"") {
                fail(key, why, id: id)
                continue
            }
            guard let spec = layer.property(key) else {
                if key != "id" {
                    if let why = TextRules.problem(in: value, "the value") { fail(key, why, id: id) }
                    extra[key] = value
                }
                continue
            }
            if value.isNull { continue }
            switch check(value, spec) {
            case .success(.string(let t)) where spec.required && spec.type == .text && t.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty:
                fail(key, "required property \"\(key)\" is blank", id: id)
            case .success(let norm): props[key] = norm
            case .failure(let reason): fail(key, reason.reason, id: id)
            }
        }
        for p in layer.properties where p.required && (input[p.name] ?? .null).isNull {
            fail(p.name, "required property \"\(p.name)\" is missing", id: id)
        }
        if !layer.requireOneOf.isEmpty, !layer.requireOneOf.contains(where: { props[$0] != nil }) {
            fail(layer.requireOneOf.joined(separator: "/"), "one of \(layer.requireOneOf.map { "\"\($0)\"" }.joined(separator: ", ")) is required", id: id)
        }
        if let geometry { checkRings(geometry, fail: { fail("geometry", $0, id: id) }) }

        guard problems.isEmpty, let id, let geometry else { return .invalid(problems) }
        return .valid(ValidFeature(feature: Feature(id: id, geometry: geometry, properties: props), extra: extra))
    }

    /// Checks one value against its property type; returns the normalised value or a reason.
    static func check(_ v: JSONValue, _ p: PropertySpec) -> Result<JSONValue, ReasonError> {
        func bad(_ s: String) -> Result<JSONValue, ReasonError> { .failure(ReasonError(s)) }
        switch p.type {
        case .text:
            if case .string(let s) = v {
                if let why = TextRules.problem(s, "the text", allowingLineBreaks: true) { return bad(why) }
                return .success(v)
            }
            if case .number = v { return .success(.string(JSONWriter.string(v))) }
            return bad("must be a string, got \(v.typeName)")
        case .integer(let lo, let hi):
            guard let n = v.intValue else { return bad("must be a whole number, got \(JSONWriter.string(v))") }
            if let lo, n < lo { return bad("\(n) is below the minimum \(lo)") }
            if let hi, n > hi { return bad("\(n) is above the maximum \(hi)") }
            return .success(.number(Double(n)))
        case .real(let lo, let hi):
            guard let d = v.doubleValue, d.isFinite else { return bad("must be a number, got \(v.typeName)") }
            if let lo, d < lo { return bad("\(d) is below the minimum \(lo)") }
            if let hi, d > hi { return bad("\(d) is above the maximum \(hi)") }
            return .success(v)
        case .boolean:
            guard case .bool = v else { return bad("must be true or false, got \(JSONWriter.string(v))") }
            return .success(v)
        case .enumeration(let values):
            guard let s = v.stringValue else { return bad("must be one of \(values.joined(separator: ", ")), got \(v.typeName)") }
            guard values.contains(s) else { return bad("unknown value \"\(s)\"; allowed: \(values.joined(separator: ", "))") }
            return .success(v)
        case .timestamp:
            guard let s = v.stringValue, isISO8601(s) else {
                return bad("must be an ISO 8601 date-time like 2026-01-30T08:00:00+08:00")
            }
            return .success(v)
        case .point:
            do {
                return .success(GeoJSON.json(.point(try GeoJSON.position(v, at: p.name)))["coordinates"]!)
            } catch let e {
                return bad(e.reason)
            }
        case .stock:
            guard let rows = v.arrayValue else { return bad("must be an array of {item, unit, quantity}") }
            var seen = Set<String>()
            for (k, r) in rows.enumerated() {
                guard let item = r["item"]?.stringValue, !item.isEmpty else { return bad("[\(k)].item must be a non-empty string") }
                guard let unit = r["unit"]?.stringValue else { return bad("[\(k)].unit must be a string") }
                if let why = TextRules.problem(item, "[\(k)].item") ?? TextRules.problem(unit, "[\(k)].unit") { return bad(why) }
                guard let q = r["quantity"]?.doubleValue, q.isFinite, q >= 0, q <= Store.maxStockQuantity else {
                    return bad("[\(k)].quantity must be a number 0…\(Int(Store.maxStockQuantity))")
                }
                guard seen.insert(item).inserted else { return bad("item \"\(item)\" is listed twice") }
            }
            return .success(v)
        }
    }

    struct ReasonError: Error { let reason: String; init(_ r: String) { reason = r } }

    static func isISO8601(_ s: String) -> Bool {
        // YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]
        let b = Array(s.utf8)
        func digits(_ r: Range<Int>) -> Bool { r.upperBound <= b.count && r.allSatisfy { b[$0] >= 48 && b[$0] <= 57 } }
        guard b.count >= 10, digits(0..<4), b[4] == 45, digits(5..<7), b[7] == 45, digits(8..<10) else { return false }
        let month = Int(s.dropFirst(5).prefix(2))!, day = Int(s.dropFirst(8).prefix(2))!
        guard (1...12).contains(month), (1...31).contains(day) else { return false }
        if b.count == 10 { return true }
        guard b[10] == 84 || b[10] == 32, digits(11..<13), b.count >= 16, b[13] == 58, digits(14..<16) else { return false }
        var i = 16
        if i < b.count, b[i] == 58 { guard digits((i + 1)..<(i + 3)) else { return false }; i += 3 }
        if i < b.count, b[i] == 46 { i += 1; let s0 = i; while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }; if i == s0 { return false } }
        if i == b.count { return true }
        if b[i] == 90 { return i + 1 == b.count }
        guard b[i] == 43 || b[i] == 45, digits((i + 1)..<(i + 3)), i + 6 == b.count, b[i + 3] == 58, digits((i + 4)..<(i + 6)) else { return false }
        return true
    }

    /// Ring-level checks that need no GEOS: enough distinct vertices and a non-zero area.
    static func checkRings(_ g: Geometry, fail: (String) -> Void) {
        for (pi, poly) in g.polygons.enumerated() {
            for (ri, ring) in poly.enumerated() {
                if Set(ring).count < 3 { fail("polygon \(pi) ring \(ri) has fewer than 3 distinct vertices"); continue }
                if Planar.signedArea(ring) == 0 { fail("polygon \(pi) ring \(ri) has zero area") }
            }
        }
    }
}
