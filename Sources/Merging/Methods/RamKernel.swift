/// Reinforced Agent Merging (RAM, arXiv 2601.13572; mergekit `ram.py`), and RAM+ tensor-local
/// (`ramplus_tl`). An entry of the task vector δₖ = xₖ − base counts as changed when
/// |δₖ| > epsilon; an entry only one model changed is taken whole, one several models changed is
/// their mean, entries no model changed stay the base's. RAM+ scales each model's unique entries by
/// λₖ = 1 + r · clamp(ρₖ, 0, alpha), where ρₖ is the count of its changed entries other models
/// also changed over the count of those only it changed — that count clamped at epsilon, so a
/// model with no unique entry but a shared one gets λ = 1 + r·alpha (mergekit's quirk, kept).
///
/// Float32 in mergekit's order — per model (δ·unique)·λ + (δ·shared) / count, summed over the
/// models in order, added to the base; ρ and λ in float32 — so outputs equal mergekit's bit for bit.
struct RamKernel: MergeKernel {
    let base: Int
    let others: [Int]
    let epsilon: Float
    /// λₖ per model (1 for RAM).
    let lambdas: [Float]
    var extraBuffers: Int { 0 }

    init(context: MergeContext, plus: Bool) {
        let baseIndex = context.tensor.baseInput ?? 0, others = context.tensor.nonBaseInputs
        (base, self.others) = (baseIndex, others)
        let epsilon = Float(context.tensor.number("epsilon") ?? 1e-5)
        self.epsilon = epsilon
        guard plus, !others.isEmpty else {
            lambdas = others.map { _ in 1 }
            return
        }
        // Per model: [entries it shares with another model, entries only it changed].
        let blocks = context.mapBlocks(initial: { [Int](repeating: 0, count: 2 * others.count) }) { counts, _, range, scratch in
            let b = scratch.inputs[baseIndex]
            for i in 0..<range.count {
                let contributors = others.reduce(0) { $0 + ((scratch.inputs[$1][i] - b[i]).magnitude > epsilon ? 1 : 0) }
                guard contributors > 0 else { continue }
                for (k, j) in others.enumerated() where (scratch.inputs[j][i] - b[i]).magnitude > epsilon {
                    counts[2 * k + (contributors == 1 ? 1 : 0)] += 1
                }
            }
        }
        let r = Float(context.tensor.number("r") ?? 0.1), alpha = Float(context.tensor.number("alpha") ?? 0.2)
        lambdas = others.indices.map { k in
            let shared = blocks.reduce(0) { $0 + $1[2 * k] }, unique = blocks.reduce(0) { $0 + $1[2 * k + 1] }
            let rho = Float(shared) / max(Float(unique), epsilon)
            return 1 + r * min(max(rho, 0), alpha)
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let b = scratch.inputs[base]
        let epsilon = epsilon
        for i in 0..<range.count {
            var contributors = 0
            for j in others where (scratch.inputs[j][i] - b[i]).magnitude > epsilon { contributors += 1 }
            let unique: Float = contributors == 1 ? 1 : 0, shared: Float = contributors > 1 ? 1 : 0
            let divisor = Float(max(contributors, 1))
            var sum: Float = 0
            for (k, j) in others.enumerated() {
                let delta = scratch.inputs[j][i] - b[i]
                let changed = delta * (delta.magnitude > epsilon ? 1 : 0)
                let term = changed * unique * lambdas[k] + changed * shared / divisor
                sum = k == 0 ? term : sum + term
            }
            out[i] = b[i] + sum
        }
    }
}
