import Foundation

/// Multi-SLERP (mergekit `multislerp.py`; C. Goddard, "multislerp", goddard.blog): the weighted
/// barycentre of the non-base models on the unit hypersphere (of their task vectors when a base is
/// given), scaled back by the weighted mean of their norms. Weights are normalized to sum to 1
/// unless `normalize_weights: false`; a lone non-base model is returned as it is (without the base).
///
/// mergekit projects the unit vectors uₖ = tₖ / (‖tₖ‖ + eps) onto the tangent space at their
/// normalized weighted mean μ = m / ‖m‖, m = Σ wₖuₖ, sums the weighted tangents and maps back with
/// the exponential map. The weighted tangents sum to m − ‖m‖μ = 0, so that step leaves μ·cos(eps)
/// (plus float32 rounding noise far below the tolerance); the kernel computes
/// out = μ · cos(eps) · Σ wₖ‖tₖ‖ (+ base) directly. When ‖m‖ < eps, two models fall back to
/// linear interpolation (w₀t₀ + w₁t₁) and more are an error, as in mergekit; so are weights
/// summing to 0 under `normalize_weights` (mergekit writes NaN). Norms come from
/// whole-tensor sums (float64 here, float32 in torch): outputs agree to rounding.
struct MultislerpKernel: MergeKernel {
    let base: Int?
    let others: [Int]
    let weights: [Float]
    /// ‖tₖ‖ + eps.
    let divisors: [Float]
    /// ‖m‖, or nil for the linear fallback.
    let meanNorm: Float?
    /// cos(eps) · Σ wₖ‖tₖ‖.
    let scale: Float
    var extraBuffers: Int { others.count }

