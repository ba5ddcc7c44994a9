import Foundation
import OneMapTestSupport
import Testing

/// The OpenAPI document is true of the running server: Schemathesis (from PyPI, in the venv that
/// scripts/bootstrap makes) generates requests from `Web/openapi.yaml` — valid and invalid ones,
/// every operation, writes with an editor token — and checks every answer's status, content type,
/// headers and body against the document, and that undeclared methods get 405.
@Suite(.serialized) struct APIConformanceTests {
    @Test func schemathesisFindsNoFailures() throws {
        let st = repoRoot + "/.venv/bin/st"
        try #require(FileManager.default.isExecutableFile(atPath: st), "Schemathesis is missing from .venv: run scripts/bootstrap (make test does)")
        let dir = TempDir("schemathesis")
        let db = dir.file("s.sqlite")
        #expect(try runProgram(onemapBinary, ["import", "GeoData", "--db", db], cwd: repoRoot).status == 0)
        let token = try runProgram(onemapBinary, ["user", "add", "schemathesis", "--role", "editor", "--db", db], cwd: repoRoot).out
            .split(separator: "\n").last.map(String.init) ?? ""
        #expect(!token.isEmpty)
        let server = try ServedProgram(onemapBinary, ["serve", "--db", db, "--port", "0", "--render-threads", "1"], cwd: repoRoot)
        defer { server.stop() }
        let r = try runProgramCapturing("/bin/bash", [repoRoot + "/scripts/api-conformance", server.base, token], cwd: repoRoot)
        #expect(r.status == 0, "Schemathesis found failures:\n\(r.out.suffix(12000))\n\(r.err.suffix(4000))")
    }
}
