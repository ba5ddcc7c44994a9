import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Strict decoding of a source's text into UTF-8 with iconv (glibc): a byte sequence that is not
/// valid in the encoding is an error, never a replacement character, so mojibake is refused
/// rather than stored.
final class TextDecoder {
    /// The encoding as given ("GBK", "CP936", "GB18030", "UTF-8", "ISO-8859-1"…).
    let encoding: String
    let isUTF8: Bool
    private let cd: iconv_t?

    /// - Throws: `SourceError` when iconv does not know the encoding.
    init(_ encoding: String) throws(SourceError) {
        let e = TextDecoder.normalised(encoding)
        self.encoding = e
        isUTF8 = e == "UTF-8"
        if isUTF8 {
            cd = nil
        } else {
            let h = iconv_open("UTF-8", e)
            guard let h, h != iconv_t(bitPattern: -1) else {
                throw SourceError("unknown text encoding \"\(encoding)\"; use e.g. UTF-8, GBK, GB18030, CP1252 or ISO-8859-1")
            }
            cd = h
        }
    }

    deinit { if let cd { iconv_close(cd) } }

    /// Common spellings of the encodings Chinese GIS files come in, as iconv names them.
    static func normalised(_ e: String) -> String {
        let u = e.trimmingCharacters(in: .whitespaces).uppercased()
        switch u {
        case "UTF8", "UTF-8", "65001", "CP65001": return "UTF-8"
        case "936", "CP936", "ANSI 936", "GBK", "MS936", "WINDOWS-936": return "GBK"
        case "54936", "GB18030": return "GB18030"
        case "GB2312", "EUC-CN": return "GB2312"
        default:
            if u.hasPrefix("ANSI ") { return "CP" + u.dropFirst(5) }
            return !u.isEmpty && u.allSatisfy(\.isNumber) ? "CP" + u : u
        }
    }

    /// The text, or nil when the bytes are not valid in this encoding.
    func decode(_ bytes: [UInt8]) -> String? {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        if isUTF8 { return TextDecoder.utf8(bytes) }
        guard let cd else { return nil }
        iconv(cd, nil, nil, nil, nil)
        var input = bytes.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: bytes.count * 4 + 4)
        let produced: Int? = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress
                var outLeft = outBuf.count
                let rc = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                guard rc != -1, inLeft == 0 else { return nil }
                return outBuf.count - outLeft
            }
        }
        guard let produced else { return nil }
        return String(decoding: output[0..<produced].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Valid UTF-8 only (no replacement characters), else nil.
    static func utf8(_ bytes: [UInt8]) -> String? { String(validating: bytes, as: UTF8.self) }

    /// UTF-8 whose last character was cut (a DBF field or name too narrow for it): the text
    /// before it, when the rest is valid UTF-8 and the tail is the start of a longer character.
    static func utf8CutAtEnd(_ bytes: [UInt8]) -> String? {
        for drop in 1...3 where bytes.count > drop {
            let tail = bytes.suffix(drop)
            guard let lead = tail.first, lead >= 0xC2, lead <= 0xF4, tail.dropFirst().allSatisfy({ $0 & 0xC0 == 0x80 }) else { continue }
            let need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            guard drop < need, let s = utf8(Array(bytes.dropLast(drop))) else { continue }
            return s
        }
        return nil
    }

    /// Whether the bytes are UTF-8 text rather than a legacy encoding: valid UTF-8 whose non-ASCII
    /// characters are all three- or four-byte ones (Chinese, and most text outside Europe) or in
    /// the Arabic block (Uyghur, Kazakh). GBK
    /// bytes are sometimes valid UTF-8 by chance, but then nearly always as two-byte characters
    /// (学校 in GBK, D1 A7 D0 A3, reads as Cyrillic "ѧУ"), which this does not count.
    /// One pass over the bytes, no allocation: it runs on every non-ASCII value of a legacy-encoded
    /// file (decoding to a String first cost 2 s per 100,000 roads). A last character cut by a
    /// narrow DBF field still counts.
    static func looksLikeUTF8(_ b: [UInt8]) -> Bool {
        var i = 0
        var nonASCII = false
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            nonASCII = true
            let len: Int
            if c >= 0xE0 && c <= 0xEF { len = 3 } else if c >= 0xF0 && c <= 0xF4 { len = 4 }
            // Two-byte characters count only in the Arabic script (lead D8–DB: U+0600–U+06FF), in
            // which Uyghur and Kazakh names are written here; GBK's chance UTF-8 is Cyrillic/Greek.
            else if c >= 0xD8 && c <= 0xDB { len = 2 } else { return false }
            if i + len > n {
                // Cut at the end: what is left must be continuation bytes, after some text.
                for j in (i + 1)..<n where b[j] & 0xC0 != 0x80 { return false }
                return i > 0
            }
            for j in 1..<len where b[i + j] & 0xC0 != 0x80 { return false }
            let c1 = b[i + 1]
            if (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F) { return false }
            i += len
        }
        return nonASCII
    }

    /// Whether iconv's name is a single-byte Western encoding (which decodes any bytes at all).
    private(set) lazy var isSingleByteWestern: Bool =
        ["ISO-8859", "ISO8859", "LATIN", "CP125", "WINDOWS-125", "CP437", "CP850", "IBM437", "IBM850", "ASCII"].contains { encoding.hasPrefix($0) }

    /// The bytes read as GB18030 when that gives Chinese: two or more CJK ideographs and no other
    /// non-ASCII characters. Used to refuse GBK text under a declared Western encoding.
    static func chineseInGB18030(_ bytes: [UInt8]) -> String? {
        guard let gb = try? TextDecoder("GB18030"), let s = gb.decode(bytes) else { return nil }
        var cjk = 0
        for u in s.unicodeScalars where u.value >= 0x80 {
            guard (0x4E00...0x9FFF).contains(u.value) || (0x3400...0x4DBF).contains(u.value) else { return nil }
            cjk += 1
        }
        return cjk >= 2 ? s : nil
    }
}
