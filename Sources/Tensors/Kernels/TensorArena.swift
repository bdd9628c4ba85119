import Synchronization

/// Named tensors allocated once and reused: a worker's merged weights, overwritten by each
/// candidate (DESIGN.md §4), each stored in the dtype asked for (BF16 halves a Float32 arena).
/// Asking again for a name with the same element count and dtype returns the same memory;
/// anything else reallocates that one buffer.
///
/// A class because it owns the memory (freed in `deinit`). `@unchecked Sendable`: the name table
/// and the loans are guarded by a lock; the buffers themselves are filled by the threads a merge
/// gives disjoint tensors (or chunks) to, and read once the merge has returned.
///
/// Borrowing: a reader that keeps pointers into the arena (`DecoderWeights`) takes a loan for its
/// life (`lend`/`endLoan`). While any loan is out no buffer is reallocated or freed — `storage`
/// throws instead — so a borrowed pointer can never dangle; filling a buffer in place stays
/// allowed (a worker overwrites a candidate only after its model is gone).
public final class TensorArena: @unchecked Sendable {
    private struct Entry {
        let bytes: UnsafeMutableRawBufferPointer
        let dtype: DType
        let count: Int
    }
    private struct State {
        var entries: [String: Entry] = [:]
        var loans = 0
    }
    private let state = Mutex(State())

    public init() {}

    deinit {
        state.withLock { state in
            for entry in state.entries.values { entry.bytes.deallocate() }
        }
    }

    /// The memory for `name`: `count` elements of `dtype` (contents unspecified when new). Throws,
    /// changing nothing, when that would reallocate a buffer while the arena is lent.
    public func storage(_ name: String, count: Int, dtype: DType) throws(ArenaLentError) -> UnsafeMutableRawBufferPointer {
        // One lock for the check and the allocation, so no loan starts between them.
        let (bytes, refusal) = state.withLock { state -> (UnsafeMutableRawBufferPointer?, ArenaLentError?) in
            if let existing = state.entries[name], existing.count == count, existing.dtype == dtype { return (existing.bytes, nil) }
            if state.loans > 0, state.entries[name] != nil { return (nil, ArenaLentError(tensor: name, loans: state.loans)) }
            state.entries[name]?.bytes.deallocate()
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count * dtype.byteWidth), alignment: 64)
            state.entries[name] = Entry(bytes: bytes, dtype: dtype, count: count)
            return (bytes, nil)
        }
        guard let bytes else { throw refusal ?? ArenaLentError(tensor: name, loans: 0) }
        return bytes
    }

    /// The Float32 buffer for `name`, holding `count` elements (contents unspecified when new).
    public func buffer(_ name: String, count: Int) throws(ArenaLentError) -> UnsafeMutableBufferPointer<Float> {
        let bytes = try storage(name, count: count, dtype: .f32)
        return UnsafeMutableBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: Float.self), count: count)
    }

    /// The tensor stored under `name` if one was made.
    public subscript(name: String) -> StoredTensor? {
        state.withLock { state in
            state.entries[name].flatMap { entry in
                entry.bytes.baseAddress.map { StoredTensor(base: UnsafeRawPointer($0), dtype: entry.dtype, count: entry.count) }
            }
        }
    }

    /// A reader keeps pointers into the arena until `endLoan`: no buffer moves meanwhile.
    public func lend() { state.withLock { $0.loans += 1 } }

    /// Ends a loan taken with `lend`.
    public func endLoan() { state.withLock { $0.loans -= 1 } }

    /// Loans out (for tests).
    public var loans: Int { state.withLock { $0.loans } }

    public var names: [String] { state.withLock { Array($0.entries.keys) } }

    /// Total bytes held.
    public var byteCount: Int { state.withLock { $0.entries.values.reduce(0) { $0 + $1.count * $1.dtype.byteWidth } } }
}

/// A tensor of a lent arena asked for at another size or dtype: reallocating it would leave a
/// borrower (a candidate's model being scored) pointing at freed memory.
public struct ArenaLentError: Error, Sendable, Equatable, CustomStringConvertible {
    public let tensor: String
    public let loans: Int

    public var description: String {
        "the arena is lent to \(loans) reader(s) (a model being scored): tensor '\(tensor)' cannot be reallocated until they end"
    }
}
