import OneMapCore

/// A layer's summary for `onemap info` and `/api/layers`.
public struct LayerInfo: Sendable, Equatable {
    public var name: String
    public var title: String
    public var count: Int
    public var extent: BBox?
}

/// How a bounding-box query decides membership after the R*Tree's candidate boxes.
public enum BBoxPredicate: Sendable {
    /// The feature's exact envelope intersects the box (what a renderer needs).
    case envelope
    /// The geometry itself intersects the box.
    case geometry
}

extension Store {
    /// Counts and extents of every layer.
    /// Whether any layer holds features from OpenStreetMap or the demonstration data (stops at the
    /// first of each; a full scan of a layer only when it has neither).
    public func dataOrigins() throws(StoreError) -> DataOrigins {
        try read { c in
            func any(_ value: String) throws -> Bool {
                for l in Layers.all where l.property("source") != nil {
                    if case .int(1)? = try c.scalar("SELECT EXISTS (SELECT 1 FROM \(l.name) WHERE source = ?)", [.text(value)]) { return true }
                }
                return false
            }
            return DataOrigins(openStreetMap: try any("osm"), demo: try any("demo"))
        }
    }

    /// The union of layers' extents read from the root node of each layer's R*Tree (SpatiaLite's
    /// `idx_<layer>_geom`): one row per layer instead of a scan of every geometry — on the
    /// 100-county store the scan was 0.2–0.3 s of every cold tile. The root's entries hold the
    /// boxes of the whole tree, stored as 32-bit floats rounded outwards, so the extent may be
    /// larger than exact by a float's step, never smaller. Falls back to the scan for a layer
    /// whose index cannot be read.
    public func extent(of layers: Set<String>) throws(StoreError) -> BBox {
        let names = Layers.all.map(\.name).filter { layers.contains($0) }
        var scan: Set<String> = []
        let fromIndex: BBox = try read { c in
            var box = BBox.empty
            for l in names {
                let s = try c.prepare("SELECT data FROM idx_\(l)_geom_node WHERE nodeno = 1")
                defer { s.reset() }
                guard try s.step(), let b = s.withBlob(0, { raw -> BBox? in
                    // Node: depth (2 bytes), entry count (2), then per entry a 64-bit rowid and
                    // x0, x1, y0, y1 as big-endian 32-bit floats.
                    guard raw.count >= 4 else { return nil }
                    let count = Int(raw[2]) << 8 | Int(raw[3])
                    guard raw.count >= 4 + count * 24 else { return nil }
                    func f(_ o: Int) -> Double { Double(Float(bitPattern: UInt32(raw[o]) << 24 | UInt32(raw[o + 1]) << 16 | UInt32(raw[o + 2]) << 8 | UInt32(raw[o + 3]))) }
                    var b = BBox.empty
                    for e in 0..<count {
                        let o = 4 + e * 24 + 8
                        b = b.union(BBox(minLon: f(o), minLat: f(o + 8), maxLon: f(o + 4), maxLat: f(o + 12)))
                    }
                    return b
                }) ?? nil else { scan.insert(l); continue }
                box = box.union(b)
            }
            return box
        }
        guard !scan.isEmpty else { return fromIndex }
        return try layerInfo().filter { scan.contains($0.name) }.compactMap(\.extent).reduce(fromIndex) { $0.union($1) }
    }

    public func layerInfo() throws(StoreError) -> [LayerInfo] {
        try read { c in
            try Layers.all.map { l in
                let s = try c.prepare("SELECT count(*), Min(MbrMinX(geom)), Min(MbrMinY(geom)), Max(MbrMaxX(geom)), Max(MbrMaxY(geom)) FROM \(l.name)")
                defer { s.reset() }
                _ = try s.step()
                let n = Int(s.int(0))
                let ext = n == 0 ? nil : BBox(minLon: s.double(1), minLat: s.double(2), maxLon: s.double(3), maxLat: s.double(4))
                return LayerInfo(name: l.name, title: l.title, count: n, extent: ext)
            }
        }
    }

    /// The schema version of the open file.
    public func schemaVersionOnDisk() throws(StoreError) -> Int { try read { $0.userVersion } }

