import OneMapCore
import Synchronization

/// How features of one layer map to rows: the SELECT list, the upsert statement and the decoding.
struct FeatureCodec: Sendable {
    let layer: LayerSpec
    let select: String
    let upsert: String
    /// `upsert` answering the row's fid and version (for bulk writes that keep the spatial index themselves).
    let upsertReturningFid: String
    /// The columns `select` reads and `decode` decodes: all of the layer's, or a projection.
    let columns: [PropertySpec]
    let pointColumns: [PropertySpec]
    /// Whether the `extra` column (properties outside the schema) is read.
    let readsExtra: Bool
    /// Whether warehouse stock is attached to decoded features.
    let readsStock: Bool

    /// A codec reading only `attributes` (all when nil): readers that need a few properties
    /// (a style, the router) skip decoding the rest.
    init(_ layer: LayerSpec, attributes: Set<String>? = nil) {
        self.layer = layer
        columns = attributes.map { a in layer.columns.filter { a.contains($0.name) } } ?? layer.columns
        pointColumns = attributes.map { a in layer.pointColumns.filter { a.contains($0.name) } } ?? layer.pointColumns
        readsExtra = attributes.map { a in !a.isSubset(of: Set(layer.properties.map(\.name))) } ?? true
        readsStock = layer.hasStock && (attributes?.contains("stock") ?? true)
        var sel = ["id", "AsBinary(geom)", "version"]
        sel += columns.map { "\"\($0.name)\"" }
        sel += pointColumns.map { "AsBinary(\"\($0.name)\")" }
        sel.append(readsExtra ? "extra" : "NULL")
        select = sel.joined(separator: ", ")

        var cols = ["id", "geom"] + layer.columns.map { "\"\($0.name)\"" } + layer.pointColumns.map { "\"\($0.name)\"" } + ["extra"]
        var vals = ["?", "GeomFromWKB(?, 4326)"] + layer.columns.map { _ in "?" } + layer.pointColumns.map { _ in "MakePoint(?, ?, 4326)" } + ["?"]
        let updates = cols.dropFirst().map { "\($0) = excluded.\($0)" } + ["version = \(layer.name).version + 1"]
        upsert = "INSERT INTO \(layer.name) (\(cols.joined(separator: ", "))) VALUES (\(vals.joined(separator: ", "))) ON CONFLICT(id) DO UPDATE SET \(updates.joined(separator: ", "))"
        upsertReturningFid = upsert + " RETURNING fid, version"
        cols.removeAll(); vals.removeAll()
    }

    static let all: [String: FeatureCodec] = Dictionary(uniqueKeysWithValues: Layers.all.map { ($0.name, FeatureCodec($0)) })

    static func of(_ layer: String) throws(StoreError) -> FeatureCodec {
        guard let c = all[layer] else { throw StoreError.unknownLayer(layer) }
        return c
    }

    /// The codec for a projection of a layer, made once per distinct attribute set.
    static func of(_ layer: String, attributes: Set<String>?) throws(StoreError) -> FeatureCodec {
        guard let attributes else { return try of(layer) }
        guard let spec = Layers.byName[layer] else { throw StoreError.unknownLayer(layer) }
        let key = layer + "\u{1}" + attributes.sorted().joined(separator: "\u{1}")
        return projections.withLock { p in
            if let c = p[key] { return c }
            let c = FeatureCodec(spec, attributes: attributes)
            p[key] = c
            return c
        }
    }
    private static let projections = Mutex<[String: FeatureCodec]>([:])

    /// Binding values for the upsert.
    func bindings(_ v: ValidFeature) -> [SQLValue] {
        let f = v.feature
        var out: [SQLValue] = [.text(f.id), .blob(WKB.encode(f.geometry))]
        for p in layer.columns {
            guard let value = f.properties[p.name] else { out.append(.null); continue }
            switch (p.type, value) {
            case (.boolean, .bool(let b)): out.append(.int(b ? 1 : 0))
            case (.integer, _): out.append(value.intValue.map { .int(Int64($0)) } ?? .null)
            case (.real, .number(let d)): out.append(.double(d))
            case (_, .string(let s)): out.append(.text(s))
            default: out.append(.text(JSONWriter.string(value)))
            }
        }
        for p in layer.pointColumns {
            if let a = f.properties[p.name]?.arrayValue, a.count == 2, let x = a[0].doubleValue, let y = a[1].doubleValue {
                out += [.double(x), .double(y)]
            } else {
                out += [.null, .null]
            }
        }
        out.append(v.extra.count == 0 ? .null : .text(JSONWriter.string(.object(v.extra))))
        return out
    }

    /// Decodes a row selected with `select` (columns starting at `base`).
    func decode(_ s: Statement, base: Int = 0) throws -> (feature: Feature, version: Int) {
        let id = s.text(base) ?? ""
        guard let geom = try s.withBlob(base + 1, { (p: UnsafeRawBufferPointer) throws -> Geometry in try WKB.decode(p) }) else {
            throw StoreError(.internal, "feature \(id) of \(layer.name) has no geometry")
        }
        var props: [String: JSONValue] = [:]
        var i = base + 3
        for p in columns {
            defer { i += 1 }
            if s.isNull(i) { continue }
            switch p.type {
            case .boolean: props[p.name] = .bool(s.int(i) != 0)
            case .integer: props[p.name] = .number(Double(s.int(i)))
            case .real: props[p.name] = .number(s.double(i))
            default: props[p.name] = .string(s.text(i) ?? "")
            }
        }
        for p in pointColumns {
            defer { i += 1 }
            if let g = try s.withBlob(i, { (b: UnsafeRawBufferPointer) throws -> Geometry in try WKB.decode(b) }), case .point(let c) = g {
                props[p.name] = [.number(c.lon), .number(c.lat)]
            }
        }
        if let extra = s.text(i), case .object(let o)? = try? JSONParser.parse(extra) {
            for (k, v) in o where props[k] == nil { props[k] = v }
        }
        return (Feature(id: id, geometry: geom, properties: props), Int(s.int(base + 2)))
    }
}
