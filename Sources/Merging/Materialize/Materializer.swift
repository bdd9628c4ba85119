import Foundation
import Tensors

/// Turns a `MergePlan` into tensors: streamed tensor by tensor from the memory-mapped sources,
/// never holding a whole source model or task vector in memory, into a caller's arena (for
/// in-memory evaluation) or into safetensors shards on disk.
///
/// Each tensor is split into chunks of whole rows processed by `threads` threads; methods that need
/// whole-tensor statistics (TIES thresholds, norms, angles) read the mapped sources again in extra
/// passes instead of caching them. Random sparsifiers draw from Philox keyed by (seed, tensor name,
/// input, element), so the output does not depend on the thread count.
public struct Materializer: Sendable {
    public let plan: MergePlan
    public let threads: Int
    public let seed: UInt64
    /// Elements of one merge chunk (whole rows of about this many): what each thread's scratch
    /// buffers hold, for planning memory.
    public static var chunkElements: Int { MergeContext.targetChunk }
    /// The merge scratch every tensor reuses (per thread, a few chunk-long buffers).
    let scratch: ScratchPool

    /// `seed` overrides the recipe's `random_seed` (0 when neither is given); `scratch`: a pool to
    /// reuse from an earlier materializer (a worker's), else a fresh one.
    public init(plan: MergePlan, threads: Int = ProcessInfo.processInfo.activeProcessorCount, seed: UInt64? = nil, scratch: ScratchPool = ScratchPool()) {
        self.plan = plan
        self.scratch = scratch
        self.threads = max(1, threads)
        self.seed = seed ?? plan.recipe.randomSeed ?? 0
    }

    /// Merges `tensor` into `out`, which holds exactly its elements, as Float32 (not yet rounded
    /// to the output dtype).
    public func merge(_ tensor: MergePlan.OutputTensor, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard out.count == tensor.elementCount else {
            throw SafetensorsError(file: "(arena)", tensor: tensor.name, .elementCountMismatch(expected: tensor.elementCount, actual: out.count))
        }
        guard let base = out.baseAddress else { return }
        try merge(tensor, into: .floats(base), roundingThrough: nil)
    }

    /// Where merged chunks go: Float32 in place, or encoded into `dtype` bytes through a
    /// per-thread chunk of Float32 (never a Float32 copy of the tensor).
    enum Destination {
        case floats(UnsafeMutablePointer<Float>)
        case encoded(UnsafeMutableRawPointer, DType)
    }

