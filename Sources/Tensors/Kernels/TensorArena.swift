import Synchronization

/// Named tensors allocated once and reused: a worker's merged weights, overwritten by each
/// candidate (DESIGN.md §4), each stored in the dtype asked for (BF16 halves a Float32 arena).
/// Asking again for a name with the same element count and dtype returns the same memory;
/// anything else reallocates that one buffer.
///
/// A class because it owns the memory (freed in `deinit`). Buffers for different names may be
/// filled from different threads; the name table itself is guarded by a lock.
public final class TensorArena: @unchecked Sendable {
    private struct Entry {
        let bytes: UnsafeMutableRawBufferPointer
        let dtype: DType
        let count: Int
    }
    private let table = Mutex<[String: Entry]>([:])

    public init() {}

    deinit {
        table.withLock { entries in
            for entry in entries.values { entry.bytes.deallocate() }
        }
    }

    /// The memory for `name`: `count` elements of `dtype` (contents unspecified when new).
    public func storage(_ name: String, count: Int, dtype: DType) -> UnsafeMutableRawBufferPointer {
        table.withLock { entries in
            if let existing = entries[name], existing.count == count, existing.dtype == dtype { return existing.bytes }
            entries[name]?.bytes.deallocate()
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count * dtype.byteWidth), alignment: 64)
            entries[name] = Entry(bytes: bytes, dtype: dtype, count: count)
            return bytes
        }
    }

    /// The Float32 buffer for `name`, holding `count` elements (contents unspecified when new).
    public func buffer(_ name: String, count: Int) -> UnsafeMutableBufferPointer<Float> {
        let bytes = storage(name, count: count, dtype: .f32)
        return UnsafeMutableBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: Float.self), count: count)
    }

    /// The tensor stored under `name` if one was made.
    public subscript(name: String) -> StoredTensor? {
        table.withLock { entries in
            entries[name].flatMap { entry in
                entry.bytes.baseAddress.map { StoredTensor(base: UnsafeRawPointer($0), dtype: entry.dtype, count: entry.count) }
            }
        }
    }

    public var names: [String] { table.withLock { Array($0.keys) } }

    /// Total bytes held.
    public var byteCount: Int { table.withLock { $0.values.reduce(0) { $0 + $1.count * $1.dtype.byteWidth } } }
}
