import CBLAS
import Synchronization
import Foundation
import Tensors

/// A decoder-only transformer of any registered family (`ModelFamilies`), run from shared
/// pieces as its `DecoderBlock` wires them: token embedding (scaled for Gemma), then per layer
/// [input norm] → grouped-query attention (q/k/v projections, separate or fused, optional
/// biases, optional q/k RMSNorm per head or over the projection, rotary embeddings over all or
/// part of each head, causal or sliding-window softmax, optional score soft-capping) → [output
/// norm] → residual, and [input norm] → gated MLP (SiLU or GELU-tanh) → [output norm] →
/// residual; final RMSNorm, the (possibly tied) output head, optional logit soft-capping.
/// Float32 arithmetic throughout (weights stored as BF16 or F16 are widened exactly, tile by
/// tile, as they are multiplied); the matrix products go through OpenBLAS `sgemm`.
public struct DecoderModel: Sendable {
    public let configuration: DecoderConfiguration
    public let weights: DecoderWeights
    /// Each rotary embedding's frequencies when they do not depend on the call (computed once).
    let fixedRotaries: [(inverse: [Float], factor: Float)?]
    /// Threads for a forward pass. Each matrix product is cut into tiles — slices of
    /// `sliceWidth` output features, and for products at most `narrowOutputs` wide also blocks
    /// of about `rowBlock` rows, so that a narrow product still has a tile for every thread —
    /// each computed by one single-threaded `sgemm`; attention runs per sequence and head, and
    /// norms, activations and rotary embeddings per block of rows. The cut does not depend on
    /// the thread count, so logits are bitwise the same with 1 thread or 16 (`Parallel`) —
    /// OpenBLAS's own threading changes their last bits (it picks other kernels for other
    /// shapes), which would let a search's thread layout change what it proposes (DESIGN.md
    /// §4). OpenBLAS itself must run single-threaded: `BLASThreads.set(1)`.
    public var threads = 1
    /// How products are cut (tests cut tiny models finely to have several tiles).
    var tiling = Tiling()
    /// Memory for sessions to reuse (cache, activations, widened tiles, logits); nil: each
    /// session allocates its own.
    public var workspace: DecoderWorkspace?

    struct Tiling {
        var sliceWidth = 512
        var narrowOutputs = 1024
        var rowBlock = 128
    }

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
    /// The model's workspace when this session holds it, else one of its own.
    private let workspace: DecoderWorkspace
    private let holdsShared: Bool

    init(model: DecoderModel, capacity: Int) {
        self.model = model
        self.capacity = capacity
        if let shared = model.workspace, shared.claim() {
            workspace = shared
            holdsShared = true
        } else {
            workspace = DecoderWorkspace()
            holdsShared = false
        }
        let width = model.configuration.keyValueHeadCount * model.configuration.headDimension
        (keys, values) = workspace.caches(layers: model.configuration.layerCount, count: capacity * width)
    }

