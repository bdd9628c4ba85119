import CBLAS
import Foundation
import Tensors

/// A llama / mistral / qwen2 decoder (Touvron et al. 2023; transformers' `modeling_llama.py`):
/// token embedding, then per layer RMSNorm → grouped-query attention with rotary position
/// embeddings (rotate-half layout, optional q/k/v biases, optional sliding window) → residual,
/// RMSNorm → SwiGLU MLP → residual; final RMSNorm and the (possibly tied) output head.
/// Float32 throughout; the matrix products go through OpenBLAS `sgemm`.
public struct DecoderModel: Sendable {
    public let configuration: DecoderConfiguration
    public let weights: DecoderWeights
    let inverseFrequencies: [Float]

    public init(configuration: DecoderConfiguration, weights: DecoderWeights) {
        self.configuration = configuration
        self.weights = weights
        inverseFrequencies = configuration.inverseFrequencies
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

    /// Appends `tokens` and returns their logits, `tokens.count × vocabularySize`, row-major.
    public func forward(_ tokens: [Int]) throws(ModelError) -> [Float] {
        let c = model.configuration, w = model.weights
        let t = tokens.count
        guard t > 0 else { return [] }
        guard length + t <= capacity else {
            throw ModelError(file: "(session)", "\(length + t) positions exceed the session's capacity of \(capacity)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
            throw ModelError(file: "(session)", "token id \(bad) is outside the vocabulary (0..<\(c.vocabularySize))")
        }
        let h = c.hiddenSize, hd = c.headDimension, nq = c.headCount * hd, nkv = c.keyValueHeadCount * hd
        let start = length
        let total = start + t

        var x = [Float](repeating: 0, count: t * h)
        for (i, token) in tokens.enumerated() {
            for j in 0..<h { x[i * h + j] = w.embedding[token * h + j] }
        }
        var normed = [Float](repeating: 0, count: t * h)
        var q = [Float](repeating: 0, count: t * nq)
        var attention = [Float](repeating: 0, count: t * nq)
        var scores = [Float](repeating: 0, count: t * total)
        var gate = [Float](repeating: 0, count: t * c.intermediateSize)
        var up = [Float](repeating: 0, count: t * c.intermediateSize)
        let scale = 1 / Float(hd).squareRoot()

        for (index, layer) in w.layers.enumerated() {
            rmsNorm(x, layer.inputNorm, rows: t, width: h, into: &normed)
            multiply(normed, layer.query, rows: t, inner: h, outputs: nq, into: &q)
            let k = keys[index] + start * nkv, v = values[index] + start * nkv
            multiply(normed, layer.key, rows: t, inner: h, outputs: nkv, into: k)
            multiply(normed, layer.value, rows: t, inner: h, outputs: nkv, into: v)
            if let bias = layer.queryBias { addBias(bias, rows: t, to: &q) }
            if let bias = layer.keyBias { addBias(bias, rows: t, to: k) }
            if let bias = layer.valueBias { addBias(bias, rows: t, to: v) }
            rotate(&q, rows: t, heads: c.headCount, start: start)
            rotate(k, rows: t, heads: c.keyValueHeadCount, start: start)
            attend(q: q, layer: index, rows: t, start: start, scale: scale, scores: &scores, into: &attention)
            multiply(attention, layer.output, rows: t, inner: nq, outputs: h, into: &normed)
            for i in 0..<(t * h) { x[i] += normed[i] }

            rmsNorm(x, layer.postNorm, rows: t, width: h, into: &normed)
            multiply(normed, layer.gate, rows: t, inner: h, outputs: c.intermediateSize, into: &gate)
            multiply(normed, layer.up, rows: t, inner: h, outputs: c.intermediateSize, into: &up)
            for i in 0..<gate.count { gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
            multiply(gate, layer.down, rows: t, inner: c.intermediateSize, outputs: h, into: &normed)
            for i in 0..<(t * h) { x[i] += normed[i] }
        }
        length = total
        rmsNorm(x, w.finalNorm, rows: t, width: h, into: &normed)
        var logits = [Float](repeating: 0, count: t * c.vocabularySize)
        multiply(normed, w.head, rows: t, inner: h, outputs: c.vocabularySize, into: &logits)
        return logits
    }

    /// out = x · weightᵀ for a [outputs × inner] weight (torch's Linear layout).
    private func multiply(_ x: [Float], _ weight: UnsafeBufferPointer<Float>, rows: Int, inner: Int, outputs: Int, into out: UnsafeMutablePointer<Float>) {
        x.withUnsafeBufferPointer { a in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inner),
                        1, a.baseAddress, Int32(inner), weight.baseAddress, Int32(inner), 0, out, Int32(outputs))
        }
    }

    private func multiply(_ x: [Float], _ weight: UnsafeBufferPointer<Float>, rows: Int, inner: Int, outputs: Int, into out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            if let base = o.baseAddress { multiply(x, weight, rows: rows, inner: inner, outputs: outputs, into: base) }
        }
    }

