import OneMapCore

/// A feature source as it was before some edits: the current source with every edited feature
/// replaced by its image before the first of those edits (or left out, when it was created by
/// them). Built from the edit journal's before-images (`Store.edits(since:)`), so a tile cache
/// can compare what its tiles showed with what the store holds now — the label placement of
/// the past, evaluated only where it is asked, never a copy of the store.
///
/// Bulk edits (imports) carry no images and are not rolled back; callers treat their boxes
/// separately. Features come back ordered by id, as `FeatureSource` promises.
public struct PastSource: FeatureSource {
    public let current: any FeatureSource
    /// Per layer, the edited feature ids and what each was before (nil: it did not exist).
    private let past: [String: [String: Feature?]]

    /// `edits` in journal order; the first image of each feature wins.
    public init(current: any FeatureSource, undoing edits: [JournalEdit]) {
        self.current = current
        var past: [String: [String: Feature?]] = [:]
        for e in edits where !e.bulk {
            guard let id = e.featureID ?? e.before?.id ?? e.after?.id else { continue }
            if past[e.layer]?[id] == nil { past[e.layer, default: [:]][id] = .some(e.before) }
        }
        self.past = past
    }

    /// The features edited in `layer`, with their past images.
    public func pastImages(_ layer: String) -> [String: Feature?] { past[layer] ?? [:] }

    public func features(_ query: FeatureQuery) throws(StoreError) -> FeatureCursor {
        let now = try current.features(query)
        guard let edited = past[query.layer] else { return now }
        var out = now.filter { edited[$0.id] == nil }
        for case let (_, f?) in edited where query.bbox.map({ f.geometry.bbox.intersects($0) }) ?? true { out.append(f) }
        out.sort { $0.id < $1.id }
        return FeatureCursor(out)
    }

    public func revision() throws(StoreError) -> StoreRevision { try current.revision() }
    public func layersChanged(since: StoreRevision) throws(StoreError) -> Set<String> { try current.layersChanged(since: since) }
    public func layerInfo() throws(StoreError) -> [LayerInfo] { try current.layerInfo() }
    public func extent(of layers: Set<String>) throws(StoreError) -> BBox {
        var e = try current.extent(of: layers)
        for (l, fs) in past where layers.contains(l) { for case let (_, f?) in fs { e = e.union(f.geometry.bbox) } }
        return e
    }
    public func dataOrigins() throws(StoreError) -> DataOrigins { try current.dataOrigins() }
}