    deinit {
        if holdsShared { workspace.release() }
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

    /// Rows whose attention is computed together: they attend within `slots` only (one
    /// sequence of a batch; everything for a single sequence).
    struct Segment {
        let rows: Range<Int>
        let slots: Range<Int>
    }

    /// The rows of one sequence whose position 0 sits in cache slot `origin`, for `count` new
    /// tokens from `position` on: each sees its sequence's earlier slots (within the window).
    static func sequenceRows(origin: Int, position: Int, count: Int, window: Int?) -> [Row] {
        (0..<count).map { i in
            let p = position + i
            return Row(slot: origin + p, position: p, visible: [(origin + (window.map { max(0, p - $0 + 1) } ?? 0))...(origin + p)])
        }
    }

    /// The rows of continuations of a context held in `context` slots (positions 0…), laid out
    /// one after another from slot `first`: each sees the context and its own earlier tokens,
    /// never another branch's (within the window).
    static func branchRows(context: Range<Int>, branches: [Int], first: Int, window: Int?) -> [Row] {
        var rows: [Row] = []
        var slot = first
        for length in branches {
            let start = slot
            for i in 0..<length {
                let position = context.count + i
                let lowest = window.map { position - $0 + 1 } ?? 0
                var visible: [ClosedRange<Int>] = []
                if !context.isEmpty, max(0, lowest) < context.count { visible.append((context.lowerBound + max(0, lowest))...(context.upperBound - 1)) }
                visible.append(max(start, slot - (position - max(lowest, context.count)))...slot)
                rows.append(Row(slot: slot, position: position, visible: visible))
                slot += 1
            }
        }
        return rows
    }

    /// Appends `tokens` and returns their logits, `tokens.count × vocabularySize`, row-major — or,
    /// with `lastOnly`, only the last token's (`vocabularySize` values): a context scored against
    /// continuations needs no other, and the output head is the largest product of a model with
    /// a big vocabulary (Gemma's 256 000 × 2 304). The cache is the same either way.
    public func forward(_ tokens: [Int], lastOnly: Bool = false) throws(ModelError) -> [Float] {
        let start = length
        let hidden = try run(tokens, headRows: lastOnly && !tokens.isEmpty ? [tokens.count - 1] : nil,
                             segments: [Segment(rows: 0..<tokens.count, slots: 0..<(start + tokens.count))]) { window in
            Self.sequenceRows(origin: 0, position: start, count: tokens.count, window: window)
        }
        let logits = try head(hidden[...])
        length += tokens.count
        return logits
    }

    /// Scores several continuations of the cached context in one pass: each branch sees the
    /// context and its own earlier tokens, never another branch's. Returns each branch's logits;
    /// the cache keeps only the context afterwards.
    public func forwardBranches(_ branches: [[Int]]) throws(ModelError) -> [[Float]] {
        let context = length, rows = branches.reduce(0) { $0 + $1.count }
        let hidden = try run(branches.flatMap { $0 }, segments: [Segment(rows: 0..<rows, slots: 0..<(context + rows))]) { window in
            Self.branchRows(context: 0..<context, branches: branches.map(\.count), first: context, window: window)
        }
        let logits = try head(hidden[...])
        let vocabulary = model.configuration.vocabularySize
        var out: [[Float]] = []
        var offset = 0
        for branch in branches {
            out.append(Array(logits[(offset * vocabulary)..<((offset + branch.count) * vocabulary)]))
            offset += branch.count
        }
        return out
    }

    /// Runs requests (a context and its continuations each) through the model together, each
    /// in its own stretch of a fresh cache, and returns the log-likelihoods (see
    /// `DecoderModel.logLikelihoods`).
    func score(_ requests: ArraySlice<ScoringRequest>) throws(ModelError) -> [[Double]] {
        var tokens: [Int] = [], segments: [Segment] = [], heads: [Int] = []
        // What each head row scores: (request, continuation, token), in continuation order.
        var targets: [[(request: Int, continuation: Int, token: Int)]] = []
        for (index, request) in requests.enumerated() {
            guard !request.context.isEmpty else { throw ModelError(file: "(session)", "a scoring request has an empty context") }
            let first = tokens.count
            tokens += request.context
            heads.append(tokens.count - 1)
            let last = targets.count
            targets.append([])
            // The context's last row predicts every continuation's first token; each row fed
            // after it (a continuation's tokens but its last) predicts the token after its own.
            for (c, continuation) in request.continuations.enumerated() {
                guard let firstToken = continuation.first else { continue }
                targets[last].append((index, c, firstToken))
                for (fed, predicted) in zip(continuation, continuation.dropFirst()) {
                    heads.append(tokens.count)
                    tokens.append(fed)
                    targets.append([(index, c, predicted)])
                }
            }
            segments.append(Segment(rows: first..<tokens.count, slots: first..<tokens.count))
        }
        let hidden = try run(tokens, headRows: heads, segments: segments) { window in
            var rows: [Row] = []
            for (request, segment) in zip(requests, segments) {
                let origin = segment.slots.lowerBound, context = origin..<(origin + request.context.count)
                rows += Self.sequenceRows(origin: origin, position: 0, count: request.context.count, window: window)
                rows += Self.branchRows(context: context, branches: request.continuations.map { max(0, $0.count - 1) }, first: context.upperBound, window: window)
            }
            return rows
        }
        var totals = requests.map { [Double](repeating: 0, count: $0.continuations.count) }
        let logProbabilities = try headLogProbabilities(hidden, rows: heads.count, targets: targets.map { $0.map(\.token) })
        for (row, rowTargets) in targets.enumerated() {
            for (k, target) in rowTargets.enumerated() { totals[target.request][target.continuation] += logProbabilities[row][k] }
        }
        return totals
    }

    /// The output head over final hidden rows (`rows × hiddenSize`): logits, soft-capped when
    /// configured; non-finite logits are an error.
    private func head(_ hidden: ArraySlice<Float>) throws(ModelError) -> [Float] {
        let c = model.configuration
        let rows = hidden.count / c.hiddenSize
        var logits = [Float](repeating: 0, count: rows * c.vocabularySize)
        try logits.withUnsafeMutableBufferPointer { out throws(ModelError) in try head(hidden, into: out) }
        return logits
    }

    /// Log-probabilities of `targets[r]` under the output head's softmax of final hidden row r
    /// (`hidden` is `rows × hiddenSize`), without holding any row's full logits: the head is cut
    /// into slices of `sliceWidth` vocabulary entries, each (widened once when stored narrow)
    /// one `sgemm` over every row; per row and slice the largest logit mₛ and Σ exp(logit − mₛ)
    /// (in Double) are kept and combined in slice order — log p(t) = logitₜ − M − log Σₛ
    /// sumₛ·exp(mₛ − M), M the largest mₛ — the log-softmax of the whole row, computed as
    /// online softmax is (Milakov & Gimelshein, "Online normalizer calculation for softmax",
    /// 2018). Slices are fixed by the shape, so the result does not depend on the threads.
    private func headLogProbabilities(_ hidden: [Float], rows: Int, targets: [[Int]]) throws(ModelError) -> [[Double]] {
        let c = model.configuration, h = c.hiddenSize, vocabulary = c.vocabularySize
        guard rows > 0 else { return [] }
        let head = model.weights.head, width = model.tiling.sliceWidth
        let slices = (vocabulary + width - 1) / width
        let threads = min(max(1, model.threads), slices)
        let tiles = head.floats == nil ? workspace.widened.reserve(threads * width * h) : nil
        let logits = workspace.logits.reserve(threads * rows * width)
        var maxima = [Float](repeating: 0, count: slices * rows), sums = [Double](repeating: 0, count: slices * rows)
        // Where each target's logit is written: by the one slice that holds it.
        var offsets: [Int] = [], flat: [Int] = []
        for rowTargets in targets {
            offsets.append(flat.count)
            flat += rowTargets
        }
        var picked = [Float](repeating: 0, count: flat.count)
        var bySlice = [[(row: Int, index: Int)]](repeating: [], count: slices)
        for (row, rowTargets) in targets.enumerated() {
            for (k, token) in rowTargets.enumerated() where token >= 0 && token < vocabulary {
                bySlice[token / width].append((row, offsets[row] + k))
            }
        }
        let nonFinite = Atomic<Bool>(false)
        let cap = c.finalLogitSoftCap
        maxima.withUnsafeMutableBufferPointer { maxima in
            sums.withUnsafeMutableBufferPointer { sums in
                picked.withUnsafeMutableBufferPointer { picked in
                    hidden.withUnsafeBufferPointer { x in
                        guard let x = x.baseAddress, let maximaBase = maxima.baseAddress, let sumsBase = sums.baseAddress, let pickedBase = picked.baseAddress else { return }
                        // Each slice writes only its own entries.
                        nonisolated(unsafe) let (maxima, sums, picked) = (maximaBase, sumsBase, pickedBase)
                        Parallel.forEach(pieces: slices, threads: threads) { slice, thread in
                            let start = slice * width, count = min(width, vocabulary - start)
                            let weights: UnsafePointer<Float>
                            if let floats = head.floats {
                                weights = floats + start * h
                            } else if let tiles {
                                head.decode((start * h)..<((start + count) * h), into: tiles + thread * width * h)
                                weights = UnsafePointer(tiles + thread * width * h)
                            } else {
                                return
                            }
                            let out = logits + thread * rows * width
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(count), Int32(h),
                                        1, x, Int32(h), weights, Int32(h), 0, out, Int32(count))
                            var finite = true
                            for r in 0..<rows {
                                let row = out + r * count
                                if let cap { for j in 0..<count { row[j] = tanhf(row[j] / cap) * cap } }
                                var maximum = -Float.infinity
                                for j in 0..<count {
                                    finite = finite && row[j].isFinite
                                    maximum = max(maximum, row[j])
                                }
                                var sum = 0.0
                                for j in 0..<count { sum += exp(Double(row[j] - maximum)) }
                                maxima[slice * rows + r] = maximum
                                sums[slice * rows + r] = sum
                            }
                            for target in bySlice[slice] { picked[target.index] = out[target.row * count + flat[target.index] - start] }
                            if !finite { nonFinite.store(true, ordering: .relaxed) }
                        }
                    }
                }
            }
        }
        // Overflowing weights (a merge with extreme weights, a corrupt source) give inf/NaN
        // logits; every score computed from them would be meaningless, so they are an error.
        if nonFinite.load(ordering: .relaxed) {
            throw ModelError(file: "(model)", "gives non-finite logits (its weights overflow or are corrupt)")
        }
        return targets.enumerated().map { row, rowTargets in
            var maximum = -Float.infinity
            for slice in 0..<slices { maximum = max(maximum, maxima[slice * rows + row]) }
            var sum = 0.0
            for slice in 0..<slices { sum += sums[slice * rows + row] * exp(Double(maxima[slice * rows + row] - maximum)) }
            let logSum = log(sum)
            return rowTargets.indices.map { k in Double(picked[offsets[row] + k] - maximum) - logSum }
        }
    }

