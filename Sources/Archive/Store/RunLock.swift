import Foundation

/// An advisory lock on a run folder (`flock` on `RUN/archive.lock`), held by the one process that
/// searches or resumes the run, so a second `search` or `resume` of it refuses instead of writing
/// beside the first. The kernel releases it when the process ends, however it ends (a `kill -9`
/// leaves no stale lock). Readers (`status`, `front`, `export`) do not take it.
///
/// A class because it owns the file descriptor (closed, and the lock released, in `deinit`).
public final class RunLock {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock or throws, naming the run, when another process holds it.
    public init(runFolder: String) throws {
        path = runFolder + "/archive.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError(file: path, "cannot open the lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno == EWOULDBLOCK
                ? "another amalgam process is searching this run; wait for it to stop (or stop it) before resuming"
                : "cannot lock: \(String(cString: strerror(errno)))"
            close(fd)
            throw ArchiveError(file: runFolder, reason)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        descriptor = fd
    }

    /// Whether a search may be writing `runFolder` now, from the pid the lock's holder wrote.
    /// Never touches the lock itself (taking even a shared lock to test it could make a `resume`
    /// starting at that instant refuse). A lock file being rewritten (empty for an instant) counts
    /// as held, and a reused pid can make a dead search look alive; a search in another pid
    /// namespace looks dead, so a watcher should see it missing twice before it believes it.
    public static func mayBeHeld(runFolder: String) -> Bool {
        guard let text = try? String(contentsOfFile: runFolder + "/archive.lock", encoding: .utf8) else { return false }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return true }
        guard let pid = Int32(trimmed), pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
