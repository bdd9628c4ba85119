import Foundation

/// Arcee Fusion (mergekit `arcee_fusion.py`): the other model's entries replace the base's where
/// they matter most. An entry's importance is |x − base| times the KL divergence, along the last
/// dimension, between softmax(x) and softmax(base) (each plus 1e-8); the entries at or above
/// median + 1.5·(q₃ − q₁) of the importances are taken from x, the rest from the base.
///
/// Quantiles are mergekit's: the sorted values at ⌊q·(n − 1)⌋, q ∈ {0.25, 0.5, 0.75} computed in
/// float32. Two differences, both near the threshold only: mergekit samples one million
/// importances (torch's RNG) on larger tensors, Amalgam ranks them all; and torch's float32 KL
/// loses up to ~1% to cancellation where Amalgam's is float64, so an entry whose importance lies
/// within that of the threshold can land on the other side (on the test fixtures: 1 entry of
/// 206 232). Everything else is float32 in mergekit's order, so every other entry is bit for bit.
struct ArceeFusionKernel: MergeKernel {
    let base: Int
    let other: Int
    let rowLength: Int
    /// KL divergence per row (the last dimension), rounded to float32 as mergekit's is.
    let divergences: [Float]
    /// Importances at or above it are taken from the other model (nil: a single entry, always taken).
    let threshold: Float?
    var extraBuffers: Int { 1 }

    init(context: MergeContext) {
        let baseIndex = context.tensor.baseInput ?? 0, otherIndex = baseIndex == 0 ? 1 : 0
        (base, other) = (baseIndex, otherIndex)
        let rowLength = context.rowLength
        self.rowLength = rowLength
        let divergences = context.mapChunks { _, range, scratch -> [Float] in
            let x = scratch.inputs[otherIndex], b = scratch.inputs[baseIndex]
            return stride(from: 0, to: range.count, by: rowLength).map { start in
                Self.divergence(x + start, b + start, count: min(rowLength, range.count - start))
            }
        }.flatMap { $0 }
        self.divergences = divergences
        let n = context.count
        guard n > 1 else {
            threshold = nil
            return
        }
        // Ranks ⌊q·(n − 1)⌋, each found as the last element of a one-element window.
        let ranks = [Float(0.25), 0.5, 0.75].map { Int($0 * Float(n - 1)) }
        let windows = RankSelection.select(context: context, windows: ranks.map { $0..<($0 + 1) }, loading: [baseIndex, otherIndex],
                                           extra: 1, keyBuffer: 0) { _, range, scratch, keys in
            let x = scratch.inputs[otherIndex], b = scratch.inputs[baseIndex]
            for i in 0..<range.count {
                keys[i] = Self.orderedKey(Self.importance(x[i], b[i], divergences[(range.lowerBound + i) / rowLength]))
            }
        }
        let quartiles = windows.map { Self.value(ofKey: UInt32(truncatingIfNeeded: $0.highest >> 32)) }
        threshold = quartiles[1] + 1.5 * (quartiles[2] - quartiles[0])
    }

    static func importance(_ x: Float, _ base: Float, _ divergence: Float) -> Float {
        (x - base).magnitude * divergence
    }

    /// Σ p·log(p/q) with p = softmax(x) + 1e-8, q = softmax(base) + 1e-8, in float64.
    static func divergence(_ x: UnsafeMutablePointer<Float>, _ base: UnsafeMutablePointer<Float>, count: Int) -> Float {
        func softmaxTerms(_ v: UnsafeMutablePointer<Float>) -> (max: Double, sum: Double) {
            var top = -Double.infinity
            for i in 0..<count { top = max(top, Double(v[i])) }
            var sum = 0.0
            for i in 0..<count { sum += exp(Double(v[i]) - top) }
            return (top, sum)
        }
        let (px, sx) = softmaxTerms(x), (pb, sb) = softmaxTerms(base)
        var divergence = 0.0
        for i in 0..<count {
            let p = exp(Double(x[i]) - px) / sx + 1e-8, q = exp(Double(base[i]) - pb) / sb + 1e-8
            divergence += p * log(p / q)
        }
        return Float(divergence)
    }

    /// A 32-bit key whose unsigned order is the float order (negatives below positives).
    static func orderedKey(_ value: Float) -> UInt32 {
        let bits = value.bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    static func value(ofKey key: UInt32) -> Float {
        Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
    }

    func combine(chunk: Int, range: Range<Int>, scratch: MergeContext.Scratch, out: UnsafeMutablePointer<Float>) {
        let x = scratch.inputs[other], b = scratch.inputs[base]
        for i in 0..<range.count {
            let importance = Self.importance(x[i], b[i], divergences[(range.lowerBound + i) / rowLength])
            let taken: Float = threshold.map { importance >= $0 ? 1 : 0 } ?? 1
            out[i] = b[i] + (x[i] - b[i]) * taken
        }
    }
}
