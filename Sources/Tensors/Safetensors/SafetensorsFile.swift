#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file, memory-mapped read-only and read lazily: opening reads and validates the
/// header only; tensor bytes are paged in from the page cache when a tensor is converted.
///
/// A class because it owns the mapping (unmapped in `deinit`). It is `Sendable`: the mapping is
/// read-only and nothing in the object changes after `init`, so any thread may read any tensor.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let header: SafetensorsHeader
    public let fileSize: Int
    private let mapping: UnsafeRawPointer?
    private let byName: [String: Int]

    /// Opens and validates `path`; every problem is a `SafetensorsError` naming the file.
    public init(path: String) throws(SafetensorsError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError(file: path, .unreadable(systemError())) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafetensorsError(file: path, .unreadable(systemError())) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SafetensorsError(file: path, .unreadable("not a regular file"))
        }
        let size = Int(info.st_size)
        fileSize = size
        guard size >= 8 else { throw SafetensorsError(file: path, .tooShort(fileSize: size)) }

        var prefix: UInt64 = 0
        guard try withUnsafeMutableBytes(of: &prefix, { Self.readFully(fd, into: $0, at: 0, path: path) }).get() else {
            throw SafetensorsError(file: path, .tooShort(fileSize: size))
        }
        let length = try SafetensorsHeader.headerLength(prefix: UInt64(littleEndian: prefix), fileSize: size, file: path)
        var json = [UInt8](repeating: 0, count: length)
        guard try json.withUnsafeMutableBytes({ Self.readFully(fd, into: $0, at: 8, path: path) }).get() else {
            throw SafetensorsError(file: path, .headerLengthBeyondFile(headerLength: UInt64(length), fileSize: size))
        }
        header = try SafetensorsHeader(json: json, dataLength: size - 8 - length, file: path)

        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw SafetensorsError(file: path, .unreadable("mmap: \(systemError())"))
        }
        mapping = UnsafeRawPointer(mapped)
        var byName: [String: Int] = [:]
        for (index, tensor) in header.tensors.enumerated() { byName[tensor.name] = index }
        self.byName = byName
    }

    deinit {
        if let mapping { munmap(UnsafeMutableRawPointer(mutating: mapping), fileSize) }
    }

    public var tensors: [TensorInfo] { header.tensors }

    public func tensor(named name: String) -> TensorInfo? {
        byName[name].map { header.tensors[$0] }
    }

    /// The raw little-endian bytes of `tensor`, valid while this file is alive. No alignment is
    /// promised: the data region starts wherever the header ends.
    public func bytes(of tensor: TensorInfo) -> UnsafeRawBufferPointer {
        guard let mapping else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: mapping + header.dataOffset + tensor.dataRange.lowerBound, count: tensor.byteCount)
    }

    /// Converts `tensor` to Float32 into `destination`, which must hold exactly its elements.
    /// `threads` > 1 splits large tensors across that many threads.
    public func read(_ tensor: TensorInfo, into destination: UnsafeMutableBufferPointer<Float>, threads: Int = 1) throws(SafetensorsError) {
        guard tensor.dtype.isFloat32Convertible else {
            throw SafetensorsError(file: path, tensor: tensor.name, .notNumeric(tensor.dtype))
        }
        guard destination.count == tensor.elementCount else {
            throw SafetensorsError(
                file: path, tensor: tensor.name, .elementCountMismatch(expected: tensor.elementCount, actual: destination.count))
        }
        FloatConversion.decode(tensor.dtype, from: bytes(of: tensor), into: destination, threads: threads)
    }

    /// Reads `tensor` into a new array of Float32.
    public func floats(_ tensor: TensorInfo) throws(SafetensorsError) -> [Float] {
        var values = [Float](repeating: 0, count: tensor.elementCount)
        try values.withUnsafeMutableBufferPointer { buffer throws(SafetensorsError) in
            try read(tensor, into: buffer)
        }
        return values
    }

    /// pread until `buffer` is full: true when full, false when the file ends first.
    private static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) -> Result<Bool, SafetensorsError> {
        guard let base = buffer.baseAddress else { return .success(true) }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SafetensorsError(file: path, .unreadable(systemError())))
            }
            if n == 0 { return .success(false) }
            done += n
        }
        return .success(true)
    }
}

/// The current `errno` as the system's sentence ("No such file or directory").
func systemError() -> String {
    String(cString: strerror(errno))
}
