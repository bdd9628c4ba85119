import Foundation

/// Multi-SLERP (mergekit `multislerp.py`; C. Goddard, "multislerp", goddard.blog): the weighted
/// barycentre of the non-base models on the unit hypersphere (of their task vectors when a base is
/// given), scaled back by the weighted mean of their norms. Weights are normalized to sum to 1
/// unless `normalize_weights: false`; a lone non-base model is returned as it is (without the base).
///
/// mergekit projects the unit vectors uₖ = tₖ / (‖tₖ‖ + eps) onto the tangent space at their
/// normalized weighted mean μ = m / ‖m‖, m = Σ wₖuₖ, sums the weighted tangents and maps back with
/// the exponential map. The weighted tangents sum to m − ‖m‖μ = 0, so that step leaves μ·cos(eps)
/// plus float32 rounding noise (about one ulp of μ); the kernel computes
/// out = μ · cos(eps) · Σ wₖ‖tₖ‖ (+ base) with everything else in torch's float32 order, norms
/// included (`TorchNorm`), so entries equal mergekit's or differ by that noise. When ‖m‖ < eps,
/// two models fall back to linear interpolation (w₀t₀ + w₁t₁) and more are an error, as in
/// mergekit; so are weights summing to 0 under `normalize_weights` (mergekit writes NaN).
struct MultislerpKernel: MergeKernel {
    let base: Int?
    let others: [Int]
    let weights: [Float]
    /// ‖tₖ‖ + eps.
    let divisors: [Float]
    /// ‖m‖, or nil for the linear fallback.
    let meanNorm: Float?
    /// cos(eps) and Σ wₖ‖tₖ‖.
    let cosine: Float
    let averageNorm: Float
    var extraBuffers: Int { others.count + 1 }

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
        cosine = cos(eps)
        guard others.count > 1 else {
            (divisors, meanNorm, averageNorm) = ([], 1, 1)
            return
        }
        let norms = TorchNorm.norms(context: context, series: others.count, extra: others.count + 1) { range, scratch in
            Self.vectors(base: baseIndex, others: others, count: range.count, scratch: scratch)
        }
        let divisors = norms.map { $0 + eps }
        self.divisors = divisors
        let norm = TorchNorm.norms(context: context, series: 1, extra: others.count + 1) { [weights] range, scratch in
            let t = Self.vectors(base: baseIndex, others: others, count: range.count, scratch: scratch)
            let mean = scratch.extra[others.count]
            Self.weightedMean(t, divisors: divisors, weights: weights, count: range.count, into: mean)
            return [mean]
        }[0]
        if norm < eps {
            guard others.count == 2 else {
                throw RecipeError(file: recipeFile, "tensor '\(context.tensor.name)': multislerp's weighted mean of the models is zero (antipodal models with balancing weights); choose other weights")
            }
            meanNorm = nil
        } else {
            meanNorm = norm
        }
        averageNorm = zip(norms, weights).reduce(0) { $0 + $1.0 * $1.1 }
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

    /// m = Σ (tₖ / dₖ) · wₖ, models in order.
    static func weightedMean(_ t: [UnsafeMutablePointer<Float>], divisors: [Float], weights: [Float], count: Int, into mean: UnsafeMutablePointer<Float>) {
        for i in 0..<count { mean[i] = t[0][i] / divisors[0] * weights[0] }
        for k in 1..<t.count {
            let x = t[k], d = divisors[k], w = weights[k]
            for i in 0..<count { mean[i] += x[i] / d * w }
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let n = range.count
        guard others.count > 1 else {
            out.update(from: scratch.inputs[others[0]], count: n)
            return
        }
        let t = Self.vectors(base: base, others: others, count: n, scratch: scratch)
        if let meanNorm {
            Self.weightedMean(t, divisors: divisors, weights: weights, count: n, into: out)
            for i in 0..<n { out[i] = out[i] / meanNorm * cosine * averageNorm }
        } else {
            for i in 0..<n { out[i] = t[0][i] * weights[0] + t[1][i] * weights[1] }
        }
        if let base {
            let b = scratch.inputs[base]
            for i in 0..<n { out[i] = out[i] + b[i] }
        }
    }
}

/// The Karcher (Fréchet) mean on the unit hypersphere (mergekit `karcher.py`, which cites
/// arXiv 2603.04972; Karcher 1977):
/// every input — the base too, if given (mergekit ignores the base for this method and merges it
/// as one more input) — is normalized, their mean direction found by Riemannian gradient steps
/// (at most `max_iter`, stopping when the tangent's norm falls below `tol`; inputs within `tol`
/// of the mean in angle are left out of a step, inputs with norm ≤ `tol` out of the mean), and the
/// result scaled by the mean of all the inputs' norms.
///
/// Every iterate is a combination Σ aₖuₖ of the unit inputs, so the kernel iterates on the
/// coefficients with the inputs' Gram matrix (one float64 pass), rounding each dot product to
/// float32 before the clamp and arccos as torch does (it decides whether an input is within `tol`).
/// The input norms, the final normalization and the scale are torch's float32 ones (`TorchNorm`),
/// elementwise work is in torch's order; torch's dot products (BLAS) are not reproduced, so outputs
/// agree to rounding, not bit for bit.
struct KarcherKernel: MergeKernel {
    /// aₖ, per input (0 for the inputs left out).
    let unitCoefficients: [Float]
    /// ‖xₖ‖ in torch's float32.
    let norms: [Float]
    /// The norm the final Σ aₖuₖ is divided by (nil: it is not normalized, or the output is 0).
    let divisor: Float?
    let scale: Float
    var extraBuffers: Int { 1 }

