import Synchronization

/// A request to abandon work in flight, shared by the one who asks (the search coordinator on
/// SIGINT) and the loops that honour it (merging between tensors, scoring between examples, an
/// external command killed as a process group).
///
/// Cancelling is one-way and idempotent. Handlers registered with `onCancel` run once, on the
/// thread that cancels (or at once, on the registering thread, when already cancelled); they must
/// be quick and must not wait on the work they cancel. `Sendable` through its mutex: every field
/// is read and written under it.
public final class Cancellation: Sendable {
    private struct State {
        var cancelled = false
        var nextKey = 0
        var handlers: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Marks the work cancelled and runs every registered handler.
    public func cancel() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.cancelled else { return [] }
            state.cancelled = true
            defer { state.handlers.removeAll() }
            return state.handlers.sorted { $0.key < $1.key }.map(\.value)
        }
        for handler in handlers { handler() }
    }

    /// Runs `handler` when the work is cancelled (at once if it already is); the returned key
    /// removes it with `remove` once the work it guards is over.
    @discardableResult
    public func onCancel(_ handler: @escaping @Sendable () -> Void) -> Int? {
        let key = state.withLock { state -> Int? in
            guard !state.cancelled else { return nil }
            state.nextKey += 1
            state.handlers[state.nextKey] = handler
            return state.nextKey
        }
        if key == nil { handler() }
        return key
    }

    public func remove(_ key: Int?) {
        guard let key else { return }
        _ = state.withLock { $0.handlers.removeValue(forKey: key) }
    }

    /// Throws `CancellationError` when cancelled: the check a loop makes between steps.
    public func check() throws(CancellationError) {
        if isCancelled { throw CancellationError() }
    }
}

/// Work stopped because its `Cancellation` was cancelled: never a failure of the candidate.
public struct CancellationError: Error, Sendable, Equatable, CustomStringConvertible {
    public init() {}
    public var description: String { "cancelled" }
}
