import CBLAS
import Foundation
import Tensors

/// A decoder-only transformer of any registered family (`ModelFamilies`), run from shared
/// pieces as its `DecoderBlock` wires them: token embedding (scaled for Gemma), then per layer
/// [input norm] → grouped-query attention (q/k/v projections, separate or fused, optional
/// biases, optional q/k RMSNorm per head or over the projection, rotary embeddings over all or
/// part of each head, causal or sliding-window softmax, optional score soft-capping) → [output
/// norm] → residual, and [input norm] → gated MLP (SiLU or GELU-tanh) → [output norm] →
/// residual; final RMSNorm, the (possibly tied) output head, optional logit soft-capping.
/// Float32 throughout; the matrix products go through OpenBLAS `sgemm`.
public struct DecoderModel: Sendable {
    public let configuration: DecoderConfiguration
    public let weights: DecoderWeights
    /// Each rotary embedding's frequencies when they do not depend on the call (computed once).
    let fixedRotaries: [(inverse: [Float], factor: Float)?]
    /// Threads for the linear layers. Each product is cut into slices of `sliceWidth` output
    /// features, each computed by one single-threaded `sgemm`, and the slices are spread over the
    /// threads. The cut does not depend on the thread count, so logits are bitwise the same with 1
    /// thread or 16 — OpenBLAS's own threading changes their last bits (it picks other kernels for
    /// other shapes), which would let a search's thread layout change what it proposes
    /// (DESIGN.md §4). OpenBLAS itself must run single-threaded: `BLASThreads.set(1)`.
    public var threads = 1
    static let sliceWidth = 256

    public init(configuration: DecoderConfiguration, weights: DecoderWeights) {
        self.configuration = configuration
        self.weights = weights
        fixedRotaries = configuration.rotaries.map { $0.dependsOnPositions ? nil : $0.frequencies(positions: 0) }
    }

    /// Loads config.json and the weights of a model folder.
    public init(folder: ModelFolder) throws {
        guard let config = folder.config else { throw ModelError(file: folder.path, "has no config.json") }
        let configuration = try DecoderConfiguration(config)
        self.init(configuration: configuration, weights: try DecoderWeights(folder: folder, configuration: configuration))
    }

    /// A fresh session with room for `capacity` positions.
    public func session(capacity: Int) -> DecoderSession { DecoderSession(model: self, capacity: capacity) }
}

/// One sequence being run through a `DecoderModel`, with its key/value cache: feed tokens in one
/// call (a prompt) or several (generation); each call returns the logits of the tokens it fed.
/// A class because it owns the cache; use one per thread.
public final class DecoderSession {
    public let model: DecoderModel
    public let capacity: Int
    public private(set) var length = 0
    private let keys: [UnsafeMutablePointer<Float>]
    private let values: [UnsafeMutablePointer<Float>]

