import Merging

/// What a merged model costs, from its plan (DESIGN.md §3 objectives `params`, `layers`,
/// `density`, `flops`). All exact and reproducible; measured latency is reported elsewhere, never
/// optimized, because it is not.
public struct CandidateCosts: Sendable, Equatable, Codable {
    /// Parameters of the materialized model (tied embeddings counted once).
    public let params: Int
    /// Decoder layers kept.
    public let layers: Int
    /// Fraction of task-vector entries the sparsifiers keep, weighted by tensor size: each
    /// sparsifying method's `density` (expected value for DARE/DELLA); 1 for dense methods.
    public let density: Double
    /// Floating-point operations per token of the linear layers and the output head (2 per
    /// multiply-add); attention scores are left out because they grow with the context.
    public let flops: Int

    public init(plan: MergePlan) {
        var params = 0, matrixParams = 0
        var kept = 0.0, total = 0.0
        let sparsifies = plan.recipe.mergeMethod.taskArithmetic?.sparsification != nil
        for tensor in plan.tensors {
            params += tensor.elementCount
            if tensor.shape.count == 2 && !tensor.name.contains("embed_tokens") { matrixParams += tensor.elementCount }
            for input in tensor.inputs where !input.isBase && !tensor.passthrough {
                let density: Double
                if sparsifies, case .number(let value)? = input.parameters["density"] { density = min(1, max(0, value)) } else { density = 1 }
                kept += density * Double(tensor.elementCount)
                total += Double(tensor.elementCount)
            }
        }
        // A tied output head is the embedding matrix used a second time.
        let head = plan.tensors.first { $0.name == "lm_head.weight" } == nil
            ? plan.tensors.first { $0.name.hasSuffix("embed_tokens.weight") }?.elementCount ?? 0 : 0
        self.params = params
        layers = plan.layerCount
        density = total > 0 ? kept / total : 1
        flops = 2 * (matrixParams + head)
    }

    public func value(_ quantity: String) -> Double? {
        switch quantity {
        case "params": Double(params)
        case "layers": Double(layers)
        case "density": density
        case "flops": Double(flops)
        default: nil
        }
    }
}
