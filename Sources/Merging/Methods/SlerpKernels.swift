import Foundation

/// The weights of the two ends of a spherical interpolation at `t` between unit vectors whose
/// cosine is `cosine` (not colinear: each method decides when to fall back to linear weights),
/// rounded to Float as mergekit's torch code does: sin((1 − t)θ)/sin θ and sin(tθ)/sin θ, θ = acos.
func slerpCoefficients(_ t: Double, cosine: Double) -> (Float, Float) {
    let theta = acos(cosine)
    return (Float(sin((1 - t) * theta) / sin(theta)), Float(sin(t * theta) / sin(theta)))
}

/// Spherical interpolation of the base toward the other model by `t`, over the whole flattened
/// tensor, falling back to linear interpolation when the normalized vectors are nearly colinear
/// (|cos| > 0.9995); norms ≤ 1e-8 count as 1 (mergekit `slerp.py`; Shoemake 1985).
struct SlerpKernel: MergeKernel {
    let base: Int
    let other: Int
    let coefficients: (Float, Float)
    var extraBuffers: Int { 0 }

    init(context: MergeContext) {
        base = context.tensor.baseInput ?? 0
        other = base == 0 ? 1 : 0
        let (b, o) = (base, other)
        let stats = VectorStatistics(context: context, grouping: .whole, series: 2, extra: 0) { _, scratch in
            [scratch.inputs[b], scratch.inputs[o]]
        }
        let t = context.tensor.number("t") ?? 0
        var normA = stats.sum(vector: 0, 0, 0).squareRoot(), normB = stats.sum(vector: 0, 1, 1).squareRoot()
        if !(normA > 1e-8) { normA = 1 }
        if !(normB > 1e-8) { normB = 1 }
        let dot = min(1, max(-1, stats.sum(vector: 0, 0, 1) / (normA * normB)))
        coefficients = abs(dot) > 0.9995 ? (Float(1 - t), Float(t)) : slerpCoefficients(t, cosine: dot)
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let a = scratch.inputs[base], b = scratch.inputs[other]
        let (ca, cb) = coefficients
        for i in 0..<range.count { out[i] = ca * a[i] + cb * b[i] }
    }
}

/// NuSLERP (mergekit `nuslerp.py`): slerp between the two non-base models with t = w₂/(w₁+w₂)
/// (0.5 when the weights sum to ~0), on task vectors when a base is given; over the flattened
/// tensor by default, else per row, or per column with `nuslerp_row_wise`. Vectors are normalized
/// with norms clamped at 1e-7 and are colinear when 1 − cos² ≤ 1e-16 (then linear interpolation).
struct NuslerpKernel: MergeKernel {
    let base: Int?
    let first: Int
    let second: Int
    let stats: VectorStatistics
    let t: Double
    let rowLength: Int
    /// Per vector: coefficients of v₀ and v₁.
    let coefficients: [(Float, Float)]
    var extraBuffers: Int { 2 }

