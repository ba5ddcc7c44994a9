/// Bidirectional text for labels and printed fields (Unicode UAX #9).
///
/// Names in the county may be written in Uyghur or Kazakh (Arabic script, right to left) next to
/// Chinese, Latin, digits and phone numbers. Laid out as one paragraph, digits that follow a
/// right-to-left name are taken into its run and reordered ("0901-0123456" prints as
/// "0123456-0901"). Each field that can hold such a name is therefore isolated (FSI … PDI: its
/// direction from its own first strong letter, invisible to its neighbours), and phone numbers
/// and codes are forced left to right (LRI … PDI).
public enum Bidi {
    /// U+2066 LEFT-TO-RIGHT ISOLATE.
    public static let lri: Character = "\u{2066}"
    /// U+2068 FIRST STRONG ISOLATE.
    public static let fsi: Character = "\u{2068}"
    /// U+2069 POP DIRECTIONAL ISOLATE.
    public static let pdi: Character = "\u{2069}"

    /// Whether `s` has a strong right-to-left letter (Hebrew, Arabic, Syriac, Thaana, N'Ko and
    /// the Arabic presentation forms).
    public static func hasRightToLeft(_ s: String) -> Bool {
        s.unicodeScalars.contains { u in
            switch u.value {
            case 0x0590...0x08FF, 0xFB1D...0xFDFF, 0xFE70...0xFEFF, 0x10800...0x10FFF, 0x1E800...0x1EFFF: true
            default: false
            }
        }
    }

    /// `s` as one isolated field (FSI … PDI) when it holds right-to-left letters; unchanged
    /// otherwise (so Chinese and Latin text is byte-for-byte what it was).
    public static func isolate(_ s: String) -> String {
        hasRightToLeft(s) ? "\(fsi)\(s)\(pdi)" : s
    }

    /// `s` forced left to right (LRI … PDI): phone numbers, codes, ids.
    public static func leftToRight(_ s: String) -> String {
        s.isEmpty ? s : "\(lri)\(s)\(pdi)"
    }

    /// `s` without isolate controls (for comparing printed text read back).
    public static func stripped(_ s: String) -> String {
        String(s.unicodeScalars.filter { !(0x2066...0x2069).contains($0.value) }.map(Character.init))
    }
}
