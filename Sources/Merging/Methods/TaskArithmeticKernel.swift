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
    /// The tasks' inputs and weights, in task order, and each weight in every SIMD lane: worked
    /// out once, so `combine` allocates nothing per chunk.
    let taskInputs: [Int]
    let weights: [Float]
    let weightLanes: [SIMD8<Float>]
    /// Every task keeps every entry and no sign is elected: one fused pass per model.
    let dense: Bool
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
        taskInputs = tasks.map(\.input)
        weights = tasks.map(\.weight)
        weightLanes = weights.map { SIMD8(repeating: $0) }
        dense = !consensus && tasks.allSatisfy(\.everything)
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
        let order = scratch.sortKeys(m), spare = order + m
        var row = 0
        while row < n {
            for i in 0..<m { order[i] = UInt64(delta[row + i].magnitude.bitPattern) << 32 | UInt64(i) }
            Self.sortByHighWord(order, spare: spare, count: m)
            for rank in 0..<m {
                let i = row + Int(order[rank] & 0xFFFF_FFFF)
                let normalized: Float = m > 1 ? Float(rank) / Float(m - 1) : 0
                let probability = low + normalized * 2 * epsilon
                mask[i] = draws[i] < probability ? 1 : 0
            }
            row += m
        }
    }

    /// Sorts `keys[0..<count]` ascending by their high 32 bits, keeping the order of equal ones
    /// (least-significant-digit radix sort, four 8-bit digits, through `spare`): for keys built as
    /// `magnitude bits << 32 | index` in index order, exactly the ascending order of the whole
    /// keys, found without allocating (the row's two buffers are the worker's scratch).
    static func sortByHighWord(_ keys: UnsafeMutablePointer<UInt64>, spare: UnsafeMutablePointer<UInt64>, count: Int) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { counts in
            guard let counts = counts.baseAddress else { return }
            var (from, to) = (keys, spare)
            for digit in 0..<4 {
                let shift = UInt64(32 + 8 * digit)
                counts.initialize(repeating: 0, count: 256)
                for i in 0..<count { counts[Int((from[i] >> shift) & 0xFF)] += 1 }
                var offset = 0
                for bucket in 0..<256 { (counts[bucket], offset) = (offset, offset + counts[bucket]) }
                for i in 0..<count {
                    let bucket = Int((from[i] >> shift) & 0xFF)
                    to[counts[bucket]] = from[i]
                    counts[bucket] += 1
                }
                (from, to) = (to, from)
            }
            // Four passes: the sorted keys are back in `keys`.
        }
    }

    /// TIES sign election and disjoint mean, eight lanes at a time, all task vectors in one pass:
    /// the majority sign is that of Σ xₜ (0 counts as +); xₜ agrees when xₜ · majority > 0 (zeros
    /// and NaN never do); out = base + λ · Σ agreeing xₜ / Σ agreeing wₜ (divisor 0 → 1).
    /// `vectors[indices[t]]` is task t's vector, `weights[t]` its weight and `lanes[t]` that weight
    /// in every lane.
    static func electAndMix(_ vectors: [UnsafeMutablePointer<Float>], indices: [Int], weights: [Float], lanes w: [SIMD8<Float>],
                            base: UnsafeMutablePointer<Float>, normalize: Bool, lambda: Float, out: UnsafeMutablePointer<Float>, count n: Int) {
        typealias V = SIMD8<Float>
        let zero = V(repeating: 0), one = V(repeating: 1), minusOne = V(repeating: -1), l = V(repeating: lambda)
        var i = 0
        while i + 8 <= n {
            var sum = zero
            for index in indices { sum += UnsafeRawPointer(vectors[index] + i).loadUnaligned(as: V.self) }
            let majority = minusOne.replacing(with: one, where: sum .>= zero)
            var mixed = zero, divisor = zero
            for (t, index) in indices.enumerated() {
                let value = UnsafeRawPointer(vectors[index] + i).loadUnaligned(as: V.self)
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
            for index in indices { sum += vectors[index][i] }
            let majority: Float = sum >= 0 ? 1 : -1
            var mixed: Float = 0, divisor: Float = 0
            for (t, index) in indices.enumerated() where vectors[index][i] * majority > 0 {
                mixed += vectors[index][i]
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
        let mixed = scratch.extra[0]
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
        }
        let lambda = lambda
        if consensus {
            Self.electAndMix(scratch.inputs, indices: taskInputs, weights: weights, lanes: weightLanes, base: b, normalize: normalize, lambda: lambda, out: out, count: n)
            return
        }
        if !dense || tasks.isEmpty {
            mixed.update(repeating: 0, count: n)
            for input in taskInputs {
                let x = scratch.inputs[input]
                for i in 0..<n { mixed[i] += x[i] }
            }
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
