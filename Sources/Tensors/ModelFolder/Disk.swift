#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file or folder the system refused to write, with the call's errno:
/// `out/config.json: could not be written (No space left on device, ENOSPC)`.
public struct WriteError: LocatedError, Equatable {
    public let file: String
    public var field: String? { nil }
    /// What could not be done: "could not be written", "could not be created".
    public let failure: String
    public let error: SystemError

    public init(file: String, _ error: SystemError, failure: String = "could not be written") {
        self.file = file
        self.failure = failure
        self.error = error
    }

    public var message: String { "\(failure) (\(error))" }
}

/// The system calls that write model folders, recipes and run files, each passing through
/// `DiskFault` (so tests reach every failure without a full disk), and the whole-file writes built
/// on them. Each wrapper returns what the system call returns and sets `errno` on failure.
public enum Disk {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) -> Int32 {
        if let code = DiskFault.current?.refuses(.open, path: path)?.code { return fail(code) }
        #if canImport(Glibc)
        return Glibc.open(path, flags, mode)
        #else
        return Darwin.open(path, flags, mode)
        #endif
    }

    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, at offset: Int, path: String) -> Int {
        var count = count
        if let fault = DiskFault.current {
            switch fault.admits(count, path: path) {
            case .success(let allowed): count = allowed
            case .failure(let error): return fail(error.code)
            }
        }
        #if canImport(Glibc)
        return Glibc.pwrite(fd, buffer, count, off_t(offset))
        #else
        return Darwin.pwrite(fd, buffer, count, off_t(offset))
        #endif
    }

    static func fsync(_ fd: Int32, path: String) -> Int32 {
        if let code = DiskFault.current?.refuses(.fsync, path: path)?.code { return fail(code) }
        #if canImport(Glibc)
        return Glibc.fsync(fd)
        #else
        return Darwin.fsync(fd)
        #endif
    }

    static func rename(_ source: String, _ destination: String) -> Int32 {
        if let code = DiskFault.current?.refuses(.rename, path: destination)?.code { return fail(code) }
        #if canImport(Glibc)
        return Glibc.rename(source, destination)
        #else
        return Darwin.rename(source, destination)
        #endif
    }

    static func mkdir(_ path: String, _ mode: mode_t = 0o755) -> Int32 {
        if let code = DiskFault.current?.refuses(.mkdir, path: path)?.code { return fail(code) }
        #if canImport(Glibc)
        return Glibc.mkdir(path, mode)
        #else
        return Darwin.mkdir(path, mode)
        #endif
    }

    private static func fail<T: SignedInteger>(_ code: Int32) -> T {
        errno = code
        return -1
    }

    /// pwrite until all of `bytes` is written; the errno of the call that failed.
    static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) -> Result<Void, SystemError> {
        guard let base = bytes.baseAddress else { return .success(()) }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, at: offset + done, path: path)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.current)
            }
            // A write of nothing that reports no error is the device's way of saying it is full.
            if n == 0 { return .failure(SystemError(ENOSPC)) }
            done += n
        }
        return .success(())
    }

    /// Writes `bytes` as the whole file `path` and flushes it to disk. Errors name `reportedAs`
    /// (the file's final name when `path` is inside a staging folder), else `path`.
    public static func writeFile(_ bytes: [UInt8], to path: String, reportedAs: String? = nil) throws(WriteError) {
        let name = reportedAs ?? path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(file: name, .current) }
        var closed = false
        defer { if !closed { _ = close(fd) } }
        if case .failure(let error) = bytes.withUnsafeBytes({ writeFully(fd, $0, at: 0, path: path) }) {
            throw WriteError(file: name, error)
        }
        guard fsync(fd, path: path) == 0 else { throw WriteError(file: name, .current) }
        closed = true
        guard close(fd) == 0 else { throw WriteError(file: name, .current) }
    }

    /// Writes `bytes` as the file `path` in one step: into a hidden temporary file beside it,
    /// flushed, then renamed over `path`, so a full disk leaves the old file (or none), never half
    /// a file. Missing parent folders are created; on failure the temporary file is removed.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(WriteError) {
        let url = URL(fileURLWithPath: path)
        let parent = url.deletingLastPathComponent().path
        try makeDirectories(parent)
        let temporary = parent + "/." + url.lastPathComponent + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(WriteError) {
            try writeFile(bytes, to: temporary, reportedAs: path)
            guard rename(temporary, path) == 0 else { throw WriteError(file: path, .current) }
        } catch {
            unlink(temporary)
            throw error
        }
        syncDirectory(parent)
    }

    /// Creates `path` and any missing parents; returns the folders it created, outermost first.
    @discardableResult
    public static func makeDirectories(_ path: String) throws(WriteError) -> [String] {
        var created: [String] = []
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty && !path.hasPrefix("/") ? "" : "/") + component
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory), isDirectory.boolValue { continue }
            if mkdir(prefix) == 0 {
                created.append(prefix)
                continue
            }
            let error = SystemError.current
            if error.code == EEXIST, FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory), isDirectory.boolValue { continue }
            for folder in created.reversed() { rmdir(folder) }
            throw WriteError(file: prefix, error, failure: "could not be created")
        }
        return created
    }

    /// Flushes a folder's entries (a rename or a new file in it) to disk. Best effort, and not
    /// subject to `DiskFault`: the files are complete and flushed under their final names already.
    static func syncDirectory(_ path: String) {
        #if canImport(Glibc)
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = Glibc.fsync(fd)
        #else
        let fd = Darwin.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = Darwin.fsync(fd)
        #endif
        close(fd)
    }
}
