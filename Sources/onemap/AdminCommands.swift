import ArgumentParser
import Foundation
import OneMapCore
import OneMapStore


struct User: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accounts: viewer, editor, admin.", subcommands: [UserAdd.self, UserPasswd.self, UserList.self, UserRemove.self])
}

struct UserAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add an account; its token is printed once (only a salted hash is kept).")
    @Argument var name: String
    @Option(help: "viewer, editor or admin") var role = "viewer"
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        guard let r = Role(rawValue: role) else {
            throw CLIError("--role must be viewer, editor or admin, got \"\(role)\"")
        }
        try reportingErrors {
            let (a, token) = try store.open().addUser(name: name, role: r)
            print("added \(a.name) (\(a.role.rawValue)). Token — shown only now, keep it secret:")
            print(token)
        }
    }
}

/// Sets the password an account signs in to the web map with (bcrypt; its open sessions end).
struct UserPasswd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Set an account's web-map password (8–72 bytes), read from standard input (asked for without echo on a terminal).")
    @Argument var name: String
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        let password: String
        if isatty(STDIN_FILENO) == 1 {
            guard let p = getpass("password for \(name): ") else { throw CLIError("no password given") }
            let first = String(cString: p)
            guard let q = getpass("again: "), String(cString: q) == first else { throw CLIError("the two passwords differ; nothing was changed") }
            password = first
        } else {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("give the password on standard input, e.g. echo \"$PW\" | onemap user passwd \(name)") }
            password = line
        }
        try reportingErrors {
            try store.open().setPassword(name: name, password: password)
            print("password set for \(name); they sign in at the web map (their earlier sessions ended)")
        }
    }
}

struct UserList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list")
    @OptionGroup var store: StoreOptions
    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        try reportingErrors { print(table(["name", "role", "id", "created"], try store.open().users().map { [$0.name, $0.role.rawValue, $0.id, $0.createdAt] })) }
    }
}

struct UserRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove")
    @Argument var name: String
    @OptionGroup var store: StoreOptions
    func run() throws { try reportingErrors { try store.open().removeUser(name: name); print("removed \(name)") } }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Who changed what and when, newest first.")
    @Option var layer: String?
    @Option var feature: String?
    @Option var limit = 50
    @Flag(help: "JSON output with before and after.") var json = false
    @OptionGroup var store: StoreOptions

    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        try reportingErrors {
            let rows = try store.open().audit(layer: layer, featureID: feature, limit: limit)
            if json {
                for e in rows {
                    print(JSONWriter.string(["seq": .number(Double(e.seq)), "at": .string(e.at), "actor": .string(e.actor), "action": .string(e.action),
                                             "layer": .string(e.layer), "feature_id": e.featureID.map { .string($0) } ?? .null, "before": e.before ?? .null, "after": e.after ?? .null,
                                             "note": e.note.map { .string($0) } ?? .null]))
                }
                return
            }
            print(table(["#", "at", "actor", "action", "layer", "feature"], rows.map { [String($0.seq), $0.at, $0.actor, $0.action, $0.layer, $0.featureID ?? $0.note ?? ""] }))
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy the store to a file while the server keeps writing (SQLite online backup).")
    @Option(name: .shortAndLong) var out: String
    @OptionGroup var store: StoreOptions
    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        try reportingErrors {
            let t0 = Date()
            try store.open().backup(to: out)
            print(String(format: "backed up %@ to %@ in %.2f s", store.db, out, Date().timeIntervalSince(t0)))
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the store's content with a checked backup.",
        discussion: """
        Refused while a server uses the store: restore through the server instead (POST /api/admin/restore, \
        admin token), so its tiles and routes follow at once. The replaced content is kept beside the store \
        (<store>.before-restore-<time>.sqlite), and the report says how many edits the backup lacks.
        """)
    @Argument(help: "The backup file.") var file: String
    @OptionGroup var store: StoreOptions
    func run() throws { try reportingErrors(execute) }

    func execute() throws {
        try reportingErrors {
            let s = try store.open()
            guard let lock = try StoreLock.exclusive(for: store.db) else {
                throw CLIError(.unavailable, "a server is using \(store.db); restore through it (POST /api/admin/restore with an admin token) or stop it first — a restore under a running server would drop the edits it acknowledged after the backup without telling anyone")
            }
            let report = try withExtendedLifetime(lock) { try s.restore(from: file) }
            print(report.description)
        }
    }
}
