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

    /// Creates the temporary folder (and the destination's parent folders). A folder that cannot
    /// be created is named with the system's errno: `out: could not be created (Read-only file
    /// system, EROFS)`.
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
            try Disk.makeDirectories(parent)
        } catch {
            throw ModelFolderError(file: error.file, error.message)
        }
        guard Disk.mkdir(path) == 0 else {
            throw ModelFolderError(file: destination, "could not be created (\(SystemError.current))")
        }
    }

    deinit {
        if !committed { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Where a file written at `path + "/" + name` will be once committed: the name errors give.
    public func finalPath(_ name: String) -> String {
        destination + "/" + name
    }

    /// Flushes the folder's entries, then renames it to its destination. An existing destination
    /// is an error unless `replacing`, in which case it is moved aside first and removed after the
    /// rename (put back if the rename fails).
    public func commit(replacing: Bool = false) throws(ModelFolderError) {
        let fileManager = FileManager.default
        var aside: String?
        Disk.syncDirectory(path)
        if fileManager.fileExists(atPath: destination) {
            guard replacing else {
                throw ModelFolderError(file: destination, "already exists; choose another folder or remove it")
            }
            let old = path + ".old"
            guard Disk.rename(destination, old) == 0 else {
                throw ModelFolderError(file: destination, "could not be replaced (\(SystemError.current))")
            }
            aside = old
        }
        guard Disk.rename(path, destination) == 0 else {
            let why = SystemError.current
            if let aside { _ = rename(aside, destination) }
            throw ModelFolderError(file: destination, "could not be written (\(why))")
        }
        committed = true
        if let aside { try? fileManager.removeItem(atPath: aside) }
        Disk.syncDirectory(URL(fileURLWithPath: destination).deletingLastPathComponent().path)
    }
}
