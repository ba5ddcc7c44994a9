import CGDAL
import Foundation
import OneMapCore
import OneMapStore

/// OpenStreetMap (PBF or XML, read by GDAL's OSM driver in one interleaved pass) into onemap's
/// layers. Every feature keeps `source: "osm"` and its `osm_id` ("way/123"); ids are
/// `osm-way-123`, `osm-node-45`, `osm-relation-6`, so a second import of a newer extract replaces
/// them. Data © OpenStreetMap contributors, ODbL: maps made from it must say so.
///
/// Roads — drivable `highway=*` ways (not `area=yes`):
///
/// | highway (and its `_link`) | class |
/// |---|---|
/// | motorway | expressway |
/// | trunk | national |
/// | primary | provincial |
/// | secondary | county |
/// | tertiary | township |
/// | unclassified, residential, living_street, service, road | village |
/// | track | track |
///
/// `oneway=yes/true/1` (and roundabouts, and motorways unless `oneway=no`) is one-way;
/// `oneway=-1`/`reverse` reverses the line and is one-way. `maxspeed` in km/h, or mph converted;
/// `name`, `ref`, `bridge`, `tunnel`, `layer` as they are. Ways join where they share a node: GDAL
/// gives a shared node the same coordinates in each way, and the road graph joins roads at shared
/// vertices.
///
/// Facilities — nodes, or closed ways and multipolygons at a point on their surface:
/// `amenity=fire_station` → fire_stations (kind `township_team` when `fire_station:type` or
/// `operator:type` says volunteer/community, else `professional`); `emergency=assembly_point`,
/// `amenity=refugee_site` and emergency `amenity=shelter` with a `capacity` → shelters;
/// `waterway=river/stream/canal` → rivers. Objects onemap cannot hold as they are (a shelter
/// without a capacity) are left out and counted in a notice.
final class OSMImport {
    let dataset: VectorDataset
    private(set) var notices: [String] = []
    private var leftOut: [String: Int] = [:]
    private var counts: [String: Int] = [:]

    init(dataset: VectorDataset) { self.dataset = dataset }

    static let roadClass: [String: String] = [
        "motorway": "expressway", "trunk": "national", "primary": "provincial", "secondary": "county",
        "tertiary": "township", "unclassified": "village", "residential": "village", "living_street": "village",
        "service": "village", "road": "village", "track": "track",
    ]

    func stream(into sink: ImportSink, nearby: Nearby?, tick: () -> Void) throws {
        let file = (dataset.path as NSString).lastPathComponent
        var fieldCache: [OGRLayerH: [(String, Int32)]] = [:]
        var objects = 0
        while let (f, l) = try dataset.nextInterleaved() {
            defer { gdal.OGR_F_Destroy(f) }
            tick()
            objects += 1
            let names: [(String, Int32)]
            if let c = fieldCache[l] {
                names = c
            } else {
                let defn = gdal.OGR_L_GetLayerDefn(l)
                names = (0..<gdal.OGR_FD_GetFieldCount(defn)).map { (String(cString: gdal.OGR_Fld_GetNameRef(gdal.OGR_FD_GetFieldDefn(defn, $0))!), $0) }
                fieldCache[l] = names
            }
            var tags: [String: String] = [:]
            for (name, i) in names where gdal.OGR_F_IsFieldSetAndNotNull(f, i) != 0 {
                let v = String(cString: gdal.OGR_F_GetFieldAsString(f, i)!)
                if name == "other_tags" { OSMImport.parseHstore(v, into: &tags) } else { tags[name] = v }
            }
            let layerName = String(cString: gdal.OGR_L_GetName(l)!)
            guard let (spec, id, props) = classify(layerName: layerName, tags: tags) else { continue }
            var geometry = SourceFeature.geometry(f, transform: nil, crsName: "WGS84").mapError { Validator.GeometryProblem($0.reason) }
            if case .failure(let p) = geometry {
                // Extracts cut ways at their edge: a way with under two nodes inside is not a road here.
                leftOut["\(spec.name) objects whose geometry is unusable (\(p.reason))", default: 0] += 1
                continue
            }
            if spec.isPointLayer, case .success(let g) = geometry, g.kind != .point {
                geometry = SourceFeature.pointOnSurface(g).map { .success(.point($0)) } ?? .failure(Validator.GeometryProblem("no point on the surface"))
            }
            if spec.name == "roads", props["reverse"] != nil, case .success(let g) = geometry, case .lineString(let cs) = g {
                geometry = .success(.lineString(cs.reversed()))
            }
            if let nearby, case .success(let g) = geometry, let why = nearby.problem(g, crs: nil) {
                sink.refuse(FeatureProblem(file: file, index: objects - 1, featureID: id, property: "geometry", reason: why))
                continue
            }
            var p = props
            p["reverse"] = nil
            counts[spec.name, default: 0] += 1
            try sink.add(IncomingFeature(layer: spec, id: .string(id), geometry: geometry, properties: p, file: file, index: counts[spec.name]! - 1))
        }
        for (what, n) in leftOut.sorted(by: { $0.key < $1.key }) {
            notices.append("\(file): \(n) \(what) left out")
        }
    }

