import CBLAS
import Dispatch
import Synchronization
import Tensors

/// One output tensor being merged: its inputs as raw mapped bytes, a fixed division into chunks of
/// whole rows, and parallel loops over them with per-thread scratch.
///
/// Chunks depend only on the tensor's shape, never on the thread count, and every floating-point
/// reduction is summed per chunk and then in chunk order, so the result is bit-identical whatever
/// the threading (DESIGN.md §3: a recipe always materializes to the same tensors).
final class MergeContext: @unchecked Sendable {
    struct Source {
        let bytes: UnsafeRawBufferPointer
        let dtype: DType
        /// A LoRA adapter's update, added to the bytes as they are loaded.
        var update: LowRankUpdate?
    }

    /// ΔW = scale · B·A (B [outer, r], A [r, inner]; transposed: ΔW = (B·A)ᵀ), both decoded to
    /// Float32 once per tensor. Each chunk's rows of ΔW are one small GEMM, added to the chunk as
    /// PEFT's `merge_and_unload` adds it: W + (B·A)·scale, each step rounded to Float32.
    struct LowRankUpdate {
        let a: [Float]
        let b: [Float]
        let rank: Int
        let scale: Float
        let transposed: Bool

        init(_ update: SourceModel.LowRank) {
            (a, b) = update.floats
            rank = update.rank
            scale = update.scale
            transposed = update.transposed
        }

