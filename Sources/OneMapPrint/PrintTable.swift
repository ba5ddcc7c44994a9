import Foundation
import OneMapRender
import OneMapStyle

/// A printed table whose rows are measured: long cells wrap (never clip), and rows that do not
/// fit where the table is drawn are handed back so they continue elsewhere (a continuation
/// page, 续表) — no row is ever dropped. Used by the village pages and the incident brief.
struct PrintTable {
    var heading: String
    var header: [String]
    /// Column widths as fractions of the table's width (summing to 1).
    var widths: [Double]
    var rows: [[String]]
    /// Cell text size in points.
    var size = 8.5

    /// Column widths measured from the content: each column gets its widest cell (header
    /// included, plus padding) up to `cap` of the width; what is left is shared in proportion to
    /// what the columns still want. When the columns want more than the width, only those that
    /// may wrap give way (`wrap`), so a phone column never wraps or runs past the table's edge
    /// (unless one cell is longer than its cap, which then wraps in its cell).
    /// Fractions sum to 1.
    static func measuredWidths(_ text: TextEngine, header: [String], rows: [[String]], width: Double, size: Double, cap: [Double], wrap: [Bool]) -> [Double] {
        let n = header.count
        var want = [Double](repeating: 0, count: n)
        for r in [header] + rows {
            for (i, s) in r.enumerated() where i < n {
                for line in s.split(separator: "\n") { want[i] = max(want[i], text.layout(String(line), size: size, bold: r == header).size.w + 8) }
            }
        }
        var got = (0..<n).map { min(want[$0], cap[$0] * width) }
        let total = got.reduce(0, +)
        if total < width {
            let extra = width - total
            let still = (0..<n).map { max(0, want[$0] - got[$0]) }
            let s = still.reduce(0, +)
            for i in 0..<n { got[i] += s > 0 ? extra * still[i] / s : extra / Double(n) }
        } else {
            let fixed = (0..<n).filter { !wrap[$0] }.reduce(0.0) { $0 + got[$1] }
            let flexible = total - fixed
            let room = max(width - fixed, width * 0.3)
            for i in 0..<n where wrap[i] { got[i] *= room / flexible }
            let sum = got.reduce(0, +)
            for i in 0..<n { got[i] *= width / sum }
        }
        return got.map { $0 / width }
    }

    func rowHeight(_ text: TextEngine, _ r: [String], bold: Bool, width: Double, k: Double) -> Double {
        zip(r, widths).map { s, f in
            let l = text.layout(s.isEmpty ? " " : s, size: size * k, bold: bold)
            l.wrap(width: f * width - 6 * k, align: .left)
            return l.size.h
        }.max().map { $0 + 5 * k } ?? 14 * k
    }

    /// The index of the first row from `from` on that would not fit above `bottom` after the
    /// header (`rows.count` when all fit), without drawing.
    func fitting(_ text: TextEngine, from: Int, y: Double, width: Double, bottom: Double, k: Double = 1) -> Int {
        var y = y + rowHeight(text, header, bold: true, width: width, k: k)
        guard y <= bottom else { return from }
        var i = from
        while i < rows.count {
            y += rowHeight(text, rows[i], bold: false, width: width, k: k)
            if y > bottom { break }
            i += 1
        }
        return i
    }

    /// Draws the header, then rows `from`… while they fit above `bottom`. Returns the index of
    /// the first row not drawn (`rows.count` when all were) and the y below the last row.
    func draw(_ text: TextEngine, _ cr: Canvas, from: Int, x: Double, y: Double, width: Double, bottom: Double, k: Double = 1) -> (next: Int, y: Double) {
        var y = y
        func drawRow(_ r: [String], bold: Bool, shade: Bool) {
            let h = rowHeight(text, r, bold: bold, width: width, k: k)
            if shade { cr.rectangle(x, y, width, h); cr.setSourceRGB(0.93, 0.94, 0.96); cr.fill() }
            var cx = x
            for (s, f) in zip(r, widths) {
                txt(text, cr, s, x: cx + 3 * k, y: y + 2.5 * k, size: size * k, bold: bold, width: f * width - 6 * k)
                cx += f * width
            }
            cr.moveTo(x, y + h); cr.lineTo(x + width, y + h)
            cr.setSourceRGB(0.8, 0.8, 0.8); cr.setLineWidth(0.4 * k); cr.stroke()
            y += h
        }
        guard y + rowHeight(text, header, bold: true, width: width, k: k) <= bottom else { return (from, y) }
        drawRow(header, bold: true, shade: true)
        if rows.isEmpty {
            y += txt(text, cr, "无", x: x + 3 * k, y: y + 2.5 * k, size: size * k, colour: Color(0.4, 0.4, 0.4)) + 5 * k
            return (0, y)
        }
        var i = from
        while i < rows.count, y + rowHeight(text, rows[i], bold: false, width: width, k: k) <= bottom {
            drawRow(rows[i], bold: false, shade: false)
            i += 1
        }
        return (i, y)
    }
}

