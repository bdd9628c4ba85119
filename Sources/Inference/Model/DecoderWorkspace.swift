import Synchronization
import Tensors

/// The memory a forward pass needs beside the weights — the key/value cache, the activations, a
/// tile of widened weights per thread, the output head's logits — allocated once and reused by
/// every session that borrows it: a search worker keeps one for the whole run (DESIGN.md §4), so
/// scoring a candidate allocates nothing after the first. Buffers grow to the largest request
/// seen and never shrink.
///
/// A class because it owns the memory. One session holds it at a time (`claim`); a session that
/// finds it held makes its own, so sharing it is never a race, only a missed reuse.
public final class DecoderWorkspace: @unchecked Sendable {
    /// One growable Float32 buffer; the pointer is stable until the next `reserve` that grows it.
    final class Buffer {
        private(set) var pointer: UnsafeMutablePointer<Float>?
        private(set) var capacity = 0

        func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
            if let pointer, capacity >= count { return pointer }
            pointer?.deallocate()
            let fresh = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            pointer = fresh
            capacity = max(1, count)
            return fresh
        }

        deinit { pointer?.deallocate() }
    }

    private let held = Atomic<Bool>(false)
    private(set) var keys: [Buffer] = []
    private(set) var values: [Buffer] = []
    let activations = Buffer()
    let widened = Buffer()
    let logits = Buffer()

    public init() {}

    /// Bytes held now.
    public var byteCount: Int {
        4 * (keys + values + [activations, widened, logits]).reduce(0) { $0 + $1.capacity }
    }

    /// Takes the workspace for one session: false when another session holds it.
    func claim() -> Bool { held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged }

    func release() { held.store(false, ordering: .releasing) }

    /// Each layer's key and value cache, `count` Float32 each.
    func caches(layers: Int, count: Int) -> (keys: [UnsafeMutablePointer<Float>], values: [UnsafeMutablePointer<Float>]) {
        while keys.count < layers { keys.append(Buffer()) }
        while values.count < layers { values.append(Buffer()) }
        return (keys.prefix(layers).map { $0.reserve(count) }, values.prefix(layers).map { $0.reserve(count) })
    }
}

extension DecoderModel {
    /// The bytes one worker's forward passes take beside the weights when scoring requests of up
    /// to `rows` rows in a pass (the cache holds a pass's rows): key/value cache, activations,
    /// attention scores for one segment of `rows` per thread (an upper bound), widened weight
    /// tiles (for weights stored narrower than Float32), and a slice of the output head's logits per thread.
    public static func workspaceBytes(_ c: DecoderConfiguration, rows: Int, threads: Int, narrowWeights: Bool) -> Int {
        let h = c.hiddenSize, nq = c.headCount * c.headDimension, nkv = c.keyValueHeadCount * c.headDimension, inter = c.intermediateSize
        let cache = 2 * c.layerCount * rows * nkv
        let activations = rows * (3 * h + 2 * nq + 2 * inter) + max(1, threads) * rows * rows
        let tiling = Tiling()
        let inner = max(h, nq, inter)
        let widened = narrowWeights ? max(max(1, threads) * tiling.sliceWidth * inner, tiling.narrowOutputs * inner) : 0
        let logits = max(1, threads) * rows * tiling.sliceWidth
        return 4 * (cache + activations + widened + logits)
    }
}
