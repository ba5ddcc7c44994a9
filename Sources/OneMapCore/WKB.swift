/// Well-Known Binary codec (little-endian output, both byte orders read), 2D only.
public enum WKB {
    public struct DecodeError: OneMapError {
        public var category: ErrorCategory { .internal }
        public var description: String
    }

    public static func encode(_ g: Geometry) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(9 + g.allCoords.count * 16)
        write(g, &out)
        return out
    }

    private static func u32(_ v: UInt32, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }
    private static func f64(_ v: Double, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
    }
    private static func coords(_ l: [Coord], _ out: inout [UInt8]) {
        u32(UInt32(l.count), &out)
        for c in l { f64(c.lon, &out); f64(c.lat, &out) }
    }
    private static func header(_ type: UInt32, _ out: inout [UInt8]) { out.append(1); u32(type, &out) }

    private static func write(_ g: Geometry, _ out: inout [UInt8]) {
        switch g {
        case .point(let c): header(1, &out); f64(c.lon, &out); f64(c.lat, &out)
        case .lineString(let l): header(2, &out); coords(l, &out)
        case .polygon(let p): header(3, &out); u32(UInt32(p.count), &out); for r in p { coords(r, &out) }
        case .multiPoint(let l): header(4, &out); u32(UInt32(l.count), &out); for c in l { write(.point(c), &out) }
        case .multiLineString(let m): header(5, &out); u32(UInt32(m.count), &out); for l in m { write(.lineString(l), &out) }
        case .multiPolygon(let m): header(6, &out); u32(UInt32(m.count), &out); for p in m { write(.polygon(p), &out) }
        }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Geometry {
        var r = Reader(b: bytes)
        return try r.geometry()
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> Geometry {
        let r: Result<Geometry, DecodeError> = bytes.withUnsafeBytes { p in
            do throws(DecodeError) { return .success(try decode(p)) } catch { return .failure(error) }
        }
        return try r.get()
    }

    private struct Reader {
        let b: UnsafeRawBufferPointer
        var i = 0
        var little = true
        mutating func need(_ n: Int) throws(DecodeError) {
            if i + n > b.count { throw DecodeError(description: "WKB truncated at byte \(i)") }
        }
        mutating func u32() throws(DecodeError) -> UInt32 {
            try need(4)
            var v: UInt32 = 0
            withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[i..<(i + 4)])) }
            i += 4
            return little ? UInt32(littleEndian: v) : UInt32(bigEndian: v)
        }
        mutating func f64() throws(DecodeError) -> Double {
            try need(8)
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[i..<(i + 8)])) }
            i += 8
            return Double(bitPattern: little ? UInt64(littleEndian: v) : UInt64(bigEndian: v))
        }
        mutating func coords() throws(DecodeError) -> [Coord] {
            let n = Int(try u32())
            try need(n * 16)
            var out: [Coord] = []
            out.reserveCapacity(n)
            for _ in 0..<n { let x = try f64(); let y = try f64(); out.append(Coord(x, y)) }
            return out
        }
        mutating func geometry() throws(DecodeError) -> Geometry {
            try need(1)
            little = b[i] == 1
            i += 1
            let type = try u32() % 1000
            switch type {
            case 1: let x = try f64(); let y = try f64(); return .point(Coord(x, y))
            case 2: return .lineString(try coords())
            case 3:
                let n = Int(try u32())
                var rings: [[Coord]] = []
                for _ in 0..<n { rings.append(try coords()) }
                return .polygon(rings)
            case 4, 5, 6:
                let n = Int(try u32())
                var parts: [Geometry] = []
                for _ in 0..<n { parts.append(try geometry()) }
                switch type {
                case 4: return .multiPoint(parts.compactMap { if case .point(let c) = $0 { c } else { nil } })
                case 5: return .multiLineString(parts.compactMap { if case .lineString(let l) = $0 { l } else { nil } })
                default: return .multiPolygon(parts.compactMap { if case .polygon(let p) = $0 { p } else { nil } })
                }
            default: throw DecodeError(description: "unsupported WKB geometry type \(type)")
            }
        }
    }
}
