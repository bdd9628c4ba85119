#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A small file system for tests of full and read-only output: a tmpfs mounted at a fresh folder
/// when the tests run as root, unmounted (lazily, so a file still open cannot keep it mounted)
/// and removed when released.
///
/// Where it cannot be mounted (not root, mount(2) refused, or `AMALGAM_TEST_NO_MOUNT` set) the
/// folder is an ordinary one, `environment` carries the `AMALGAM_FAULT` that fails Amalgam's
/// writes under it the same way, and the reason is printed: the write paths are tested either way.
final class SmallDisk {
    enum Kind {
        /// Full from the start: no byte of file data fits.
        case full
        /// Mounted read-only.
        case readOnly
        /// `size` bytes with room, to be filled by `fill(leaving:)`.
        case roomy
    }

    let path: String
    let kind: Kind
    /// Why the folder is not a mounted tmpfs; nil when it is one.
    let unmountedReason: String?

    var mounted: Bool { unmountedReason == nil }

    init(_ kind: Kind, size: Int = 256 << 10) {
        self.kind = kind
        path = NSTemporaryDirectory() + "amalgam-disk-" + UUID().uuidString
        mkdir(path, 0o755)
        var reason: String?
        if ProcessInfo.processInfo.environment["AMALGAM_TEST_NO_MOUNT"] != nil {
            reason = "AMALGAM_TEST_NO_MOUNT is set"
        } else if getuid() != 0 {
            reason = "the tests do not run as root"
        } else if mount("tmpfs", path, "tmpfs", kind == .readOnly ? UInt(MS_RDONLY) : 0, "size=\(size),mode=0755") != 0 {
            reason = "mount(2) of a tmpfs failed: \(String(cString: strerror(errno)))"
        }
        unmountedReason = reason
        if let reason {
            print("SmallDisk: \(reason), so the \(kind) disk at \(path) is an ordinary folder and the test fails its writes with AMALGAM_FAULT")
        } else if kind == .full {
            fill()
        }
    }

    deinit {
        if mounted { umount2(path, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// What `amalgam` needs to see this disk as it is: nothing on a mounted tmpfs, else the fault.
    var environment: [String: String] {
        guard !mounted else { return [:] }
        return switch kind {
        case .full: ["AMALGAM_FAULT": "write:ENOSPC@\(path)"]
        case .readOnly: ["AMALGAM_FAULT": "any:EROFS@\(path)"]
        case .roomy: [:]
        }
    }

    var freeBytes: Int {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    /// Writes `filler` until at most `leaving` bytes are free (nothing on an unmounted folder).
    func fill(leaving: Int = 0) {
        guard mounted else { return }
        let fd = open(path + "/filler", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 1 << 16)
        while freeBytes > leaving {
            let count = min(chunk.count, max(4096, freeBytes - leaving))
            if chunk.withUnsafeBytes({ write(fd, $0.baseAddress, count) }) <= 0 { return }
        }
    }

    /// Frees what `fill` took.
    func free() {
        unlink(path + "/filler")
    }

    /// What the disk holds besides the filler.
    var contents: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0 != "filler" }.sorted()
    }
}
