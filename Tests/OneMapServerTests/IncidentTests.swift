import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import OneMapCore
import OneMapServer
import OneMapStore
import OneMapTestSupport
import Testing

/// #15: sign-in, CSRF, roles, server-assigned ids, incidents with their timeline, analysis and
/// brief, live events — on a real server over HTTP.
@Suite(.serialized) struct IncidentTests {
    static let incidentBody = #"{"type":"Feature","geometry":{"type":"Point","coordinates":[82.98,46.2]},"properties":{"type":"forest_fire","level":2,"title":"草场火情","description":"西北风 4 级"}}"#

    func with(_ h: HTTPFields, _ name: HTTPField.Name, _ value: String) -> HTTPFields {
        var h = h
        h[name] = value
        return h
    }

    func cookie(_ r: TestResponse) -> String? {
        guard let c = r.headers[.setCookie] else { return nil }
        return String(c.split(separator: ";")[0])
    }

    @Test func signInSessionsCSRFAndRoles() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editorToken = try s.store.addUser(name: "alice", role: .editor).token
        _ = try s.store.addUser(name: "bob", role: .viewer)
        try s.store.setPassword(name: "alice", password: "correct horse")
        try s.store.setPassword(name: "bob", password: "battery staple")
        // bcrypt, from hummingbird-auth: "$2b$10$…", never the password.
        let hashes = try s.store.read { c in try c.query("SELECT password_hash FROM users ORDER BY name") { $0.text(0) ?? "" } }
        #expect(hashes.allSatisfy { $0.hasPrefix("$2b$10$") && $0.count == 60 && !$0.contains("correct") })
        #expect(throws: StoreError.self) { try s.store.setPassword(name: "alice", password: "short") }
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            let digest = try s.store.contentDigest()
            try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"alice","password":"wrong"}"#)) { r in
                #expect(r.status == .unauthorized)
                #expect(errorMessage(r.body).contains("wrong name or password"))
                #expect(r.headers[.setCookie] == nil)
            }
            try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"alice"}"#)) { r in
                #expect(r.status == .badRequest)
            }
            // A form post (what another site could make a browser send without asking) is refused.
            try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: #"{"name":"alice","password":"correct horse"}"#)) { r in
                #expect(r.status == .unsupportedMediaType)
                #expect(r.headers[.setCookie] == nil)
            }
            var aliceCookie = "", csrf = ""
            try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"alice","password":"correct horse"}"#)) { r in
                #expect(r.status == .ok)
                let set = r.headers[.setCookie] ?? ""
                #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Max-Age=43200") && set.contains("Path=/"))
                aliceCookie = cookie(r) ?? ""
                let j = try json(r.body)
                #expect(j["role"]?.stringValue == "editor")
                csrf = j["csrf"]?.stringValue ?? ""
            }
            #expect(aliceCookie.hasPrefix("onemap_session=oms_") && csrf.count == 48)
            try await client.execute(uri: "/api/session", method: .get, headers: [.cookie: aliceCookie]) { r in
                let j = try json(r.body)
                #expect(j["signed_in"] == .bool(true) && j["name"]?.stringValue == "alice" && j["csrf"]?.stringValue == csrf)
                #expect(r.headers[.cacheControl] == "no-store")
            }
            // A write with the cookie but without (or with a wrong) CSRF token: 403, nothing stored.
            for h: HTTPFields in [[.cookie: aliceCookie], [.cookie: aliceCookie, .init("X-CSRF-Token")!: String(csrf.reversed())]] {
                try await client.execute(uri: "/api/incidents", method: .post, headers: h, body: ByteBuffer(string: Self.incidentBody)) { r in
                    #expect(r.status == .forbidden)
                    #expect(errorMessage(r.body).contains("X-CSRF-Token"))
                }
            }
            #expect(try s.store.contentDigest() == digest)
            // With it: stored, reported by the signed-in account.
            try await client.execute(uri: "/api/incidents", method: .post, headers: [.cookie: aliceCookie, .init("X-CSRF-Token")!: csrf], body: ByteBuffer(string: Self.incidentBody)) { r in
                #expect(r.status == .created)
                let j = try json(r.body)
                #expect(j["properties"]?["reported_by"]?.stringValue == "alice")
            }
            // A viewer signed in: reads, but 403 on writes even with its CSRF token.
            var bobCookie = "", bobCSRF = ""
            try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"bob","password":"battery staple"}"#)) { r in
                bobCookie = cookie(r) ?? ""
                bobCSRF = try json(r.body)["csrf"]?.stringValue ?? ""
            }
            let afterCreate = try s.store.contentDigest()
            try await client.execute(uri: "/api/incidents", method: .post, headers: [.cookie: bobCookie, .init("X-CSRF-Token")!: bobCSRF], body: ByteBuffer(string: Self.incidentBody)) { r in
                #expect(r.status == .forbidden)
                #expect(errorMessage(r.body).contains("editor role"))
            }
            // People's phones: signed-in users see them (cookie as well as token), anonymous readers do not.
            try await client.execute(uri: "/api/features/info_officers/io-0001", method: .get, headers: [.cookie: bobCookie]) { r in
                let jb = try json(r.body); #expect(jb["properties"]?["phone"]?.stringValue != nil)
                #expect(r.headers[values: .vary].joined(separator: ",").contains("Cookie"))
                #expect(r.headers[.cacheControl] == "private, no-cache")
            }
            try await client.execute(uri: "/api/features/info_officers/io-0001", method: .get) { r in
                let jb = try json(r.body); #expect(jb["properties"]?["phone"] == nil)
            }
            // Scripts keep using bearer tokens, without CSRF.
            try await client.execute(uri: "/api/incidents", method: .post, headers: [.authorization: "Bearer \(editorToken)"], body: ByteBuffer(string: Self.incidentBody)) { r in
                #expect(r.status == .created)
            }
            #expect(try s.store.contentDigest() != afterCreate)
            // Sign out: only with the CSRF token; then the cookie is cleared and no longer works.
            try await client.execute(uri: "/api/session", method: .delete, headers: [.cookie: aliceCookie]) { r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/api/session", method: .delete, headers: [.cookie: aliceCookie, .init("X-CSRF-Token")!: csrf]) { r in
                #expect(r.status == .noContent)
                #expect(r.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(uri: "/api/session", method: .get, headers: [.cookie: aliceCookie]) { r in let jb = try json(r.body); #expect(jb["signed_in"] == .bool(false)) }
            try await client.execute(uri: "/api/incidents", method: .post, headers: [.cookie: aliceCookie, .init("X-CSRF-Token")!: csrf], body: ByteBuffer(string: Self.incidentBody)) { r in
                #expect(r.status == .unauthorized)
            }
            // Repeated failures are slowed down: after 5, 429 with Retry-After, even for the right password.
            for _ in 0..<5 {
                try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"bob","password":"guess"}"#)) { r in #expect(r.status == .unauthorized) }
            }
            try await client.execute(uri: "/api/session", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"bob","password":"battery staple"}"#)) { r in
                #expect(r.status == .tooManyRequests)
                #expect((1...15).contains(Int(r.headers[.retryAfter] ?? "") ?? 0))
                #expect(errorMessage(r.body).contains("too many failed sign-ins"))
            }
        }
        // Sessions end: an expired one is refused.
        let gone = try #require(try s.store.signIn(name: "alice", password: "correct horse", seconds: -1))
        #expect(try s.store.session(token: gone.token) == nil)
        #expect(try s.store.signIn(name: "nobody", password: "correct horse") == nil)
    }

    @Test func incidentsTimelineAnalysisAndBrief() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let token = try s.store.addUser(name: "alice", role: .editor).token
        _ = try s.store.addUser(name: "carol", role: .editor)
        let auth: HTTPFields = [.authorization: "Bearer \(token)"]
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var id = "", location = ""
            try await client.execute(uri: "/api/incidents", method: .post, headers: auth, body: ByteBuffer(string: Self.incidentBody)) { r in
                #expect(r.status == .created)
                location = r.headers[.location] ?? ""
                let j = try json(r.body)
                id = j["id"]?.stringValue ?? ""
                #expect(j["properties"]?["status"]?.stringValue == "reported")
                #expect(j["properties"]?["reported_at"]?.stringValue?.hasPrefix("20") == true)
                #expect(j["timeline"]?.arrayValue?.first?["kind"]?.stringValue == "reported")
            }
            #expect(id.hasPrefix("inc-") && location == "/api/incidents/\(id)")
            try await client.execute(uri: location, method: .get) { r in #expect(r.status == .ok && r.headers[.eTag] == "\"1\"") }
            // Bad input: a 4xx with a sentence, nothing stored.
            let digest = try s.store.contentDigest()
            let bad: [(String, HTTPRequest.Method, String, HTTPResponse.Status, String)] = [
                ("/api/incidents", .post, #"{"type":"Feature","geometry":{"type":"Point","coordinates":[82.98,46.2]},"properties":{"type":"fire","level":7,"title":"x"}}"#, .badRequest, "level"),
                ("/api/incidents", .post, #"{"type":"Feature","geometry":{"type":"Point","coordinates":[82.98,46.2]},"properties":{"type":"alien","level":1,"title":"x"}}"#, .badRequest, "type"),
                ("/api/incidents", .post, #"{"type":"Feature","geometry":{"type":"Point","coordinates":[82.98,46.2]},"properties":{"type":"fire","level":1}}"#, .badRequest, "title"),
                ("/api/incidents/\(id)/updates", .post, #"{}"#, .badRequest, "needs a \"note\""),
                ("/api/incidents/\(id)/updates", .post, #"{"title":"  "}"#, .badRequest, "blank"),
                ("/api/incidents", .post, #"{"type":"Feature","id":null,"geometry":{"type":"Point","coordinates":[82.98,46.2]},"properties":{"type":"fire","level":1,"title":"x"}}"#, .badRequest, "id"),
                ("/api/incidents/\(id)/updates", .post, #"{"note":"a\u0007b"}"#, .badRequest, "control"),
                ("/api/incidents/\(id)/updates", .post, #"{"colour":"red"}"#, .badRequest, "colour"),
                ("/api/incidents/\(id)/updates", .post, #"{"status":"closed","level":9}"#, .badRequest, "level"),
                ("/api/incidents/nope/updates", .post, #"{"note":"x"}"#, .notFound, "nope"),
            ]
            for (uri, method, body, status, word) in bad {
                try await client.execute(uri: uri, method: method, headers: auth, body: ByteBuffer(string: body)) { r in
                    #expect(r.status == status, "\(uri) \(body)")
                    #expect(errorMessage(r.body).contains(word), "\(uri) \(body): \(errorMessage(r.body))")
                }
            }
            try await client.execute(uri: "/api/incidents?status=open", method: .get) { r in #expect(r.status == .badRequest) }
            #expect(try s.store.contentDigest() == digest)

            // Updates: a note with a status change, on the timeline and in the audit log.
            try await client.execute(uri: "/api/incidents/\(id)/updates", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"responding","casualties":2,"note":"消防队已出动"}"#)) { r in
                #expect(r.status == .created)
                let t = try json(r.body)["timeline"]?.arrayValue ?? []
                #expect(t.count == 2)
                #expect(t.last?["kind"]?.stringValue == "status" && t.last?["note"]?.stringValue == "消防队已出动" && t.last?["actor"]?.stringValue == "user:alice")
                #expect(t.last?["changes"]?["status"] == .array([.string("reported"), .string("responding")]))
                #expect(t.last?["changes"]?["casualties"] == .array([.null, .number(2)]))
            }
            #expect(try s.store.audit(layer: "incidents", featureID: id).count == 2)
            // Back to "reported": refused with a sentence, nothing stored.
            let d2 = try s.store.contentDigest()
            try await client.execute(uri: "/api/incidents/\(id)/updates", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"reported"}"#)) { r in
                #expect(r.status == .unprocessableContent)
                #expect(errorMessage(r.body).contains("reported → responding → closed"))
            }
            #expect(try s.store.contentDigest() == d2)
            // Someone else changed it meanwhile: 412 says who, and carries the new state.
            try s.store.patch(layer: "incidents", id: id, changes: ["properties": ["level": 1]], ifVersion: nil, actor: "user:carol")
            try await client.execute(uri: "/api/incidents/\(id)", method: .patch, headers: with(auth, .ifMatch, "\"2\""), body: ByteBuffer(string: #"{"properties":{"casualties":3}}"#)) { r in
                #expect(r.status == .preconditionFailed)
                let e = try json(r.body)["error"]
                #expect(e?["message"]?.stringValue?.contains("changed by carol") == true)
                #expect(e?["current"]?["version"] == .number(3) && e?["current"]?["properties"]?["level"] == .number(1))
                #expect(e?["changed_by"]?.stringValue == "user:carol")
                #expect(r.headers[.eTag] == "\"3\"")
            }
            try await client.execute(uri: "/api/incidents/\(id)", method: .patch, headers: with(auth, .ifMatch, "\"3\""), body: ByteBuffer(string: #"{"properties":{"casualties":3},"note":"伤员已送医"}"#)) { r in
                #expect(r.status == .ok)
                let jb = try json(r.body); #expect(jb["timeline"]?.arrayValue?.last?["note"]?.stringValue == "伤员已送医")
            }
            try await client.execute(uri: "/api/incidents?status=responding", method: .get) { r in
                let jb = try json(r.body); #expect(jb["features"]?.arrayValue?.map { $0["id"]?.stringValue } == [id])
            }
            try await client.execute(uri: "/api/incidents?status=closed", method: .get) { r in let jb = try json(r.body); #expect(jb["features"]?.arrayValue?.isEmpty == true) }

            // Analysis: villages around with people, contacts (phones for signed-in readers only),
            // shelters, the nearest of each kind with routes, road risks on those routes.
            var analysis = JSONValue.null
            try await client.execute(uri: "/api/incidents/\(id)/analysis?radius=5000", method: .get, headers: auth) { r in
                #expect(r.status == .ok)
                analysis = try json(r.body)
            }
            let villages = analysis["villages"]?.arrayValue ?? []
            #expect(!villages.isEmpty && villages.allSatisfy { ($0["metres"]?.doubleValue ?? 1e9) <= 5000 || $0["in_hazard_zone"] == .bool(true) })
            #expect(analysis["at_risk"]?["people"]?.intValue == villages.reduce(0) { $0 + ($1["population"]?.intValue ?? 0) })
            let contacts = analysis["contacts"]?.arrayValue ?? []
            let codes = Set(villages.compactMap { $0["code"]?.stringValue })
            #expect(!contacts.isEmpty && contacts.allSatisfy { codes.contains($0["village"]?.stringValue ?? "") && $0["phone"]?.stringValue != nil })
            // Every information officer of those villages is listed (checked against the store).
            let officers = try s.store.all("info_officers").filter { codes.contains($0["village"]?.stringValue ?? "") }
            #expect(contacts.count == officers.count)
            for kind in ["fire_stations", "micro_fire_stations", "warehouses", "shelters"] {
                let hits = analysis["nearest"]?[kind]?.arrayValue ?? []
                #expect(hits.count == 3, "\(kind)")
                #expect(hits.allSatisfy { $0["eta_seconds"]?.doubleValue != nil && $0["route"]?["type"]?.stringValue == "LineString" })
            }
            #expect(analysis["nearest"]?["warehouses"]?.arrayValue?.first?["stock"]?.arrayValue?.isEmpty == false)
            // The same as /api/nearest for each kind.
            try await client.execute(uri: "/api/nearest?lon=82.98&lat=46.2&k=3", method: .get) { r in
                let n = try json(r.body)["resources"]?.arrayValue ?? []
                #expect(n.filter { $0["kind"]?.stringValue == "fire_stations" }.map { $0["id"] } == analysis["nearest"]?["fire_stations"]?.arrayValue?.map { $0["id"] })
            }
            try await client.execute(uri: "/api/incidents/\(id)/analysis", method: .get) { r in
                let jb = try json(r.body); #expect(jb["contacts"]?.arrayValue?.allSatisfy { $0["phone"] == .null && $0["name"] == .null } == true)
            }
            try await client.execute(uri: "/api/incidents/\(id)/analysis?radius=5", method: .get) { r in #expect(r.status == .badRequest) }

            // The brief: A4, read back with poppler.
            try await client.execute(uri: "/api/incidents/\(id)/brief.pdf", method: .get, headers: auth) { r in
                #expect(r.status == .ok && r.headers[.contentType] == "application/pdf")
                let pdf = dir.file("brief.pdf")
                try Data(r.body.readableBytesView).write(to: URL(fileURLWithPath: pdf))
                let info = try runProgram("/usr/bin/pdfinfo", [pdf]).out
                #expect(info.contains("595.28 x 841.89"), "A4: \(info)")
                let text = try runProgram("/usr/bin/pdftotext", ["-layout", pdf, "-"]).out
                // Level Ⅰ: carol's change above.
                #expect(text.contains("草场火情") && text.contains("等级：Ⅰ级") && text.contains("处置中"), "\(text.prefix(1500))")
                #expect(text.contains("最近救援力量") && text.contains("事件进展") && text.contains("伤员已送医"))
                for v in villages.prefix(3) { #expect(text.contains(v["name"]?.stringValue ?? "?")) }
                // Every contact's phone is printed, none dropped (tables continue on further pages).
                for c in contacts { #expect(text.contains(c["phone"]?.stringValue ?? "?"), "phone of \(c["id"]?.stringValue ?? "")") }
                for h in analysis["nearest"]?["fire_stations"]?.arrayValue ?? [] { #expect(text.contains(h["name"]?.stringValue ?? "?")) }
            }
        }
    }

    @Test func serverAssignedIDsAndShelterStatus() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let auth: HTTPFields = [.authorization: "Bearer \(try s.store.addUser(name: "e", role: .editor).token)"]
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var location = ""
            try await client.execute(uri: "/api/features/hazard_points", method: .post, headers: auth,
                                     body: ByteBuffer(string: #"{"type":"Feature","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"type":"landslide","level":3,"name":"新滑坡点"}}"#)) { r in
                #expect(r.status == .created)
                location = r.headers[.location] ?? ""
                let jb = try json(r.body); #expect(jb["id"]?.stringValue.map { location.hasSuffix("/" + $0) } == true)
            }
            #expect(location.hasPrefix("/api/features/hazard_points/hp-"))
            try await client.execute(uri: location, method: .get) { r in
                #expect(r.status == .ok)
                let jb = try json(r.body); #expect(jb["properties"]?["name"]?.stringValue == "新滑坡点")
            }
            // With an id: as before.
            try await client.execute(uri: "/api/features/hazard_points", method: .post, headers: auth,
                                     body: ByteBuffer(string: #"{"type":"Feature","id":"hp-mine","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"type":"landslide","level":3,"name":"x"}}"#)) { r in
                #expect(r.status == .created && r.headers[.location] == "/api/features/hazard_points/hp-mine")
            }
            try await client.execute(uri: "/api/features/hazard_points", method: .post, headers: auth,
                                     body: ByteBuffer(string: #"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[82.9,46.2]},"properties":{"type":"flood","level":4,"name":"a"}},{"type":"Feature","geometry":{"type":"Point","coordinates":[82.91,46.2]},"properties":{"type":"flood","level":4,"name":"b"}}]}"#)) { r in
                #expect(r.status == .created)
                let ids = try json(r.body)["created"]?.arrayValue ?? []
                #expect(ids.count == 2 && Set(ids.compactMap(\.stringValue)).count == 2)
            }
            // Shelter status and occupancy.
            try await client.execute(uri: "/api/shelters/sh-001/status", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"full","occupancy":350}"#)) { r in
                #expect(r.status == .ok)
                let p = try json(r.body)["properties"]
                #expect(p?["status"]?.stringValue == "full" && p?["occupancy"] == .number(350))
            }
            let digest = try s.store.contentDigest()
            for body in [#"{"status":"overflowing"}"#, #"{"occupancy":-1}"#, #"{"occupancy":1.5}"#, #"{}"#] {
                try await client.execute(uri: "/api/shelters/sh-001/status", method: .post, headers: auth, body: ByteBuffer(string: body)) { r in
                    #expect(r.status == .badRequest, "\(body)")
                    #expect(!errorMessage(r.body).isEmpty)
                }
            }
            #expect(try s.store.contentDigest() == digest)
        }
    }

    /// Incidents are records: only an admin deletes one, its id is never reused (the timeline stays
    /// with it); anonymous readers see no account names; undeclared properties are not public.
    @Test func incidentRecordsAndPrivacy() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let editor: HTTPFields = [.authorization: "Bearer \(try s.store.addUser(name: "alice", role: .editor).token)"]
        let admin: HTTPFields = [.authorization: "Bearer \(try s.store.addUser(name: "root", role: .admin).token)"]
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            var id = ""
            try await client.execute(uri: "/api/incidents", method: .post, headers: editor, body: ByteBuffer(string: Self.incidentBody)) { r in
                id = try json(r.body)["id"]?.stringValue ?? ""
            }
            try await client.execute(uri: "/api/incidents/\(id)/updates", method: .post, headers: editor, body: ByteBuffer(string: #"{"note":"到场"}"#)) { #expect($0.status == .created) }
            // Anonymous: no reported_by, no accounts on the timeline.
            try await client.execute(uri: "/api/incidents/\(id)", method: .get) { r in
                let j = try json(r.body)
                #expect(j["properties"]?["reported_by"] == nil)
                #expect(j["timeline"]?.arrayValue?.allSatisfy { $0["actor"] == .null } == true)
                #expect(j["timeline"]?.arrayValue?.count == 2)
            }
            try await client.execute(uri: "/api/incidents", method: .get) { r in
                let jb = try json(r.body)
                #expect(jb["features"]?.arrayValue?.allSatisfy { $0["properties"]?["reported_by"] == nil } == true)
            }
            try await client.execute(uri: "/api/incidents/\(id)", method: .get, headers: editor) { r in
                let j = try json(r.body)
                #expect(j["properties"]?["reported_by"]?.stringValue == "alice")
                #expect(j["timeline"]?.arrayValue?.last?["actor"]?.stringValue == "user:alice")
            }
            try await client.execute(uri: "/api/incidents/\(id)/brief.pdf", method: .get) { r in
                let pdf = dir.file("anon.pdf")
                try Data(r.body.readableBytesView).write(to: URL(fileURLWithPath: pdf))
                let text = try runProgram("/usr/bin/pdftotext", ["-layout", pdf, "-"]).out
                #expect(!text.contains("alice"), "an account name in the anonymous brief")
            }
            // A title too long for any list or page.
            try await client.execute(uri: "/api/incidents/\(id)/updates", method: .post, headers: editor, body: ByteBuffer(string: "{\"title\":\"\(String(repeating: "火", count: 201))\"}")) { r in
                #expect(r.status == .badRequest)
                #expect(errorMessage(r.body).contains("at most 200"))
            }
            // Deleting: not for editors; an admin may, and the id is never given again.
            try await client.execute(uri: "/api/features/incidents/\(id)", method: .delete, headers: editor) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/api/features/incidents/\(id)", method: .delete, headers: admin) { #expect($0.status == .noContent) }
            let again = Self.incidentBody.replacingOccurrences(of: #"{"type":"Feature","#, with: "{\"type\":\"Feature\",\"id\":\"\(id)\",")
            let digest = try s.store.contentDigest()
            try await client.execute(uri: "/api/incidents", method: .post, headers: editor, body: ByteBuffer(string: again)) { r in
                #expect(r.status == .conflict)
                #expect(errorMessage(r.body).contains("was used before"))
            }
            #expect(try s.store.contentDigest() == digest)
            #expect(try s.store.incidentTimeline(id).last?.kind == "deleted")
            // A property the layer does not declare may hold anything: not shown to anonymous readers.
            try await client.execute(uri: "/api/features/hazard_points/hp-0001", method: .patch, headers: editor, body: ByteBuffer(string: #"{"properties":{"monitor_phone":"0901-0000000"}}"#)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/features/hazard_points/hp-0001", method: .get) { r in
                #expect(!String(buffer: r.body).contains("0901-0000000"))
            }
            try await client.execute(uri: "/api/features/hazard_points/hp-0001", method: .get, headers: editor) { r in
                #expect(String(buffer: r.body).contains("0901-0000000"))
            }
        }
    }

    /// Active incidents are drawn on the command tiles (a red diamond); a closed one is not.
    @Test func incidentsOnTheCommandTiles() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let auth: HTTPFields = [.authorization: "Bearer \(try s.store.addUser(name: "e", role: .editor).token)"]
        let app = buildApplication(services: s, logger: quiet)
        let z = 14, n = Double(1 << z), lon = 82.98, lat = 46.2
        let x = Int((lon + 180) / 360 * n), y = Int((1 - log(tan(lat * .pi / 180) + 1 / cos(lat * .pi / 180)) / .pi) / 2 * n)
        try await app.test(.live) { client in
            func tile() async throws -> [UInt8] {
                try await client.execute(uri: "/tiles/command/\(z)/\(x)/\(y).png", method: .get) { r in
                    #expect(r.status == .ok)
                    return Array(r.body.readableBytesView)
                }
            }
            let before = try await tile()
            var id = ""
            try await client.execute(uri: "/api/incidents", method: .post, headers: auth, body: ByteBuffer(string: Self.incidentBody)) { r in
                id = try json(r.body)["id"]?.stringValue ?? ""
            }
            let with = try await tile()
            #expect(with != before, "the incident is not drawn on its tile")
            // Red pixels where there were none: the diamond.
            let a = PNGPixels(png: before), b = PNGPixels(png: with)
            func reds(_ p: PNGPixels) -> Int {
                var n = 0
                for yy in 0..<p.height { for xx in 0..<p.width {
                    let v = p.data[yy * p.width + xx]
                    let r = Int((v >> 16) & 0xff), g = Int((v >> 8) & 0xff), bl = Int(v & 0xff)
                    if r > 190 && g < 40 && bl < 40 { n += 1 }
                } }
                return n
            }
            // (Pixels red now that were not: a road-closed sign may be red nearby already.)
            let newlyRed = zip(a.data, b.data).filter { old, new in
                func red(_ v: UInt32) -> Bool { Int((v >> 16) & 0xff) > 190 && Int((v >> 8) & 0xff) < 40 && Int(v & 0xff) < 40 }
                return red(new) && !red(old)
            }.count
            #expect(newlyRed > 40, "the incident diamond is not drawn: \(newlyRed) pixels turned red (\(reds(a)) → \(reds(b)))")
            try await client.execute(uri: "/api/incidents/\(id)/updates", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"closed","note":"已扑灭"}"#)) { #expect($0.status == .created) }
            #expect(try await tile() == before, "a closed incident is still drawn")
        }
    }

    /// The live stream: every change as an event with layer, id, bbox and version; a client
    /// reconnecting with Last-Event-ID gets what it missed, in order; a foreign id gets "reset".
    @Test func eventsReplayWithLastEventID() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        let auth: HTTPFields = [.authorization: "Bearer \(try s.store.addUser(name: "e", role: .editor).token)"]
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            let url = "http://127.0.0.1:\(client.port!)/api/events"
            func events(_ extra: [String], seconds: String) async throws -> [(event: String, id: String, data: JSONValue)] {
                let out = try await runProgramCapturingDetached("/usr/bin/curl", ["-s", "-N", "-m", seconds] + extra + [url]).out
                return out.components(separatedBy: "\n\n").compactMap { frame in
                    var e = "", i = "", d = ""
                    for line in frame.split(separator: "\n") {
                        if line.hasPrefix("event: ") { e = String(line.dropFirst(7)) }
                        if line.hasPrefix("id: ") { i = String(line.dropFirst(4)) }
                        if line.hasPrefix("data: ") { d = String(line.dropFirst(6)) }
                    }
                    guard !e.isEmpty, let j = try? JSONParser.parse(d) else { return nil }
                    return (e, i, j)
                }
            }
            // curl reads each stream for a few seconds (the stream never ends by itself); generous
            // so a loaded machine still delivers within it.
            let hello = try await events([], seconds: "3")
            #expect(hello.first?.event == "hello")
            let lastID = try #require(hello.first?.id)
            // While this screen is away, three edits happen.
            try await client.execute(uri: "/api/road_risks/rr-001/status", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"closed","note":"风吹雪"}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/shelters/sh-002/status", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"open","occupancy":12}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/warehouses/wh-001/stock", method: .post, headers: auth, body: ByteBuffer(string: #"{"item":"帐篷","delta":-5}"#)) { #expect($0.status == .ok) }
            let replay = try await events(["-H", "Last-Event-ID: \(lastID)"], seconds: "4").filter { $0.event != "hello" }
            try #require(replay.map(\.event) == ["road_risk", "shelter", "stock"])
            #expect(replay.map { $0.data["id"]?.stringValue } == ["rr-001", "sh-002", "wh-001"])
            #expect(replay.allSatisfy { $0.data["bbox"]?.arrayValue?.count == 4 && $0.data["version"]?.intValue ?? 0 >= 2 && $0.data["tile_version"]?.stringValue != nil })
            #expect(replay[0].data["properties"]?["status"]?.stringValue == "closed")
            #expect(replay[1].data["properties"]?["occupancy"] == .number(12))
            let seqs = replay.compactMap { Int($0.id.split(separator: ".").last ?? "") }
            #expect(seqs == seqs.sorted() && Set(seqs).count == 3)
            // Resuming from the second: only the third.
            let rest = try await events(["-H", "Last-Event-ID: \(replay[1].id)"], seconds: "3").filter { $0.event != "hello" }
            #expect(rest.map(\.event) == ["stock"])
            // The query parameter works as well (EventSource polyfills, curl users).
            let viaQuery = try await runProgramCapturingDetached("/usr/bin/curl", ["-s", "-N", "-m", "3", url + "?last_event_id=\(replay[1].id)"]).out
            #expect(viaQuery.contains("event: stock"))
            // An id of other content: one "reset" event.
            let foreign = try await events(["-H", "Last-Event-ID: abc.3"], seconds: "3")
            #expect(foreign.map(\.event).contains("reset"))
            #expect(foreign.first { $0.event == "reset" }?.data["tile_version"]?.stringValue != nil)
            let generation = lastID.split(separator: ".")[0]
            let negative = try await events(["-H", "Last-Event-ID: \(generation).-5"], seconds: "2")
            #expect(negative.map(\.event).contains("reset") && !negative.contains { $0.event == "road_risk" })
            #expect(replay.allSatisfy { $0.data["actor"] == nil }, "account names on the public stream")
            // Live: a change made while the stream is open arrives on it.
            // (From the last id seen, so a curl that connects late still gets it.)
            async let live = events(["-H", "Last-Event-ID: \(replay[2].id)"], seconds: "5")
            try await Task.sleep(for: .milliseconds(1500))
            try await client.execute(uri: "/api/road_risks/rr-001/status", method: .post, headers: auth, body: ByteBuffer(string: #"{"status":"open"}"#)) { #expect($0.status == .ok) }
            let got = try await live
            #expect(got.contains { $0.event == "road_risk" && $0.data["properties"]?["status"]?.stringValue == "open" })
        }
    }

    /// Two screens in headless Chromium (Playwright, two browser contexts): A (editor) closes a
    /// road from the map, B (viewer) sees the closure and its changed nearest route without
    /// reloading; A reports an incident, B's list shows it.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") && FileManager.default.isExecutableFile(atPath: repoRoot + "/.venv/bin/python")))
    func twoScreensInChromium() async throws {
        let dir = TempDir()
        let s = try makeServices(dir)
        _ = try s.store.addUser(name: "dispatcher", role: .editor)
        _ = try s.store.addUser(name: "leader", role: .viewer)
        try s.store.setPassword(name: "dispatcher", password: "dispatch-123")
        try s.store.setPassword(name: "leader", password: "leader-1234")
        let app = buildApplication(services: s, logger: quiet)
        try await app.test(.live) { client in
            let r = try await runProgramCapturingDetached(repoRoot + "/.venv/bin/python",
                                                          [repoRoot + "/Tests/Browser/two_screens.py", "http://127.0.0.1:\(client.port!)", "dispatcher", "dispatch-123", "leader", "leader-1234"])
            let line = r.out.split(separator: "\n").last.map(String.init) ?? ""
            print("two screens: \(line)")
            let j = try JSONParser.parse(line.isEmpty ? "{}" : line)
            #expect(r.status == 0 && j["ok"] == .bool(true), "\(line)\n\(r.err.suffix(3000))")
            #expect(j["route_before"] != j["route_after"])
            // How fast is a goal measured in Benchmarks/live.sh (≤ 1 s); here only that B follows
            // live, not by the tiles' 5-minute age nor a reload (5 s leaves room for a loaded CI machine).
            let closure = j["closure_seen_ms"]?.doubleValue ?? .infinity
            #expect(closure >= 0 && closure <= 5000, "screen B showed the closure and the new route \(closure) ms after screen A's write")
            let incident = j["incident_seen_ms"]?.doubleValue ?? .infinity
            #expect(incident >= 0 && incident <= 5000, "screen B listed the new incident \(incident) ms after screen A's report")
        }
    }
}
