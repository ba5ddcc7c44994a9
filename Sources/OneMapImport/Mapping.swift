import Foundation
import OneMapCore
import OneMapStore

/// How one source layer's fields become one onemap layer's properties. Read from a mapping file
/// (JSON; see README "Importing the county's own files"):
///
/// ```json
/// {"source_layer": "道路", "layer": "roads", "id": "{编号}",
///  "properties": {"class": "道路等级", "ref": "编号", "name": "名称", "oneway": "单行",
///                 "source": {"value": "裕民县交通运输局 2025"}},
///  "values": {"class": {"国道": "national", "省道": "provincial"}, "oneway": {"是": true, "否": false}},
///  "defaults": {"oneway": false}}
/// ```
/// A file holds one such object or `{"mappings": [ … ]}`, one per source layer.
public struct LayerMapping: Sendable {
    /// The source layer this applies to (a Shapefile's name without .shp, a GeoPackage table…);
    /// nil: the only layer of the source.
    public var sourceLayer: String?
    /// The onemap layer written.
    public var layer: LayerSpec
    /// The feature id: a template with `{field}` and `{fid}` (the source's feature id); nil: the
    /// source's `id` field if it has one, else `<source layer>-{fid}`.
    public var id: Template?
    /// onemap property → where its value comes from.
    public var properties: [(name: String, rule: Rule)]
    /// onemap property → source value (as text) → onemap value.
    public var values: [String: [String: JSONValue]]
    /// onemap property → value used when the source has none.
    public var defaults: [String: JSONValue]
    /// Whether source fields not mapped are kept (in the feature's extra properties, under their own names).
    public var keepUnmapped: Bool
    /// Where the mapping came from, for messages ("roads.json", "built-in").
    public var origin: String

    public enum Rule: Sendable {
        case field(String)
        case template(Template)
        case constant(JSONValue)
    }

    /// A string with `{field}` and `{fid}` placeholders.
    public struct Template: Sendable {
        public enum Part: Sendable { case literal(String), field(String), fid }
        public var parts: [Part]
        public var fields: [String] { parts.compactMap { if case .field(let f) = $0 { f } else { nil } } }

