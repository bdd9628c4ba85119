import Tensors

/// One merge method applied to one output tensor: statistics passes in `init` (norms, thresholds,
/// dot products), then `combine` fills each chunk of the output from that chunk's inputs.
protocol MergeKernel {
    /// Work buffers `combine` needs beside the loaded inputs.
    var extraBuffers: Int { get }
    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>)
}

extension MergePlan.Input {
    func number(_ name: String) -> Double? {
        if case .number(let value)? = parameters[name] { return value }
        return nil
    }
}

extension MergePlan.OutputTensor {
    /// The base input's index, nil when the tensor has none.
    var baseInput: Int? { inputs.firstIndex { $0.isBase } }

    /// Every input but the base, in input order.
    var nonBaseInputs: [Int] {
        let base = baseInput
        return inputs.indices.filter { $0 != base }
    }

    func number(_ name: String) -> Double? {
        if case .number(let value)? = parameters[name] { return value }
        return nil
    }

    func flag(_ name: String) -> Bool {
        if case .bool(let value)? = parameters[name] { return value }
        return false
    }
}

/// The kernel for `method` on the context's tensor. Throws when the inputs admit no result
/// (multislerp's zero mean), naming `recipeFile`.
func makeKernel(_ method: MergeMethod, context: MergeContext, recipeFile: String) throws(RecipeError) -> any MergeKernel {
    if context.tensor.passthrough { return PassthroughKernel(context: context) }
    switch method.family {
    case .taskArithmetic(let traits):
        return TaskArithmeticKernel(context: context, sparsification: traits.sparsification, consensus: traits.consensus)
    case .linear: return LinearKernel(context: context)
    case .slerp: return SlerpKernel(context: context)
    case .nuslerp: return NuslerpKernel(context: context)
    case .modelStock: return ModelStockKernel(context: context)
    case .passthrough: return PassthroughKernel(context: context)
    case .sce: return SceKernel(context: context)
    case .multislerp: return try MultislerpKernel(context: context, recipeFile: recipeFile)
    case .karcher: return KarcherKernel(context: context)
    case .nearswap: return NearswapKernel(context: context)
    case .arceeFusion: return ArceeFusionKernel(context: context)
    case .ram(let plus): return RamKernel(context: context, plus: plus)
    }
}

/// Copies the single input, times its `scale` when set (mergekit `passthrough.py`).
struct PassthroughKernel: MergeKernel {
    let scale: Float?
    var extraBuffers: Int { 0 }

    init(context: MergeContext) {
        scale = context.tensor.inputs.first?.number("scale").map(Float.init)
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let x = scratch.inputs[0]
        if let scale {
            for i in 0..<range.count { out[i] = x[i] * scale }
        } else {
            out.update(from: x, count: range.count)
        }
    }
}

/// Weighted sum of every input, divided by the sum of weights when `normalize` (mergekit `linear.py`;
/// Wortsman et al. 2022, "Model soups"). Each term is added with one rounding (a fused multiply-add),
/// as torch's vectorized `addcmul_` does on CPUs with FMA, so float32 outputs equal mergekit's bit
/// for bit.
struct LinearKernel: MergeKernel {
    let weights: [Float]
    let divisor: Float?
    var extraBuffers: Int { 0 }

    init(context: MergeContext) {
        weights = context.tensor.inputs.map { Float($0.number("weight") ?? 0) }
        divisor = context.tensor.flag("normalize") ? weights.reduce(0, +) : nil
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let n = range.count
        out.update(repeating: 0, count: n)
        for (j, w) in weights.enumerated() {
            let x = scratch.inputs[j]
            for i in 0..<n { out[i].addProduct(x[i], w) }
        }
        if let divisor {
            for i in 0..<n { out[i] /= divisor }
        }
    }
}