    /// Features of a layer intersecting `bbox`, through the spatial index, then filtered exactly.
    /// Ordered by feature id within the window; `limit`/`offset` page through them.
    public func features(in layer: String, bbox: BBox, predicate: BBoxPredicate = .geometry, limit: Int? = nil, offset: Int = 0) throws(StoreError) -> [Feature] {
        try features(try FeatureCodec.of(layer), bbox: bbox, predicate: predicate, limit: limit, offset: offset)
    }

    func features(_ codec: FeatureCodec, bbox: BBox, predicate: BBoxPredicate, limit: Int? = nil, offset: Int = 0) throws(StoreError) -> [Feature] {
        let layer = codec.layer.name
        return try read { c in
            // The R*Tree keeps float32 boxes rounded outward, so it returns a superset; the exact
            // test below removes the extra candidates.
            let sql = "SELECT \(codec.select) FROM \(layer) WHERE fid IN (SELECT pkid FROM idx_\(layer)_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ?) ORDER BY id"
            let rows = try c.query(sql, [.double(bbox.maxLon), .double(bbox.minLon), .double(bbox.maxLat), .double(bbox.minLat)]) { try codec.decode($0).feature }
            var out = rows.filter { f in
                switch predicate {
                case .envelope: f.geometry.bbox.intersects(bbox)
                case .geometry: Planar.intersects(f.geometry, bbox)
                }
            }
            if offset > 0 { out = Array(out.dropFirst(offset)) }
            if let limit, out.count > limit { out = Array(out.prefix(limit)) }
            if codec.readsStock { out = try attachStock(c, out) }
            return out
        }
    }

    /// Every feature of a layer, ordered by id.
    public func allFeatures(of layer: String) throws(StoreError) -> [Feature] { try allFeatures(try FeatureCodec.of(layer)) }

    func allFeatures(_ codec: FeatureCodec) throws(StoreError) -> [Feature] {
        try read { c in
            let out = try c.query("SELECT \(codec.select) FROM \(codec.layer.name) ORDER BY id") { try codec.decode($0).feature }
            return codec.readsStock ? try attachStock(c, out) : out
        }
    }

    /// One feature by id, with its version; nil when absent.
    public func feature(in layer: String, id: String) throws(StoreError) -> (feature: Feature, version: Int)? {
        let codec = try FeatureCodec.of(layer)
        return try read { c in
            guard var r = try c.query("SELECT \(codec.select) FROM \(layer) WHERE id = ?", [.text(id)], { try codec.decode($0) }).first else { return nil }
            if codec.layer.hasStock { r.feature = try attachStock(c, [r.feature])[0] }
            return r
        }
    }

    /// Features whose name contains `text` (case-insensitive for Latin letters), across the
    /// searchable layers or the given ones; exact and prefix matches first.
    public func search(_ text: String, layers: [String]? = nil, limit: Int = 20) throws(StoreError) -> [(layer: String, feature: Feature)] {
        let names = layers ?? Layers.all.filter(\.searchable).map(\.name)
        let specs = try names.map { (n: String) throws(StoreError) -> LayerSpec in try Layers.spec(n) }
        let q = text.trimmingCharacters(in: .whitespaces)
        guard !q.isEmpty else { return [] }
        let pattern = "%" + q.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
        return try read { c in
            var hits: [(rank: Int, layer: String, feature: Feature)] = []
            for l in specs where l.property("name") != nil {
                let codec = FeatureCodec.all[l.name]!
                let rows = try c.query("SELECT \(codec.select) FROM \(l.name) WHERE name LIKE ? ESCAPE '\\' ORDER BY length(name), name LIMIT ?", [.text(pattern), .int(Int64(limit))]) { try codec.decode($0).feature }
                for f in rows {
                    let name = f.properties["name"]?.stringValue ?? ""
                    let rank = name == q ? 0 : (name.hasPrefix(q) ? 1 : 2)
                    hits.append((rank, l.name, f))
                }
            }
            hits.sort { ($0.rank, $0.feature.properties["name"]?.stringValue?.count ?? 0) < ($1.rank, $1.feature.properties["name"]?.stringValue?.count ?? 0) }
            return hits.prefix(limit).map { ($0.layer, $0.feature) }
        }
    }