    init(context: MergeContext, recipeFile: String) throws(RecipeError) {
        let baseIndex = context.tensor.baseInput, others = context.tensor.nonBaseInputs
        (base, self.others) = (baseIndex, others)
        var weights = others.map { Float(context.tensor.inputs[$0].number("weight") ?? 0) }
        if context.tensor.flag("normalize_weights") {
            let total = weights.reduce(0, +)
            // mergekit divides anyway and writes NaN.
            guard total != 0 || others.count == 1 else {
                throw RecipeError(file: recipeFile, "tensor '\(context.tensor.name)': multislerp's weights sum to 0, which normalize_weights divides by")
            }
            weights = weights.map { $0 / total }
        }
        self.weights = weights
        let eps = Float(context.tensor.number("eps") ?? 1e-8)
        guard others.count > 1 else {
            (divisors, meanNorm, scale) = ([], 1, 1)
            return
        }
        let (b, o) = (baseIndex, others)
        let stats = VectorStatistics(context: context, grouping: .whole, series: others.count, extra: others.count) { range, scratch in
            Self.vectors(base: b, others: o, count: range.count, scratch: scratch)
        }
        let norms = others.indices.map { Float(stats.sum(vector: 0, $0, $0).squareRoot()) }
        let divisors = norms.map { $0 + eps }
        self.divisors = divisors
        var squared = 0.0
        for j in others.indices {
            for k in others.indices {
                squared += Double(weights[j]) * Double(weights[k]) * stats.sum(vector: 0, j, k) / (Double(divisors[j]) * Double(divisors[k]))
            }
        }
        let norm = Float(max(0, squared).squareRoot())
        if norm < eps {
            guard others.count == 2 else {
                throw RecipeError(file: recipeFile, "tensor '\(context.tensor.name)': multislerp's weighted mean of the models is zero (antipodal models with balancing weights); choose other weights")
            }
            meanNorm = nil
        } else {
            meanNorm = norm
        }
        scale = cos(eps) * zip(norms, weights).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// The vectors tₖ: the models minus the base (into the extra buffers), or the models themselves.
    static func vectors(base: Int?, others: [Int], count: Int, scratch: MergeContext.Scratch) -> [UnsafeMutablePointer<Float>] {
        guard let base else { return others.map { scratch.inputs[$0] } }
        let b = scratch.inputs[base]
        return others.enumerated().map { k, j in
            let x = scratch.inputs[j], t = scratch.extra[k]
            for i in 0..<count { t[i] = x[i] - b[i] }
            return t
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let n = range.count
        guard others.count > 1 else {
            out.update(from: scratch.inputs[others[0]], count: n)
            return
        }
        let t = Self.vectors(base: base, others: others, count: n, scratch: scratch)
        let b = base.map { scratch.inputs[$0] }
        for i in 0..<n {
            var value: Float
            if let meanNorm {
                var mean: Float = 0
                for k in t.indices { mean = k == 0 ? t[k][i] / divisors[k] * weights[k] : mean + t[k][i] / divisors[k] * weights[k] }
                value = mean / meanNorm * scale
            } else {
                value = t[0][i] * weights[0] + t[1][i] * weights[1]
            }
            out[i] = b.map { $0[i] + value } ?? value
        }
    }
}

/// The Karcher (Fréchet) mean on the unit hypersphere (mergekit `karcher.py`; Karcher 1977):
/// every input — the base too, if given (mergekit ignores the base for this method and merges it
/// as one more input) — is normalized, their mean direction found by Riemannian gradient steps
/// (at most `max_iter`, stopping when the tangent's norm falls below `tol`; inputs within `tol`
/// of the mean in angle are left out of a step, inputs with norm ≤ `tol` out of the mean), and the
/// result scaled by the mean of all the inputs' norms.
///
/// Every iterate is a linear combination of the inputs, so the kernel iterates on coefficients
/// using the inputs' Gram matrix (one float64 pass) and writes Σ cₖxₖ in one more pass. Like torch,
/// it rounds each dot product to float32 before the clamp and arccos (which decides whether an
/// input is within `tol`). Outputs agree with mergekit to rounding, not bit for bit.
struct KarcherKernel: MergeKernel {
    let coefficients: [Float]
    var extraBuffers: Int { 0 }

    init(context: MergeContext) {
        let count = context.tensor.inputs.count
        guard count > 1 else {
            coefficients = [1]
            return
        }
        let maxIterations = Int(context.tensor.number("max_iter") ?? 10)
        let tol = context.tensor.number("tol") ?? 1e-5
        let stats = VectorStatistics(context: context, grouping: .whole, series: count, extra: 0) { _, scratch in
            Array(scratch.inputs.prefix(count))
        }
        func inner(_ a: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for i in 0..<count where a[i] != 0 {
                for j in 0..<count where b[j] != 0 { sum += a[i] * b[j] * stats.sum(vector: 0, i, j) }
            }
            return sum
        }
        func norm(_ a: [Double]) -> Double { Double(Float(max(0, inner(a, a)).squareRoot())) }
        func unitVector(_ k: Int, scale: Double) -> [Double] { (0..<count).map { $0 == k ? scale : 0 } }
        let norms = (0..<count).map { Double(Float(stats.sum(vector: 0, $0, $0).squareRoot())) }
        let valid = (0..<count).filter { norms[$0] > tol }
        guard !valid.isEmpty else {
            coefficients = [Float](repeating: 0, count: count)
            return
        }
        let alpha = 1 / Double(valid.count)
        let units = valid.map { unitVector($0, scale: 1 / norms[$0]) }
        var mean = [Double](repeating: 0, count: count)
        for unit in units { for i in 0..<count { mean[i] += alpha * unit[i] } }
        let meanNorm = norm(mean)
        mean = meanNorm < tol ? units[0] : mean.map { $0 / meanNorm }
        for _ in 0..<maxIterations {
            var tangent = [Double](repeating: 0, count: count)
            for unit in units {
                let dot = min(1, max(-1, Float(inner(mean, unit))))
                let theta = acos(dot)
                if Double(theta) < tol { continue }
                let factor = Double(Float(alpha) * (theta / sin(theta)))
                for i in 0..<count { tangent[i] += factor * (unit[i] - Double(dot) * mean[i]) }
            }
            let tangentNorm = norm(tangent)
            if tangentNorm < tol { break }
            mean = (0..<count).map { cos(tangentNorm) * mean[$0] + sin(tangentNorm) * tangent[$0] / tangentNorm }
            let unitNorm = norm(mean)
            if unitNorm > tol { mean = mean.map { $0 / unitNorm } }
        }
        let scale = norms.reduce(0) { $0 + $1 / Double(count) }
        coefficients = mean.map { Float(scale * $0) }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let n = range.count
        out.update(repeating: 0, count: n)
        for (k, c) in coefficients.enumerated() where c != 0 {
            let x = scratch.inputs[k]
            for i in 0..<n { out[i] += c * x[i] }
        }
    }
}
