import CGDAL
import Foundation
import OneMapCore
import OneMapStore

/// What `onemap import FILE --inspect` finds in a source: its layers, their fields with sample
/// values, the CRS and text encoding, and a suggested mapping to start a mapping file from.
public struct SourceDescription: Sendable {
    public struct Field: Sendable {
        public var name: String
        public var type: String
        /// Up to five distinct values seen in the first 2,000 features.
        public var samples: [String]
    }
    public struct Layer: Sendable {
        public var name: String
        public var geometryType: String
        public var featureCount: Int
        public var crs: String
        public var encoding: String
        public var fields: [Field]
        /// A mapping to start from (the `LayerMapping` file shape), or nil for OpenStreetMap.
        public var suggestion: JSONValue?
        /// Sentences about the guess (what could not be matched).
        public var remarks: [String]
    }
    public var file: String
    public var driver: String
    public var layers: [Layer]

    public var json: JSONValue {
        .object(JSONObject([
            ("file", .string(file)), ("driver", .string(driver)),
            ("layers", .array(layers.map { l in
                .object(JSONObject([
                    ("name", .string(l.name)), ("geometry_type", .string(l.geometryType)), ("features", .number(Double(l.featureCount))),
                    ("crs", .string(l.crs)), ("encoding", .string(l.encoding)),
                    ("fields", .array(l.fields.map { f in .object(JSONObject([("name", .string(f.name)), ("type", .string(f.type)), ("samples", .array(f.samples.map { .string($0) }))])) })),
                    ("suggested_mapping", l.suggestion ?? .null), ("remarks", .array(l.remarks.map { .string($0) })),
                ]))
            })),
        ]))
    }
}

extension SourceImport {
    /// Describes each dataset under `path` without importing anything.
    /// - Throws: `SourceError` when a file cannot be read.
    public static func inspect(path: String, options: SourceImportOptions) throws(SourceError) -> [SourceDescription] {
        var out: [SourceDescription] = []
        for p in try datasetPaths(path) {
            let ds = try VectorDataset(path: p)
            let file = (p as NSString).lastPathComponent
            var layers: [SourceDescription.Layer] = []
            for l in ds.layers where options.sourceLayer == nil || l.name == options.sourceLayer {
                let label = ds.layers.count == 1 ? file : "\(file) layer \(l.name)"
                let text = try LayerPlan.textPolicy(ds, l, forced: options.encoding, label: label)
                let crs: String
                if let c = options.crs { crs = "\(try CRS(c).label) (from --crs)" }
                else if let srs = l.spatialReference { crs = CRS(copying: srs).label }
                else { crs = "none in the file" + ((l.extent.map { abs($0.maxX) > 180 || abs($0.maxY) > 90 } ?? false) ? " — coordinates are not lon/lat: pass --crs" : " (coordinates look like lon/lat)") }
                if ds.interleaved {
                    layers.append(.init(name: l.name, geometryType: l.geometryTypeName, featureCount: Int(l.featureCount), crs: crs, encoding: "UTF-8",
                                        fields: l.fields.map { .init(name: String(decoding: $0.rawName, as: UTF8.self), type: $0.typeName, samples: []) },
                                        suggestion: nil, remarks: ["OpenStreetMap: imported with the built-in table (roads, rivers, fire stations, shelters); no mapping needed"]))
                    continue
                }
                let sf = l.fields
                let names = sf.map { f -> String in
                    if case .success(let s) = text.decode(f.rawName, field: "name") { return s }
                    return TextPolicy.show(f.rawName)
                }
                var samples = Array(repeating: [String](), count: sf.count)
                var distinct = Array(repeating: Set<String>(), count: sf.count)
                var undecodable = 0
                l.reset()
                var n = 0
                while n < 2000, let f = try l.next() {
                    defer { gdal.OGR_F_Destroy(f) }
                    n += 1
                    for i in sf.indices {
                        guard let v = SourceFeature.value(f, Int32(i), sf[i].type) else { continue }
                        let s: String
                        switch v {
                        case .integer(let k): s = String(k)
                        case .real(let d): s = d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
                        case .date(let d): s = d
                        case .text(let b):
                            guard case .success(let t) = text.decode(b, field: names[i]) else { undecodable += 1; continue }
                            s = t.trimmingCharacters(in: .whitespaces)
                        }
                        guard !s.isEmpty, distinct[i].count < 200 else { continue }
                        if distinct[i].insert(s).inserted, samples[i].count < 5 { samples[i].append(s) }
                    }
                }
                var remarks: [String] = []
                if undecodable > 0 { remarks.append("\(undecodable) text values do not decode as \(text.decoder?.encoding ?? "UTF-8"); pass --encoding") }
                let enc = text.decoder.map { "\($0.encoding) (\(text.how))" } ?? text.how
                let (suggestion, more) = suggest(layerName: l.name, geometry: l.geometryTypeName, fields: names, distinct: distinct, forced: options.layer)
                remarks += more
                layers.append(.init(name: l.name, geometryType: l.geometryTypeName, featureCount: Int(l.featureCount), crs: crs, encoding: enc,
                                    fields: sf.indices.map { .init(name: names[$0], type: sf[$0].typeName, samples: samples[$0]) },
                                    suggestion: suggestion, remarks: remarks))
            }
            out.append(SourceDescription(file: file, driver: ds.driver, layers: layers))
        }
        return out
    }

