import Foundation

/// A folder built under a temporary name beside its destination and renamed into place in one
/// step, so that a crash never leaves a half-written model under the final name.
///
/// The temporary folder is `.<name>.partial-<pid>-<random>` in the destination's parent (same
/// file system, so the rename is atomic). `commit` renames it; if the object goes away without a
/// commit (an error was thrown), the temporary folder is removed. A class because it owns that
/// folder on disk.
public final class StagingDirectory {
    public let destination: String
    /// Where to write the folder's files until `commit`.
    public let path: String
    private var committed = false

    /// Creates the temporary folder (and the destination's parent folders).
    public init(destination: String) throws(ModelFolderError) {
        let url = URL(fileURLWithPath: destination)
        let name = url.lastPathComponent
        let parent = url.deletingLastPathComponent().path
        guard !name.isEmpty, name != ".", name != ".." else {
            throw ModelFolderError(file: destination, "is not a folder name to write to")
        }
        self.destination = destination
        path = parent + "/." + name + ".partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        } catch {
            throw ModelFolderError(file: destination, "cannot be created (\(error.localizedDescription))")
        }
    }

    deinit {
        if !committed { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Renames the finished folder to its destination. An existing destination is an error unless
    /// `replacing`, in which case it is moved aside first and removed after the rename.
    public func commit(replacing: Bool = false) throws(ModelFolderError) {
        let fileManager = FileManager.default
        var aside: String?
        if fileManager.fileExists(atPath: destination) {
            guard replacing else {
                throw ModelFolderError(file: destination, "already exists; choose another folder or remove it")
            }
            let old = path + ".old"
            guard rename(destination, old) == 0 else {
                throw ModelFolderError(file: destination, "cannot be replaced (\(systemError()))")
            }
            aside = old
        }
        guard rename(path, destination) == 0 else {
            let why = systemError()
            if let aside { _ = rename(aside, destination) }
            throw ModelFolderError(file: destination, "cannot be written (\(why))")
        }
        committed = true
        if let aside { try? fileManager.removeItem(atPath: aside) }
        let parent = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        let fd = open(parent, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }
}