    init(context: MergeContext) {
        let count = context.tensor.inputs.count
        guard count > 1 else {
            (unitCoefficients, norms, divisor, scale) = ([1], [1], nil, 1)
            return
        }
        let maxIterations = Int(context.tensor.number("max_iter") ?? 10)
        let tol = context.tensor.number("tol") ?? 1e-5
        let norms = TorchNorm.norms(context: context, series: count, extra: 0) { _, scratch in Array(scratch.inputs.prefix(count)) }
        self.norms = norms
        scale = norms.reduce(0) { $0 + Float(1 / Double(count)) * $1 }
        let valid = (0..<count).filter { Double(norms[$0]) > tol }
        guard !valid.isEmpty else {
            (unitCoefficients, divisor) = ([Float](repeating: 0, count: count), nil)
            return
        }
        let gram = VectorStatistics(context: context, grouping: .whole, series: count, extra: 0) { _, scratch in
            Array(scratch.inputs.prefix(count))
        }
        // Vectors as coefficients of the unit inputs uₖ = xₖ / ‖xₖ‖.
        func inner(_ a: [Double], _ b: [Double]) -> Double {
            var sum = 0.0
            for i in valid where a[i] != 0 {
                for j in valid where b[j] != 0 {
                    sum += a[i] * b[j] * gram.sum(vector: 0, i, j) / (Double(norms[i]) * Double(norms[j]))
                }
            }
            return sum
        }
        func norm(_ a: [Double]) -> Double { Double(Float(max(0, inner(a, a)).squareRoot())) }
        let alpha = Double(Float(1 / Double(valid.count)))
        let units = valid.map { k in (0..<count).map { $0 == k ? 1.0 : 0 } }
        // `settled`: the last iterate before its normalization (Σ αuₖ at first), as torch divides it.
        var settled = (0..<count).map { valid.contains($0) ? alpha : 0 }
        var normalized = true
        let meanNorm = norm(settled)
        if meanNorm < tol {
            settled = units[0]
            normalized = false
        }
        var mean = normalized ? settled.map { $0 / meanNorm } : settled
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
            let moved = (0..<count).map { cos(tangentNorm) * mean[$0] + sin(tangentNorm) * tangent[$0] / tangentNorm }
            let unitNorm = norm(moved)
            settled = moved
            normalized = unitNorm > tol
            mean = normalized ? moved.map { $0 / unitNorm } : moved
        }
        // The output is scale · (Σ aₖuₖ / ‖Σ aₖuₖ‖), the norm taken as torch takes it.
        let coefficients = settled.map(Float.init)
        unitCoefficients = coefficients
        divisor = normalized ? TorchNorm.norms(context: context, series: 1, extra: 1) { range, scratch in
            Self.combination(coefficients, norms: norms, count: range.count, scratch: scratch, into: scratch.extra[0])
            return [scratch.extra[0]]
        }[0] : nil
    }

    /// Σ aₖ · (xₖ / ‖xₖ‖), inputs in order.
    static func combination(_ coefficients: [Float], norms: [Float], count: Int, scratch: MergeContext.Scratch, into v: UnsafeMutablePointer<Float>) {
        v.update(repeating: 0, count: count)
        for (k, a) in coefficients.enumerated() where a != 0 && norms[k] != 0 {
            let x = scratch.inputs[k], norm = norms[k]
            for i in 0..<count { v[i] += a * (x[i] / norm) }
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let n = range.count
        if unitCoefficients.count == 1 {
            out.update(from: scratch.inputs[0], count: n)
            return
        }
        Self.combination(unitCoefficients, norms: norms, count: n, scratch: scratch, into: out)
        let scale = scale
        if let divisor {
            for i in 0..<n { out[i] = scale * (out[i] / divisor) }
        } else {
            for i in 0..<n { out[i] = scale * out[i] }
        }
    }
}
