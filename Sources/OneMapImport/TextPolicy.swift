import Foundation

/// How one source layer's text is decoded, and why: the encoding given with `--encoding`, the one
/// the file declares (.cpg, the DBF header's language driver), UTF-8 for formats that are UTF-8 by
/// definition (GeoPackage, GeoJSON, KML, FileGDB, OSM), or — for a Shapefile or CSV that says
/// nothing — decided by the first non-ASCII text: UTF-8 when it is valid UTF-8, else GB18030.
/// Text that does not decode is refused with the field and a hint; it is never stored mangled.
final class TextPolicy {
    enum Source { case forced, declared(String), utf8Format(String), undecided }
    let source: Source
    private(set) var decoder: TextDecoder?
    /// Set when the encoding was guessed: the sentence to show the user.
    private(set) var guessNotice: String?
    let label: String
    /// Values (and field names) whose last UTF-8 character was cut and dropped.
    private(set) var truncated = 0
    /// Values that are only question marks ("??????"): text a writer could not encode (ogr2ogr
    /// writes a Shapefile as ISO-8859-1 unless told otherwise and puts "?" for each Chinese
    /// character); the text was lost before onemap saw the file.
    private(set) var questionMarks = 0

    init(forced: String?, declared: (encoding: String, from: String)?, utf8Format: String?, label: String) throws(SourceError) {
        self.label = label
        if let forced {
            source = .forced
            decoder = try TextDecoder(forced)
        } else if let declared {
            source = .declared(declared.from)
            do { decoder = try TextDecoder(declared.encoding) } catch {
                throw SourceError("\(label): its \(declared.from) names the encoding \"\(declared.encoding)\", which iconv does not know; pass --encoding, e.g. --encoding GBK")
            }
        } else if let utf8Format {
            source = .utf8Format(utf8Format)
            decoder = try TextDecoder("UTF-8")
        } else {
            source = .undecided
            decoder = nil
        }
    }

    /// The encoding in use ("GBK", "UTF-8"…), or "not decided yet" while all text was ASCII.
    var encodingName: String { decoder?.encoding ?? "ASCII so far (UTF-8 or GB18030 decided by the first non-ASCII text)" }

    /// How the encoding was chosen, for `--inspect` and notices.
    var how: String {
        switch source {
        case .forced: return "from --encoding"
        case .declared(let from): return "from the \(from)"
        case .utf8Format(let driver): return "\(driver) text is UTF-8"
        case .undecided:
            // The decoder is set by the first non-ASCII text (UTF-8 when valid, else GB18030).
            if decoder == nil { return "not declared; all text seen is ASCII" }
            return guessNotice == nil ? "not declared; the text is valid UTF-8" : "not declared; guessed from the text"
        }
    }

    /// Decodes `bytes` of field `field`; the reason (with a hint) when they do not decode.
    func decode(_ bytes: [UInt8], field: String) -> Result<String, TextProblem> {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            if bytes.count >= 2, bytes[0] == 0x3F, bytes.allSatisfy({ $0 == 0x3F || $0 == 0x20 }) { questionMarks += 1 }
            return .success(String(decoding: bytes, as: UTF8.self))
        }
        if decoder == nil {
            // Undecided: the first non-ASCII text chooses.
            if TextDecoder.utf8(bytes) != nil || TextDecoder.utf8CutAtEnd(bytes) != nil {
                decoder = try? TextDecoder("UTF-8")
            } else if let gb = try? TextDecoder("GB18030"), gb.decode(bytes) != nil {
                decoder = gb
                guessNotice = "\(label): text is not UTF-8 and the file does not declare its encoding (no .cpg); read as GB18030 (GBK) — pass --encoding to choose another"
            } else {
                return .failure(TextProblem("field \(field): \(TextPolicy.show(bytes)) is neither UTF-8 nor GB18030 (GBK); pass the file's encoding with --encoding"))
            }
        }
        guard let d = decoder else { return .failure(TextProblem("field \(field): no decoder")) }
        if d.isUTF8 {
            if let s = TextDecoder.utf8(bytes) { return .success(s) }
            if let cut = TextDecoder.utf8CutAtEnd(bytes) {
                truncated += 1
                return .success(cut)
            }
        } else if let s = d.decode(bytes) {
            if !d.isUTF8, TextDecoder.looksLikeUTF8(bytes) {
                let fix: String
                switch source {
                case .forced: fix = "drop --encoding or pass --encoding UTF-8"
                case .declared(let from): fix = "the \(from) says \(d.encoding); pass --encoding UTF-8 if the whole file is UTF-8"
                default: fix = "the file's earlier text was \(d.encoding), so it mixes encodings; convert it to one (e.g. with iconv) or pass --encoding"
                }
                return .failure(TextProblem("field \(field): \(TextPolicy.show(bytes)) is UTF-8 text (\"\(TextDecoder.utf8(bytes) ?? TextDecoder.utf8CutAtEnd(bytes) ?? "")\"), not \(d.encoding): reading it as \(d.encoding) would store mojibake (\"\(s)\"); \(fix)"))
            }
            if d.isSingleByteWestern, case .declared(let from) = source, let zh = TextDecoder.chineseInGB18030(bytes) {
                return .failure(TextProblem("field \(field): \(TextPolicy.show(bytes)) reads as Chinese in GBK (\"\(zh)\") but the \(from) says \(d.encoding), which would store mojibake (\"\(s)\"); pass --encoding GBK (or --encoding \(d.encoding) if the file really is in it)"))
            }
            return .success(s)
        }
        if !d.isUTF8, TextDecoder.looksLikeUTF8(bytes) {
            return .failure(TextProblem("field \(field): \(TextPolicy.show(bytes)) is UTF-8 text (\"\(TextDecoder.utf8(bytes) ?? TextDecoder.utf8CutAtEnd(bytes) ?? "")\"), but the file's other text is \(d.encoding) (\(how)): the file mixes encodings; convert it to one (e.g. with iconv) or pass --encoding"))
        }
        let hint: String
        switch source {
        case .forced: hint = "the bytes are not \(d.encoding); check --encoding (GBK files are common, UTF-8 ones too)"
        case .declared(let from): hint = "the \(from) says \(d.encoding); if the file is in another encoding, pass --encoding (e.g. --encoding GBK)"
        case .utf8Format(let driver): hint = "\(driver) text must be UTF-8; the file was written in another encoding"
        case .undecided: hint = "the file's earlier text was \(d.encoding); if it is in GBK, pass --encoding GBK"
        }
        return .failure(TextProblem("field \(field): \(TextPolicy.show(bytes)) is not valid \(d.encoding) — \(hint)"))
    }

    /// `bytes` without leading and trailing ASCII spaces and tabs.
    static func trimmed(_ bytes: [UInt8]) -> [UInt8] {
        var lo = 0, hi = bytes.count
        while lo < hi, bytes[lo] == 0x20 || bytes[lo] == 0x09 { lo += 1 }
        while hi > lo, bytes[hi - 1] == 0x20 || bytes[hi - 1] == 0x09 { hi -= 1 }
        return lo == 0 && hi == bytes.count ? bytes : Array(bytes[lo..<hi])
    }

    /// Bytes as hex for a message: "<C4 CF B3 C7 …>".
    static func show(_ bytes: [UInt8]) -> String {
        let hex = bytes.prefix(12).map { String(format: "%02X", $0) }.joined(separator: " ")
        return "<" + hex + (bytes.count > 12 ? " …" : "") + ">"
    }
}

struct TextProblem: Error {
    let reason: String
    init(_ r: String) { reason = r }
}
