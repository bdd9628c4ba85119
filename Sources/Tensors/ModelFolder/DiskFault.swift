import Foundation
import Synchronization

/// A full or read-only disk on demand, for tests that cannot mount one (DESIGN.md §4, "Failure is
/// data"): `AMALGAM_FAULT`, read once per process, makes the calls in `Disk` fail as the kernel
/// would.
///
/// `AMALGAM_FAULT=OP:ERRNO[:AFTER][@DIR]`
/// - `OP` is `mkdir`, `open` (creating a file), `write`, `fsync`, `rename`, or `any` of them;
/// - `ERRNO` a symbolic name: `ENOSPC`, `EROFS`, `EDQUOT`, `EIO`, …;
/// - `AFTER` (default 0) how much succeeds first: bytes for `write` (the write that crosses the
///   limit is short, as on a disk that fills up), calls for the others;
/// - `DIR` limits the fault to paths under that folder, as if a disk were mounted there
///   (compared as text, after making a relative path absolute).
///
/// `write:ENOSPC@/tmp/x` is a full disk at /tmp/x, `any:EROFS@/tmp/x` a read-only one,
/// `fsync:EIO:2` a disk whose third flush fails. `posix_fallocate` is not intercepted: a real
/// full file system (a small tmpfs) exercises it.
///
/// `AMALGAM_FAULT=archive:SQLITE_FULL:PAGES` instead caps a search's archive at PAGES database
/// pages (`PRAGMA max_page_count`), so SQLite itself fails a write with SQLITE_FULL as on a
/// full disk; without the variable `resume` then runs uncapped.
///
/// Only Amalgam's own writes of model folders, recipes and run files pass through it; SQLite's
/// writes do not. A class because it holds the running count of what has succeeded.
public final class DiskFault: Sendable {
    public enum Operation: String, Sendable {
        case mkdir, open, write, fsync, rename, any
    }

    public let operation: Operation
    public let error: SystemError
    public let after: Int
    public let directory: String?
    private let used = Atomic<Int>(0)

    public init(operation: Operation, error: SystemError, after: Int = 0, directory: String? = nil) {
        self.operation = operation
        self.error = error
        self.after = after
        self.directory = directory.map { Self.absolute($0).trimmingTrailingSlashes }
    }

    /// What `AMALGAM_FAULT` asks for, parsed once.
    public enum Setting: Sendable {
        case disk(DiskFault)
        case archivePages(Int)
    }

    public static let environment: Setting? = ProcessInfo.processInfo.environment["AMALGAM_FAULT"].flatMap(parse)

    /// The file-system fault in force, if any.
    public static var current: DiskFault? {
        if case .disk(let fault)? = environment { fault } else { nil }
    }

    /// The page cap of a search's archive, if `AMALGAM_FAULT` sets one.
    public static var archivePageLimit: Int? {
        if case .archivePages(let pages)? = environment { pages } else { nil }
    }

    /// Reads the variable's text; nil when it is not of the documented form.
    public static func parse(_ text: String) -> Setting? {
        let (spec, directory) = text.firstIndex(of: "@").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) } ?? (text, nil)
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let after = parts.count == 3 ? Int(parts[2]) : 0
        guard let after, after >= 0 else { return nil }
        if parts[0] == "archive" {
            guard parts[1] == "SQLITE_FULL", parts.count == 3, after > 0, directory == nil else { return nil }
            return .archivePages(after)
        }
        guard let operation = Operation(rawValue: parts[0]), let error = SystemError(name: parts[1]) else { return nil }
        return .disk(DiskFault(operation: operation, error: error, after: after, directory: directory.flatMap { $0.isEmpty ? nil : $0 }))
    }

    /// The error `operation` on `path` fails with now, or nil when it goes through.
    func refuses(_ operation: Operation, path: String) -> SystemError? {
        guard self.operation == operation || self.operation == .any, covers(path) else { return nil }
        return used.wrappingAdd(1, ordering: .relaxed).oldValue >= after ? error : nil
    }

    /// How many of `bytes` a write to `path` may write now (fewer when it crosses the limit), or
    /// the error it fails with.
    func admits(_ bytes: Int, path: String) -> Result<Int, SystemError> {
        guard operation == .write else { return refuses(.write, path: path).map { .failure($0) } ?? .success(bytes) }
        guard covers(path) else { return .success(bytes) }
        let before = used.wrappingAdd(bytes, ordering: .relaxed).oldValue
        return before >= after ? .failure(error) : .success(min(bytes, after - before))
    }

    private func covers(_ path: String) -> Bool {
        guard let directory else { return true }
        let path = Self.absolute(path)
        return path == directory || path.hasPrefix(directory + "/")
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

extension String {
    fileprivate var trimmingTrailingSlashes: String {
        var text = self
        while text.count > 1, text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