        /// A plain name without braces is one field; otherwise `{…}` are placeholders.
        public init(_ text: String) {
            guard text.contains("{") else { parts = text == "{fid}" ? [.fid] : [.field(text)]; return }
            var out: [Part] = []
            var rest = Substring(text)
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                if open > rest.startIndex { out.append(.literal(String(rest[..<open]))) }
                let name = String(rest[rest.index(after: open)..<close])
                out.append(name == "fid" ? .fid : .field(name))
                rest = rest[rest.index(after: close)...]
            }
            if !rest.isEmpty { out.append(.literal(String(rest))) }
            parts = out
        }
    }

    public init(sourceLayer: String?, layer: LayerSpec, id: Template? = nil, properties: [(name: String, rule: Rule)],
                values: [String: [String: JSONValue]] = [:], defaults: [String: JSONValue] = [:], keepUnmapped: Bool = true, origin: String) {
        self.sourceLayer = sourceLayer; self.layer = layer; self.id = id; self.properties = properties
        self.values = values; self.defaults = defaults; self.keepUnmapped = keepUnmapped; self.origin = origin
    }

    /// Source fields the mapping reads.
    var fieldsRead: [String] {
        var out = id?.fields ?? []
        for (_, r) in properties {
            switch r {
            case .field(let f): out.append(f)
            case .template(let t): out += t.fields
            case .constant: break
            }
        }
        return out
    }

    /// Reads a mapping file.
    /// - Throws: `SourceError` with the file and the member that is wrong (unknown layer, unknown
    ///   property, a value of the wrong type, malformed JSON).
    public static func load(_ path: String) throws(SourceError) -> [LayerMapping] {
        let name = (path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else { throw SourceError(.notFound, "cannot read the mapping file \(path)") }
        let doc: JSONValue
        do { doc = try JSONParser.parse(Array(data)) } catch { throw SourceError("mapping \(name): \(error.description)") }
        return try parse(doc, origin: name)
    }

    /// Parses a mapping document (one mapping or `{"mappings": [...]}`).
    public static func parse(_ doc: JSONValue, origin: String) throws(SourceError) -> [LayerMapping] {
        if let list = doc["mappings"] {
            guard let items = list.arrayValue, !items.isEmpty else { throw SourceError("mapping \(origin): \"mappings\" must be a non-empty array") }
            var out: [LayerMapping] = []
            for (i, m) in items.enumerated() { out.append(try parseOne(m, origin: "\(origin) mappings[\(i)]")) }
            return out
        }
        return [try parseOne(doc, origin: origin)]
    }

    static func parseOne(_ m: JSONValue, origin: String) throws(SourceError) -> LayerMapping {
        func bad(_ s: String) -> SourceError { SourceError("mapping \(origin): \(s)") }
        guard let o = m.objectValue else { throw bad("must be a JSON object") }
        let known: Set<String> = ["layer", "source_layer", "id", "properties", "values", "defaults", "keep_unmapped", "comment", "$comment"]
        if let k = o.keys.first(where: { !known.contains($0) }) {
            throw bad("unknown member \"\(k)\"; a mapping has layer, source_layer, id, properties, values, defaults, keep_unmapped")
        }
        guard let layerName = o["layer"]?.stringValue else {
            throw bad("\"layer\" (the onemap layer to write, one of \(Layers.names.joined(separator: ", "))) is \(o["layer"] == nil ? "required" : "a string")")
        }
        guard let layer = Layers.byName[layerName] else { throw bad("unknown layer \"\(layerName)\"; known layers: \(Layers.names.joined(separator: ", "))") }
        func checkProperty(_ p: String, in member: String) throws(SourceError) {
            guard layer.property(p) != nil else {
                throw bad("\(member): layer \(layer.name) has no property \"\(p)\"; its properties: \(layer.properties.map(\.name).joined(separator: ", "))")
            }
        }
        var props: [(String, Rule)] = []
        if let p = o["properties"] {
            guard let po = p.objectValue else { throw bad("\"properties\" must be an object {onemap property: source field}") }
            for (k, v) in po {
                try checkProperty(k, in: "properties")
                switch v {
                case .string(let s) where s.contains("{"): props.append((k, .template(Template(s))))
                case .string(let s) where !s.isEmpty: props.append((k, .field(s)))
                case .object(let c) where c["value"] != nil && c.count == 1: props.append((k, .constant(c["value"]!)))
                default: throw bad("properties.\(k) must be a source field name, a \"{field} template\" or {\"value\": constant}")
                }
            }
        }
        var values: [String: [String: JSONValue]] = [:]
        if let v = o["values"] {
            guard let vo = v.objectValue else { throw bad("\"values\" must be an object {onemap property: {source value: onemap value}}") }
            for (k, table) in vo {
                try checkProperty(k, in: "values")
                guard let t = table.objectValue else { throw bad("values.\(k) must be an object {source value: onemap value}") }
                if let spec = layer.property(k), case .enumeration(let allowed) = spec.type {
                    for (from, to) in t where !(to.stringValue.map(allowed.contains) ?? false) {
                        if to.stringValue == "" { throw bad("values.\(k) has no onemap value for \"\(from)\" yet: fill in one of \(allowed.joined(separator: ", "))") }
                        throw bad("values.\(k) maps \"\(from)\" to \(JSONWriter.string(to)), which is not one of \(allowed.joined(separator: ", "))")
                    }
                }
                values[k] = t.dictionary
            }
        }
        var defaults: [String: JSONValue] = [:]
        if let d = o["defaults"] {
            guard let dobj = d.objectValue else { throw bad("\"defaults\" must be an object {onemap property: value}") }
            for (k, v) in dobj { try checkProperty(k, in: "defaults"); defaults[k] = v }
        }
        var id: Template? = nil
        if let i = o["id"] {
            guard let s = i.stringValue, !s.isEmpty else { throw bad("\"id\" must be a source field name or a template like \"road-{fid}\"") }
            id = Template(s)
        }
        var keep = true
        if let k = o["keep_unmapped"] {
            guard let b = k.boolValue else { throw bad("\"keep_unmapped\" must be true or false") }
            keep = b
        }
        var source: String? = nil
        if let s = o["source_layer"] {
            guard let str = s.stringValue else { throw bad("\"source_layer\" must be a string") }
            source = str
        }
        return LayerMapping(sourceLayer: source, layer: layer, id: id, properties: props, values: values, defaults: defaults, keepUnmapped: keep, origin: origin)
    }

    /// The mapping used when a source layer has onemap's own field names (a layer exported by
    /// onemap, or a `shelters.shp` made to match): each property from the field of that name,
    /// compared without case. A DBF field name holds 10 characters, so a Shapefile written from
    /// onemap's layers (ogr2ogr) has `person_in_` for `person_in_charge`: a 10-character field that
    /// begins exactly one longer property name of the layer, and matches nothing whole, is read as
    /// it. `truncated` lists those (field, property), for a notice.
    static func identity(_ layer: LayerSpec, fields: [String], sourceLayer: String?) -> (mapping: LayerMapping, truncated: [(String, String)]) {
        var props: [(String, Rule)] = []
        var truncated: [(String, String)] = []
        let whole = Set(layer.properties.map { $0.name.lowercased() })
        for p in layer.properties {
            let name = p.name.lowercased()
            if let f = fields.first(where: { $0.lowercased() == name }) {
                props.append((p.name, .field(f)))
            } else if name.count > 10, let f = fields.first(where: { $0.count == 10 && $0.lowercased() == String(name.prefix(10)) }),
                      !whole.contains(f.lowercased()), layer.properties.filter({ $0.name.lowercased().hasPrefix(f.lowercased()) }).count == 1 {
                props.append((p.name, .field(f)))
                truncated.append((f, p.name))
            }
        }
        let idField = fields.first { $0.lowercased() == "id" }
        return (LayerMapping(sourceLayer: sourceLayer, layer: layer, id: idField.map { Template($0) }, properties: props, origin: "same field names"), truncated)
    }
}

