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

func jsonResponse(_ v: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
    var h = extra
    if h[.contentType] == nil { h[.contentType] = "application/json; charset=utf-8" }
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
