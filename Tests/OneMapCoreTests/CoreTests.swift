import Foundation
import Testing

@testable import OneMapCore

@Suite struct JSONTests {
    @Test func parsesAndWritesRoundTrip() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":"新地乡 \"q\" \\ \n","c":{"d":{}}}"#
        let v = try JSONParser.parse(text)
        #expect(v["a"]?.arrayValue?.count == 6)
        #expect(v["a"]?.arrayValue?[2].doubleValue == -300)
        #expect(v["b"]?.stringValue == "新地乡 \"q\" \\ \n")
        #expect(try JSONParser.parse(JSONWriter.string(v)) == v)
    }

    @Test func decodesUnicodeEscapesAndSurrogates() throws {
        #expect(try JSONParser.parse(#""\u88d5\u6c11 \ud83d\ude92""#) == .string("裕民 🚒"))
    }

    @Test(arguments: [
        ("{\"a\":1,}", "line 1"), ("[1 2]", "expected ','"), ("{\"a\" 1}", "expected ':'"), ("NaN", "unexpected character"),
        ("[1,\n2,\n+3]", "line 3"), ("\"abc", "unterminated"), ("{\"a\":1,\"a\":2}", "duplicate object key"), ("01", "unexpected text"),
        ("[\"\\ud800\"]", "surrogate"), ("", "end of input"),
    ])
    func rejectsMalformedJSON(input: String, expected: String) {
        do {
            _ = try JSONParser.parse(input)
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func refusesHostileNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(deep) }
    }
}

@Suite struct GeometryCodecTests {
    @Test func wkbRoundTripsEveryKind() throws {
        let ring = [Coord(82, 46), Coord(83, 46), Coord(83, 47), Coord(82, 46)]
        let gs: [Geometry] = [
            .point(Coord(82.98, 46.2)), .lineString([Coord(1, 2), Coord(3, 4)]), .polygon([ring]),
            .multiPoint([Coord(1, 1), Coord(2, 2)]), .multiLineString([[Coord(1, 2), Coord(3, 4)], [Coord(5, 6), Coord(7, 8)]]),
            .multiPolygon([[ring], [ring.map { Coord($0.lon + 2, $0.lat) }]]),
        ]
        for g in gs { #expect(try WKB.decode(WKB.encode(g)) == g) }
    }

    @Test func geoJSONRejectsBadCoordinates() throws {
        func decode(_ s: String) throws -> Geometry { try GeoJSON.geometry(from: try JSONParser.parse(s)) }
        #expect(throws: GeometryError.self) { try decode(#"{"type":"Point","coordinates":[181,10]}"#) }
        #expect(throws: GeometryError.self) { try decode(#"{"type":"Point","coordinates":[1e999,10]}"#) }
        #expect(throws: GeometryError.self) { try decode(#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#) }
        #expect(throws: GeometryError.self) { try decode(#"{"type":"LineString","coordinates":[[0,0]]}"#) }
        #expect(try decode(#"{"type":"Point","coordinates":[82.98,46.2]}"#) == .point(Coord(82.98, 46.2)))
    }
}

@Suite struct TileMathTests {
    @Test func knownTiles() throws {
        // The county seat (82.98 E, 46.20 N) lies in 12/2992/1453 — checked with the OSM slippy-map formulas.
        let t = TileID.containing(Coord(82.98, 46.2), zoom: 12)
        #expect(t.x == 2992 && t.y == 1453)
        let z0 = try TileID(z: 0, x: 0, y: 0).bbox
        #expect(abs(z0.maxLat - WebMercator.maxLatitude) < 1e-9 && z0.minLon == -180 && z0.maxLon == 180)
        let b = try TileID(z: 1, x: 1, y: 0).bbox
        #expect(b.minLon == 0 && b.maxLon == 180 && abs(b.minLat) < 1e-9)
        let p = WebMercator.project(Coord(180, 0))
        #expect(abs(p.x - 20037508.342789244) < 1e-6)
    }

    @Test(arguments: ["12/4096/0", "23/0/0", "-1/0/0", "3/8/1", "3/1/-1", "a/b/c", "1/2"])
    func invalidTilesAreClearErrors(_ s: String) {
        #expect(throws: TileID.Invalid.self) { try TileID(parsing: s) }
    }

    @Test func bboxParsing() {
        #expect(BBox.parse("82,46,83,47") == BBox(minLon: 82, minLat: 46, maxLon: 83, maxLat: 47))
        #expect(BBox.parse("83,46,82,47") == nil)
        #expect(BBox.parse("82,46,83,97") == nil)
        #expect(BBox.parse("82,46,83") == nil)
    }
}

/// onemap's own SHA-256 (account token hashes) against the standard's test vectors
/// (FIPS 180-2 appendix B and NIST's "one million a").
@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("a×1000000", "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        // Lengths at the padding boundaries (55, 56, 64 bytes), checked against Python's hashlib.
        ("x×55", "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"), ("x×56", "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"), ("x×64", "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"),
    ])
    func matchesTheStandardVectors(message spec: String, digest: String) {
        // "c×n" stands for n copies of c, so long messages do not fill the test log.
        let parts = spec.split(separator: "×")
        let message = parts.count == 2 ? String(repeating: String(parts[0]), count: Int(parts[1])!) : spec
        #expect(SHA256.hex(SHA256.hash(Array(message.utf8))) == digest, "\(spec) (\(message.utf8.count) bytes)")
    }
}