        /// Adds rows `rows` of ΔW (each `rowLength` long) to `destination`.
        func add(rows: Range<Int>, rowLength: Int, to destination: UnsafeMutablePointer<Float>) {
            let count = rows.count * rowLength
            withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { product in
                guard let p = product.baseAddress else { return }
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        guard let a = a.baseAddress, let b = b.baseAddress else { return }
                        if transposed {
                            // ΔW[i, j] = Σₖ A[k, i] · B[j, k]: rows of ΔW are columns of A.
                            let inner = self.a.count / rank
                            cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, Int32(rows.count), Int32(rowLength), Int32(rank),
                                        1, a + rows.lowerBound, Int32(inner), b, Int32(rank), 0, p, Int32(rowLength))
                        } else {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows.count), Int32(rowLength), Int32(rank),
                                        1, b + rows.lowerBound * rank, Int32(rank), a, Int32(rowLength), 0, p, Int32(rowLength))
                        }
                    }
                }
                for i in 0..<count { destination[i] += p[i] * scale }
            }
        }
    }

    let tensor: MergePlan.OutputTensor
    let sources: [Source]
    let count: Int
    /// Length of the last dimension (the whole tensor for 0-D and 1-D tensors).
    let rowLength: Int
    let chunkLength: Int
    let chunkCount: Int
    let threads: Int
    let seed: UInt64
    let nameHash: UInt64

    /// Elements per chunk, rounded to whole rows.
    static let targetChunk = 16_384

    init(tensor: MergePlan.OutputTensor, sources: [Source], threads: Int, seed: UInt64) {
        self.tensor = tensor
        self.sources = sources
        count = tensor.elementCount
        rowLength = max(1, tensor.shape.count >= 2 ? tensor.shape[tensor.shape.count - 1] : count)
        chunkLength = max(rowLength, Self.targetChunk / rowLength * rowLength)
        chunkCount = (count + chunkLength - 1) / chunkLength
        self.threads = max(1, threads)
        self.seed = seed
        nameHash = Philox.hash(tensor.name)
    }

    var inputCount: Int { sources.count }

    func range(ofChunk index: Int) -> Range<Int> {
        let start = index * chunkLength
        return start..<min(count, start + chunkLength)
    }

    /// Per-thread buffers: one per input plus `extra` work buffers, each one chunk long.
    /// Owned by one thread during a loop, read by the caller after it: `@unchecked Sendable`.
    final class Scratch: @unchecked Sendable {
        let inputs: [UnsafeMutablePointer<Float>]
        let extra: [UnsafeMutablePointer<Float>]
        /// Counters a pass keeps per thread (histograms), summed after the loop by `summedCounters`.
        private(set) var counters: UnsafeMutablePointer<UInt32>?
        private(set) var counterCount = 0
        /// Sort keys for row-wise ranking (DELLA).
        var sortBuffer: [UInt64] = []

        init(inputs: Int, extra: Int, length: Int) {
            self.inputs = (0..<inputs).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: length) }
            self.extra = (0..<extra).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: length) }
        }

        deinit {
            for buffer in inputs + extra { buffer.deallocate() }
            counters?.deallocate()
        }

        /// This thread's `count` counters, zeroed on first use in the pass.
        func counters(_ count: Int) -> UnsafeMutablePointer<UInt32> {
            if let counters, counterCount == count { return counters }
            counters?.deallocate()
            let fresh = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
            fresh.initialize(repeating: 0, count: count)
            counters = fresh
            counterCount = count
            return fresh
        }

        /// `extra[i]` viewed as 32-bit keys.
        func keys(_ i: Int) -> UnsafeMutablePointer<UInt32> {
            UnsafeMutableRawPointer(extra[i]).assumingMemoryBound(to: UInt32.self)
        }
    }

    /// Converts input `j`'s elements `range` to Float32 in `destination`, rounded through the
    /// compute dtype when the recipe asks for a narrower one (mergekit casts inputs to `dtype`).
    func load(_ j: Int, _ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        let source = sources[j]
        let width = source.dtype.byteWidth
        let bytes = UnsafeRawBufferPointer(rebasing: source.bytes[(range.lowerBound * width)..<(range.upperBound * width)])
        let out = UnsafeMutableBufferPointer(start: destination, count: range.count)
        FloatConversion.decode(source.dtype, from: bytes, into: out)
        if let update = source.update {
            // Chunks are whole rows of the last dimension, which a LoRA update is made of.
            update.add(rows: (range.lowerBound / rowLength)..<(range.upperBound / rowLength), rowLength: rowLength, to: destination)
        }
        if let compute = tensor.computeDType, compute != source.dtype || source.update != nil {
            for i in 0..<range.count {
                destination[i] = compute == .bf16
                    ? FloatConversion.float(bf16: FloatConversion.bf16(destination[i]))
                    : Float(Float16(destination[i]))
            }
        }
    }

    /// Runs `body(chunk, range, scratch)` for every chunk, spread over the threads, with inputs
    /// `loading` already loaded into `scratch.inputs`.
    @discardableResult
    func forEachChunk(loading: [Int]? = nil, extra: Int = 0, every stride: Int = 1, _ body: (Int, Range<Int>, Scratch) -> Void) -> [Scratch] {
        let toLoad = loading ?? Array(0..<inputCount)
        let visited = (chunkCount + stride - 1) / stride
        let next = Atomic<Int>(0)
        let workers = min(threads, visited)
        // One scratch per thread, made before the threads start: no thread touches another's,
        // and nothing shared is written but the chunk counter (an atomic).
        let scratches = (0..<max(1, workers)).map { _ in Scratch(inputs: inputCount, extra: extra, length: chunkLength) }
        withoutActuallyEscaping(body) { body in
            // Chunks are disjoint; `body` writes only its own chunk's results.
            nonisolated(unsafe) let body = body
            nonisolated(unsafe) let run: (Int) -> Void = { worker in
                let scratch = scratches[worker]
                while true {
                    let chunk = next.add(1, ordering: .relaxed).oldValue * stride
                    guard chunk < self.chunkCount else { return }
                    let range = self.range(ofChunk: chunk)
                    for j in toLoad { self.load(j, range, into: scratch.inputs[j]) }
                    body(chunk, range, scratch)
                }
            }
            if workers <= 1 {
                run(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: workers) { run($0) }
            }
        }
        return scratches
    }

    /// Per-chunk results of `body`, in chunk order (for deterministic reductions).
    func mapChunks<T>(loading: [Int]? = nil, extra: Int = 0, _ body: (Int, Range<Int>, Scratch) -> T) -> [T] {
        let results = UnsafeMutablePointer<T?>.allocate(capacity: chunkCount)
        results.initialize(repeating: nil, count: chunkCount)
        defer { results.deinitialize(count: chunkCount); results.deallocate() }
        nonisolated(unsafe) let slots = results
        forEachChunk(loading: loading, extra: extra) { chunk, range, scratch in
            slots[chunk] = body(chunk, range, scratch)
        }
        return (0..<chunkCount).compactMap { results[$0] }
    }

    /// The per-thread counters of a pass, added up (each thread counted fewer than 2³² elements).
    static func summedCounters(_ scratches: [Scratch], count: Int) -> [Int] {
        var total = [UInt64](repeating: 0, count: count)
        total.withUnsafeMutableBufferPointer { sums in
            for scratch in scratches where scratch.counterCount == count {
                guard let counters = scratch.counters, let sums = sums.baseAddress else { continue }
                for i in 0..<count { sums[i] &+= UInt64(counters[i]) }
            }
        }
        return total.map { Int($0) }
    }

    /// Reductions over fixed blocks of consecutive chunks: each block is folded in chunk order by
    /// one thread, and the block results come back in block order. The partition depends only on
    /// the chunk count, so summing the results in order is deterministic whatever the threading.
    func mapBlocks<T>(loading: [Int]? = nil, extra: Int = 0, initial: () -> T, _ body: (inout T, Int, Range<Int>, Scratch) -> Void) -> [T] {
        let blocks = min(64, chunkCount)
        guard blocks > 0 else { return [] }
        let toLoad = loading ?? Array(0..<inputCount)
        let results = UnsafeMutablePointer<T>.allocate(capacity: blocks)
        for b in 0..<blocks { (results + b).initialize(to: initial()) }
        defer { results.deinitialize(count: blocks); results.deallocate() }
        nonisolated(unsafe) let slots = results
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            nonisolated(unsafe) let run: (Int) -> Void = { _ in
                let scratch = Scratch(inputs: self.inputCount, extra: extra, length: self.chunkLength)
                while true {
                    let block = next.add(1, ordering: .relaxed).oldValue
                    guard block < blocks else { return }
                    for chunk in (block * self.chunkCount / blocks)..<((block + 1) * self.chunkCount / blocks) {
                        let range = self.range(ofChunk: chunk)
                        for j in toLoad { self.load(j, range, into: scratch.inputs[j]) }
                        body(&slots[block], chunk, range, scratch)
                    }
                }
            }
            let workers = min(threads, blocks)
            if workers <= 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers) { run($0) } }
        }
        return (0..<blocks).map { results[$0] }
    }

    /// Uniform draws for input `j` over `range` (the random sparsifiers' stream).
    func uniforms(input j: Int, _ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        Philox(seed: seed).uniforms(stream: UInt32(j), name: nameHash, range: range, into: out)
    }
}