    init(context: MergeContext) {
        let inputs = context.tensor.inputs
        base = context.tensor.baseInput
        let others = context.tensor.nonBaseInputs
        first = others[0]
        second = others[1]
        let w0 = inputs[first].number("weight") ?? 0, w1 = inputs[second].number("weight") ?? 0
        t = abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1)
        let grouping: VectorGrouping = context.tensor.flag("nuslerp_flatten") ? .whole
            : context.tensor.flag("nuslerp_row_wise") ? .columns : .rows
        rowLength = context.rowLength
        let (b, f, s) = (base, first, second)
        stats = VectorStatistics(context: context, grouping: grouping, series: 2, extra: 2) { range, scratch in
            Self.taskVectors(base: b, first: f, second: s, count: range.count, scratch: scratch)
        }
        let t = self.t
        coefficients = (0..<stats.vectors).map { [stats] v in
            let n0 = max(stats.sum(vector: v, 0, 0).squareRoot(), 1e-7)
            let n1 = max(stats.sum(vector: v, 1, 1).squareRoot(), 1e-7)
            let cos = min(1, max(-1, stats.sum(vector: v, 0, 1) / (n0 * n1)))
            return 1 - cos * cos <= 1e-16 ? (Float(1 - t), Float(t)) : slerpCoefficients(t, cosine: cos)
        }
    }

    /// v₀, v₁ in the extra buffers: the two models minus the base (or the models themselves).
    static func taskVectors(base: Int?, first: Int, second: Int, count: Int, scratch: MergeContext.Scratch) -> [UnsafeMutablePointer<Float>] {
        let v0 = scratch.extra[0], v1 = scratch.extra[1]
        let x0 = scratch.inputs[first], x1 = scratch.inputs[second]
        if let base {
            let b = scratch.inputs[base]
            for i in 0..<count { v0[i] = x0[i] - b[i]; v1[i] = x1[i] - b[i] }
        } else {
            v0.update(from: x0, count: count)
            v1.update(from: x1, count: count)
        }
        return [v0, v1]
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let v = Self.taskVectors(base: base, first: first, second: second, count: range.count, scratch: scratch)
        let b = base.map { scratch.inputs[$0] }
        for i in 0..<range.count {
            let (c0, c1) = coefficients[stats.vector(of: range.lowerBound + i, rowLength: rowLength)]
            let mixed = c0 * v[0][i] + c1 * v[1][i]
            out[i] = b.map { $0[i] + mixed } ?? mixed
        }
    }
}

/// Model Stock (Jang et al. 2024; mergekit `model_stock.py`): with offsets oᵢ = wᵢ − w₀ of the N
/// fine-tunes from the base, cos θ is the mean pairwise cosine (norm products clamped at 1e-6),
/// t = N cos θ / (1 + (N − 1) cos θ) (0 where the denominator is below 1e-6), and the result is
/// t · mean(wᵢ) + (1 − t) · w₀ — per tensor, or per row with `filter_wise`.
struct ModelStockKernel: MergeKernel {
    let base: Int
    let others: [Int]
    let stats: VectorStatistics
    let rowLength: Int
    let ratios: [Float]
    var extraBuffers: Int { 0 }

    init(context: MergeContext) {
        base = context.tensor.baseInput ?? 0
        others = context.tensor.nonBaseInputs
        rowLength = context.rowLength
        let (b, o) = (base, others)
        let count = others.count
        // Series: the N offsets, computed in place of each fine-tune's loaded values on a copy.
        stats = VectorStatistics(context: context, grouping: context.tensor.flag("filter_wise") ? .rows : .whole,
                                 series: count, extra: count) { range, scratch in
            let w0 = scratch.inputs[b]
            return o.enumerated().map { k, j in
                let offset = scratch.extra[k], w = scratch.inputs[j]
                for i in 0..<range.count { offset[i] = w[i] - w0[i] }
                return offset
            }
        }
        ratios = (0..<stats.vectors).map { [stats] v in
            var cosines = 0.0, pairs = 0
            for a in 0..<count {
                for c in (a + 1)..<max(a + 1, count) {
                    let product = max(stats.sum(vector: v, a, a).squareRoot() * stats.sum(vector: v, c, c).squareRoot(), 1e-6)
                    cosines += min(1, max(-1, stats.sum(vector: v, a, c) / product))
                    pairs += 1
                }
            }
            let cos = cosines / Double(max(pairs, 1))
            let denominator = 1 + Double(count - 1) * cos
            return abs(denominator) < 1e-6 ? 0 : Float(Double(count) * cos / denominator)
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let w0 = scratch.inputs[base]
        let n = Float(others.count)
        for i in 0..<range.count {
            var sum: Float = 0
            for j in others { sum += scratch.inputs[j][i] }
            let t = ratios[stats.vector(of: range.lowerBound + i, rowLength: rowLength)]
            out[i] = t * (sum / n) + (1 - t) * w0[i]
        }
    }
}