    /// The k features of a layer nearest to `point` by straight-line distance (metres), found by
    /// widening an index window until the k-th hit is provably inside it.
    public func nearest(in layer: String, to point: Coord, k: Int, maxDistance: Double = 500_000) throws(StoreError) -> [(feature: Feature, distance: Double)] {
        guard point.isInWorld else { throw StoreError(.badInput, "point \(point) is outside the world") }
        guard k > 0 else { return [] }
        let codec = try FeatureCodec.of(layer)
        return try read { c in
            var radius = 2_000.0
            while true {
                let m = Geodesy.metresPerDegree(atLat: min(89, abs(point.lat) + radius / 111_000))
                let dLon = min(360, radius / max(m.lon, 1)), dLat = radius / m.lat
                let sql = "SELECT \(codec.select) FROM \(layer) WHERE fid IN (SELECT pkid FROM idx_\(layer)_geom WHERE xmin <= ? AND xmax >= ? AND ymin <= ? AND ymax >= ?)"
                let rows = try c.query(sql, [.double(point.lon + dLon), .double(point.lon - dLon), .double(point.lat + dLat), .double(point.lat - dLat)]) { try codec.decode($0).feature }
                let ranked = rows.map { ($0, Store.distance(from: point, to: $0.geometry)) }.filter { $0.1 <= radius }.sorted { ($0.1, $0.0.id) < ($1.1, $1.0.id) }
                if ranked.count >= k || radius >= maxDistance {
                    var out = Array(ranked.prefix(k))
                    if codec.layer.hasStock {
                        let withStock = try attachStock(c, out.map(\.0))
                        out = zip(withStock, out).map { ($0, $1.1) }
                    }
                    return out.map { (feature: $0.0, distance: $0.1) }
                }
                radius *= 3
            }
        }
    }

    /// Straight-line distance in metres from a point to a geometry (0 inside a polygon).
    public static func distance(from p: Coord, to g: Geometry) -> Double {
        switch g {
        case .point(let c): return Geodesy.distance(p, c)
        case .multiPoint(let l): return l.map { Geodesy.distance(p, $0) }.min() ?? .infinity
        default:
            if g.polygons.contains(where: { Planar.polygonContains($0, p) }) { return 0 }
            var best = Double.infinity
            for path in g.paths where path.count > 1 {
                for i in 1..<path.count { best = min(best, Geodesy.project(p, onto: path[i - 1], path[i]).distance) }
            }
            return best
        }
    }

    /// The stock of one warehouse.
    public func stock(of warehouseID: String) throws(StoreError) -> [JSONValue] {
        try read { c in try Store.stockRows(c, warehouseID) }
    }

    static func stockRows(_ c: Connection, _ id: String) throws -> [JSONValue] {
        try c.query("SELECT item, unit, quantity FROM warehouse_stock WHERE warehouse_id = ? ORDER BY item", [.text(id)]) { s in
            ["item": .string(s.text(0) ?? ""), "unit": .string(s.text(1) ?? ""), "quantity": .number(s.double(2))] as JSONValue
        }
    }

    func attachStock(_ c: Connection, _ features: [Feature]) throws -> [Feature] {
        try features.map { f in
            var f = f
            let rows = try Store.stockRows(c, f.id)
            if !rows.isEmpty { f.properties["stock"] = .array(rows) }
            return f
        }
    }

    /// A digest of every row of every onemap table, to show that a failed write changed nothing.
    /// The store's generation (random per store, see `StoreRevision`) is left out, so two stores
    /// with the same content have the same digest.
    public func contentDigest() throws(StoreError) -> String {
        try read { c in
            var h = FNV1a()
            let tables = Layers.names + ["warehouse_stock", "edit_journal", "incident_updates", "onemap_meta"]
            for t in tables {
                h.add(t)
                let s = try c.prepare(t == "onemap_meta" ? "SELECT * FROM onemap_meta WHERE key <> 'generation' ORDER BY 1" : "SELECT * FROM \(t) ORDER BY 1")
                defer { s.reset() }
                while try s.step() {
                    for i in 0..<s.columnCount {
                        switch s.value(i) {
                        case .null: h.add("∅")
                        case .int(let n): h.add("i\(n)")
                        case .double(let d): h.add("d\(d.bitPattern)")
                        case .text(let t): h.add("t" + t)
                        case .blob(let b): h.add(b)
                        }
                    }
                }
            }
            return h.hex
        }
    }
}

