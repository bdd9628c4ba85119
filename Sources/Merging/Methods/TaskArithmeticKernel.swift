import Tensors

/// The generalized task-arithmetic family (mergekit `generalized_task_arithmetic.py` and
/// `sparsify.py`): task vectors δᵢ = xᵢ − base, optionally sparsified (TIES magnitude top-k,
/// DARE Bernoulli, Breadcrumbs outlier window, DELLA rank-scaled Bernoulli) and L1-rescaled,
/// weighted, optionally sign-elected (TIES: majority sign of the weighted sum, zeros never
/// agree), summed, normalized by the agreeing weights, scaled by λ and added to the base.
///
/// References: Ilharco et al. 2023 (task arithmetic), Yadav et al. 2023 (TIES), Yu et al. 2024
/// (DARE), Davari & Belilovsky 2024 (Model Breadcrumbs), Deep et al. 2024 (DELLA).
struct TaskArithmeticKernel: MergeKernel {
    struct Task {
        let input: Int
        let weight: Float
        let density: Double
        let epsilon: Double
        var window: RankWindow?
        var everything: Bool
        var nothing: Bool
        var scale: Float = 1
    }

    let context: MergeContext
    let base: Int
    let sparsification: MergeMethod.Sparsification?
    let consensus: Bool
    var tasks: [Task]
    /// The tasks' weights, in task order.
    var weights: [Float] { tasks.map(\.weight) }
    let normalize: Bool
    let lambda: Float
    var extraBuffers: Int { 3 }

    init(context: MergeContext, sparsification: MergeMethod.Sparsification?, consensus: Bool) {
        self.context = context
        self.sparsification = sparsification
        self.consensus = consensus
        let inputs = context.tensor.inputs
        base = inputs.firstIndex { $0.isBase } ?? 0
        normalize = context.tensor.flag("normalize")
        lambda = Float(context.tensor.number("lambda") ?? 1)
        let n = context.count
        var tasks: [Task] = []
        var windows: [(task: Int, window: Range<Int>)] = []
        for (j, input) in inputs.enumerated() where j != base {
            let density = input.number("density") ?? 1
            var task = Task(input: j, weight: Float(input.number("weight") ?? 0), density: density,
                            epsilon: input.number("epsilon") ?? 0, everything: sparsification == nil || density >= 1, nothing: n == 0)
            if !task.everything, let sparsification {
                switch sparsification {
                case .magnitude:
                    let k = max(1, Int(density * Double(n)))
                    windows.append((tasks.count, n - k..<n))
                case .magnitudeOutliers:
                    let target = Int(density * Double(n))
                    let top = Int((input.number("gamma") ?? 0) * Double(n))
                    let bottom = max(0, n - target - top)
                    if target == 0 { task.nothing = true } else { windows.append((tasks.count, bottom..<bottom + target)) }
                case .random, .dellaMagprune:
                    break
                }
            }
            tasks.append(task)
        }
        if !windows.isEmpty {
            let inputsOfWindows = windows.map { tasks[$0.task].input }
            let baseIndex = base
            let selected = RankSelection.select(
                context: context, windows: windows.map(\.window), loading: [base] + inputsOfWindows, extra: 3, keyBuffer: 0
            ) { request, range, scratch, keys in
                let b = scratch.inputs[baseIndex], x = scratch.inputs[inputsOfWindows[request]]
                for i in 0..<range.count { keys[i] = (x[i] - b[i]).bitPattern & 0x7FFF_FFFF }
            }
            for (w, window) in zip(windows, selected) { tasks[w.task].window = window }
        }
        self.tasks = tasks
        if context.tensor.flag("rescale") { rescale() }
    }