    /// The onemap layer, id and properties for one OSM object, or nil when it is none of ours.
    func classify(layerName: String, tags: [String: String]) -> (LayerSpec, String, JSONObject)? {
        let (kind, osmID): (String, String)
        if layerName == "multipolygons" {
            if let w = tags["osm_way_id"] { (kind, osmID) = ("way", w) } else { (kind, osmID) = ("relation", tags["osm_id"] ?? "?") }
        } else {
            (kind, osmID) = (layerName == "points" ? "node" : layerName == "lines" ? "way" : "relation", tags["osm_id"] ?? "?")
        }
        var props = JSONObject()
        props["source"] = "osm"
        props["osm_id"] = .string("\(kind)/\(osmID)")
        let id = "osm-\(kind)-\(osmID)"
        if let name = tags["name"], !name.isEmpty { props["name"] = .string(name) }

        if layerName == "lines", let hw = tags["highway"] {
            let base = hw.hasSuffix("_link") ? String(hw.dropLast(5)) : hw
            guard let cls = OSMImport.roadClass[base], tags["area"] != "yes" else { return nil }
            props["class"] = .string(cls)
            let ow = tags["oneway"] ?? ""
            if ow == "-1" || ow == "reverse" {
                props["oneway"] = true
                props["reverse"] = true
            } else if ["yes", "true", "1"].contains(ow) || ["roundabout", "circular"].contains(tags["junction"] ?? "") || (base == "motorway" && ow != "no") {
                props["oneway"] = true
            }
            if let ms = tags["maxspeed"], let kmh = OSMImport.kmh(ms), (5...130).contains(kmh) { props["maxspeed"] = .number(Double(kmh)) }
            if let b = tags["bridge"], !["no", "0", "false"].contains(b) { props["bridge"] = true }
            if let t = tags["tunnel"], !["no", "0", "false"].contains(t) { props["tunnel"] = true }
            if let l = tags["layer"].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), l != 0, (-5...5).contains(l) { props["layer"] = .number(Double(l)) }
            if let r = tags["ref"], !r.isEmpty { props["ref"] = .string(r) }
            return (Layers.byName["roads"]!, id, props)
        }
        if layerName == "lines", let ww = tags["waterway"], ["river", "stream", "canal"].contains(ww) {
            props["kind"] = .string(ww)
            return (Layers.byName["rivers"]!, id, props)
        }
        guard layerName == "points" || layerName == "multipolygons" else { return nil }
        if tags["amenity"] == "fire_station" {
            let volunteer = ["volunteer", "community"].contains(tags["fire_station:type"] ?? tags["operator:type"] ?? "")
            props["kind"] = .string(volunteer ? "township_team" : "professional")
            if props["name"] == nil { props["name"] = .string(tags["ref"].map { "消防站 \($0)" } ?? "消防站 (OSM \(kind) \(osmID))") }
            if let phone = tags["phone"] ?? tags["contact:phone"] { props["phone"] = .string(phone) }
            return (Layers.byName["fire_stations"]!, id, props)
        }
        let shelterTypes: Set<String> = ["public_transport", "picnic_shelter", "lean_to", "basic_hut", "weather_shelter", "gazebo", "sun_shelter", "field_shelter", "rock_shelter", "changing_rooms"]
        let isShelter = tags["emergency"] == "assembly_point" || tags["amenity"] == "refugee_site"
            || (tags["amenity"] == "shelter" && !shelterTypes.contains(tags["shelter_type"] ?? "public_transport"))
        if isShelter {
            guard let cap = tags["capacity"].flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), cap >= 0 else {
                leftOut["shelters or assembly points without capacity=* (onemap's shelters need one)", default: 0] += 1
                return nil
            }
            props["capacity"] = .number(Double(cap))
            if props["name"] == nil { props["name"] = .string("避难场所 (OSM \(kind) \(osmID))") }
            props["kind"] = .string(tags["amenity"] == "school" ? "school" : "other")
            return (Layers.byName["shelters"]!, id, props)
        }
        return nil
    }

    /// km/h from an OSM maxspeed ("50", "50 km/h", "30 mph"); nil for "none", "signals", "RU:urban"…
    static func kmh(_ s: String) -> Int? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("mph"), let n = Double(t.dropLast(3).trimmingCharacters(in: .whitespaces)) { return Int((n * 1.609344).rounded()) }
        let num = t.hasSuffix("km/h") ? String(t.dropLast(4)).trimmingCharacters(in: .whitespaces) : t.hasSuffix("kmh") ? String(t.dropLast(3)) : t
        return Int(num)
    }

    /// GDAL's `other_tags` ("key"=>"value","k2"=>"v2", with \" and \\ escaped) into `tags`.
    static func parseHstore(_ s: String, into tags: inout [String: String]) {
        var strings: [String] = []
        var cur = ""
        var inString = false
        var escaped = false
        for ch in s {
            if inString {
                if escaped { cur.append(ch); escaped = false }
                else if ch == "\\" { escaped = true }
                else if ch == "\"" { strings.append(cur); cur = ""; inString = false }
                else { cur.append(ch) }
            } else if ch == "\"" {
                inString = true
            }
        }
        var i = 0
        while i + 1 < strings.count { tags[strings[i]] = strings[i + 1]; i += 2 }
    }
}