    private func head(_ hidden: ArraySlice<Float>, into logits: UnsafeMutableBufferPointer<Float>) throws(ModelError) {
        let c = model.configuration
        let rows = hidden.count / c.hiddenSize
        guard rows > 0, let out = logits.baseAddress else { return }
        hidden.withUnsafeBufferPointer { x in
            if let x = x.baseAddress {
                multiply(x, model.weights.head, rows: rows, inner: c.hiddenSize, outputs: c.vocabularySize, into: out)
            }
        }
        if let cap = c.finalLogitSoftCap {
            for i in logits.indices { logits[i] = tanhf(logits[i] / cap) * cap }
        }
        // Overflowing weights (a merge with extreme weights, a corrupt source) give inf/NaN
        // logits; every score computed from them would be meaningless, so they are an error.
        if logits.contains(where: { !$0.isFinite }) {
            throw ModelError(file: "(model)", "gives non-finite logits (its weights overflow or are corrupt)")
        }
    }

    /// Runs `tokens` through every layer, laid out by `layout(window)` for each sliding window
    /// the layers use (nil: full causal attention), attention computed per segment; returns the
    /// final-normed hidden states of `headRows` in that order (all rows when nil),
    /// `rows × hiddenSize`.
    private func run(_ tokens: [Int], headRows: [Int]? = nil, segments: [Segment], layout: (Int?) -> [Row]) throws(ModelError) -> [Float] {
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
        let h = c.hiddenSize, hd = c.headDimension, nq = c.headCount * hd, nkv = c.keyValueHeadCount * hd, inter = c.intermediateSize
        let start = rows[0].slot
        // Rotaries that depend on the positions seen (dynamic NTK, longrope) take each segment's
        // own: a request's scores never depend on the requests that share its pass.
        var rowSegment = [Int](repeating: 0, count: t)
        for (index, segment) in segments.enumerated() { for r in segment.rows { rowSegment[r] = index } }
        let segmentPositions = segments.map { segment in (rows[segment.rows].map(\.position).max() ?? 0) + 1 }
        let rotaries = zip(c.rotaries, model.fixedRotaries).map { rotary, fixed in
            fixed.map { fixed in segments.map { _ in fixed } } ?? segmentPositions.map { rotary.frequencies(positions: $0) }
        }
        let threads = max(1, model.threads)

        // Activations, one allocation carved into buffers; every buffer is written before it is read.
        let scoresPerThread = segments.map { $0.rows.count * $0.slots.count }.max() ?? 0
        let sizes = [t * h, t * h, t * h, t * nq, t * nq, t * inter, t * inter, threads * scoresPerThread]
        let memory = workspace.activations.reserve(sizes.reduce(0, +))
        var carved: [UnsafeMutablePointer<Float>] = []
        var offset = 0
        for size in sizes {
            carved.append(memory + offset)
            offset += size
        }
        let (x, normed, sublayer, q, attention, gate, up, scores) = (carved[0], carved[1], carved[2], carved[3], carved[4], carved[5], carved[6], carved[7])

        let scale = c.embeddingScale ?? 1
        forRows(t) { range in
            for i in range {
                w.embedding.decode((tokens[i] * h)..<((tokens[i] + 1) * h), into: x + i * h)
                if scale != 1 { for j in 0..<h { x[i * h + j] *= scale } }
            }
        }
        for (index, layer) in w.layers.enumerated() {
            let geometry = c.layers[index]
            let layerRows = layouts[geometry.slidingWindow] ?? rows
            let input = normalize(x, layer.attentionInputNorm, rows: t, width: h, into: normed)
            let k = keys[index] + start * nkv, v = values[index] + start * nkv
            multiply(input, layer.query, rows: t, inner: h, outputs: nq, into: q)
            multiply(input, layer.key, rows: t, inner: h, outputs: nkv, into: k)
            multiply(input, layer.value, rows: t, inner: h, outputs: nkv, into: v)
            let rotary = rotaries[geometry.rotary], rotated = c.rotaries[geometry.rotary].dimension
            let perHead = c.block.attention.queryKeyNorm == .perHead
            forRows(t) { range in
                for (bias, data) in [(layer.queryBias, q), (layer.keyBias, k), (layer.valueBias, v)] {
                    if let bias { addBias(bias, rows: range, to: data) }
                }
                if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
                    if perHead {
                        rmsNorm(q, queryNorm, rows: (range.lowerBound * c.headCount)..<(range.upperBound * c.headCount), width: hd, into: q)
                        rmsNorm(k, keyNorm, rows: (range.lowerBound * c.keyValueHeadCount)..<(range.upperBound * c.keyValueHeadCount), width: hd, into: k)
                    } else {
                        rmsNorm(q, queryNorm, rows: range, width: nq, into: q)
                        rmsNorm(k, keyNorm, rows: range, width: nkv, into: k)
                    }
                }
                rotate(q, k, layerRows, range, dimension: rotated, rotary, segments: rowSegment)
            }
            attend(q: q, layer: index, layerRows, segments, scores: scores, scoresPerThread: scoresPerThread, into: attention)
            multiply(attention, layer.output, rows: t, inner: nq, outputs: h, into: sublayer)
            forRows(t) { range in
                if let bias = layer.outputBias { addBias(bias, rows: range, to: sublayer) }
                residual(x, sublayer, layer.attentionOutputNorm, rows: range, width: h)
            }

            let mlpInput = normalize(x, layer.mlpInputNorm, rows: t, width: h, into: normed)
            multiply(mlpInput, layer.gate, rows: t, inner: h, outputs: inter, into: gate)
            multiply(mlpInput, layer.up, rows: t, inner: h, outputs: inter, into: up)
            let activation = c.block.mlp.activation
            forRows(t) { range in
                let elements = (range.lowerBound * inter)..<(range.upperBound * inter)
                switch activation {
                case .silu:
                    for i in elements { gate[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
                case .geluTanh:
                    // torch's GeluKernel, approximate="tanh": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
                    let beta = Float(2.0.squareRoot() * (2 / Double.pi.squareRoot()) * 0.5), kappa: Float = 0.044715
                    for i in elements {
                        let g = gate[i]
                        gate[i] = 0.5 * g * (1 + tanhf(beta * (g + kappa * g * g * g))) * up[i]
                    }
                }
            }
            multiply(gate, layer.down, rows: t, inner: inter, outputs: h, into: sublayer)
            forRows(t) { range in residual(x, sublayer, layer.mlpOutputNorm, rows: range, width: h) }
        }
        let kept = headRows ?? Array(0..<t)
        var out = [Float](repeating: 0, count: kept.count * h)
        out.withUnsafeMutableBufferPointer { o in
            guard let o = o.baseAddress else { return }
            forRows(kept.count) { range in
                for r in range { rmsNorm(x + kept[r] * h, w.finalNorm, rows: 0..<1, width: h, into: o + r * h) }
            }
        }
        return out
    }

    /// Runs `body` over blocks of `rows` on the model's threads. Per-row work only: a row's
    /// result never depends on the block it falls in.
    private func forRows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        Parallel.forEach(count: rows, chunk: 16, threads: model.threads, body)
    }

