import Foundation

/// An advisory lock beside a store (`<store>.lock`, flock(2)) that tells an offline restore that
/// a server is using the store. Servers hold it shared for as long as they run (several servers
/// may share a store); `onemap restore` needs it exclusively and refuses otherwise, pointing to
/// the server's online restore (`POST /api/admin/restore`).
///
/// flock locks belong to the open file description, so two locks taken in one process conflict
/// like locks of two processes; closing the descriptor (deinit, or the process ending, even by
/// SIGKILL) releases it.
public final class StoreLock: Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) { self.fd = fd; self.path = path }
    deinit { close(fd) }

    /// The lock file's path for a store.
    public static func path(for store: String) -> String { store + ".lock" }

    /// Takes the lock shared (a server starting), waiting while a restore holds it.
    /// Throws `StoreError(.unavailable)` when the lock file cannot be made.
    public static func shared(for store: String) throws(StoreError) -> StoreLock {
        let l = try open(store)
        while flock(l.fd, LOCK_SH) != 0 {
            guard errno == EINTR else { throw StoreError(.unavailable, "cannot lock \(l.path): \(String(cString: strerror(errno)))") }
        }
        return l
    }

    /// Takes the lock exclusively without waiting (an offline restore); nil while anyone else holds it.
    public static func exclusive(for store: String) throws(StoreError) -> StoreLock? {
        let l = try open(store)
        return flock(l.fd, LOCK_EX | LOCK_NB) == 0 ? l : nil
    }

    private static func open(_ store: String) throws(StoreError) -> StoreLock {
        let p = path(for: store)
        let fd = Foundation.open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError(.unavailable, "cannot open the lock file \(p): \(String(cString: strerror(errno)))") }
        return StoreLock(fd: fd, path: p)
    }
}