    /// Merges `tensor` chunk by chunk into `destination`, each chunk's Float32 values rounded
    /// through `roundingThrough` (the output dtype) before they are stored.
    func merge(_ tensor: MergePlan.OutputTensor, into destination: Destination, roundingThrough rounding: DType?) throws {
        var sources: [MergeContext.Source] = []
        for input in tensor.inputs {
            guard let source = plan.models[input.model].source.tensor(input.tensor) else {
                throw ModelFolderError(file: plan.models[input.model].reference, "has no tensor '\(input.tensor)'")
            }
            sources.append(MergeContext.Source(bytes: source.bytes, dtype: source.dtype, update: source.lowRank.map(MergeContext.LowRankUpdate.init)))
        }
        guard tensor.elementCount > 0 else { return }
        var folded: [UnsafeMutableBufferPointer<Float>] = []
        defer { folded.forEach { $0.deallocate() } }
        if !plan.recipe.mergeMethod.readsSourcesOnce && !tensor.passthrough {
            // Each pass would redo an adapter's GEMMs: fold it once into a copy of this tensor.
            let loader = MergeContext(tensor: tensor, sources: sources, threads: threads, seed: seed, pool: scratch)
            for j in sources.indices where sources[j].update != nil {
                let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: tensor.elementCount)
                folded.append(copy)
                // Each chunk writes only its own range of the copy.
                nonisolated(unsafe) let target = copy
                loader.forEachChunk(loading: [j]) { _, range, scratch in
                    (target.baseAddress! + range.lowerBound).update(from: scratch.inputs[j], count: range.count)
                }
                // Loaded values are final (rounded to the compute dtype, which is idempotent).
                sources[j] = MergeContext.Source(bytes: UnsafeRawBufferPointer(copy), dtype: .f32, update: nil)
            }
        }
        let context = MergeContext(tensor: tensor, sources: sources, threads: threads, seed: seed, pool: scratch)
        let kernel = try makeKernel(plan.recipe.mergeMethod, context: context, recipeFile: plan.file)
        let rounding = rounding.flatMap { $0 == .f32 ? nil : $0 }
        switch destination {
        case .floats(let base):
            // Each chunk writes only its own range of the output.
            nonisolated(unsafe) let base = base
            context.forEachChunk(extra: kernel.extraBuffers) { chunk, range, scratch in
                kernel.combine(chunk: chunk, range: range, scratch: scratch, out: base + range.lowerBound)
                if let rounding { FloatConversion.roundTrip(rounding, base + range.lowerBound, count: range.count) }
            }
        case .encoded(let base, let dtype):
            // Each chunk writes only its own byte range of the output.
            nonisolated(unsafe) let base = base
            let width = dtype.byteWidth, staged = kernel.extraBuffers
            context.forEachChunk(extra: staged + 1) { chunk, range, scratch in
                let values = scratch.extra[staged]
                kernel.combine(chunk: chunk, range: range, scratch: scratch, out: values)
                if let rounding, rounding != dtype { FloatConversion.roundTrip(rounding, values, count: range.count) }
                FloatConversion.encode(dtype, from: UnsafeBufferPointer(start: values, count: range.count),
                                       into: UnsafeMutableRawBufferPointer(start: base + range.lowerBound * width, count: range.count * width))
            }
        }
    }

    /// Merges every tensor into `arena` under its output name, stored as `storage` says. With
    /// `.outputDType` (the default) the arena holds exactly the tensors `write` puts on disk.
    /// Once `cancellation` is cancelled, the next tensor is not merged and `CancellationError` is
    /// thrown.
    public func materialize(into arena: TensorArena, storage: ArenaStorage = .outputDType, cancellation: Cancellation? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws {
        for (index, tensor) in plan.tensors.enumerated() {
            try cancellation?.check()
            let dtype = storage.storedDType(of: tensor)
            let bytes = try arena.storage(tensor.name, count: tensor.elementCount, dtype: dtype)
            guard let base = bytes.baseAddress else { continue }
            let rounding = storage == .unrounded ? nil : tensor.outDType
            if dtype == .f32 {
                try merge(tensor, into: .floats(base.assumingMemoryBound(to: Float.self)), roundingThrough: rounding)
            } else {
                try merge(tensor, into: .encoded(base, dtype), roundingThrough: rounding)
            }
            progress?(index + 1, plan.tensors.count)
        }
    }

    /// How an arena stores a candidate's merged tensors (DESIGN.md §5b: the arena's storage dtype).
    public enum ArenaStorage: Sendable, Equatable {
        /// Each tensor in its output dtype: exactly what `write` puts on disk (BF16 for a BF16
        /// recipe, 2 bytes per parameter).
        case outputDType
        /// Every tensor in `dtype`, its values rounded through the output dtype first (a Float32
        /// arena of a BF16 recipe holds the BF16 values, widened).
        case dtype(DType)
        /// Float32 as merged, not rounded to the output dtype (benchmarks of the merge alone).
        case unrounded

        public func storedDType(of tensor: MergePlan.OutputTensor) -> DType {
            switch self {
            case .outputDType: tensor.outDType.isFloat32Convertible ? tensor.outDType : .f32
            case .dtype(let dtype): dtype
            case .unrounded: .f32
            }
        }
    }

    /// The shard layout of the merged weights, in plan order.
    public func layout(maxShardSize: Int) -> SafetensorsLayout {
        SafetensorsLayout(
            tensors: plan.tensors.map { TensorSpec(name: $0.name, dtype: $0.outDType, shape: $0.shape) },
            maxShardSize: maxShardSize)
    }

    /// Merges every tensor and writes it through `writer`, encoded chunk by chunk into one
    /// buffer as large as the largest tensor in its output dtype (half a Float32 copy for BF16);
    /// `cancellation` is checked between tensors.
    public func write(to writer: SafetensorsWriter, cancellation: Cancellation? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let largest = plan.tensors.map { $0.elementCount * ArenaStorage.outputDType.storedDType(of: $0).byteWidth }.max() ?? 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(largest, 1), alignment: 64)
        defer { buffer.deallocate() }
        for (index, tensor) in plan.tensors.enumerated() {
            try cancellation?.check()
            let dtype = ArenaStorage.outputDType.storedDType(of: tensor)
            guard let base = buffer.baseAddress else { continue }
            try merge(tensor, into: .encoded(base, dtype), roundingThrough: nil)
            try writer.write(tensor.name, encoded: UnsafeRawBufferPointer(start: base, count: tensor.elementCount * dtype.byteWidth))
            progress?(index + 1, plan.tensors.count)
        }
        try writer.finish()
    }
}
