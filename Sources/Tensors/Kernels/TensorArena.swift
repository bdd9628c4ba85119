import Synchronization

/// Named Float32 buffers allocated once and reused: a worker's merged weights, overwritten by each
/// candidate (DESIGN.md §4). Asking again for a name with the same element count returns the same
/// memory; a different count reallocates that one buffer.
///
/// A class because it owns the memory (freed in `deinit`). Buffers for different names may be
/// filled from different threads; the name table itself is guarded by a lock.
public final class TensorArena: @unchecked Sendable {
    private let table = Mutex<[String: UnsafeMutableBufferPointer<Float>]>([:])

    public init() {}

    deinit {
        table.withLock { buffers in
            for buffer in buffers.values { buffer.deallocate() }
        }
    }

    /// The buffer for `name`, holding `count` elements (contents unspecified when new).
    public func buffer(_ name: String, count: Int) -> UnsafeMutableBufferPointer<Float> {
        table.withLock { buffers in
            if let existing = buffers[name], existing.count == count { return existing }
            buffers[name]?.deallocate()
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            buffers[name] = buffer
            return buffer
        }
    }

    /// The buffer for `name` if one was made.
    public subscript(name: String) -> UnsafeBufferPointer<Float>? {
        table.withLock { $0[name].map { UnsafeBufferPointer($0) } }
    }

    public var names: [String] { table.withLock { Array($0.keys) } }

    /// Total bytes held.
    public var byteCount: Int { table.withLock { $0.values.reduce(0) { $0 + $1.count * 4 } } }
}
