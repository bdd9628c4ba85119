/// SCE — Select, Calculate, Erase (Wan et al. 2024, "FuseChat", arXiv 2408.07990; mergekit
/// `sce.py`) over the task vectors δₖ = xₖ − base:
/// - select: when `select_topk` < 1, keep the entries whose variance across the models is among
///   the k largest, k = ⌊(count of nonzero variances) · select_topk⌋ computed in float32 as torch
///   does (`select_topk` ≤ 0 keeps nothing, so the output is the base). A tie at the k-th
///   variance goes to the lower index; torch.topk breaks it as its selection algorithm happens to
///   (the lower index when k ≤ n/64, its heap path; arbitrary above), so with tied variances —
///   common in BF16 checkpoints — the selection, the weights and hence every entry may differ;
/// - calculate: model k's weight is mean(δₖ²) over the whole (selected) tensor, over the sum of
///   those means — uniform when that sum is below 1e-6 (mergekit's cut-off, absolute: real task
///   vectors with entries near 1e-3 fall under it);
/// - erase: an entry of δₖ counts where its sign is that of Σₖ δₖ (0 counts as +; zeros never
///   agree), and out = base + Σ wₖ·δₖ / max(Σ agreeing wₖ, 1e-6).
///
/// The variances are float64 two-pass means rounded to float32, which is what torch.var gives
/// here, so the selection is mergekit's; per-entry arithmetic is float32 in mergekit's order. The
/// weights come from whole-tensor sums (float64 here, float32 in torch), so outputs agree to
/// rounding, not bit for bit.
struct SceKernel: MergeKernel {
    let base: Int
    let others: [Int]
    /// Which entries the selection keeps (by variance rank); nil when it keeps every entry.
    let selection: RankWindow?
    let keepsNothing: Bool
    let weights: [Float]
    var extraBuffers: Int { 2 }

    init(context: MergeContext) {
        let baseIndex = context.tensor.baseInput ?? 0, others = context.tensor.nonBaseInputs
        (base, self.others) = (baseIndex, others)
        let topk = context.tensor.number("select_topk") ?? 1
        let n = context.count
        var selection: RankWindow?
        var keepsNothing = topk <= 0
        if topk > 0 && topk < 1 && !others.isEmpty {
            let nonzero = context.mapBlocks(extra: 1, initial: { 0 }) { count, _, range, scratch in
                let variance = scratch.extra[0]
                Self.variances(base: baseIndex, others: others, count: range.count, scratch: scratch, into: variance)
                for i in 0..<range.count where variance[i] != 0 { count += 1 }
            }.reduce(0, +)
            let k = Int(Float(nonzero) * Float(topk))
            if k == 0 {
                keepsNothing = true
            } else {
                selection = RankSelection.select(context: context, windows: [0..<k], loading: Array(context.tensor.inputs.indices),
                                                 extra: 2, keyBuffer: 0) { _, range, scratch, keys in
                    let variance = scratch.extra[1]
                    Self.variances(base: baseIndex, others: others, count: range.count, scratch: scratch, into: variance)
                    for i in 0..<range.count { keys[i] = Self.descendingKey(variance[i]) }
                }.first
            }
        }
        self.selection = selection
        self.keepsNothing = keepsNothing
        // Σ δₖ² per model over the selected entries.
        let (window, nothing) = (selection, keepsNothing)
        let sums = context.mapBlocks(extra: 2, initial: { [Double](repeating: 0, count: others.count) }) { sums, _, range, scratch in
            Self.selectedTaskVectors(base: baseIndex, others: others, selection: window, keepsNothing: nothing, range: range, scratch: scratch)
            for (k, j) in others.enumerated() {
                let delta = scratch.inputs[j]
                var sum = 0.0
                for i in 0..<range.count { sum += Double(delta[i]) * Double(delta[i]) }
                sums[k] += sum
            }
        }
        let means = others.indices.map { k in Float(sums.reduce(0) { $0 + $1[k] } / Double(max(n, 1))) }
        let total = means.reduce(0, +)
        weights = abs(total) < 1e-6 ? means.map { _ in 1 / Float(means.count) } : means.map { $0 / total }
    }

    /// Ranks variances from the largest: ascending keys, ties (common with BF16 weights) in index
    /// order, so the first k ranks are the top k with the lower index winning a tie.
    static func descendingKey(_ variance: Float) -> UInt32 {
        0x7FFF_FFFF &- (variance.bitPattern & 0x7FFF_FFFF)
    }

    /// Each entry's variance across the models' task vectors (population variance, float64 two-pass).
    static func variances(base: Int, others: [Int], count: Int, scratch: MergeContext.Scratch, into variance: UnsafeMutablePointer<Float>) {
        let b = scratch.inputs[base]
        let models = Double(others.count)
        for i in 0..<count {
            var mean = 0.0
            for j in others { mean += Double(scratch.inputs[j][i] - b[i]) }
            mean /= models
            var squares = 0.0
            for j in others {
                let d = Double(scratch.inputs[j][i] - b[i]) - mean
                squares += d * d
            }
            variance[i] = Float(squares / models)
        }
    }

    /// Replaces each model's loaded values by its task vector, times the selection mask. Uses extra buffers 0 and 1.
    static func selectedTaskVectors(base: Int, others: [Int], selection: RankWindow?, keepsNothing: Bool, range: Range<Int>,
                                    scratch: MergeContext.Scratch) {
        let b = scratch.inputs[base], n = range.count
        let mask = scratch.extra[0]
        if keepsNothing {
            mask.update(repeating: 0, count: n)
        } else if let selection {
            let variance = scratch.extra[1], last = selection.highest
            variances(base: base, others: others, count: n, scratch: scratch, into: variance)
            for i in 0..<n {
                mask[i] = UInt64(descendingKey(variance[i])) << 32 | UInt64(range.lowerBound + i) <= last ? 1 : 0
            }
        }
        let masked = keepsNothing || selection != nil
        for j in others {
            let x = scratch.inputs[j]
            for i in 0..<n { x[i] = x[i] - b[i] }
            if masked { for i in 0..<n { x[i] = x[i] * mask[i] } }
        }
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        Self.selectedTaskVectors(base: base, others: others, selection: selection, keepsNothing: keepsNothing, range: range, scratch: scratch)
        let b = scratch.inputs[base]
        for i in 0..<range.count {
            var signSum: Float = 0
            for (k, j) in others.enumerated() { signSum = k == 0 ? scratch.inputs[j][i] : signSum + scratch.inputs[j][i] }
            let majority: Float = signSum >= 0 ? 1 : -1
            var mixed: Float = 0, divisor: Float = 0
            for (k, j) in others.enumerated() {
                let delta = scratch.inputs[j][i]
                let agrees: Float = (delta > 0 ? 1 : delta < 0 ? -1 : 0) == majority ? 1 : 0
                let weight = weights[k] * agrees
                mixed = k == 0 ? delta * weight : mixed + delta * weight
                divisor = k == 0 ? weight : divisor + weight
            }
            out[i] = b[i] + mixed / max(divisor, 1e-6)
        }
    }
}
