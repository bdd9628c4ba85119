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
///
/// `@unchecked Sendable`: the kernels' closures capture it while `Parallel.forEach` runs them on
/// several threads, and they only read it (the tensor, the sources, the chunking); `checkedOut`,
/// the one mutable field, changes only on the calling thread, before or after a pass.
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

    /// Where the scratch comes from and goes back to (nil: this context's own, freed with it).
    let pool: ScratchPool?
    /// The scratch this context's passes use, one per thread: set up by its first passes, kept for
    /// the next, given back to the pool at the end.
    private var checkedOut: [Scratch]

    init(tensor: MergePlan.OutputTensor, sources: [Source], threads: Int, seed: UInt64, pool: ScratchPool? = nil) {
        self.pool = pool
        checkedOut = pool?.take() ?? []
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

    deinit { pool?.giveBack(checkedOut) }

    var inputCount: Int { sources.count }

    func range(ofChunk index: Int) -> Range<Int> {
        let start = index * chunkLength
        return start..<min(count, start + chunkLength)
    }

    /// Per-thread buffers: at least one per input plus `extra` work buffers, each at least one
    /// chunk long, kept from pass to pass and tensor to tensor (`ScratchPool`) so that no pass
    /// allocates them again. `@unchecked Sendable`: during a pass one thread alone uses a scratch
    /// (`Parallel.forEach` hands each thread its own), and the caller reads it after the pass.
    final class Scratch: @unchecked Sendable {
        private(set) var inputs: [UnsafeMutablePointer<Float>] = []
        private(set) var extra: [UnsafeMutablePointer<Float>] = []
        /// Elements each buffer holds.
        private(set) var length = 0
        private var counterStorage: UnsafeMutablePointer<UInt32>?
        private var counterCapacity = 0
        /// How many counters this pass took (0: none), for `summedCounters`.
        private(set) var counterCount = 0
        /// Sort keys for row-wise ranking (DELLA): two buffers of `sortCapacity` keys, one after the other.
        private var sortStorage: UnsafeMutablePointer<UInt64>?
        private var sortCapacity = 0

        init(inputs: Int, extra: Int, length: Int) {
            prepare(inputs: inputs, extra: extra, length: length)
        }

        /// Ready for a pass over chunks of `length` elements with `inputs` inputs and `extra` work
        /// buffers: grown when smaller (never shrunk), counters marked untaken.
        func prepare(inputs count: Int, extra extraCount: Int, length: Int) {
            if length > self.length {
                for buffer in inputs + extra { buffer.deallocate() }
                (inputs, extra, self.length) = ([], [], length)
            }
            while inputs.count < count { inputs.append(.allocate(capacity: self.length)) }
            while extra.count < extraCount { extra.append(.allocate(capacity: self.length)) }
            counterCount = 0
        }

        deinit {
            for buffer in inputs + extra { buffer.deallocate() }
            counterStorage?.deallocate()
            sortStorage?.deallocate()
        }

        /// This thread's `count` counters, zeroed on first use in the pass.
        func counters(_ count: Int) -> UnsafeMutablePointer<UInt32> {
            if counterCount == count, let counterStorage { return counterStorage }
            let counters: UnsafeMutablePointer<UInt32>
            if let counterStorage, counterCapacity >= count {
                counters = counterStorage
            } else {
                counterStorage?.deallocate()
                counters = .allocate(capacity: count)
                (counterStorage, counterCapacity) = (counters, count)
            }
            counters.initialize(repeating: 0, count: count)
            counterCount = count
            return counters
        }

        /// The counters this pass took, if any.
        var takenCounters: UnsafeMutablePointer<UInt32>? { counterCount > 0 ? counterStorage : nil }

        /// Room for `count` sort keys followed by `count` more (a radix sort's second buffer),
        /// grown when a row is longer than any before.
        func sortKeys(_ count: Int) -> UnsafeMutablePointer<UInt64> {
            if let sortStorage, sortCapacity >= count { return sortStorage }
            sortStorage?.deallocate()
            let storage = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * count)
            (sortStorage, sortCapacity) = (storage, count)
            return storage
        }

        /// `extra[i]` viewed as 32-bit keys.
        func keys(_ i: Int) -> UnsafeMutablePointer<UInt32> {
            UnsafeMutableRawPointer(extra[i]).assumingMemoryBound(to: UInt32.self)
        }
    }

    /// `count` scratches with at least `extra` work buffers, ready for a pass: this context's own,
    /// checked out of the pool at its start and given back at its end.
    private func scratches(_ count: Int, extra: Int) -> [Scratch] {
        while checkedOut.count < count { checkedOut.append(Scratch(inputs: inputCount, extra: extra, length: chunkLength)) }
        let scratches = Array(checkedOut.prefix(count))
        for scratch in scratches { scratch.prepare(inputs: inputCount, extra: extra, length: chunkLength) }
        return scratches
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

    /// Runs `body(chunk, range, scratch)` for every chunk (every `stride`-th), spread over the
    /// threads (`Parallel.forEach`: chunks are fixed by the shape and each writes only its own
    /// results), with inputs `loading` already loaded into `scratch.inputs`; returns the scratches
    /// the threads used, for their counters.
    @discardableResult
    func forEachChunk(loading: [Int]? = nil, extra: Int = 0, every stride: Int = 1, _ body: (Int, Range<Int>, Scratch) -> Void) -> [Scratch] {
        let toLoad = loading ?? Array(0..<inputCount)
        let visited = (chunkCount + stride - 1) / stride
        let scratches = scratches(max(1, min(threads, visited)), extra: extra)
        Parallel.forEach(pieces: visited, threads: threads) { piece, thread in
            let scratch = scratches[thread], chunk = piece * stride
            let range = self.range(ofChunk: chunk)
            for j in toLoad { self.load(j, range, into: scratch.inputs[j]) }
            body(chunk, range, scratch)
        }
        return scratches
    }

    /// Per-chunk results of `body`, in chunk order (for deterministic reductions).
    func mapChunks<T>(loading: [Int]? = nil, extra: Int = 0, _ body: (Int, Range<Int>, Scratch) -> T) -> [T] {
        let results = UnsafeMutablePointer<T?>.allocate(capacity: chunkCount)
        results.initialize(repeating: nil, count: chunkCount)
        defer { results.deinitialize(count: chunkCount); results.deallocate() }
        // Each chunk writes its own slot.
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
                guard let counters = scratch.takenCounters, let sums = sums.baseAddress else { continue }
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
        // Each block writes its own slot.
        nonisolated(unsafe) let slots = results
        let scratches = scratches(min(threads, blocks), extra: extra)
        Parallel.forEach(pieces: blocks, threads: threads) { block, thread in
            let scratch = scratches[thread]
            for chunk in (block * self.chunkCount / blocks)..<((block + 1) * self.chunkCount / blocks) {
                let range = self.range(ofChunk: chunk)
                for j in toLoad { self.load(j, range, into: scratch.inputs[j]) }
                body(&slots[block], chunk, range, scratch)
            }
        }
        return (0..<blocks).map { results[$0] }
    }

    /// Uniform draws for input `j` over `range` (the random sparsifiers' stream).
    func uniforms(input j: Int, _ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        Philox(seed: seed).uniforms(stream: UInt32(j), name: nameHash, range: range, into: out)
    }
}

/// Merge scratch kept from tensor to tensor and candidate to candidate (`MergeContext.Scratch`):
/// a search worker owns one (`Workbench`) and hands it to each candidate's `Materializer`, so the
/// hundreds of tensor passes of every candidate reuse a few chunk-long buffers per thread instead
/// of allocating them for each pass. Each tensor's context takes a set for its life, so merges
/// running at once on several threads never share one.
public final class ScratchPool: Sendable {
    private let free = Mutex<[[MergeContext.Scratch]]>([])

    public init() {}

    func take() -> [MergeContext.Scratch] { free.withLock { $0.popLast() ?? [] } }

    func giveBack(_ scratches: [MergeContext.Scratch]) {
        guard !scratches.isEmpty else { return }
        free.withLock { $0.append(scratches) }
    }
}
