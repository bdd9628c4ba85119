import Dispatch
import Synchronization

/// Work cut into pieces, spread over threads.
///
/// Determinism contract: the caller cuts the work into `pieces` without looking at the thread
/// count, and each piece writes only its own memory and computes the same whichever thread runs
/// it and whenever; then the outcome is bitwise the same with 1 thread or 16 (DESIGN.md §4).
/// Threads claim pieces in order from a shared counter, so pieces of uneven cost balance.
public enum Parallel {
    /// Runs `body(piece, thread)` for every piece in `0..<pieces` on up to `threads` threads
    /// (`thread` in `0..<threads`, for per-thread scratch); returns when all are done. Runs on
    /// the calling thread alone when one thread or one piece.
    public static func forEach(pieces: Int, threads: Int, _ body: (_ piece: Int, _ thread: Int) -> Void) {
        let threads = min(max(1, threads), pieces)
        guard threads > 1 else {
            for piece in 0..<pieces { body(piece, 0) }
            return
        }
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            // Safe by the contract above: each piece touches only its own memory.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                while true {
                    let piece = next.add(1, ordering: .relaxed).oldValue
                    guard piece < pieces else { return }
                    body(piece, thread)
                }
            }
        }
    }

    /// Runs `body(range)` over consecutive ranges of `0..<count`, each `chunk` long (the last
    /// shorter), on up to `threads` threads.
    public static func forEach(count: Int, chunk: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let chunk = max(1, chunk)
        forEach(pieces: (count + chunk - 1) / chunk, threads: threads) { piece, _ in
            body((piece * chunk)..<min(count, (piece + 1) * chunk))
        }
    }
}
