import CCairo
import CDeflate
import Foundation

/// PNG encoding of Cairo ARGB32 (premultiplied) pixels.
///
/// Map tiles are mostly flat colour: when a tile has at most 256 distinct colours it is written
/// paletted (lossless) at the smallest bit depth that holds them — 1 bit for a single colour
/// (sea, land, an empty county), 2, 4 or 8 — so there is a half to a 32nd of the bytes to
/// compress; otherwise as RGB (opaque) or RGBA. Rows are unfiltered and deflated by libdeflate
/// at level 1. Measured on 194 true-colour tiles of the 100-county store (C micro-benchmark,
/// libdeflate 1.14): unfiltered rows deflate in 569 µs to 13.8 KB, Sub-filtered ones in 875 µs
/// to 16.4 KB, Up in 883 µs to 16.2 KB (flat areas repeat a 3-byte pattern, which LZ77 takes as
/// one long match; a filter turns the antialiased edges into noise); zlib's level 1 and its RLE
/// strategy were slower and larger. Level 1 also gave paletted tiles the same or smaller size
/// than level 4. The libpng defaults Cairo uses spend most of a tile's time trying every filter
/// on every row.
package enum PNGEncoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Encodes `w`×`h` pixels (w, h ≥ 1) starting at `base` with `stride` bytes per row.
    package static func encode(base: UnsafeRawPointer, stride: Int, w: Int, h: Int) -> [UInt8] {
        precondition(w > 0 && h > 0, "an empty image has no PNG")
        var alpha: UInt32 = 0xFFFF_FFFF
        for y in 0..<h {
            let row = (base + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<w { alpha &= row[x] }
        }
        let opaque = alpha >> 24 == 0xFF
        var out = signature
        if let (palette, indices) = paletted(base: base, stride: stride, w: w, h: h) {
            let depth = palette.count <= 2 ? 1 : palette.count <= 4 ? 2 : palette.count <= 16 ? 4 : 8
            chunk(&out, "IHDR", ihdr(w, h, bitDepth: UInt8(depth), colourType: 3))
            var plte: [UInt8] = []
            plte.reserveCapacity(palette.count * 3)
            for c in palette { plte += [UInt8(c >> 24), UInt8((c >> 16) & 0xFF), UInt8((c >> 8) & 0xFF)] }
            chunk(&out, "PLTE", plte)
            if !opaque {
                var last = palette.count - 1
                while last >= 0 && palette[last] & 0xFF == 0xFF { last -= 1 }
                chunk(&out, "tRNS", palette.prefix(last + 1).map { UInt8($0 & 0xFF) })
            }
            // Rows of `depth`-bit indices, leftmost pixel in the high bits, each after its
            // filter byte (0: none).
            let rowBytes = (w * depth + 7) / 8
            var rows = [UInt8](repeating: 0, count: (rowBytes + 1) * h)
            rows.withUnsafeMutableBufferPointer { r in
                indices.withUnsafeBufferPointer { ind in
                    for y in 0..<h {
                        let o = r.baseAddress! + y * (rowBytes + 1) + 1, i = ind.baseAddress! + y * w
                        if depth == 8 { o.update(from: i, count: w); continue }
                        let perByte = 8 / depth
                        for x in 0..<w { o[x / perByte] |= i[x] << UInt8(8 - depth - (x % perByte) * depth) }
                    }
                }
            }
            chunk(&out, "IDAT", deflate(rows))
        } else {
            let bpp = opaque ? 3 : 4
            let rowBytes = w * bpp + 1
            // 4 bytes of room after the rows for the shuffled stores (see `onemap_rgb_rows`).
            let raw = [UInt8](unsafeUninitializedCapacity: rowBytes * h + 4) { r, n in
                if opaque && littleEndian {
                    onemap_rgb_rows(base.assumingMemoryBound(to: UInt8.self), stride, Int32(w), Int32(h), r.baseAddress!)
                    n = rowBytes * h
                    return
                }
                for y in 0..<h {
                    let row = (base + y * stride).assumingMemoryBound(to: UInt32.self)
                    let o = r.baseAddress! + y * rowBytes
                    o[0] = 0  // filter: none
                    if opaque {
                        // Four pixels (0xAARRGGBB) to twelve bytes R G B … in three stores.
                        let q = UnsafeMutableRawPointer(o + 1)
                        var x = 0
                        while x + 4 <= w {
                            let p0 = row[x], p1 = row[x + 1], p2 = row[x + 2], p3 = row[x + 3]
                            let w0 = (p0 >> 16 & 0xFF) | (p0 & 0xFF00) | (p0 & 0xFF) << 16 | (p1 >> 16 & 0xFF) << 24
                            let w1 = (p1 >> 8 & 0xFF) | (p1 & 0xFF) << 8 | (p2 >> 16 & 0xFF) << 16 | (p2 >> 8 & 0xFF) << 24
                            let w2 = (p2 & 0xFF) | (p3 >> 16 & 0xFF) << 8 | (p3 & 0xFF00) << 8 | (p3 & 0xFF) << 24
                            q.storeBytes(of: w0.littleEndian, toByteOffset: 3 * x, as: UInt32.self)
                            q.storeBytes(of: w1.littleEndian, toByteOffset: 3 * x + 4, as: UInt32.self)
                            q.storeBytes(of: w2.littleEndian, toByteOffset: 3 * x + 8, as: UInt32.self)
                            x += 4
                        }
                        while x < w {
                            let p = row[x]
                            o[1 + 3 * x] = UInt8(truncatingIfNeeded: p >> 16)
                            o[2 + 3 * x] = UInt8(truncatingIfNeeded: p >> 8)
                            o[3 + 3 * x] = UInt8(truncatingIfNeeded: p)
                            x += 1
                        }
                    } else {
                        for x in 0..<w {
                            let c = unpremultiply(row[x])
                            o[1 + 4 * x] = UInt8(c >> 24)
                            o[2 + 4 * x] = UInt8(truncatingIfNeeded: c >> 16)
                            o[3 + 4 * x] = UInt8(truncatingIfNeeded: c >> 8)
                            o[4 + 4 * x] = UInt8(truncatingIfNeeded: c)
                        }
                    }
                }
                n = rowBytes * h
            }
            chunk(&out, "IHDR", ihdr(w, h, bitDepth: 8, colourType: opaque ? 2 : 6))
            chunk(&out, "IDAT", deflate(raw))
        }
        chunk(&out, "IEND", [])
        return out
    }

    /// The image's colours (straight RGBA packed 0xRRGGBBAA, in order of first appearance) and
    /// each pixel's index into them, row by row; nil past 256 colours. The lookup is keyed by
    /// the premultiplied pixel, which stands for one straight colour (unpremultiplying is
    /// one-to-one on valid pixels), and skipped while a run of equal pixels lasts. Colours are
    /// numbered in the order the rows are scanned (every eighth row first).
    static func paletted(base: UnsafeRawPointer, stride: Int, w: Int, h: Int) -> ([UInt32], [UInt8])? {
        var palette: [UInt32] = []
        palette.reserveCapacity(256)
        var indices = [UInt8](repeating: 0, count: w * h)
        let complete = indices.withUnsafeMutableBufferPointer { ind in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1024) { keys in
                withUnsafeTemporaryAllocation(of: Int16.self, capacity: 1024) { slots in
                    slots.initialize(repeating: -1)
                    // 0x00FFFFFF cannot be a premultiplied pixel (colour above alpha), so the
                    // first pixel always takes the lookup.
                    var last: UInt32 = 0x00FF_FFFF, index: UInt8 = 0
                    // Every eighth row first: a tile of many colours shows it within the first
                    // eighth of the work (the true-colour path reads the pixels again anyway).
                    for y in (0..<8).lazy.flatMap({ Swift.stride(from: $0, to: h, by: 8) }) {
                        let row = (base + y * stride).assumingMemoryBound(to: UInt32.self)
                        let o = ind.baseAddress! + y * w
                        for x in 0..<w {
                            let p = row[x]
                            if p != last {
                                var hsh = Int(truncatingIfNeeded: (p &* 2_654_435_761) >> 22) & 1023
                                while true {
                                    let s = slots[hsh]
                                    if s < 0 {
                                        if palette.count == 256 { return false }
                                        keys[hsh] = p
                                        slots[hsh] = Int16(palette.count)
                                        index = UInt8(palette.count)
                                        palette.append(unpremultiply(p))
                                        break
                                    }
                                    if keys[hsh] == p { index = UInt8(s); break }
                                    hsh = (hsh + 1) & 1023
                                }
                                last = p
                            }
                            o[x] = index
                        }
                    }
                    return true
                }
            }
        }
        return complete ? (palette, indices) : nil
    }

    /// Cairo's ARGB32 is a native-endian word: bytes B G R A on this machine's kind.
    static let littleEndian = 1.littleEndian == 1

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

    /// `data` in the zlib format (what IDAT holds), by libdeflate at level 1.
    static func deflate(_ data: [UInt8]) -> [UInt8] {
        let level: Int32 = 1
        let c = Compressors.shared.take(level)
        defer { Compressors.shared.give(c, level) }
        let cap = libdeflate_zlib_compress_bound(c, data.count)
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: cap) { dst in
            let n = data.withUnsafeBytes { src in libdeflate_zlib_compress(c, src.baseAddress, src.count, dst.baseAddress, cap) }
            precondition(n > 0, "libdeflate failed within its own bound")
            return Array(UnsafeBufferPointer(rebasing: dst[..<n]))
        }
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