/// 64-bit FNV-1a, for content digests (not for security).
struct FNV1a {
    var v: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ bytes: [UInt8]) { for b in bytes { v = (v ^ UInt64(b)) &* 0x100_0000_01b3 }; add1(0xff) }
    mutating func add(_ s: String) { for b in s.utf8 { v = (v ^ UInt64(b)) &* 0x100_0000_01b3 }; add1(0xfe) }
    private mutating func add1(_ b: UInt8) { v = (v ^ UInt64(b)) &* 0x100_0000_01b3 }
    var hex: String { String(v, radix: 16) }
}

extension Store {
    /// The last edit journal sequence number (0 for none): changes whenever any feature changes.
    public func journalSequence() throws(StoreError) -> Int64 {
        try read { c in
            if case .int(let n)? = try c.scalar("SELECT seq FROM edit_journal ORDER BY seq DESC LIMIT 1") { return n }
            return 0
        }
    }

    /// The store's revision: its generation and journal position, read in one statement.
    public func storeRevision() throws(StoreError) -> StoreRevision {
        try read { c in
            let s = try c.prepare("SELECT (SELECT value FROM onemap_meta WHERE key = 'generation'), (SELECT seq FROM edit_journal ORDER BY seq DESC LIMIT 1)")
            defer { s.reset() }
            _ = try s.step()
            return StoreRevision(generation: s.text(0).flatMap { Int64($0) } ?? 0, sequence: s.isNull(1) ? 0 : s.int(1))
        }
    }

    /// The layers edited after journal position `seq`.
    public func layersEdited(since seq: Int64) throws(StoreError) -> Set<String> {
        try read { c in Set(try c.query("SELECT DISTINCT layer FROM edit_journal WHERE seq > ?", [.int(seq)]) { $0.text(0) ?? "" }) }
    }
}

/// One row of the edit journal as the tile caches read it: the feature before and after the
/// change (nil before a creation and after a deletion) and the box of both geometries
/// (EPSG:4326 degrees). An import is one `bulk` row with its box and no feature images.
public struct JournalEdit: Sendable {
    /// The journal position (`edit_journal.seq`).
    public var seq: Int64
    public var layer: String
    public var featureID: String?
    public var box: BBox
    public var before: Feature?
    public var after: Feature?
    public var bulk: Bool { before == nil && after == nil }

    /// Whether the change can alter pixels, given per layer the properties any style reads
    /// (`MapRenderer.drawnAttributes`): geometry changes, creations, deletions and imports
    /// always can; an edit of properties no style reads cannot.
    public func changesDrawn(_ drawn: [String: Set<String>]?) -> Bool {
        guard let drawn, let read = drawn[layer], let b = before, let a = after else { return true }
        if b.geometry != a.geometry { return true }
        let keys = Set(b.properties.keys).union(a.properties.keys)
        return keys.contains { b.properties[$0] != a.properties[$0] && read.contains($0) }
    }
}

extension Store {
    /// The journal's edits after position `seq`, in order. Throws `StoreError` when the store
    /// cannot be read; a row whose images cannot be parsed counts as a bulk change of its box.
    public func edits(since seq: Int64) throws(StoreError) -> [JournalEdit] {
        func feature(_ text: String?) -> Feature? {
            guard let text, let v = try? JSONParser.parse(text), let g = v["geometry"], let geometry = try? GeoJSON.geometry(from: g) else { return nil }
            var props: [String: JSONValue] = [:]
            for (k, x) in v["properties"]?.objectValue ?? JSONObject() { props[k] = x }
            return Feature(id: v["id"]?.stringValue ?? "", geometry: geometry, properties: props)
        }
        return try read { c in
            try c.query("SELECT min_lon, min_lat, max_lon, max_lat, layer, feature_id, before, after, seq FROM edit_journal WHERE seq > ? AND min_lon IS NOT NULL ORDER BY seq", [.int(seq)]) { s in
                JournalEdit(seq: s.int(8), layer: s.text(4) ?? "", featureID: s.text(5), box: BBox(minLon: s.double(0), minLat: s.double(1), maxLon: s.double(2), maxLat: s.double(3)),
                            before: s.isNull(5) ? nil : feature(s.text(6)), after: s.isNull(5) ? nil : feature(s.text(7)))
            }
        }
    }
}

