import Foundation
import Hummingbird
import NIOCore
import OneMapCore
import OneMapRender
import OneMapStore

/// Parses "123.png" or "123@2x.png" into (y, scale).
func parseTileFile(_ f: String) throws -> (Int, Int) {
    var name = f
    guard name.hasSuffix(".png") else { throw APIError(.badRequest, "tile file must end in .png (or @2x.png), got \"\(f)\"") }
    name.removeLast(4)
    var scale = 1
    if let at = name.firstIndex(of: "@") {
        let s = name[name.index(after: at)...]
        guard s.hasSuffix("x"), let k = Int(s.dropLast()) else { throw APIError(.badRequest, "scale must be @2x, got \"\(f)\"") }
        guard k == 1 || k == 2 else { throw APIError(.badRequest, "scale must be 1 or 2, got \(k)") }
        scale = k
        name = String(name[..<at])
    }
    guard let y = Int(name) else { throw APIError(.badRequest, "y must be a whole number, got \"\(name)\"") }
    return (y, scale)
}

func addTileRoutes(_ router: Hummingbird.Router<BasicRequestContext>, _ s: OneMapServices) {
    router.get("/tiles/:style/:z/:x/:file") { request, context -> Response in
        let style = try context.parameters.require("style")
        guard s.map.styles[style] != nil else { throw APIError(.notFound, "unknown style \"\(style)\"; the styles are: \(s.map.styleNames.joined(separator: ", "))") }
        guard let z = Int(try context.parameters.require("z")), let x = Int(try context.parameters.require("x")) else {
            throw APIError(.badRequest, "z and x must be whole numbers")
        }
        let (y, scale) = try parseTileFile(try context.parameters.require("file"))
        let tile: TileID
        do { tile = try TileID(z: z, x: x, y: y) } catch let e as TileID.Invalid { throw APIError(.badRequest, e.description) }
        let (buffer, etag) = try await tileBuffer(s, style: style, tile: tile, scale: scale)
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "public, max-age=300, must-revalidate"]
        if let inm = request.headers[.ifNoneMatch], inm.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).contains(where: { $0 == etag || $0 == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "image/png"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }

    router.get("/tiles/:style") { request, context -> Response in
        let file = try context.parameters.require("style")
        guard file.hasSuffix(".json") else { throw APIError(.notFound, "TileJSON is at /tiles/{style}.json") }
        let style = String(file.dropLast(5))
        guard let st = s.map.styles[style] else { throw APIError(.notFound, "unknown style \"\(style)\"; the styles are: \(s.map.styleNames.joined(separator: ", "))") }
        let base = baseURL(request)
        let bounds = try await s.blocking { try s.store.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) } }
        let b = bounds.isEmpty ? BBox(minLon: 82.05, minLat: 45.45, maxLon: 83.55, maxLat: 46.55) : bounds
        let doc: JSONValue = [
            "tilejson": "3.0.0",
            "name": .string("onemap \(style)"),
            "description": .string(st.metadata["onemap:description"]?.stringValue ?? "onemap \(style) map"),
            "version": "1.0.0",
            "attribution": "裕民县应急指挥一张图 onemap — demonstration data (synthetic)",
            "scheme": "xyz",
            "tiles": [.string("\(base)/tiles/\(style)/{z}/{x}/{y}.png")],
            "minzoom": 0, "maxzoom": 18,
            "bounds": [.number(b.minLon), .number(b.minLat), .number(b.maxLon), .number(b.maxLat)],
            "center": [.number(b.center.lon), .number(b.center.lat), 10],
        ]
        return jsonResponse(doc)
    }

    router.get("/wmts/1.0.0/WMTSCapabilities.xml") { request, _ -> Response in
        let bounds = try await s.blocking { try s.store.layerInfo().compactMap(\.extent).reduce(BBox.empty) { $0.union($1) } }
        let xml = WMTS.capabilities(baseURL: baseURL(request), styles: s.map.styleNames.map { ($0, s.map.styles[$0]!.metadata["onemap:title"]?.stringValue ?? $0) }, bounds: bounds)
        return Response(status: .ok, headers: [.contentType: "application/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: xml)))
    }
}

/// The tile as a ready buffer: from the hot set, else from `tilePNG`.
func tileBuffer(_ s: OneMapServices, style: String, tile: TileID, scale: Int) async throws -> (ByteBuffer, String) {
    if try s.cache.syncIfNeeded(with: s.store) > 0 {
        s.metrics.tilesExpired.increment()
        s.hot.clear()
    }
    let key = HotTiles.Key(style: style, scale: scale, z: tile.z, x: tile.x, y: tile.y)
    if let hit = s.hot.get(key) {
        s.metrics.tilesFromCache.increment()
        return hit
    }
    let (bytes, etag) = try await tilePNG(s, style: style, tile: tile, scale: scale)
    let v = (ByteBuffer(bytes: bytes), etag)
    s.hot.put(key, v)
    return v
}

/// The tile's bytes and entity tag: from the cache, or rendered once per metatile.
func tilePNG(_ s: OneMapServices, style: String, tile: TileID, scale: Int) async throws -> ([UInt8], String) {
    // Hot path: the journal check is an in-memory counter most of the time and the tile comes
    // from memory, so a cached tile never leaves the event loop.
    if let hit = s.cache.memoryGet(style: style, tile: tile, scale: scale) {
        s.metrics.tilesFromCache.increment()
        if hit.data.count < 1024, s.tiles.isEmptyTile(hit.data, style: style, scale: scale) { s.metrics.emptyTiles.increment() }
        return (hit.data, hit.etag)
    }
    if let hit = try await s.blocking({ try s.cache.get(style: style, tile: tile, scale: scale) }) {
        s.metrics.tilesFromCache.increment()
        return (hit.data, hit.etag)
    }
    let meta = MetatileID(containing: tile)
    let key = "\(style)@\(scale)/\(meta.z)/\(meta.x)/\(meta.y)"
    let tiles = try await s.flights.run(key) {
        guard s.queue.enter() else {
            s.metrics.rejected.increment()
            throw APIError(.serviceUnavailable, "the renderer is busy (\(s.queue.limit) metatiles queued); retry shortly", headers: [.retryAfter: "2"])
        }
        s.metrics.queueDepth.set(Double(s.queue.depth))
        defer {
            s.queue.leave()
            s.metrics.queueDepth.set(Double(s.queue.depth))
        }
        let out = try await s.renderPool.runIfActive {
            let t = try s.tiles.renderMetatile(style: style, metatile: meta, scale: scale)
            try s.cache.put(style: style, scale: scale, tiles: t)
            return t
        }
        s.metrics.metatilesRendered.increment()
        return Dictionary(uniqueKeysWithValues: out.map { (TileIDKey(z: $0.key.z, x: $0.key.x, y: $0.key.y), $0.value) })
    }
    s.metrics.tilesRendered.increment()
    guard let bytes = tiles[TileIDKey(z: tile.z, x: tile.x, y: tile.y)] else { throw APIError(.internalServerError, "metatile \(meta) lacks tile \(tile)") }
    return (bytes, TileCache.etag(bytes))
}

func baseURL(_ request: Request) -> String {
    let host = request.head.authority ?? "127.0.0.1:8080"
    let proto = request.headers[.init("X-Forwarded-Proto")!] ?? "http"
    return "\(proto)://\(host)"
}

func jsonResponse(_ v: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
    var h = extra
    h[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: JSONWriter.string(v))))
}