/// Portrait pages that tables flow across: a table's heading stays with its header and first
/// row; a table that reaches the foot of a page continues on a new one under its heading marked
/// "（续表）" and a repeated header. Every page gets a footer "第 i / n 页".
final class PageFlow {
    let width: Double, height: Double, margin: Double
    let text: TextEngine
    private(set) var pages: [RecordedPage] = []
    var y: Double
    /// Drawn at the top of every page this flow starts (after the first it is given).
    let pageHeader: ((RecordedPage, TextEngine) -> Double)?

    /// Starts with `first` (drawn down to `y`), or with a new page when nil.
    init(width: Double, height: Double, margin: Double, text: TextEngine, first: RecordedPage? = nil, y: Double? = nil,
         pageHeader: ((RecordedPage, TextEngine) -> Double)? = nil) {
        self.width = width; self.height = height; self.margin = margin; self.text = text; self.pageHeader = pageHeader
        self.y = margin
        if let first { pages.append(first); self.y = y ?? margin } else { newPage() }
    }

    var page: RecordedPage { pages[pages.count - 1] }

    @discardableResult
    func newPage() -> RecordedPage {
        let p = RecordedPage(width: width, height: height)
        p.canvas.fillAll(Color(1, 1, 1))
        pages.append(p)
        y = margin
        if let pageHeader { y += pageHeader(p, text) }
        return p
    }

    /// Adds a table, starting at row `from`; `continued` marks its first heading as a
    /// continuation already (the rest of a table begun elsewhere) with `mark`.
    func add(_ t: PrintTable, from: Int = 0, continued: Bool = false, mark: String = "（续表）") {
        let tw = width - 2 * margin, bottom = height - margin
        func heading(_ cont: Bool) -> Double {
            let l = text.layout(cont ? "\(t.heading)\(mark)" : t.heading, size: 11, bold: true)
            l.wrap(width: tw, align: .left)
            return l.size.h + 6
        }
        let firstRow = from < t.rows.count ? t.rowHeight(text, t.rows[from], bold: false, width: tw, k: 1) : 14
        if y + heading(continued) + t.rowHeight(text, t.header, bold: true, width: tw, k: 1) + firstRow > bottom { newPage() }
        var cont = continued
        var next = from
        repeat {
            y += txt(text, page.canvas, cont ? "\(t.heading)\(mark)" : t.heading, x: margin, y: y, size: 11, bold: true, width: tw) + 6
            let r = t.draw(text, page.canvas, from: next, x: margin, y: y, width: tw, bottom: bottom)
            y = r.y
            if r.next < t.rows.count {
                // A row taller than a whole page would never fit: it is drawn regardless (cells
                // wrap), so the loop always moves on.
                if r.next == next, y <= margin + heading(true) + 40 {
                    _ = PrintTable(heading: t.heading, header: t.header, widths: t.widths, rows: [t.rows[next]], size: t.size)
                        .draw(text, page.canvas, from: 0, x: margin, y: y, width: tw, bottom: .infinity)
                    next += 1
                } else {
                    next = r.next
                }
                if next < t.rows.count { newPage(); cont = true }
            } else {
                next = r.next
            }
        } while next < t.rows.count
        y += 12
    }

    /// Writes "第 i / n 页" and `note` at the foot of every page.
    func footers(_ note: String) { PageFlow.footers(pages, note: note, text: text, margin: { _ in self.margin }) }

    /// Writes `note` and "第 i / n 页" (or `pageWord(i, n)`) at the foot of each page, right-aligned,
    /// just below page i's bottom margin (`margin(i)`, from 0).
    static func footers(_ pages: [RecordedPage], note: String, text: TextEngine, margin marginOf: (Int) -> Double, pageWord: (Int, Int) -> String = { "第 \($0) / \($1) 页" }) {
        for (i, p) in pages.enumerated() {
            let margin = marginOf(i)
            let size = 7.5 * min(p.width, p.height) / 595.28
            txt(text, p.canvas, "\(note) · \(pageWord(i + 1, pages.count))", x: margin, y: p.height - margin + 6, size: size, width: p.width - 2 * margin,
                align: .right, colour: Color(0.45, 0.45, 0.45))
        }
    }
}