    /// onemap layers by words in a source layer's name (Chinese and English), most specific first.
    static let layerWords: [(String, [String])] = [
        ("road_risks", ["风险路段", "road_risk", "路段风险"]), ("micro_fire_stations", ["微型消防", "micro_fire"]),
        ("fire_stations", ["消防", "fire_station", "fire"]), ("hazard_zones", ["风险区", "危险区", "hazard_zone", "隐患区"]),
        ("hazard_points", ["隐患点", "灾害点", "hazard_point", "hazard"]), ("warehouses", ["物资", "仓库", "储备", "warehouse"]),
        ("base_stations", ["基站", "base_station", "tower"]), ("shelters", ["避难", "避险", "安置", "shelter"]),
        ("info_officers", ["信息员", "责任人", "officer"]), ("townships", ["乡镇", "township"]), ("villages", ["行政村", "村", "village"]),
        ("county", ["县界", "county"]), ("roads", ["道路", "公路", "路网", "road", "highway", "street"]), ("rivers", ["河", "水系", "river", "stream"]),
    ]

    /// onemap property → field names that usually hold it (lower case; pinyin initials as county GIS staff abbreviate).
    static let fieldWords: [String: [String]] = [
        "name": ["名称", "名字", "name", "mc", "村名", "地名", "站名", "姓名", "xm"], "code": ["代码", "编码", "行政代码", "code", "dm", "xzqdm"],
        "class": ["道路等级", "等级", "class", "grade", "dldj", "技术等级"], "ref": ["编号", "路线编号", "ref", "lxbh", "路线代码"],
        "households": ["户数", "hs", "households"], "population": ["人口", "人数", "population", "rk"], "people": ["人数", "人口", "people"],
        "capacity": ["容纳人数", "容量", "可容纳人数", "capacity", "rnrs"], "phone": ["电话", "联系电话", "phone", "tel", "dh", "lxdh"],
        "township": ["乡镇代码", "所属乡镇", "township", "乡镇"], "village": ["村代码", "所属村", "village", "行政村"],
        "level": ["级别", "风险等级", "险情等级", "灾害等级", "仓库级别", "level", "jb"], "backup_power_hours": ["备电时长", "备电", "backup_power_hours"], "type": ["灾害类型", "类型", "type", "lx"], "kind": ["类型", "种类", "kind"],
        "person_in_charge": ["负责人", "管理人", "person_in_charge", "fzr"], "oneway": ["单行", "单向", "oneway"],
        "maxspeed": ["限速", "设计速度", "maxspeed", "speed"], "operator": ["运营商", "operator"], "status": ["状态", "status"],
        "managing_unit": ["管理单位", "managing_unit"], "personnel": ["人员", "人数", "personnel"], "vehicles": ["车辆", "vehicles"],
        "role": ["角色", "职责", "role"], "monitor": ["监测人", "monitor"], "note": ["备注", "note", "bz"],
    ]

    /// Common source values of onemap's enumerations (Chinese as county data writes them).
    static func valueWords(_ property: String) -> [String: JSONValue] {
        var t: [String: JSONValue] = [:]
        switch property {
        case "class":
            t = ["高速公路": "expressway", "高速": "expressway", "国道": "national", "省道": "provincial", "县道": "county",
                 "乡道": "township", "村道": "village", "专用公路": "village", "机耕路": "track", "便道": "track"]
        case "type":
            for h in HazardType.allCases { t[h.nameCN] = .string(h.rawValue) }
            t["洪水"] = "flood"; t["雪灾"] = "snow"; t["风吹雪"] = "snow"; t["火灾"] = "forest_fire"; t["危化品"] = "hazchem"
        case "level":
            for (i, words) in [["一级", "I级", "红色", "特大"], ["二级", "II级", "橙色", "重大"], ["三级", "III级", "黄色", "较大"], ["四级", "IV级", "蓝色", "一般"]].enumerated() {
                for w in words { t[w] = .number(Double(i + 1)) }
            }
            // Warehouse levels are words, not numbers.
            for (w, v) in [("县级", "county"), ("乡级", "township"), ("乡镇级", "township"), ("村级", "village")] { t[w] = .string(v) }
        case "oneway", "bridge", "tunnel":
            t = ["是": true, "否": false, "Y": true, "N": false]
        case "operator":
            t = ["中国移动": "china_mobile", "移动": "china_mobile", "中国联通": "china_unicom", "联通": "china_unicom",
                 "中国电信": "china_telecom", "电信": "china_telecom", "中国广电": "china_broadnet", "广电": "china_broadnet"]
        case "role":
            for r in OfficerRole.allCases { t[r.nameCN] = .string(r.rawValue) }
        case "kind":
            t = ["镇": "town", "乡": "township", "农场": "farm", "团场": "regiment", "专职消防队": "professional", "专职": "professional",
                 "乡镇专职队": "township_team", "乡镇消防队": "township_team", "学校": "school", "广场": "square", "村委会": "village_committee",
                 "体育场": "stadium", "其他": "other", "河流": "river", "溪流": "stream", "渠道": "canal", "干渠": "canal"]
        default: break
        }
        return t
    }

