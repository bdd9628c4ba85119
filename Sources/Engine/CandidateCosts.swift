import Archive
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
    /// sparsifying method's `density` (expected value for DARE/DELLA), sce's `select_topk` (of the
    /// entries whose variance is not 0); 1 for dense methods.
    public let density: Double
    /// Floating-point operations per token of the linear layers and the output head (2 per
    /// multiply-add); attention scores are left out because they grow with the context.
    public let flops: Int

    /// Counts from the plan's tensors grouped by its layout (`MergePlan.layout`, the family's or
    /// the one read off the tensor names): the matrices of the kept layers, and the output head —
    /// a 2-D weight after the layers, or, when there is none (tied embeddings), the embedding
    /// matrix before them used a second time. The embedding lookup itself is not a product.
    /// Costs as recorded (a remote worker's outcome read back).
    init(params: Int, layers: Int, density: Double, flops: Int) {
        self.params = params
        self.layers = layers
        self.density = density
        self.flops = flops
    }

    public init(plan: MergePlan) {
        var params = 0, layerMatrices = 0
        var kept = 0.0, total = 0.0
        let sparsifies = plan.recipe.mergeMethod.taskArithmetic?.sparsification != nil
        let before = Set(plan.layout.preWeights.map(\.name)), after = Set(plan.layout.postWeights.map(\.name))
        var head: Int?, embedding: Int?
        for tensor in plan.tensors {
            params += tensor.elementCount
            if tensor.shape.count == 2 {
                if before.contains(tensor.name) {
                    embedding = embedding ?? tensor.elementCount
                } else if after.contains(tensor.name) {
                    head = (head ?? 0) + tensor.elementCount
                } else if tensor.name.hasPrefix(plan.layout.layerPrefix) {
                    layerMatrices += tensor.elementCount
                }
            }
            for input in tensor.inputs where !input.isBase && !tensor.passthrough {
                let density: Double
                if sparsifies, case .number(let value)? = input.parameters["density"] {
                    density = min(1, max(0, value))
                } else if plan.recipe.mergeMethod == .sce, case .number(let value)? = tensor.parameters["select_topk"] {
                    density = min(1, max(0, value))
                } else {
                    density = 1
                }
                kept += density * Double(tensor.elementCount)
                total += Double(tensor.elementCount)
            }
        }
        self.params = params
        layers = plan.layerCount
        density = total > 0 ? kept / total : 1
        flops = 2 * (layerMatrices + (head ?? embedding ?? 0))
    }

    /// The costs' names, as objectives and as the archive's `objective` rows name them.
    public static let names = ["params", "layers", "density", "flops"]

    /// The costs recorded with a candidate's objectives (`SearchEngine.store` writes every one), or
    /// nil when one is missing (an archive written before costs were recorded).
    public init?(recorded: [ObjectiveRecord]) {
        func value(_ name: String) -> Double? { recorded.first { $0.name == name }?.value }
        guard let params = value("params"), let layers = value("layers"), let density = value("density"), let flops = value("flops"),
              let p = Int(exactly: params), let l = Int(exactly: layers), let f = Int(exactly: flops) else { return nil }
        self.init(params: p, layers: l, density: density, flops: f)
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
