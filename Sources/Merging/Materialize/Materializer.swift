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

    /// `seed` overrides the recipe's `random_seed` (0 when neither is given).
    public init(plan: MergePlan, threads: Int = ProcessInfo.processInfo.activeProcessorCount, seed: UInt64? = nil) {
        self.plan = plan
        self.threads = max(1, threads)
        self.seed = seed ?? plan.recipe.randomSeed ?? 0
    }

    /// Merges `tensor` into `out`, which holds exactly its elements, as Float32 (not yet rounded
    /// to the output dtype).
    public func merge(_ tensor: MergePlan.OutputTensor, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard out.count == tensor.elementCount else {
            throw SafetensorsError(file: "(arena)", tensor: tensor.name, .elementCountMismatch(expected: tensor.elementCount, actual: out.count))
        }
        var sources: [MergeContext.Source] = []
        for input in tensor.inputs {
            guard let source = plan.models[input.model].source.tensor(input.tensor) else {
                throw ModelFolderError(file: plan.models[input.model].reference, "has no tensor '\(input.tensor)'")
            }
            sources.append(MergeContext.Source(bytes: source.bytes, dtype: source.dtype, update: source.lowRank.map(MergeContext.LowRankUpdate.init)))
        }
        guard let base = out.baseAddress, tensor.elementCount > 0 else { return }
        var folded: [UnsafeMutableBufferPointer<Float>] = []
        defer { folded.forEach { $0.deallocate() } }
        if !plan.recipe.mergeMethod.readsSourcesOnce && !tensor.passthrough {
            // Each pass would redo an adapter's GEMMs: fold it once into a copy of this tensor.
            let loader = MergeContext(tensor: tensor, sources: sources, threads: threads, seed: seed)
            for j in sources.indices where sources[j].update != nil {
                let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: tensor.elementCount)
                folded.append(copy)
                nonisolated(unsafe) let target = copy
                loader.forEachChunk(loading: [j]) { _, range, scratch in
                    (target.baseAddress! + range.lowerBound).update(from: scratch.inputs[j], count: range.count)
                }
                // Loaded values are final (rounded to the compute dtype, which is idempotent).
                sources[j] = MergeContext.Source(bytes: UnsafeRawBufferPointer(copy), dtype: .f32, update: nil)
            }
        }
        let context = MergeContext(tensor: tensor, sources: sources, threads: threads, seed: seed)
        let kernel = try makeKernel(plan.recipe.mergeMethod, context: context, recipeFile: plan.file)
        nonisolated(unsafe) let destination = base
        context.forEachChunk(extra: kernel.extraBuffers) { chunk, range, scratch in
            kernel.combine(chunk: chunk, range: range, scratch: scratch, out: destination + range.lowerBound)
        }
    }

    /// Merges every tensor into `arena` under its output name. With `roundingToOutputDType` the
    /// values are rounded through each tensor's output dtype, so the arena holds exactly what a
    /// model written by `write` would load as. Once `cancellation` is cancelled, the next tensor
    /// is not merged and `CancellationError` is thrown.
    public func materialize(into arena: TensorArena, roundingToOutputDType: Bool = true, cancellation: Cancellation? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws {
        for (index, tensor) in plan.tensors.enumerated() {
            try cancellation?.check()
            let buffer = arena.buffer(tensor.name, count: tensor.elementCount)
            try merge(tensor, into: buffer)
            if roundingToOutputDType { Self.round(buffer, to: tensor.outDType, threads: threads) }
            progress?(index + 1, plan.tensors.count)
        }
    }

    /// Rounds Float32 values in place through `dtype` (a no-op for F32).
    public static func round(_ values: UnsafeMutableBufferPointer<Float>, to dtype: DType, threads: Int = 1) {
        guard dtype != .f32, dtype.isFloat32Convertible, let base = values.baseAddress else { return }
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: values.count * 2, alignment: 64)
        defer { raw.deallocate() }
        FloatConversion.encode(dtype, from: UnsafeBufferPointer(values), into: raw, threads: threads)
        FloatConversion.decode(dtype, from: UnsafeRawBufferPointer(raw), into: UnsafeMutableBufferPointer(start: base, count: values.count), threads: threads)
    }

    /// The shard layout of the merged weights, in plan order.
    public func layout(maxShardSize: Int) -> SafetensorsLayout {
        SafetensorsLayout(
            tensors: plan.tensors.map { TensorSpec(name: $0.name, dtype: $0.outDType, shape: $0.shape) },
            maxShardSize: maxShardSize)
    }

    /// Merges every tensor and writes it through `writer`, reusing one Float32 buffer as large as
    /// the largest tensor; `cancellation` is checked between tensors.
    public func write(to writer: SafetensorsWriter, cancellation: Cancellation? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let largest = plan.tensors.map(\.elementCount).max() ?? 0
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(largest, 1))
        defer { buffer.deallocate() }
        for (index, tensor) in plan.tensors.enumerated() {
            try cancellation?.check()
            let out = UnsafeMutableBufferPointer(rebasing: buffer[0..<tensor.elementCount])
            try merge(tensor, into: out)
            try writer.write(tensor.name, values: UnsafeBufferPointer(out), threads: threads)
            progress?(index + 1, plan.tensors.count)
        }
        try writer.finish()
    }
}
