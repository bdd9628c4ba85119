#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Writes the shards of a `SafetensorsLayout` into a folder, converting Float32 values to each
/// tensor's stored dtype on the way.
///
/// The headers go out first and each file is given its full size, so tensors may then be written
/// in any order and from several threads at once (each `write` is a positioned write into its
/// own byte range). `finish` refuses unless every planned tensor was written, then flushes the
/// files to disk and writes the index. A failed system call is reported with its errno, naming
/// the file by `reportedDirectory` (`out/model.safetensors: could not be written (No space left
/// on device, ENOSPC)`), and leaves the files for the caller's `StagingDirectory` to remove.
/// A class because it owns the open files. `@unchecked Sendable`: the files and the plan are
/// fixed at `init`; what `write` changes (which tensors are written) is guarded by a lock, and
/// each positioned write touches only its tensor's bytes.
public final class SafetensorsWriter: @unchecked Sendable {
    public let layout: SafetensorsLayout
    public let directory: String
    /// The folder errors name: the destination when `directory` is a staging folder.
    public let reportedDirectory: String
    private let descriptors: [Int32]
    private let written = Mutex<Set<String>>([])
    /// Elements converted per positioned write: bounds the scratch memory of a narrowing write.
    static let chunkElements = 1 << 20

    /// Creates every shard file in `directory` (which must exist) and writes their headers. Each
    /// file's space is reserved up front (`posix_fallocate`), so a disk too small for the model
    /// fails here, before any tensor is merged.
    public init(directory: String, layout: SafetensorsLayout, reportedDirectory: String? = nil) throws(SafetensorsError) {
        self.layout = layout
        self.directory = directory
        self.reportedDirectory = reportedDirectory ?? directory
        var descriptors: [Int32] = []
        do throws(SafetensorsError) {
            for shard in layout.shards {
                let path = directory + "/" + shard.fileName
                let name = self.reportedDirectory + "/" + shard.fileName
                let fd = Disk.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)
                guard fd >= 0 else { throw SafetensorsError(file: name, .writeFailed(SystemError.current.description)) }
                descriptors.append(fd)
                let total = shard.headerBytes.count + shard.dataLength
                #if canImport(Glibc)
                let status = posix_fallocate(fd, 0, off_t(total))
                if status != 0, status != EOPNOTSUPP, status != EINVAL {
                    throw SafetensorsError(file: name, .writeFailed(SystemError(status).description))
                }
                #endif
                guard ftruncate(fd, off_t(total)) == 0 else { throw SafetensorsError(file: name, .writeFailed(SystemError.current.description)) }
                if case .failure(let error) = shard.headerBytes.withUnsafeBytes({ Disk.writeFully(fd, $0, at: 0, path: path) }) {
                    throw SafetensorsError(file: name, .writeFailed(error.description))
                }
            }
        } catch {
            for fd in descriptors { close(fd) }
            throw error
        }
        self.descriptors = descriptors
    }

    deinit {
        for fd in descriptors { close(fd) }
    }

    /// Writes tensor `name` from Float32 `values`, converted to its planned dtype.
    public func write(_ name: String, values: UnsafeBufferPointer<Float>, threads: Int = 1) throws(SafetensorsError) {
        guard let location = layout.locations[name] else {
            throw SafetensorsError(file: reportedDirectory, tensor: name, .writeFailed("the layout has no such tensor"))
        }
        let spec = location.spec
        let path = directory + "/" + layout.shards[location.shard].fileName
        let file = reportedDirectory + "/" + layout.shards[location.shard].fileName
        guard values.count == spec.elementCount else {
            throw SafetensorsError(file: file, tensor: name, .elementCountMismatch(expected: spec.elementCount, actual: values.count))
        }
        guard spec.dtype.isFloat32Convertible else {
            throw SafetensorsError(file: file, tensor: name, .notNumeric(spec.dtype))
        }
        let fd = descriptors[location.shard]
        let width = spec.dtype.byteWidth
        if spec.dtype == .f32 {
            try Self.writeFully(fd, UnsafeRawBufferPointer(values), at: location.fileOffset, path: path, name: file)
        } else {
            let chunk = min(Self.chunkElements, max(values.count, 1))
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk * width, alignment: 64)
            defer { scratch.deallocate() }
            var start = 0
            while start < values.count {
                let end = min(values.count, start + chunk)
                let part = UnsafeBufferPointer(rebasing: values[start..<end])
                let bytes = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<part.count * width])
                FloatConversion.encode(spec.dtype, from: part, into: bytes, threads: threads)
                try Self.writeFully(fd, UnsafeRawBufferPointer(bytes), at: location.fileOffset + start * width, path: path, name: file)
                start = end
            }
        }
        written.withLock { _ = $0.insert(name) }
    }

    /// Writes tensor `name` from `bytes`, already encoded in its planned dtype.
    public func write(_ name: String, encoded bytes: UnsafeRawBufferPointer) throws(SafetensorsError) {
        guard let location = layout.locations[name] else {
            throw SafetensorsError(file: reportedDirectory, tensor: name, .writeFailed("the layout has no such tensor"))
        }
        let path = directory + "/" + layout.shards[location.shard].fileName
        let file = reportedDirectory + "/" + layout.shards[location.shard].fileName
        let spec = location.spec
        guard bytes.count == spec.elementCount * spec.dtype.byteWidth else {
            throw SafetensorsError(file: file, tensor: name, .elementCountMismatch(expected: spec.elementCount, actual: bytes.count / max(1, spec.dtype.byteWidth)))
        }
        try Self.writeFully(descriptors[location.shard], bytes, at: location.fileOffset, path: path, name: file)
        written.withLock { _ = $0.insert(name) }
    }

    /// Checks that every tensor was written, flushes every shard to disk and writes the index.
    public func finish() throws(SafetensorsError) {
        let missing = written.withLock { done in layout.locations.keys.filter { !done.contains($0) }.sorted() }
        if let first = missing.first {
            throw SafetensorsError(
                file: reportedDirectory, tensor: first, .writeFailed("never written (\(missing.count) tensors missing)"))
        }
        for (fd, shard) in zip(descriptors, layout.shards) where Disk.fsync(fd, path: directory + "/" + shard.fileName) != 0 {
            throw SafetensorsError(file: reportedDirectory + "/" + shard.fileName, .writeFailed(SystemError.current.description))
        }
        if let index = layout.indexJSON {
            do {
                try Disk.writeFile(Array(index.utf8), to: directory + "/" + SafetensorsLayout.indexFileName,
                                   reportedAs: reportedDirectory + "/" + SafetensorsLayout.indexFileName)
            } catch {
                throw SafetensorsError(file: error.file, .writeFailed(error.error.description))
            }
        }
    }

    /// pwrite until all of `bytes` is written; errors name the file `name`.
    private static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String, name: String) throws(SafetensorsError) {
        if case .failure(let error) = Disk.writeFully(fd, bytes, at: offset, path: path) {
            throw SafetensorsError(file: name, .writeFailed(error.description))
        }
    }
}