    /// L1 rescale (mergekit `rescaled_masked_tensor`): each sparsified task vector is multiplied by
    /// ‖δ‖₁ / ‖mask·δ‖₁, unless either norm is below 1e-7.
    mutating func rescale() {
        let sparse = tasks.indices.filter { !tasks[$0].everything && !tasks[$0].nothing }
        guard !sparse.isEmpty else { return }
        let kernel = self
        let partials = context.mapBlocks(extra: 3, initial: { [Double](repeating: 0, count: 2 * sparse.count) }) { sums, chunk, range, scratch in
            for (slot, t) in sparse.enumerated() {
                let delta = scratch.extra[1], mask = scratch.extra[2]
                kernel.delta(kernel.tasks[t], range: range, scratch: scratch, into: delta)
                kernel.mask(kernel.tasks[t], chunk: chunk, range: range, scratch: scratch, delta: delta, into: mask)
                var before = 0.0, after = 0.0
                for i in 0..<range.count {
                    before += Double(delta[i].magnitude)
                    after += Double((delta[i] * mask[i]).magnitude)
                }
                sums[2 * slot] += before
                sums[2 * slot + 1] += after
            }
        }
        for (slot, t) in sparse.enumerated() {
            var before = 0.0, after = 0.0
            for partial in partials {
                before += partial[2 * slot]
                after += partial[2 * slot + 1]
            }
            if before >= 1e-7, after >= 1e-7 { tasks[t].scale = Float(before / after) }
        }
    }

    func delta(_ task: Task, range: Range<Int>, scratch: MergeContext.Scratch, into delta: UnsafeMutablePointer<Float>) {
        let b = scratch.inputs[base], x = scratch.inputs[task.input]
        for i in 0..<range.count { delta[i] = x[i] - b[i] }
    }

    /// 1 where the task keeps an entry, 0 where it drops it. Uses extra buffer 0 for keys or draws.
    func mask(_ task: Task, chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, delta: UnsafeMutablePointer<Float>, into mask: UnsafeMutablePointer<Float>) {
        let n = range.count
        if task.nothing { mask.update(repeating: 0, count: n); return }
        if task.everything { mask.update(repeating: 1, count: n); return }
        if let window = task.window {
            window.mask(start: range.lowerBound, values: delta, count: n, into: mask)
            return
        }
        let draws = scratch.extra[0]
        context.uniforms(input: task.input, range, into: draws)
        if sparsification == .random {
            let p = Float(task.density)
            for i in 0..<n { mask[i] = draws[i] < p ? 1 : 0 }
            return
        }
        // DELLA: within each row, keep probability (d − ε) + 2ε·(rank − 1)/(m − 1), ranks by magnitude.
        let m = context.rowLength
        let low = Float(task.density - task.epsilon), epsilon = Float(task.epsilon)
        var order = scratch.sortBuffer
        if order.count < m { order = [UInt64](repeating: 0, count: m) }
        var row = 0
        while row < n {
            for i in 0..<m { order[i] = UInt64(delta[row + i].magnitude.bitPattern) << 32 | UInt64(i) }
            order[0..<m].sort()
            for (rank, entry) in order[0..<m].enumerated() {
                let i = row + Int(entry & 0xFFFF_FFFF)
                let normalized: Float = m > 1 ? Float(rank) / Float(m - 1) : 0
                let probability = low + normalized * 2 * epsilon
                mask[i] = draws[i] < probability ? 1 : 0
            }
            row += m
        }
        scratch.sortBuffer = order
    }

