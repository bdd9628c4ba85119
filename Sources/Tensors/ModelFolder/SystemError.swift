#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An `errno` value, described as the system's sentence followed by its symbolic name:
/// `No space left on device, ENOSPC`. The name is what a user searches for and what tells a full
/// disk (ENOSPC) from a quota (EDQUOT) or a read-only mount (EROFS) whatever the locale.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int32

    public init(_ code: Int32) {
        self.code = code
    }

    /// The calling thread's `errno`.
    public static var current: SystemError { SystemError(errno) }

    /// The symbolic name (`ENOSPC`), or `errno 123` for a code outside the table.
    public var name: String {
        Self.names.first { $0.code == code }?.name ?? "errno \(code)"
    }

    public var description: String { "\(String(cString: strerror(code))), \(name)" }

    /// The code of a symbolic name from the table (`"ENOSPC"`), for `AMALGAM_FAULT`.
    public init?(name: String) {
        guard let entry = Self.names.first(where: { $0.name == name }) else { return nil }
        code = entry.code
    }

    /// The codes a write, a file creation, a rename or a directory creation can fail with.
    static let names: [(code: Int32, name: String)] = [
        (EPERM, "EPERM"), (ENOENT, "ENOENT"), (EINTR, "EINTR"), (EIO, "EIO"), (EBADF, "EBADF"),
        (EAGAIN, "EAGAIN"), (ENOMEM, "ENOMEM"), (EACCES, "EACCES"), (EBUSY, "EBUSY"), (EEXIST, "EEXIST"),
        (EXDEV, "EXDEV"), (ENOTDIR, "ENOTDIR"), (EISDIR, "EISDIR"), (EINVAL, "EINVAL"), (ENFILE, "ENFILE"),
        (EMFILE, "EMFILE"), (ETXTBSY, "ETXTBSY"), (EFBIG, "EFBIG"), (ENOSPC, "ENOSPC"), (EROFS, "EROFS"),
        (EMLINK, "EMLINK"), (ENAMETOOLONG, "ENAMETOOLONG"), (ENOTEMPTY, "ENOTEMPTY"), (ELOOP, "ELOOP"),
        (EOPNOTSUPP, "EOPNOTSUPP"), (EDQUOT, "EDQUOT"), (ESTALE, "ESTALE"),
    ]
}
