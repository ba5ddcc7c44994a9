import CCairo
import Foundation

/// Test helpers shared by every test target (a module, as swift-nio ships its test utilities).

/// A temporary folder, removed when the value goes away.
public final class TempDir: Sendable {
    public let path: String
    public init(_ label: String = "test") {
        path = NSTemporaryDirectory() + "onemap-\(label)-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    public func file(_ name: String) -> String { path + "/" + name }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository's root, found from a test file's #filePath.
public func repositoryRoot(_ filePath: String = #filePath) -> String {
    var url = URL(fileURLWithPath: filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath
}

/// Runs a program; returns its exit status and standard output (standard error discarded).
@discardableResult
public func runProgram(_ exe: String, _ args: [String], cwd: String? = nil) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: d, as: UTF8.self))
}

/// Runs a program (in `cwd`, with `env` as its whole environment when given); returns its exit
/// status, standard output and standard error.
public func runProgramCapturing(_ exe: String, _ args: [String], cwd: String? = nil, env: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if let env { p.environment = env }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The same, waited for on a thread of its own: a test whose in-process server must answer the
/// program (a client script) must not hold one of Swift's cooperative threads meanwhile — on a
/// 2-core machine there are two, and the server's request tasks run on them.
public func runProgramCapturingDetached(_ exe: String, _ args: [String], cwd: String? = nil, env: [String: String]? = nil) async throws -> (status: Int32, out: String, err: String) {
    try await withCheckedThrowingContinuation { cont in
        Thread.detachNewThread { cont.resume(with: Result { try runProgramCapturing(exe, args, cwd: cwd, env: env) }) }
    }
}

/// Decoded ARGB pixels of a PNG file.
public struct PNGPixels {
    public var width: Int, height: Int, data: [UInt32]

    public init(file path: String) {
        let s = cairo_image_surface_create_from_png(path)!
        defer { cairo_surface_destroy(s) }
        width = max(0, Int(cairo_image_surface_get_width(s)))
        height = max(0, Int(cairo_image_surface_get_height(s)))
        let stride = Int(cairo_image_surface_get_stride(s))
        var d = [UInt32](repeating: 0, count: width * height)
        if width > 0, let base = cairo_image_surface_get_data(s) {
            for y in 0..<height {
                let row = UnsafeRawPointer(base + y * stride).assumingMemoryBound(to: UInt32.self)
                for x in 0..<width { d[y * width + x] = row[x] }
            }
        }
        data = d
    }

    public init(png: [UInt8]) {
        let path = NSTemporaryDirectory() + "onemap-png-" + UUID().uuidString + ".png"
        try! Data(png).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        self.init(file: path)
    }

    /// The largest channel difference between two pixels.
    public static func channelDistance(_ a: UInt32, _ b: UInt32) -> Int {
        var worst = 0
        for shift in stride(from: 0, to: 32, by: 8) { worst = max(worst, abs(Int((a >> UInt32(shift)) & 0xff) - Int((b >> UInt32(shift)) & 0xff))) }
        return worst
    }

    /// Fraction of pixels differing by more than `threshold` in some channel (1 when sizes differ).
    public func difference(_ o: PNGPixels, threshold: Int = 24) -> Double {
        guard width == o.width, height == o.height, !data.isEmpty else { return 1 }
        var bad = 0
        for i in 0..<data.count where data[i] != o.data[i] && PNGPixels.channelDistance(data[i], o.data[i]) > threshold { bad += 1 }
        return Double(bad) / Double(data.count)
    }

    public var distinctColours: Int { Set(data).count }
}

/// SplitMix64: a small seeded generator so randomized tests repeat exactly.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<1.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Uniform in 0..<n.
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    public mutating func chance(_ p: Double) -> Bool { unit() < p }
}
