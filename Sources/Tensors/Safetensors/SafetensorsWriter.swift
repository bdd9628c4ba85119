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
/// files to disk and writes the index. A class because it owns the open files.
public final class SafetensorsWriter: @unchecked Sendable {
    public let layout: SafetensorsLayout
    public let directory: String
    private let descriptors: [Int32]
    private let written = Mutex<Set<String>>([])
    /// Elements converted per positioned write: bounds the scratch memory of a narrowing write.
    static let chunkElements = 1 << 20

    /// Creates every shard file in `directory` (which must exist) and writes their headers.
    public init(directory: String, layout: SafetensorsLayout) throws(SafetensorsError) {
        self.layout = layout
        self.directory = directory
        var descriptors: [Int32] = []
        do throws(SafetensorsError) {
            for shard in layout.shards {
                let path = directory + "/" + shard.fileName
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw SafetensorsError(file: path, .writeFailed(systemError())) }
                descriptors.append(fd)
                let total = shard.headerBytes.count + shard.dataLength
                #if canImport(Glibc)
                let status = posix_fallocate(fd, 0, off_t(total))
                if status != 0, status != EOPNOTSUPP, status != EINVAL {
                    throw SafetensorsError(file: path, .writeFailed(String(cString: strerror(status))))
                }
                #endif
                guard ftruncate(fd, off_t(total)) == 0 else { throw SafetensorsError(file: path, .writeFailed(systemError())) }
                try shard.headerBytes.withUnsafeBytes { Self.writeFully(fd, $0, at: 0, path: path) }.get()
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
            throw SafetensorsError(file: directory, tensor: name, .writeFailed("the layout has no such tensor"))
        }
        let spec = location.spec
        let path = directory + "/" + layout.shards[location.shard].fileName
        guard values.count == spec.elementCount else {
            throw SafetensorsError(file: path, tensor: name, .elementCountMismatch(expected: spec.elementCount, actual: values.count))
        }
        guard spec.dtype.isFloat32Convertible else {
            throw SafetensorsError(file: path, tensor: name, .notNumeric(spec.dtype))
        }
        let fd = descriptors[location.shard]
        let width = spec.dtype.byteWidth
        if spec.dtype == .f32 {
            try Self.writeFully(fd, UnsafeRawBufferPointer(values), at: location.fileOffset, path: path).get()
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
                try Self.writeFully(fd, UnsafeRawBufferPointer(bytes), at: location.fileOffset + start * width, path: path).get()
                start = end
            }
        }
        written.withLock { _ = $0.insert(name) }
    }

    /// Checks that every tensor was written, flushes every shard to disk and writes the index.
    public func finish() throws(SafetensorsError) {
        let missing = written.withLock { done in layout.locations.keys.filter { !done.contains($0) }.sorted() }
        if let first = missing.first {
            throw SafetensorsError(
                file: directory, tensor: first, .writeFailed("never written (\(missing.count) tensors missing)"))
        }
        for (fd, shard) in zip(descriptors, layout.shards) where fsync(fd) != 0 {
            throw SafetensorsError(file: directory + "/" + shard.fileName, .writeFailed(systemError()))
        }
        if let index = layout.indexJSON {
            try writeFile(directory + "/" + SafetensorsLayout.indexFileName, Array(index.utf8))
        }
    }

    /// pwrite until all of `bytes` is written.
    private static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int, path: String) -> Result<Void, SafetensorsError> {
        guard let base = bytes.baseAddress else { return .success(()) }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SafetensorsError(file: path, .writeFailed(systemError())))
            }
            done += n
        }
        return .success(())
    }

    private func writeFile(_ path: String, _ bytes: [UInt8]) throws(SafetensorsError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafetensorsError(file: path, .writeFailed(systemError())) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { Self.writeFully(fd, $0, at: 0, path: path) }.get()
        guard fsync(fd) == 0 else { throw SafetensorsError(file: path, .writeFailed(systemError())) }
    }
}
