/// What kind of failure an error is, independent of the module that threw it.
///
/// The HTTP funnel (`OneMapServer`'s `JSONErrorMiddleware`) and the CLI funnel (`reportingErrors`)
/// each map a category to a status or exit code in one switch; nothing chooses a status by
/// reading an error's message.
public enum ErrorCategory: String, Sendable, CaseIterable {
    /// The request or file is malformed or breaks a rule (HTTP 400, exit 65 `EX_DATAERR`).
    case badInput
    /// Well-formed, but this data cannot answer it (an incident too far from any road) (HTTP 422, exit 65).
    case unprocessable
    /// A named thing (layer, feature, style, user, file) does not exist (HTTP 404, exit 66 `EX_NOINPUT`).
    case notFound
    /// The change clashes with what is stored (a duplicate id, a feature still referred to) (HTTP 409, exit 65).
    case conflict
    /// The caller's version (If-Match) is not the stored one (HTTP 412, exit 65).
    case preconditionFailed
    /// Busy or missing a resource right now; trying again later may work (HTTP 503, exit 69 `EX_UNAVAILABLE`).
    case unavailable
    /// The disk is full: nothing was written (HTTP 507 Insufficient Storage, exit 74 `EX_IOERR`).
    case insufficientStorage
    /// A fault of onemap or its libraries (HTTP 500, exit 70 `EX_SOFTWARE`).
    case `internal`

    /// The process exit status for this category (BSD `sysexits.h`).
    public var exitCode: Int32 {
        switch self {
        case .badInput, .unprocessable, .conflict, .preconditionFailed: 65
        case .notFound: 66
        case .unavailable: 69
        case .insufficientStorage: 74
        case .internal: 70
        }
    }
}

/// An error onemap can explain: a category for the funnels and a sentence for the user
/// (`description`, which says what is wrong and, where it can, what to do).
public protocol OneMapError: Error, Sendable, CustomStringConvertible {
    var category: ErrorCategory { get }
}

extension ErrorCategory {
    /// The category of any error: its own when it is a `OneMapError`, else `.internal`.
    public static func of(_ error: any Error) -> ErrorCategory {
        (error as? any OneMapError)?.category ?? .internal
    }
}