    init(model: DecoderModel, capacity: Int) {
        self.model = model
        self.capacity = capacity
        let width = model.configuration.keyValueHeadCount * model.configuration.headDimension
        keys = (0..<model.configuration.layerCount).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: capacity * width) }
        values = (0..<model.configuration.layerCount).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: capacity * width) }
    }

    deinit {
        for buffer in keys + values { buffer.deallocate() }
    }

    /// Forgets every position (the cache is reused).
    public func reset() { length = 0 }

    /// Forgets the positions from `count` on, keeping the cache of the first `count` (a shared
    /// context scored against several continuations).
    public func truncate(to count: Int) { length = min(length, max(0, count)) }

    /// Where one new row goes: its cache slot, its rotary position, and the cache slots it may
    /// attend to under one sliding window (or none).
    struct Row {
        let slot: Int
        let position: Int
        let visible: [ClosedRange<Int>]
    }

    /// Appends `tokens` and returns their logits, `tokens.count × vocabularySize`, row-major — or,
    /// with `lastOnly`, only the last token's (`vocabularySize` values): a context scored against
    /// continuations needs no other, and the output head is the largest product of a model with
    /// a big vocabulary (Gemma's 256 000 × 2 304). The cache is the same either way.
    public func forward(_ tokens: [Int], lastOnly: Bool = false) throws(ModelError) -> [Float] {
        let start = length
        let logits = try run(tokens, headRows: lastOnly ? max(0, tokens.count - 1)..<tokens.count : nil) { window in
            tokens.indices.map { i in
                let slot = start + i
                return Row(slot: slot, position: slot, visible: [(window.map { max(0, slot - $0 + 1) } ?? 0)...slot])
            }
        }
        length += tokens.count
        return logits
    }

    /// Scores several continuations of the cached context in one pass: each branch sees the
    /// context and its own earlier tokens, never another branch's. Returns each branch's logits;
    /// the cache keeps only the context afterwards.
    public func forwardBranches(_ branches: [[Int]]) throws(ModelError) -> [[Float]] {
        let context = length
        let logits = try run(branches.flatMap { $0 }) { window in
            var rows: [Row] = []
            var slot = context
            for branch in branches {
                let first = slot
                for i in branch.indices {
                    let position = context + i
                    let lowest = window.map { position - $0 + 1 } ?? 0
                    var visible: [ClosedRange<Int>] = []
                    if context > 0, max(0, lowest) < context { visible.append(max(0, lowest)...(context - 1)) }
                    visible.append(max(first, slot - (position - max(lowest, context)))...slot)
                    rows.append(Row(slot: slot, position: position, visible: visible))
                    slot += 1
                }
            }
            return rows
        }
        let vocabulary = model.configuration.vocabularySize
        var out: [[Float]] = []
        var offset = 0
        for branch in branches {
            out.append(Array(logits[(offset * vocabulary)..<((offset + branch.count) * vocabulary)]))
            offset += branch.count
        }
        return out
    }

    /// Runs `tokens` through every layer, laid out by `layout(window)` for each sliding window
    /// the layers use (nil: full causal attention); returns the logits of `headRows` (all rows
    /// when nil).
    private func run(_ tokens: [Int], headRows: Range<Int>? = nil, layout: (Int?) -> [Row]) throws(ModelError) -> [Float] {
        let c = model.configuration, w = model.weights
        let t = tokens.count
        guard t > 0 else { return [] }
        var layouts: [Int?: [Row]] = [:]
        for layer in c.layers where layouts[layer.slidingWindow] == nil { layouts[layer.slidingWindow] = layout(layer.slidingWindow) }
        let rows = layouts[c.layers.first?.slidingWindow] ?? layout(nil)
        let total = (rows.map(\.slot).max() ?? 0) + 1
        guard total <= capacity else {
            throw ModelError(file: "(session)", "\(total) positions exceed the session's capacity of \(capacity)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
            throw ModelError(file: "(session)", "token id \(bad) is outside the vocabulary (0..<\(c.vocabularySize))")
        }
        let h = c.hiddenSize, hd = c.headDimension, nq = c.headCount * hd, nkv = c.keyValueHeadCount * hd
        let start = rows[0].slot
        let positions = (rows.map(\.position).max() ?? 0) + 1
        let rotaries = zip(c.rotaries, model.fixedRotaries).map { rotary, fixed in fixed ?? rotary.frequencies(positions: positions) }

        var x = [Float](repeating: 0, count: t * h)
        let scale = c.embeddingScale ?? 1
        for (i, token) in tokens.enumerated() {
            for j in 0..<h { x[i * h + j] = w.embedding[token * h + j] * scale }
        }
        var normed = [Float](repeating: 0, count: t * h)
        var sublayer = [Float](repeating: 0, count: t * h)
        var q = [Float](repeating: 0, count: t * nq)
        var attention = [Float](repeating: 0, count: t * nq)
        var scores = [Float](repeating: 0, count: t * total)
        var gate = [Float](repeating: 0, count: t * c.intermediateSize)
        var up = [Float](repeating: 0, count: t * c.intermediateSize)

        for (index, layer) in w.layers.enumerated() {
            let geometry = c.layers[index]
            let layerRows = layouts[geometry.slidingWindow] ?? rows
            normalize(x, layer.attentionInputNorm, rows: t, width: h, into: &normed)
            multiply(normed, layer.query, rows: t, inner: h, outputs: nq, into: &q)
            let k = keys[index] + start * nkv, v = values[index] + start * nkv
            multiply(normed, layer.key, rows: t, inner: h, outputs: nkv, into: k)
            multiply(normed, layer.value, rows: t, inner: h, outputs: nkv, into: v)
            if let bias = layer.queryBias { addBias(bias, rows: t, to: &q) }
            if let bias = layer.keyBias { addBias(bias, rows: t, to: k) }
            if let bias = layer.valueBias { addBias(bias, rows: t, to: v) }
            if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
                let perHead = c.block.attention.queryKeyNorm == .perHead
                q.withUnsafeMutableBufferPointer { qp in
                    if let base = qp.baseAddress { rmsNormInPlace(base, queryNorm, rows: perHead ? t * c.headCount : t, width: perHead ? hd : nq) }
                }
                rmsNormInPlace(k, keyNorm, rows: perHead ? t * c.keyValueHeadCount : t, width: perHead ? hd : nkv)
            }
            let rotary = rotaries[geometry.rotary]
            let rotated = c.rotaries[geometry.rotary].dimension
            q.withUnsafeMutableBufferPointer { qp in
                if let base = qp.baseAddress { rotate(base, layerRows, heads: c.headCount, dimension: rotated, rotary) }
            }
            rotate(k, layerRows, heads: c.keyValueHeadCount, dimension: rotated, rotary)
            attend(q: q, layer: index, layerRows, total: total, scores: &scores, into: &attention)
            multiply(attention, layer.output, rows: t, inner: nq, outputs: h, into: &sublayer)
            if let bias = layer.outputBias { addBias(bias, rows: t, to: &sublayer) }
            residual(&x, &sublayer, layer.attentionOutputNorm, rows: t, width: h)

            normalize(x, layer.mlpInputNorm, rows: t, width: h, into: &normed)
            multiply(normed, layer.gate, rows: t, inner: h, outputs: c.intermediateSize, into: &gate)
            multiply(normed, layer.up, rows: t, inner: h, outputs: c.intermediateSize, into: &up)
            switch c.block.mlp.activation {
            case .silu:
                for i in 0..<gate.count { gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
            case .geluTanh:
                // torch's GeluKernel, approximate="tanh": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
                let beta = Float(2.0.squareRoot() * (2 / Double.pi.squareRoot()) * 0.5), kappa: Float = 0.044715
                for i in 0..<gate.count {
                    let g = gate[i]
                    gate[i] = 0.5 * g * (1 + tanhf(beta * (g + kappa * g * g * g))) * up[i]
                }
            }
            multiply(gate, layer.down, rows: t, inner: c.intermediateSize, outputs: h, into: &sublayer)
            residual(&x, &sublayer, layer.mlpOutputNorm, rows: t, width: h)
        }
        let kept = headRows ?? 0..<t
        rmsNorm(kept.count == t ? x : Array(x[(kept.lowerBound * h)..<(kept.upperBound * h)]), w.finalNorm, rows: kept.count, width: h, into: &normed)
        var logits = [Float](repeating: 0, count: kept.count * c.vocabularySize)
        multiply(normed, w.head, rows: kept.count, inner: h, outputs: c.vocabularySize, into: &logits)
        if let cap = c.finalLogitSoftCap {
            for i in logits.indices { logits[i] = tanhf(logits[i] / cap) * cap }
        }
        // Overflowing weights (a merge with extreme weights, a corrupt source) give inf/NaN
        // logits; every score computed from them would be meaningless, so they are an error.
        if logits.contains(where: { !$0.isFinite }) {
            throw ModelError(file: "(model)", "gives non-finite logits (its weights overflow or are corrupt)")
        }
        return logits
    }

    /// The sublayer's input: `x` normed when the block has an input norm, else `x` itself.
    private func normalize(_ x: [Float], _ norm: UnsafeBufferPointer<Float>?, rows: Int, width: Int, into out: inout [Float]) {
        if let norm { rmsNorm(x, norm, rows: rows, width: width, into: &out) } else { out = x }
    }

    /// x += sublayer, the sublayer's output normed first (in place) when the block has an output norm.
    private func residual(_ x: inout [Float], _ sublayer: inout [Float], _ norm: UnsafeBufferPointer<Float>?, rows: Int, width: Int) {
        if let norm {
            sublayer.withUnsafeMutableBufferPointer { o in if let base = o.baseAddress { rmsNormInPlace(base, norm, rows: rows, width: width) } }
        }
        for i in 0..<(rows * width) { x[i] += sublayer[i] }
    }

    /// out = x · weightᵀ for a [outputs × inner] weight (torch's Linear layout), in fixed slices of
    /// output features (see `DecoderModel.threads`).
    private func multiply(_ x: [Float], _ weight: UnsafeBufferPointer<Float>, rows: Int, inner: Int, outputs: Int, into out: UnsafeMutablePointer<Float>) {
        let width = DecoderModel.sliceWidth
        let slices = (outputs + width - 1) / width
        let threads = min(max(1, model.threads), slices)
        x.withUnsafeBufferPointer { a in
            guard let a = a.baseAddress, let w = weight.baseAddress else { return }
            nonisolated(unsafe) let (a0, w0, o0) = (a, w, out)
            let slice: @Sendable (Int) -> Void = { s in
                let start = s * width, count = min(width, outputs - start)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(inner),
                            1, a0, Int32(inner), w0 + start * inner, Int32(inner), 0, o0 + start, Int32(outputs))
            }
            if threads == 1 {
                for s in 0..<slices { slice(s) }
            } else {
                DispatchQueue.concurrentPerform(iterations: threads) { t in
                    for s in stride(from: t, to: slices, by: threads) { slice(s) }
                }
            }
        }
    }

    private func multiply(_ x: [Float], _ weight: UnsafeBufferPointer<Float>, rows: Int, inner: Int, outputs: Int, into out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            if let base = o.baseAddress { multiply(x, weight, rows: rows, inner: inner, outputs: outputs, into: base) }
        }
    }

    /// transformers' RMSNorm: x / sqrt(mean(x²) + ε), times (offset + weight) — offset 1 for
    /// Gemma's (1 + w) norms, 0 otherwise.
    private func rmsNorm(_ x: [Float], _ weight: UnsafeBufferPointer<Float>, rows: Int, width: Int, into out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            x.withUnsafeBufferPointer { xp in
                if let target = o.baseAddress, let source = xp.baseAddress { rmsNorm(source, weight, rows: rows, width: width, into: target) }
            }
        }
    }

    private func rmsNormInPlace(_ x: UnsafeMutablePointer<Float>, _ weight: UnsafeBufferPointer<Float>, rows: Int, width: Int) {
        rmsNorm(UnsafePointer(x), weight, rows: rows, width: width, into: x)
    }

    private func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafeBufferPointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let epsilon = model.configuration.rmsNormEpsilon, offset = model.configuration.normOffset
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<width { sum += x[r * width + j] * x[r * width + j] }
            let inverse = 1 / (sum / Float(width) + epsilon).squareRoot()
            for j in 0..<width { out[r * width + j] = (offset + weight[j]) * (x[r * width + j] * inverse) }
        }
    }

    private func addBias(_ bias: UnsafeBufferPointer<Float>, rows: Int, to out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { for j in 0..<bias.count { out[r * bias.count + j] += bias[j] } }
    }

    private func addBias(_ bias: UnsafeBufferPointer<Float>, rows: Int, to out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in if let base = o.baseAddress { addBias(bias, rows: rows, to: base) } }
    }

    /// Rotary embedding, rotate-half layout over each head's first `dimension` entries (the rest
    /// pass through): (x₁, x₂) → (x₁ cos − x₂ sin, x₂ cos + x₁ sin), cos and sin times the
    /// rotary's attention factor (longrope).
    private func rotate(_ data: UnsafeMutablePointer<Float>, _ rows: [Row], heads: Int, dimension: Int, _ rotary: (inverse: [Float], factor: Float)) {
        let hd = model.configuration.headDimension, half = dimension / 2
        for (r, row) in rows.enumerated() {
            let position = Float(row.position)
            for i in 0..<half {
                let angle = position * rotary.inverse[i]
                let cosine = cosf(angle) * rotary.factor, sine = sinf(angle) * rotary.factor
                for head in 0..<heads {
                    let base = data + (r * heads + head) * hd
                    let x1 = base[i], x2 = base[i + half]
                    base[i] = x1 * cosine - x2 * sine
                    base[i + half] = x2 * cosine + x1 * sine
                }
            }
        }
    }

    /// Causal (or sliding-window) softmax attention of the new rows over the cache, each query
    /// head reading key/value head `head / (heads / kvHeads)`; scores soft-capped when configured.
    private func attend(q: [Float], layer: Int, _ layout: [Row], total: Int, scores: inout [Float], into out: inout [Float]) {
        let c = model.configuration
        let scale = c.queryScale, cap = c.attentionSoftCap
        let hd = c.headDimension, nq = c.headCount * hd, nkv = c.keyValueHeadCount * hd
        let rows = layout.count, group = c.headCount / c.keyValueHeadCount
        q.withUnsafeBufferPointer { qp in
            scores.withUnsafeMutableBufferPointer { sp in
                out.withUnsafeMutableBufferPointer { op in
                    guard let qb = qp.baseAddress, let s = sp.baseAddress, let o = op.baseAddress else { return }
                    for head in 0..<c.headCount {
                        let kv = head / group
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(total), Int32(hd),
                                    scale, qb + head * hd, Int32(nq), keys[layer] + kv * hd, Int32(nkv), 0, s, Int32(total))
                        for (r, row) in layout.enumerated() {
                            let scoresRow = s + r * total
                            if let cap {
                                for range in row.visible { for j in range { scoresRow[j] = tanhf(scoresRow[j] / cap) * cap } }
                            }
                            var maximum = -Float.infinity
                            for range in row.visible { for j in range { maximum = max(maximum, scoresRow[j]) } }
                            var sum: Float = 0
                            var next = 0
                            for range in row.visible {
                                for j in next..<range.lowerBound { scoresRow[j] = 0 }
                                for j in range {
                                    scoresRow[j] = expf(scoresRow[j] - maximum)
                                    sum += scoresRow[j]
                                }
                                next = range.upperBound + 1
                            }
                            for j in next..<total { scoresRow[j] = 0 }
                            for range in row.visible { for j in range { scoresRow[j] /= sum } }
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(hd), Int32(total),
                                    1, s, Int32(total), values[layer] + kv * hd, Int32(nkv), 0, o + head * hd, Int32(nq))
                    }
                }
            }
        }
    }
}