    static func suggest(layerName: String, geometry: String, fields: [String], distinct: [Set<String>], forced: String?) -> (JSONValue, [String]) {
        var remarks: [String] = []
        let lname = layerName.lowercased()
        let isPoint = geometry.contains("Point"), isLine = geometry.contains("Line"), isPolygon = geometry.contains("Polygon")
        func fits(_ spec: LayerSpec) -> Bool {
            (isPoint && spec.geometry.contains(.point)) || (isLine && spec.geometry.contains(.lineString)) || (isPolygon && spec.geometry.contains(.polygon)) || geometry == "Unknown (any)"
        }
        let target = forced.flatMap { Layers.byName[$0] } ?? Layers.byName[lname]
            ?? layerWords.first(where: { (l, words) in fits(Layers.byName[l]!) && words.contains { lname.contains($0) } }).flatMap { Layers.byName[$0.0] }
            ?? Layers.all.first { fits($0) && $0.name != "county" } ?? Layers.byName["shelters"]!
        if geometry == "None" { remarks.append("GDAL finds no geometry in this layer: a CSV needs lon/lat columns (lon, longitude, x, 经度 …) or a WKT column; check the header names and their encoding") }
        if forced == nil && Layers.byName[lname] == nil && !layerWords.contains(where: { $0.0 == target.name && $0.1.contains { lname.contains($0) } }) {
            remarks.append("the layer name does not say which onemap layer it is; \(target.name) is a guess from the geometry — check \"layer\"")
        }
        var props = JSONObject()
        var values = JSONObject()
        var taken = Set<String>()
        for p in target.properties where p.type != .stock {
            let words = [p.name] + (fieldWords[p.name] ?? [])
            guard let i = fields.indices.first(where: { i in !taken.contains(fields[i]) && words.contains(fields[i].lowercased()) })
                    ?? fields.indices.first(where: { i in !taken.contains(fields[i]) && words.dropFirst().contains { fields[i].lowercased().contains($0) } }) else {
                if p.required && p.type != .point { remarks.append("required property \(p.name) has no matching field: map it, or give it in \"defaults\"") }
                continue
            }
            taken.insert(fields[i])
            props[p.name] = .string(fields[i])
            let needsTable: Bool
            switch p.type {
            case .enumeration(let allowed): needsTable = !distinct[i].allSatisfy { allowed.contains($0) }
            case .boolean: needsTable = !distinct[i].allSatisfy { ["0", "1", "true", "false", "是", "否", "yes", "no"].contains($0.lowercased()) }
            case .integer: needsTable = !distinct[i].allSatisfy { Int($0) != nil }
            default: needsTable = false
            }
            if needsTable {
                let known = valueWords(p.name)
                var table = JSONObject()
                for v in distinct[i].sorted() {
                    if let m = known[v] { table[v] = m } else {
                        table[v] = ""
                        remarks.append("values.\(p.name): \"\(v)\" needs a onemap value (\(LayerMapping.describe(p)))")
                    }
                }
                values[p.name] = .object(table)
            }
        }
        var m = JSONObject()
        m["source_layer"] = .string(layerName)
        m["layer"] = .string(target.name)
        if let code = props["code"] {
            m["id"] = .string("\(target.name.hasSuffix("s") ? String(target.name.dropLast()) : target.name)-{\(code.stringValue ?? "")}")
        } else if let idField = fields.first(where: { ["id", "fid", "objectid", "bsm", "标识码", "要素代码", "要素编号", "编号", "编码"].contains($0.lowercased()) && !taken.contains($0) })
                    ?? fields.first(where: { ["id", "fid", "objectid", "bsm", "标识码", "要素代码", "要素编号", "编号", "编码"].contains($0.lowercased()) }) {
            m["id"] = .string(idField)
        } else {
            remarks.append("no id field found: features get ids <source layer>-<fid>, so a re-import of a changed file may not replace them; add \"id\" naming a stable field")
        }
        m["properties"] = .object(props)
        if values.count > 0 { m["values"] = .object(values) }
        for p in target.pointColumns where p.required && props[p.name] == nil {
            remarks.append("\(p.name) is not in the source: it will be derived from each feature's geometry (point on surface)")
        }
        return (.object(m), remarks)
    }
}
