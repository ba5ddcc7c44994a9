import OneMapCore

/// What a reader asks of a feature source: one layer, optionally a bounding box (EPSG:4326
/// degrees), the zoom it draws at, and the attributes it will read.
public struct FeatureQuery: Sendable, Hashable {
    public var layer: String
    /// Only features meeting this box (by `predicate`); nil for every feature of the layer.
    public var bbox: BBox?
    public var predicate: BBoxPredicate
    /// The zoom the features are drawn at, for sources that generalise (the SpatiaLite source
    /// returns full-resolution geometry at every zoom).
    public var zoom: Int?
    /// Property names the reader needs; nil for all. A source may return more, never fewer.
    public var attributes: Set<String>?

    public init(layer: String, bbox: BBox? = nil, predicate: BBoxPredicate = .envelope, zoom: Int? = nil, attributes: Set<String>? = nil) {
        self.layer = layer; self.bbox = bbox; self.predicate = predicate; self.zoom = zoom; self.attributes = attributes
    }
}

/// Features in id order, read one at a time.
public struct FeatureCursor: Sequence, IteratorProtocol {
    private var base: IndexingIterator<[Feature]>
    public init(_ features: [Feature]) { base = features.makeIterator() }
    public mutating func next() -> Feature? { base.next() }
}

/// The one way the renderer, the router and print read features (Mapnik's datasource): a query
/// by layer, box, zoom and attributes, and a revision that moves whenever any feature changes.
///
/// `Store` (SpatiaLite) is the first implementation; a shared PostGIS store for a prefecture or
/// the region would be a second, behind the same protocol. Calls block: run them off event loops.
public protocol FeatureSource: Sendable {
    /// Features matching `query`, ordered by id. Throws `StoreError` (`.notFound` for an
    /// unknown layer, `.internal` when the source fails).
    func features(_ query: FeatureQuery) throws(StoreError) -> FeatureCursor
    /// Where the content stands: changes whenever any feature changes, and when the whole
    /// content is replaced (a restore, a schema migration) even if the journal lands on the same number.
    func revision() throws(StoreError) -> StoreRevision
    /// The layers changed after revision `since` (every layer when `since` is of another generation).
    func layersChanged(since: StoreRevision) throws(StoreError) -> Set<String>
    /// Each layer's feature count and extent.
    func layerInfo() throws(StoreError) -> [LayerInfo]
    /// The union of some layers' extents, as cheaply as the source can tell it (may be a little
    /// larger than exact, never smaller); `BBox.empty` when they hold nothing.
    func extent(of layers: Set<String>) throws(StoreError) -> BBox
    /// Where the features come from, for the credits a map must carry.
    func dataOrigins() throws(StoreError) -> DataOrigins
}

extension FeatureSource {
    /// From `layerInfo()` (a full scan); sources with a spatial index answer faster.
    public func extent(of layers: Set<String>) throws(StoreError) -> BBox {
        try layerInfo().filter { layers.contains($0.name) }.compactMap(\.extent).reduce(BBox.empty) { $0.union($1) }
    }
}

/// Where a store's features come from, as their `source` property says: OpenStreetMap data
/// (`source: "osm"`, ODbL — maps made from it must credit "© OpenStreetMap contributors") and the
/// synthetic demonstration data (`source: "demo"`).
public struct DataOrigins: Sendable, Equatable {
    public var openStreetMap: Bool
    public var demo: Bool
    public init(openStreetMap: Bool, demo: Bool) { self.openStreetMap = openStreetMap; self.demo = demo }

    /// The attribution line for maps and TileJSON.
    public var attribution: String {
        var parts = ["裕民县应急指挥一张图 onemap"]
        if demo { parts.append("demonstration data (synthetic)") }
        if openStreetMap { parts.append("© OpenStreetMap contributors (ODbL)") }
        return parts.joined(separator: " — ")
    }
}

extension FeatureSource {
    /// Every feature of a layer, as an array.
    public func all(_ layer: String, attributes: Set<String>? = nil) throws(StoreError) -> [Feature] {
        Array(try features(FeatureQuery(layer: layer, attributes: attributes)))
    }
}

extension Store: FeatureSource {
    public func features(_ q: FeatureQuery) throws(StoreError) -> FeatureCursor {
        let codec = try FeatureCodec.of(q.layer, attributes: q.attributes)
        if let bbox = q.bbox { return FeatureCursor(try features(codec, bbox: bbox, predicate: q.predicate)) }
        return FeatureCursor(try allFeatures(codec))
    }
    public func revision() throws(StoreError) -> StoreRevision { try storeRevision() }
    public func layersChanged(since: StoreRevision) throws(StoreError) -> Set<String> {
        let now = try storeRevision()
        if now.generation != since.generation { return Set(Layers.names) }
        return try layersEdited(since: since.sequence)
    }
}

/// The one notion of "the store changed" that caches, the router and the event stream compare
/// against: which content this is (`generation`, a random number drawn when the store is created
/// and drawn again by every restore and schema migration) and how far its edit journal has run
/// (`sequence`, the last `edit_journal.seq`). Two revisions are the same content only when both
/// parts agree; within one generation a larger sequence is newer, across generations nothing is
/// comparable and everything derived from the old one must go.
public struct StoreRevision: Sendable, Hashable, CustomStringConvertible {
    public var generation: Int64
    public var sequence: Int64
    public init(generation: Int64, sequence: Int64) { self.generation = generation; self.sequence = sequence }

    /// An opaque positive number for URLs (`?v=` on tile URLs, at most 17 digits): the low 16 bits of the
    /// generation above a 40-bit sequence, so a restore that lands on an earlier sequence still
    /// gets a new token.
    public var token: Int64 { ((generation & 0xFFFF) << 40) | (sequence & 0xFF_FFFF_FFFF) }
    public var description: String { "\(String(generation, radix: 16))/\(sequence)" }
}