    /// The sublayer's input: `x` normed into `out` when the block has an input norm, else `x`.
    private func normalize(_ x: UnsafeMutablePointer<Float>, _ norm: UnsafeBufferPointer<Float>?, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        guard let norm else { return x }
        forRows(rows) { range in rmsNorm(x, norm, rows: range, width: width, into: out) }
        return out
    }

    /// x += sublayer over `rows`, the sublayer's output normed first (in place) when the block
    /// has an output norm.
    private func residual(_ x: UnsafeMutablePointer<Float>, _ sublayer: UnsafeMutablePointer<Float>, _ norm: UnsafeBufferPointer<Float>?, rows: Range<Int>, width: Int) {
        if let norm { rmsNorm(sublayer, norm, rows: rows, width: width, into: sublayer) }
        for i in (rows.lowerBound * width)..<(rows.upperBound * width) { x[i] += sublayer[i] }
    }

    /// out = x · weightᵀ for a [outputs × inner] weight (torch's Linear layout), in tiles fixed
    /// by the shape alone (see `DecoderModel.threads`). A weight stored narrower than Float32 is
    /// widened exactly before `sgemm` reads it — each tile's slice by the thread computing it,
    /// or, for a product cut into row blocks (whose tiles share a slice), the whole weight once —
    /// so every `sgemm` call sees the same operands as with the weight stored in Float32, and
    /// the logits are bitwise those of the widened model.
    private func multiply(_ x: UnsafePointer<Float>, _ weight: StoredTensor, rows: Int, inner: Int, outputs: Int, into out: UnsafeMutablePointer<Float>) {
        guard rows > 0, weight.count > 0 else { return }
        let tiling = model.tiling, width = tiling.sliceWidth
        let slices = (outputs + width - 1) / width
        // Narrow products cut their rows too, into equal blocks of about `rowBlock` (never a
        // sliver of a row or two, which OpenBLAS would compute with other kernels).
        let blocks = outputs <= tiling.narrowOutputs ? max(1, rows / tiling.rowBlock) : 1
        let blockRows = (rows + blocks - 1) / blocks
        let threads = min(max(1, model.threads), slices * blocks)
        // Where each tile finds its weight slice as Float32, and where a thread widens its own.
        let whole: UnsafePointer<Float>?, tiles: UnsafeMutablePointer<Float>?
        if let floats = weight.floats {
            (whole, tiles) = (floats, nil)
        } else if blocks > 1 {
            let widened = workspace.widened.reserve(outputs * inner)
            Parallel.forEach(pieces: slices, threads: threads) { slice, _ in
                let start = slice * width, count = min(width, outputs - start)
                weight.decode((start * inner)..<((start + count) * inner), into: widened + start * inner)
            }
            (whole, tiles) = (UnsafePointer(widened), nil)
        } else {
            (whole, tiles) = (nil, workspace.widened.reserve(threads * width * inner))
        }
        Parallel.forEach(pieces: slices * blocks, threads: threads) { piece, thread in
            let start = (piece % slices) * width, count = min(width, outputs - start)
            let first = (piece / slices) * blockRows, height = min(blockRows, rows - first)
            guard height > 0 else { return }
            let slice: UnsafePointer<Float>
            if let whole {
                slice = whole + start * inner
            } else if let tiles {
                let own = tiles + thread * width * inner
                weight.decode((start * inner)..<((start + count) * inner), into: own)
                slice = UnsafePointer(own)
            } else {
                return
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(height), Int32(count), Int32(inner),
                        1, x + first * inner, Int32(inner), slice, Int32(inner), 0, out + first * outputs + start, Int32(outputs))
        }
    }

