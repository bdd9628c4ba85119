import Foundation

/// A crash at an exact point, for tests of resume (DESIGN.md §4): `AMALGAM_FAILPOINT=after-commit:N`
/// ends the process right after the archive's N-th write transaction commits, `before-commit:N`
/// right before it commits (the transaction is lost, as with a kill at that moment). The process
/// exits with status 86 without running any cleanup, as `kill -9` would leave it.
public struct Failpoint: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case afterCommit = "after-commit"
        case beforeCommit = "before-commit"
    }

    public let kind: Kind
    public let count: Int

    public static let exitStatus: Int32 = 86

    public static func fromEnvironment() -> Failpoint? {
        guard let text = ProcessInfo.processInfo.environment["AMALGAM_FAILPOINT"] else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])), let count = Int(parts[1]), count > 0 else { return nil }
        return Failpoint(kind: kind, count: count)
    }

    func crash() -> Never {
        _exit(Self.exitStatus)
    }
}
