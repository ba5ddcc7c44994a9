import Foundation
import Synchronization
import OneMapCore
import ArgumentParser
import OneMapPrint
import OneMapRender
import OneMapRouting
import OneMapStore


/// Writes a line to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}

/// A terminal progress bar on standard error; silent when stderr is not a terminal except for
/// the final line, so logs stay readable. Workers on several threads may report.
final class ProgressBar: Sendable {
    private let lastDraw = Mutex(Date.distantPast)
    private let label: String
    private let tty = isatty(2) == 1
    private let start = Date()
    init(_ label: String) { self.label = label }

    func update(_ done: Int, _ total: Int, _ phase: String = "") {
        lastDraw.withLock { lastDraw in
            let now = Date()
            guard done >= total || now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            guard tty || done >= total else { return }
            let frac = total > 0 ? Double(done) / Double(total) : 1
            let width = 30
            let filled = Int(frac * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let elapsed = now.timeIntervalSince(start)
            let eta = frac > 0.01 && frac < 1 ? String(format: " ETA %.0fs", elapsed / frac - elapsed) : ""
            let line = String(format: "%@ %@ %3.0f%% %d/%d %@%@", label, bar, frac * 100, done, total, phase, eta)
            FileHandle.standardError.write(((tty ? "\r\u{1B}[K" : "") + line).data(using: .utf8)!)
            if !tty { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        }
    }

    func finish() {
        if tty { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    }
}

/// Parses "lon,lat".
func parseCoord(_ s: String) -> Coord? {
    let p = s.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard p.count == 2, let lon = p[0], let lat = p[1] else { return nil }
    let c = Coord(lon, lat)
    return c.isInWorld ? c : nil
}

/// Formats a table with aligned columns (CJK characters count as two cells).
func table(_ header: [String], _ rows: [[String]]) -> String {
    func width(_ s: String) -> Int { s.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && ($1.value <= 0x115F || ($1.value >= 0x2E80 && $1.value <= 0xFFDC)) ? 2 : 1) } }
    var w = header.map(width)
    for r in rows { for (i, c) in r.enumerated() where i < w.count { w[i] = max(w[i], width(c)) } }
    func line(_ r: [String]) -> String {
        r.enumerated().map { i, c in c + String(repeating: " ", count: max(0, w[i] - width(c))) }.joined(separator: "  ")
    }
    return ([line(header), w.map { String(repeating: "─", count: $0) }.joined(separator: "  ")] + rows.map(line)).joined(separator: "\n")
}

/// Refuses an output path whose folder does not exist, before any work is done.
func checkOutputFolder(_ path: String) throws {
    let dir = (path as NSString).deletingLastPathComponent
    var isDir: ObjCBool = false
    if !dir.isEmpty, !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
        throw CLIError(.notFound, "there is no folder \(dir) to write \((path as NSString).lastPathComponent) into")
    }
}

/// A command-line mistake (a malformed option, a missing file) as one sentence with its category.
struct CLIError: OneMapError {
    let category: ErrorCategory
    let description: String
    init(_ description: String) { self.init(.badInput, description) }
    init(_ category: ErrorCategory, _ description: String) { self.category = category; self.description = description }
}

/// Runs a command body; every error becomes one sentence on stderr and the exit status of its
/// category (`ErrorCategory.exitCode`: 65 bad input, 66 not found, 69 unavailable, 70 internal).
func reportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode {
        throw e
    } catch let e as any OneMapError {
        printError("error: \(e.description)")
        throw ExitCode(e.category.exitCode)
    } catch let e as CocoaError {
        // Foundation's file errors: say which file and what is wrong with it.
        let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? e.errorUserInfo[NSURLErrorKey].map { "\($0)" } ?? "the file"
        let category: ErrorCategory = [.fileNoSuchFile, .fileReadNoSuchFile].contains(e.code) ? .notFound : (e.code == .fileWriteNoPermission || e.code == .fileReadNoPermission ? .unavailable : .badInput)
        printError("error: \(category == .notFound ? "no such file or folder" : "cannot use") \(path): \(e.localizedDescription)")
        throw ExitCode(category.exitCode)
    } catch {
        printError("error: \(error)")
        throw ExitCode(ErrorCategory.internal.exitCode)
    }
}

/// The same, for async commands (serve).
func reportingErrors(_ body: () async throws -> Void) async throws {
    var failure: (any Error)?
    do { try await body() } catch { failure = error }
    if let failure { try reportingErrors { throw failure } }
}