    /// transformers' RMSNorm over `rows` of `width`: x / sqrt(mean(x²) + ε), times (offset +
    /// weight) — offset 1 for Gemma's (1 + w) norms, 0 otherwise. `out` may be `x`.
    private func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafeBufferPointer<Float>, rows: Range<Int>, width: Int, into out: UnsafeMutablePointer<Float>) {
        let epsilon = model.configuration.rmsNormEpsilon, offset = model.configuration.normOffset
        for r in rows {
            var sum: Float = 0
            for j in 0..<width { sum += x[r * width + j] * x[r * width + j] }
            let inverse = 1 / (sum / Float(width) + epsilon).squareRoot()
            for j in 0..<width { out[r * width + j] = (offset + weight[j]) * (x[r * width + j] * inverse) }
        }
    }

    private func addBias(_ bias: UnsafeBufferPointer<Float>, rows: Range<Int>, to out: UnsafeMutablePointer<Float>) {
        for r in rows { for j in 0..<bias.count { out[r * bias.count + j] += bias[j] } }
    }

    /// Rotary embedding of the queries and keys of `rows` (each by its segment's frequencies), rotate-half layout over each head's
    /// first `dimension` entries (the rest pass through): (x₁, x₂) → (x₁ cos − x₂ sin,
    /// x₂ cos + x₁ sin), cos and sin times the rotary's attention factor (longrope).
    private func rotate(_ q: UnsafeMutablePointer<Float>, _ k: UnsafeMutablePointer<Float>, _ layout: [Row], _ rows: Range<Int>, dimension: Int,
                        _ rotaries: [(inverse: [Float], factor: Float)], segments: [Int]) {
        let c = model.configuration, hd = c.headDimension, half = dimension / 2
        for r in rows {
            let position = Float(layout[r].position), rotary = rotaries[segments[r]]
            for i in 0..<half {
                let angle = position * rotary.inverse[i]
                let cosine = cosf(angle) * rotary.factor, sine = sinf(angle) * rotary.factor
                for (data, heads) in [(q, c.headCount), (k, c.keyValueHeadCount)] {
                    for head in 0..<heads {
                        let base = data + (r * heads + head) * hd
                        let x1 = base[i], x2 = base[i + half]
                        base[i] = x1 * cosine - x2 * sine
                        base[i + half] = x2 * cosine + x1 * sine
                    }
                }
            }
        }
    }

    /// Causal (or sliding-window) softmax attention of the new rows over the cache, each query
    /// head reading key/value head `head / (heads / kvHeads)`, one segment's rows over that
    /// segment's slots at a time, a (segment, head) pair per piece of work; scores soft-capped
    /// when configured.
    private func attend(q: UnsafeMutablePointer<Float>, layer: Int, _ layout: [Row], _ segments: [Segment], scores: UnsafeMutablePointer<Float>, scoresPerThread: Int, into out: UnsafeMutablePointer<Float>) {
        let c = model.configuration
        let scale = c.queryScale, cap = c.attentionSoftCap
        let hd = c.headDimension, nq = c.headCount * hd, nkv = c.keyValueHeadCount * hd
        let group = c.headCount / c.keyValueHeadCount
        let keys = keys[layer], values = values[layer]
        Parallel.forEach(pieces: segments.count * c.headCount, threads: model.threads) { piece, thread in
            let segment = segments[piece / c.headCount], head = piece % c.headCount, kv = head / group
            let rows = segment.rows.count, span = segment.slots.count, first = segment.slots.lowerBound
            guard rows > 0 else { return }
            let s = scores + thread * scoresPerThread
            let qs = q + segment.rows.lowerBound * nq, os = out + segment.rows.lowerBound * nq
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(span), Int32(hd),
                        scale, qs + head * hd, Int32(nq), keys + first * nkv + kv * hd, Int32(nkv), 0, s, Int32(span))
            for (r, row) in layout[segment.rows].enumerated() {
                // Slot j of the cache is column j − first of this segment's scores.
                let scoresRow = s + r * span - first
                if let cap {
                    for range in row.visible { for j in range { scoresRow[j] = tanhf(scoresRow[j] / cap) * cap } }
                }
                var maximum = -Float.infinity
                for range in row.visible { for j in range { maximum = max(maximum, scoresRow[j]) } }
                var sum: Float = 0
                var next = first
                for range in row.visible {
                    for j in next..<range.lowerBound { scoresRow[j] = 0 }
                    for j in range {
                        scoresRow[j] = expf(scoresRow[j] - maximum)
                        sum += scoresRow[j]
                    }
                    next = range.upperBound + 1
                }
                for j in next..<segment.slots.upperBound { scoresRow[j] = 0 }
                for range in row.visible { for j in range { scoresRow[j] /= sum } }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(hd), Int32(span),
                        1, s, Int32(span), values + first * nkv + kv * hd, Int32(nkv), 0, os + head * hd, Int32(nq))
        }
    }
}
