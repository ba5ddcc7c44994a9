import CCairo
import CDeflate
import Foundation

/// PNG encoding of Cairo ARGB32 (premultiplied) pixels.
///
/// Map tiles are mostly flat colour: when a tile has at most 256 distinct colours it is written
/// as an 8-bit paletted PNG (lossless, about a quarter of the data to compress); otherwise as
/// RGB (opaque) or RGBA. Rows are unfiltered for palettes and Sub-filtered for true colour, and
/// deflated at a fast level — the libpng defaults Cairo uses spend most of a tile's time trying
/// every filter on every row.
enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Encodes `w`×`h` pixels starting at `base` with `stride` bytes per row.
    static func encode(base: UnsafeRawPointer, stride: Int, w: Int, h: Int) -> [UInt8] {
        // 1. Distinct colours (unpremultiplied RGBA packed in a UInt32), up to 257.
        var palette: [UInt32] = []
        var table = [UInt32](repeating: 0, count: 1024)  // open addressing: colour+1, 0 = empty
        var slot = [UInt8](repeating: 0, count: 1024)
        var indices = [UInt8](repeating: 0, count: (w + 1) * h)
        var opaque = true
        var paletted = true
        // 0x00FFFFFF cannot be a premultiplied pixel (colour above alpha), so the first pixel
        // always takes the lookup; 0xFFFFFFFF (opaque white) once did not, and white-first
        // images lost their white.
        var lastPixel: UInt32 = 0x00FF_FFFF, lastIndex: UInt8 = 0
        rows: for y in 0..<h {
            let row = (base + y * stride).assumingMemoryBound(to: UInt32.self)
            indices[y * (w + 1)] = 0  // filter: none
            for x in 0..<w {
                let p = row[x]
                if p == lastPixel { indices[y * (w + 1) + 1 + x] = lastIndex; continue }
                let rgba = unpremultiply(p)
                if rgba & 0xFF != 0xFF { opaque = false }
                var hsh = Int((rgba &* 2_654_435_761) >> 22) & 1023
                var idx: UInt8 = 0
                while true {
                    if table[hsh] == 0 {
                        guard palette.count < 256 else { paletted = false; break rows }
                        table[hsh] = rgba &+ 1 == 0 ? 1 : rgba &+ 1
                        slot[hsh] = UInt8(palette.count)
                        idx = UInt8(palette.count)
                        palette.append(rgba)
                        break
                    }
                    if table[hsh] == (rgba &+ 1 == 0 ? 1 : rgba &+ 1), palette[Int(slot[hsh])] == rgba { idx = slot[hsh]; break }
                    hsh = (hsh + 1) & 1023
                }
                lastPixel = p
                lastIndex = idx
                indices[y * (w + 1) + 1 + x] = idx
            }
        }
        var out = signature
        if paletted {
            chunk(&out, "IHDR", ihdr(w, h, bitDepth: 8, colourType: 3))
            var plte: [UInt8] = []
            plte.reserveCapacity(palette.count * 3)
            for c in palette { plte += [UInt8(c >> 24), UInt8((c >> 16) & 0xFF), UInt8((c >> 8) & 0xFF)] }
            chunk(&out, "PLTE", plte)
            if !opaque {
                var last = palette.count - 1
                while last >= 0 && palette[last] & 0xFF == 0xFF { last -= 1 }
                chunk(&out, "tRNS", palette.prefix(last + 1).map { UInt8($0 & 0xFF) })
            }
            chunk(&out, "IDAT", deflate(indices, level: 4))
        } else {
            let bpp = opaque ? 3 : 4
            var raw = [UInt8](repeating: 0, count: (w * bpp + 1) * h)
            raw.withUnsafeMutableBufferPointer { r in
                for y in 0..<h {
                    let row = (base + y * stride).assumingMemoryBound(to: UInt32.self)
                    let o = y * (w * bpp + 1)
                    r[o] = 1  // filter: Sub
                    var prev: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                    for x in 0..<w {
                        let c = unpremultiply(row[x])
                        let px = (UInt8(c >> 24), UInt8((c >> 16) & 0xFF), UInt8((c >> 8) & 0xFF), UInt8(c & 0xFF))
                        let q = o + 1 + x * bpp
                        r[q] = px.0 &- prev.0; r[q + 1] = px.1 &- prev.1; r[q + 2] = px.2 &- prev.2
                        if bpp == 4 { r[q + 3] = px.3 &- prev.3 }
                        prev = px
                    }
                }
            }
            chunk(&out, "IHDR", ihdr(w, h, bitDepth: 8, colourType: opaque ? 2 : 6))
            chunk(&out, "IDAT", deflate(raw, level: 1))
        }
        chunk(&out, "IEND", [])
        return out
    }

    /// ARGB32 premultiplied (native endian) → RGBA straight, packed 0xRRGGBBAA.
    @inline(__always) static func unpremultiply(_ p: UInt32) -> UInt32 {
        let a = p >> 24
        if a == 0 { return 0 }
        var r = (p >> 16) & 0xFF, g = (p >> 8) & 0xFF, b = p & 0xFF
        if a != 255 {
            r = (r * 255 + a / 2) / a; g = (g * 255 + a / 2) / a; b = (b * 255 + a / 2) / a
        }
        return r << 24 | g << 16 | b << 8 | a
    }

    static func ihdr(_ w: Int, _ h: Int, bitDepth: UInt8, colourType: UInt8) -> [UInt8] {
        be32(UInt32(w)) + be32(UInt32(h)) + [bitDepth, colourType, 0, 0, 0]
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        out += be32(UInt32(data.count))
        let t = Array(type.utf8)
        out += t
        out += data
        var crc = libdeflate_crc32(0, t, 4)
        data.withUnsafeBufferPointer { crc = libdeflate_crc32(crc, $0.baseAddress, $0.count) }
        out += be32(UInt32(crc))
    }

    /// `data` in the zlib format (what IDAT holds), by libdeflate at `level` (1–12).
    static func deflate(_ data: [UInt8], level: Int32) -> [UInt8] {
        let c = Compressors.shared.take(level)
        defer { Compressors.shared.give(c, level) }
        let cap = libdeflate_zlib_compress_bound(c, data.count)
        var out = [UInt8](repeating: 0, count: cap)
        let n = data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in libdeflate_zlib_compress(c, src.baseAddress, src.count, dst.baseAddress, cap) }
        }
        precondition(n > 0, "libdeflate failed within its own bound")
        return Array(out.prefix(n))
    }
}

/// libdeflate compressors kept for reuse, by level: making one allocates its hash tables (some
/// hundreds of KB), more than compressing a tile costs. One user at a time each.
///
/// `@unchecked Sendable`: `idle` is only touched under `lock`; a compressor is either idle or
/// held by exactly one caller.
final class Compressors: @unchecked Sendable {
    static let shared = Compressors()
    private let lock = NSLock()
    private var idle: [Int32: [OpaquePointer]] = [:]

    func take(_ level: Int32) -> OpaquePointer {
        lock.lock()
        let c = idle[level]?.popLast()
        lock.unlock()
        if let c { return c }
        guard let made = libdeflate_alloc_compressor(level) else { fatalError("libdeflate could not allocate a level-\(level) compressor (out of memory)") }
        return made
    }

    func give(_ c: OpaquePointer, _ level: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if idle[level, default: []].count < 16 { idle[level, default: []].append(c) } else { libdeflate_free_compressor(c) }
    }
}