    /// transformers' RMSNorm: x / sqrt(mean(x²) + ε), times the weight.
    private func rmsNorm(_ x: [Float], _ weight: UnsafeBufferPointer<Float>, rows: Int, width: Int, into out: inout [Float]) {
        let epsilon = model.configuration.rmsNormEpsilon
        for r in 0..<rows {
            var sum: Float = 0
            for j in 0..<width { sum += x[r * width + j] * x[r * width + j] }
            let inverse = 1 / (sum / Float(width) + epsilon).squareRoot()
            for j in 0..<width { out[r * width + j] = weight[j] * (x[r * width + j] * inverse) }
        }
    }

    private func addBias(_ bias: UnsafeBufferPointer<Float>, rows: Int, to out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { for j in 0..<bias.count { out[r * bias.count + j] += bias[j] } }
    }

    private func addBias(_ bias: UnsafeBufferPointer<Float>, rows: Int, to out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in if let base = o.baseAddress { addBias(bias, rows: rows, to: base) } }
    }

    /// Rotary embedding, rotate-half layout: (x₁, x₂) → (x₁ cos − x₂ sin, x₂ cos + x₁ sin).
    private func rotate(_ data: UnsafeMutablePointer<Float>, rows: Int, heads: Int, start: Int) {
        let hd = model.configuration.headDimension, half = hd / 2
        let frequencies = model.inverseFrequencies
        for r in 0..<rows {
            let position = Float(start + r)
            for i in 0..<half {
                let angle = position * frequencies[i]
                let cosine = cosf(angle), sine = sinf(angle)
                for head in 0..<heads {
                    let base = data + (r * heads + head) * hd
                    let x1 = base[i], x2 = base[i + half]
                    base[i] = x1 * cosine - x2 * sine
                    base[i + half] = x2 * cosine + x1 * sine
                }
            }
        }
    }

    private func rotate(_ data: inout [Float], rows: Int, heads: Int, start: Int) {
        data.withUnsafeMutableBufferPointer { d in if let base = d.baseAddress { rotate(base, rows: rows, heads: heads, start: start) } }
    }

    /// Causal (and, for mistral, sliding-window) softmax attention of the new rows over the cache,
    /// each query head reading key/value head `head / (heads / kvHeads)`.
    private func attend(q: [Float], layer: Int, rows: Int, start: Int, scale: Float, scores: inout [Float], into out: inout [Float]) {
        let c = model.configuration
        let hd = c.headDimension, nq = c.headCount * hd, nkv = c.keyValueHeadCount * hd
        let total = start + rows, group = c.headCount / c.keyValueHeadCount
        let window = c.slidingWindow
        q.withUnsafeBufferPointer { qp in
            scores.withUnsafeMutableBufferPointer { sp in
                out.withUnsafeMutableBufferPointer { op in
                    guard let qb = qp.baseAddress, let s = sp.baseAddress, let o = op.baseAddress else { return }
                    for head in 0..<c.headCount {
                        let kv = head / group
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(total), Int32(hd),
                                    scale, qb + head * hd, Int32(nq), keys[layer] + kv * hd, Int32(nkv), 0, s, Int32(total))
                        for r in 0..<rows {
                            let position = start + r
                            let first = window.map { max(0, position - $0 + 1) } ?? 0
                            let row = s + r * total
                            var maximum = -Float.infinity
                            for j in first...position { maximum = max(maximum, row[j]) }
                            var sum: Float = 0
                            for j in 0..<total {
                                if j < first || j > position { row[j] = 0; continue }
                                row[j] = expf(row[j] - maximum)
                                sum += row[j]
                            }
                            for j in first...position { row[j] /= sum }
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(hd), Int32(total),
                                    1, s, Int32(total), values[layer] + kv * hd, Int32(nkv), 0, o + head * hd, Int32(nq))
                    }
                }
            }
        }
    }
}
