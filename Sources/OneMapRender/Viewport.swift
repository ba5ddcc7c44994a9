import Foundation
import OneMapCore

/// A rectangle of the Web Mercator pixel plane at one zoom, drawn at a scale (1 or 2).
///
/// Global pixel coordinates are @1x pixels of the zoom's world (256·2^z wide); local
/// coordinates are device pixels relative to the viewport's top-left, so numbers stay small for
/// Cairo whatever the zoom.
public struct Viewport: Sendable {
    public var zoom: Int
    public var originX: Double
    public var originY: Double
    /// Size in @1x pixels.
    public var width: Double
    public var height: Double
    public var scale: Double
    /// The part actually drawn, in global @1x pixels (x, y, width, height); nil: all of it.
    /// Drawing a metatile's one tile keeps the metatile's pixel arithmetic (so its pixels are
    /// the metatile's to the bit) but reads and draws only what touches the tile.
    public var area: (x: Double, y: Double, width: Double, height: Double)?

    public init(zoom: Int, originX: Double, originY: Double, width: Double, height: Double, scale: Double) {
        self.zoom = zoom; self.originX = originX; self.originY = originY; self.width = width; self.height = height; self.scale = scale
    }

    /// The drawn part: `area`, or the whole viewport.
    public var drawnArea: (x: Double, y: Double, width: Double, height: Double) { area ?? (originX, originY, width, height) }

    /// A viewport of `width`×`height` @1x pixels centred on a box at the zoom that fits it.
    public static func fitting(_ b: BBox, width: Double, height: Double, scale: Double, maxZoom: Int = 18) -> Viewport {
        var z = 0
        for zz in 0...maxZoom {
            let v = Viewport(zoom: zz, originX: 0, originY: 0, width: width, height: height, scale: scale)
            let a = v.globalPixel(Coord(b.minLon, b.maxLat)), c = v.globalPixel(Coord(b.maxLon, b.minLat))
            if c.0 - a.0 <= width && c.1 - a.1 <= height { z = zz } else { break }
        }
        let v = Viewport(zoom: z, originX: 0, originY: 0, width: width, height: height, scale: scale)
        let a = v.globalPixel(Coord(b.minLon, b.maxLat)), c = v.globalPixel(Coord(b.maxLon, b.minLat))
        return Viewport(zoom: z, originX: (a.0 + c.0) / 2 - width / 2, originY: (a.1 + c.1) / 2 - height / 2, width: width, height: height, scale: scale)
    }

    public var worldSize: Double { 256 * pow(2, Double(zoom)) }

    @inline(__always) public func globalPixel(_ c: Coord) -> (Double, Double) {
        let n = worldSize
        let lat = max(-WebMercator.maxLatitude, min(WebMercator.maxLatitude, c.lat)) * .pi / 180
        return ((c.lon + 180) / 360 * n, (1 - log(tan(lat) + 1 / cos(lat)) / .pi) / 2 * n)
    }

    @inline(__always) public func local(_ c: Coord) -> (Double, Double) {
        let g = globalPixel(c)
        return ((g.0 - originX) * scale, (g.1 - originY) * scale)
    }

    /// The lon/lat box of the viewport grown by `margin` @1x pixels.
    public func bbox(margin: Double = 0) -> BBox {
        let nw = WebMercator.lonLat(tileX: (originX - margin) / 256, tileY: (originY - margin) / 256, zoom: zoom)
        let se = WebMercator.lonLat(tileX: (originX + width + margin) / 256, tileY: (originY + height + margin) / 256, zoom: zoom)
        return BBox(minLon: max(-180, nw.lon), minLat: max(-85.0511, se.lat), maxLon: min(180, se.lon), maxLat: min(85.0511, nw.lat))
    }

    /// The lon/lat box of the drawn part (`drawnArea`) grown by `margin` @1x pixels.
    public func drawnBBox(margin: Double = 0) -> BBox {
        var v = self
        (v.originX, v.originY, v.width, v.height) = drawnArea
        return v.bbox(margin: margin)
    }

    /// Metres per @1x pixel at a latitude.
    public func metresPerPixel(atLat lat: Double) -> Double {
        2 * .pi * 6378137 * cos(lat * .pi / 180) / worldSize
    }
}
