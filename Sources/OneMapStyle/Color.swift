import OneMapCore
import Synchronization

/// An sRGB colour with alpha, components 0…1.
public struct Color: Sendable, Equatable {
    public var r, g, b, a: Double
    public init(_ r: Double, _ g: Double, _ b: Double, _ a: Double = 1) { self.r = r; self.g = g; self.b = b; self.a = a }

    private static func fastHex(_ s: String) -> Color? {
        let u = Array(s.utf8)
        guard u.first == UInt8(ascii: "#"), u.count == 4 || u.count == 7 || u.count == 9 else { return nil }
        func d(_ c: UInt8) -> Int? {
            switch c {
            case 48...57: Int(c - 48)
            case 97...102: Int(c - 87)
            case 65...70: Int(c - 55)
            default: nil
            }
        }
        var v: [Double] = []
        if u.count == 4 {
            for c in u[1...] { guard let x = d(c) else { return nil }; v.append(Double(x * 17) / 255) }
        } else {
            var i = 1
            while i < u.count { guard let a = d(u[i]), let b = d(u[i + 1]) else { return nil }; v.append(Double(a * 16 + b) / 255); i += 2 }
        }
        return Color(v[0], v[1], v[2], v.count == 4 ? v[3] : 1)
    }

    static let named: [String: Color] = [
        "black": Color(0, 0, 0), "white": Color(1, 1, 1), "red": Color(1, 0, 0), "green": Color(0, 0.5, 0), "blue": Color(0, 0, 1),
        "yellow": Color(1, 1, 0), "orange": Color(1, 0.647, 0), "gray": Color(0.5, 0.5, 0.5), "grey": Color(0.5, 0.5, 0.5),
        "transparent": Color(0, 0, 0, 0),
    ]

    /// Parses #rgb, #rrggbb, #rrggbbaa, rgb(r,g,b), rgba(r,g,b,a), hsl(h,s%,l%), hsla(…) and a few names.
    public static func parse(_ s: String) -> Color? {
        // The common case, "#rrggbb" (or #rgb, #rrggbbaa) with nothing around it, straight from
        // the bytes: styles evaluate colours per feature, and the general path below (trimming,
        // lowercasing through Foundation) was 4 % of a cold tile.
        if let c = fastHex(s) { return c }
        // Other forms (rgba(…) halos, hsl) from a small memo: a style has few distinct colours,
        // and Foundation's trimming and lowercasing per feature were 4 % of a metatile.
        if let hit = memo.withLock({ $0[s] }) { return hit }
        let c = parseSlowly(s)
        memo.withLock { m in
            if m.count > 4096 { m.removeAll() }
            m[s] = c
        }
        return c
    }

    private static let memo = Mutex<[String: Color?]>([:])

    private static func parseSlowly(_ s: String) -> Color? {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if let c = named[t] { return c }
        if t.hasPrefix("#") {
            let hex = Array(t.dropFirst())
            func h(_ i: Int, _ n: Int) -> Double? {
                guard let v = Int(String(hex[i..<(i + n)]), radix: 16) else { return nil }
                return n == 1 ? Double(v * 17) / 255 : Double(v) / 255
            }
            switch hex.count {
            case 3: if let r = h(0, 1), let g = h(1, 1), let b = h(2, 1) { return Color(r, g, b) }
            case 6: if let r = h(0, 2), let g = h(2, 2), let b = h(4, 2) { return Color(r, g, b) }
            case 8: if let r = h(0, 2), let g = h(2, 2), let b = h(4, 2), let a = h(6, 2) { return Color(r, g, b, a) }
            default: break
            }
            return nil
        }
        for prefix in ["rgba(", "rgb(", "hsla(", "hsl("] where t.hasPrefix(prefix) && t.hasSuffix(")") {
            let body = t.dropFirst(prefix.count).dropLast()
            let parts = body.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let nums = parts.map { Double($0.replacingOccurrences(of: "%", with: "")) }
            guard nums.allSatisfy({ $0 != nil }), parts.count == (prefix.contains("a(") ? 4 : 3) else { return nil }
            let v = nums.map { $0! }
            let a = v.count == 4 ? v[3] : 1
            // CSS ranges: channels 0…255, saturation and lightness 0…100 %, alpha 0…1.
            guard v.allSatisfy(\.isFinite), (0...1).contains(a) else { return nil }
            if prefix.hasPrefix("rgb") {
                guard v.prefix(3).allSatisfy({ (0...255).contains($0) }) else { return nil }
                return Color(v[0] / 255, v[1] / 255, v[2] / 255, a)
            }
            guard (0...100).contains(v[1]), (0...100).contains(v[2]) else { return nil }
            // HSL → RGB
            let h = v[0].truncatingRemainder(dividingBy: 360) / 360, sat = v[1] / 100, l = v[2] / 100
            let q = l < 0.5 ? l * (1 + sat) : l + sat - l * sat, p = 2 * l - q
            func hue(_ t0: Double) -> Double {
                var t = t0
                if t < 0 { t += 1 }
                if t > 1 { t -= 1 }
                if t < 1.0 / 6 { return p + (q - p) * 6 * t }
                if t < 0.5 { return q }
                if t < 2.0 / 3 { return p + (q - p) * (2.0 / 3 - t) * 6 }
                return p
            }
            return Color(hue(h + 1.0 / 3), hue(h), hue(h - 1.0 / 3), a)
        }
        return nil
    }

    public func withAlpha(_ x: Double) -> Color { Color(r, g, b, a * x) }

    public static func mix(_ a: Color, _ b: Color, _ t: Double) -> Color {
        Color(a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t, a.a + (b.a - a.a) * t)
    }

    public var hex: String {
        func h(_ x: Double) -> String { let s = String(Int((max(0, min(1, x)) * 255).rounded()), radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + h(r) + h(g) + h(b) + (a < 1 ? h(a) : "")
    }
}