    /// TIES sign election and disjoint mean, eight lanes at a time, all task vectors in one pass:
    /// the majority sign is that of Σ xₜ (0 counts as +); xₜ agrees when xₜ · majority > 0 (zeros
    /// and NaN never do); out = base + λ · Σ agreeing xₜ / Σ agreeing wₜ (divisor 0 → 1).
    static func electAndMix(_ vectors: [UnsafeMutablePointer<Float>], weights: [Float], base: UnsafeMutablePointer<Float>,
                            normalize: Bool, lambda: Float, out: UnsafeMutablePointer<Float>, count n: Int) {
        typealias V = SIMD8<Float>
        let zero = V(repeating: 0), one = V(repeating: 1), minusOne = V(repeating: -1), l = V(repeating: lambda)
        let w = weights.map { V(repeating: $0) }
        var i = 0
        while i + 8 <= n {
            var sum = zero
            for x in vectors { sum += UnsafeRawPointer(x + i).loadUnaligned(as: V.self) }
            let majority = minusOne.replacing(with: one, where: sum .>= zero)
            var mixed = zero, divisor = zero
            for (t, x) in vectors.enumerated() {
                let value = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
                let agrees = value * majority .> zero
                mixed += zero.replacing(with: value, where: agrees)
                divisor += zero.replacing(with: w[t], where: agrees)
            }
            if normalize { mixed /= one.replacing(with: divisor, where: divisor .!= zero) }
            if lambda != 1 { mixed *= l }
            UnsafeMutableRawPointer(out + i).storeBytes(of: UnsafeRawPointer(base + i).loadUnaligned(as: V.self) + mixed, as: V.self)
            i += 8
        }
        while i < n {
            var sum: Float = 0
            for x in vectors { sum += x[i] }
            let majority: Float = sum >= 0 ? 1 : -1
            var mixed: Float = 0, divisor: Float = 0
            for (t, x) in vectors.enumerated() where x[i] * majority > 0 {
                mixed += x[i]
                divisor += weights[t]
            }
            if normalize { mixed /= divisor == 0 ? 1 : divisor }
            if lambda != 1 { mixed *= lambda }
            out[i] = base[i] + mixed
            i += 1
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let n = range.count
        let b = scratch.inputs[base]
        let keep = scratch.extra[2]
        // Weighted, sparsified task vectors, in place of each model's loaded values. Every loop
        // below runs over one chunk with pointers hoisted, so it vectorizes; the arithmetic order
        // per element is mergekit's (models in order).
        var vectors: [UnsafeMutablePointer<Float>] = []
        let mixed = scratch.extra[0]
        let dense = !consensus && tasks.allSatisfy(\.everything)
        for (t, task) in tasks.enumerated() {
            let x = scratch.inputs[task.input]
            let weight = task.weight
            if dense {
                // Task arithmetic: one fused pass per model, same operations in the same order.
                if t == 0 {
                    for i in 0..<n { mixed[i] = (x[i] - b[i]) * weight }
                } else {
                    for i in 0..<n { mixed[i] += (x[i] - b[i]) * weight }
                }
                continue
            }
            if let window = task.window {
                // Sparsify in the same pass: δ, then δ · mask (as mergekit multiplies by its mask).
                window.sparsify(start: range.lowerBound, x: x, base: b, count: n)
            } else {
                for i in 0..<n { x[i] = x[i] - b[i] }
                if !task.everything {
                    mask(task, chunk: chunk, range: range, scratch: scratch, delta: x, into: keep)
                    for i in 0..<n { x[i] = x[i] * keep[i] }
                }
            }
            let scale = task.scale
            if scale != 1 { for i in 0..<n { x[i] = x[i] * scale } }
            for i in 0..<n { x[i] = x[i] * weight }
            vectors.append(x)
        }
        let lambda = lambda
        if consensus {
            Self.electAndMix(vectors, weights: weights, base: b, normalize: normalize, lambda: lambda, out: out, count: n)
            return
        }
        if !dense || tasks.isEmpty {
            mixed.update(repeating: 0, count: n)
            for x in vectors { for i in 0..<n { mixed[i] += x[i] } }
        }
        var total: Float = weights.reduce(0, +)
        if total.magnitude < 1e-8 { total = 1 }
        let divide = normalize
        for i in 0..<n {
            var value = mixed[i]
            if divide { value /= total }
            if lambda != 1 { value *= lambda }
            out[i] = b[i] + value
        }
    }
}