/// A mapping resolved against one source layer's fields, so each feature is mapped by field
/// position, without hashing field names (Chinese names hash slowly: Unicode normalisation).
struct CompiledMapping {
    enum Part { case literal(String), field(Int), fid }
    enum Source { case field(Int), template([Part]), constant(JSONValue) }
    struct Rule {
        var name: String
        var source: Source
        var spec: PropertySpec?
        var table: [String: JSONValue]?
        var fallback: JSONValue?
        var fieldName: String?
    }
    let mapping: LayerMapping
    let rules: [Rule]
    let extraDefaults: [(String, JSONValue)]
    let id: [Part]?
    /// Source fields kept as extra properties (index, name), when the mapping keeps unmapped ones.
    let unmapped: [(Int, String)]
    /// Which source fields the mapping reads at all (others need not be decoded).
    let needed: [Bool]

    init(_ m: LayerMapping, fieldNames: [String]) {
        mapping = m
        let index = Dictionary(fieldNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        func parts(_ t: LayerMapping.Template) -> [Part] {
            t.parts.map { p in
                switch p {
                case .literal(let l): .literal(l)
                case .fid: .fid
                case .field(let f): .field(index[f] ?? -1)
                }
            }
        }
        var used = Set<Int>()
        rules = m.properties.map { (name, rule) in
            let source: Source
            var fieldName: String?
            switch rule {
            case .field(let f): source = .field(index[f] ?? -1); fieldName = f; used.insert(index[f] ?? -1)
            case .template(let t): source = .template(parts(t)); used.formUnion(t.fields.compactMap { index[$0] })
            case .constant(let c): source = .constant(c)
            }
            return Rule(name: name, source: source, spec: m.layer.property(name), table: m.values[name], fallback: m.defaults[name], fieldName: fieldName)
        }
        extraDefaults = m.defaults.filter { d in !m.properties.contains { $0.name == d.key } }.sorted { $0.key < $1.key }
        id = m.id.map(parts)
        used.formUnion(m.id?.fields.compactMap { index[$0] } ?? [])
        let mappedNames = Set(m.properties.map(\.name))
        unmapped = m.keepUnmapped
            ? fieldNames.enumerated().filter { !used.contains($0.offset) && !mappedNames.contains($0.element) && m.layer.property($0.element) == nil }.sorted { $0.element < $1.element }.map { ($0.offset, $0.element) }
            : []
        needed = fieldNames.indices.map { used.contains($0) || (m.keepUnmapped && !mappedNames.contains(fieldNames[$0])) }
    }

    /// Turns one source feature's decoded field values (by position; nil when empty) into onemap
    /// properties and an id. A value not covered by a values table is a problem naming the value,
    /// the field and the mapping key.
    func apply(_ values: [JSONValue?], fid: Int64, sourceLayerName: String) -> (id: JSONValue?, properties: JSONObject, problems: [(property: String, reason: String)]) {
        var out = JSONObject()
        var problems: [(String, String)] = []
        for r in rules {
            var v: JSONValue?
            switch r.source {
            case .field(let i): v = i >= 0 ? values[i] : nil
            case .template(let ps): v = render(ps, values, fid)
            case .constant(let c): v = c
            }
            if let raw = v, !raw.isNull, let table = r.table {
                let key = LayerMapping.text(raw)
                if let mapped = table[key] {
                    v = mapped
                } else if let spec = r.spec, case .enumeration(let allowed) = spec.type, let s = raw.stringValue, allowed.contains(s) {
                    v = raw
                } else {
                    let targets = r.spec.map(LayerMapping.describe) ?? "a value"
                    problems.append((r.name, "\(r.fieldName.map { "field \($0)" } ?? "value") \"\(key)\" is not in values.\(r.name) of mapping \(mapping.origin); add \"\(key)\": \(targets)"))
                    continue
                }
            }
            if v == nil || v!.isNull, let d = r.fallback { v = d }
            guard let value = v, !value.isNull else { continue }
            out[r.name] = r.spec.map { LayerMapping.coerce(value, to: $0.type) } ?? value
        }
        for (name, d) in extraDefaults where out[name] == nil { out[name] = d }
        for (i, name) in unmapped { if let v = values[i], !v.isNull, out[name] == nil { out[name] = v } }
        let idValue: JSONValue? = id.map { render($0, values, fid) } ?? .string("\(sourceLayerName)-\(fid)")
        return (idValue, out, problems)
    }

    func render(_ parts: [Part], _ values: [JSONValue?], _ fid: Int64) -> JSONValue? {
        if parts.count == 1, case .field(let i) = parts[0] {
            guard i >= 0, let v = values[i], !v.isNull else { return nil }
            if case .number(let d) = v, d.rounded() == d, abs(d) < 1e15 { return .string(String(Int64(d))) }
            return v
        }
        var s = ""
        for p in parts {
            switch p {
            case .literal(let l): s += l
            case .fid: s += String(fid)
            case .field(let i):
                guard i >= 0, let v = values[i], !v.isNull else { return nil }
                s += LayerMapping.text(v)
            }
        }
        return .string(s)
    }
}

extension LayerMapping {
    /// A value as the text a values table is keyed by (1 not 1.0; true; the string itself).
    static func text(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let d) where d.rounded() == d && abs(d) < 1e15: return String(Int64(d))
        default: return JSONWriter.string(v)
        }
    }

    /// What a property accepts, for a hint: its allowed values or its type.
    static func describe(_ p: PropertySpec) -> String {
        switch p.type {
        case .enumeration(let vs): return "one of " + vs.map { "\"\($0)\"" }.joined(separator: ", ")
        case .boolean: return "true or false"
        case .integer: return "a whole number"
        case .real: return "a number"
        default: return "a value"
        }
    }

    /// Source values in the shape the property's type wants: numeric text to numbers, yes/no,
    /// 1/0 and 是/否 to booleans. Anything else passes unchanged for the validator to judge.
    static func coerce(_ v: JSONValue, to type: PropertyType) -> JSONValue {
        switch (type, v) {
        case (.integer, .string(let s)), (.real, .string(let s)):
            return Double(s.trimmingCharacters(in: .whitespaces)).map { .number($0) } ?? v
        case (.boolean, .number(let d)) where d == 0 || d == 1:
            return .bool(d == 1)
        case (.boolean, .string(let s)):
            switch s.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes", "y", "t", "1", "是", "有": return .bool(true)
            case "false", "no", "n", "f", "0", "否", "无": return .bool(false)
            default: return v
            }
        default:
            return v
        }
    }
}