/// OGC WMTS 1.0.0 capabilities (RESTful, GoogleMapsCompatible tile matrix set).
enum WMTS {
    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func capabilities(baseURL: String, styles: [(String, String)], bounds: BBox, maxZoom: Int = 18) -> String {
        let b = bounds.isEmpty ? BBox(minLon: 82.05, minLat: 45.45, maxLon: 83.55, maxLat: 46.55) : bounds
        var x = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Capabilities xmlns="http://www.opengis.net/wmts/1.0" xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">
              <ows:ServiceIdentification>
                <ows:Title>裕民县应急指挥一张图 onemap</ows:Title>
                <ows:ServiceType>OGC WMTS</ows:ServiceType>
                <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>
              </ows:ServiceIdentification>
              <ows:OperationsMetadata>
                <ows:Operation name="GetCapabilities"><ows:DCP><ows:HTTP><ows:Get xlink:href="\(esc(baseURL))/wmts/1.0.0/WMTSCapabilities.xml"><ows:Constraint name="GetEncoding"><ows:AllowedValues><ows:Value>RESTful</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>
                <ows:Operation name="GetTile"><ows:DCP><ows:HTTP><ows:Get xlink:href="\(esc(baseURL))/tiles/"><ows:Constraint name="GetEncoding"><ows:AllowedValues><ows:Value>RESTful</ows:Value></ows:AllowedValues></ows:Constraint></ows:Get></ows:HTTP></ows:DCP></ows:Operation>
              </ows:OperationsMetadata>
              <Contents>

            """
        for (name, title) in styles {
            x += """
                    <Layer>
                      <ows:Title>\(esc(title))</ows:Title>
                      <ows:WGS84BoundingBox><ows:LowerCorner>\(b.minLon) \(b.minLat)</ows:LowerCorner><ows:UpperCorner>\(b.maxLon) \(b.maxLat)</ows:UpperCorner></ows:WGS84BoundingBox>
                      <ows:Identifier>\(esc(name))</ows:Identifier>
                      <Style isDefault="true"><ows:Identifier>default</ows:Identifier></Style>
                      <Format>image/png</Format>
                      <TileMatrixSetLink><TileMatrixSet>GoogleMapsCompatible</TileMatrixSet></TileMatrixSetLink>
                      <ResourceURL format="image/png" resourceType="tile" template="\(esc(baseURL))/tiles/\(esc(name))/{TileMatrix}/{TileCol}/{TileRow}.png"/>
                    </Layer>

                """
        }
        x += """
                <TileMatrixSet>
                  <ows:Identifier>GoogleMapsCompatible</ows:Identifier>
                  <ows:SupportedCRS>urn:ogc:def:crs:EPSG::3857</ows:SupportedCRS>
                  <WellKnownScaleSet>urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible</WellKnownScaleSet>

            """
        for z in 0...maxZoom {
            let n = 1 << z
            x += """
                      <TileMatrix><ows:Identifier>\(z)</ows:Identifier><ScaleDenominator>\(559_082_264.028_717_8 / Double(n))</ScaleDenominator><TopLeftCorner>-20037508.3427892 20037508.3427892</TopLeftCorner><TileWidth>256</TileWidth><TileHeight>256</TileHeight><MatrixWidth>\(n)</MatrixWidth><MatrixHeight>\(n)</MatrixHeight></TileMatrix>

                """
        }
        x += "    </TileMatrixSet>\n  </Contents>\n</Capabilities>\n"
        return x
    }
}
