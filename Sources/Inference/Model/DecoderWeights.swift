import Tensors

/// A decoder's weights as Float32 buffers, read from a model folder or borrowed from a
/// `TensorArena` (a candidate merged in memory is never copied or written to disk).
/// Every tensor the architecture needs must be present with the configured shape; extra tensors
/// are refused, so that a mismatched checkpoint is an error rather than a silent skip.
public final class DecoderWeights: @unchecked Sendable {
    /// One layer's weights by role; fused checkpoint tensors (Phi-3's `qkv_proj`, `gate_up_proj`)
    /// are borrowed as row ranges, never copied.
    struct Layer {
        let attentionInputNorm, attentionOutputNorm, mlpInputNorm, mlpOutputNorm: UnsafeBufferPointer<Float>?
        let query, key, value, output: UnsafeBufferPointer<Float>
        let queryBias, keyBias, valueBias, outputBias: UnsafeBufferPointer<Float>?
        let queryNorm, keyNorm: UnsafeBufferPointer<Float>?
        let gate, up, down: UnsafeBufferPointer<Float>
    }

    let embedding: UnsafeBufferPointer<Float>
    let layers: [Layer]
    let finalNorm: UnsafeBufferPointer<Float>
    let head: UnsafeBufferPointer<Float>
    /// Keeps borrowed memory alive (the arena), or owns what was read from disk.
    private let owner: AnyObject?
    private var owned: [UnsafeMutableBufferPointer<Float>] = []

    deinit { for buffer in owned { buffer.deallocate() } }

    /// Reads every weight of `folder` as Float32.
    public convenience init(folder: ModelFolder, configuration: DecoderConfiguration) throws {
        var buffers: [String: UnsafeBufferPointer<Float>] = [:]
        var owned: [UnsafeMutableBufferPointer<Float>] = []
        let shapes = configuration.tensorShapes
        do {
            for (name, shape) in shapes {
                guard let (file, info) = folder.tensor(name) else {
                    throw ModelError(file: folder.path, "has no tensor '\(name)', which \(configuration.modelType) needs")
                }
                guard info.shape == shape else {
                    throw ModelError(file: file.path, "tensor '\(name)' has shape \(info.shape), config.json implies \(shape)")
                }
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: info.elementCount)
                owned.append(buffer)
                try file.read(info, into: buffer)
                buffers[name] = UnsafeBufferPointer(buffer)
            }
            let expected = Set(shapes.map(\.0))
            let tolerated: Set<String> = configuration.tiedEmbeddings ? ["lm_head.weight"] : []
            if let extra = folder.tensorNames.first(where: { !expected.contains($0) && !tolerated.contains($0) && !TensorLayout.isBuffer($0) }) {
                throw ModelError(file: folder.path, "has tensor '\(extra)', which a \(configuration.modelType) model of this config does not use")
            }
        } catch {
            for buffer in owned { buffer.deallocate() }
            throw error
        }
        try self.init(buffers: buffers, configuration: configuration, owner: nil, file: folder.path)
        self.owned = owned
    }

    /// Borrows the merged weights of `arena` (which must outlive this object's use).
    public convenience init(arena: TensorArena, configuration: DecoderConfiguration) throws {
        var buffers: [String: UnsafeBufferPointer<Float>] = [:]
        for (name, shape) in configuration.tensorShapes {
            guard let buffer = arena[name] else { throw ModelError(file: "(in-memory candidate)", "has no tensor '\(name)'") }
            guard buffer.count == shape.reduce(1, *) else {
                throw ModelError(file: "(in-memory candidate)", "tensor '\(name)' has \(buffer.count) elements, config.json implies \(shape)")
            }
            buffers[name] = buffer
        }
        try self.init(buffers: buffers, configuration: configuration, owner: arena, file: "(in-memory candidate)")
    }

    private init(buffers: [String: UnsafeBufferPointer<Float>], configuration c: DecoderConfiguration, owner: AnyObject?, file: String) throws {
        func get(_ name: String) throws -> UnsafeBufferPointer<Float> {
            guard let buffer = buffers[name] else { throw ModelError(file: file, "has no tensor '\(name)'") }
            return buffer
        }
        func rows(_ buffer: UnsafeBufferPointer<Float>, _ range: Range<Int>, width: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(rebasing: buffer[(range.lowerBound * width)..<(range.upperBound * width)])
        }
        let b = c.block, h = c.hiddenSize, q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        embedding = try get("model.embed_tokens.weight")
        layers = try (0..<c.layerCount).map { i in
            let p = "model.layers.\(i)."
            func optional(_ name: String?) throws -> UnsafeBufferPointer<Float>? { try name.map { try get(p + $0 + ".weight") } }
            func attention(_ role: String, _ range: Range<Int>, suffix: String) throws -> UnsafeBufferPointer<Float> {
                switch b.attention.projections {
                case .separate: return try get(p + "self_attn.\(role)_proj.\(suffix)")
                case .fused: return rows(try get(p + "self_attn.qkv_proj.\(suffix)"), range, width: suffix == "weight" ? h : 1)
                }
            }
            let (qr, kr, vr) = (0..<q, q..<(q + kv), (q + kv)..<(q + 2 * kv))
            let gate: UnsafeBufferPointer<Float>, up: UnsafeBufferPointer<Float>
            if b.mlp.fusedGateUp {
                let fused = try get(p + "mlp.gate_up_proj.weight")
                gate = rows(fused, 0..<c.intermediateSize, width: h)
                up = rows(fused, c.intermediateSize..<(2 * c.intermediateSize), width: h)
            } else {
                gate = try get(p + "mlp.gate_proj.weight")
                up = try get(p + "mlp.up_proj.weight")
            }
            let norms = b.attention.queryKeyNorm != .none
            return Layer(
                attentionInputNorm: try optional(b.attention.inputNorm), attentionOutputNorm: try optional(b.attention.outputNorm),
                mlpInputNorm: try optional(b.mlp.inputNorm), mlpOutputNorm: try optional(b.mlp.outputNorm),
                query: try attention("q", qr, suffix: "weight"), key: try attention("k", kr, suffix: "weight"),
                value: try attention("v", vr, suffix: "weight"), output: try get(p + "self_attn.o_proj.weight"),
                queryBias: b.attention.bias ? try attention("q", qr, suffix: "bias") : nil,
                keyBias: b.attention.bias ? try attention("k", kr, suffix: "bias") : nil,
                valueBias: b.attention.bias ? try attention("v", vr, suffix: "bias") : nil,
                outputBias: b.attention.outputBias ? try get(p + "self_attn.o_proj.bias") : nil,
                queryNorm: norms ? try get(p + "self_attn.q_norm.weight") : nil,
                keyNorm: norms ? try get(p + "self_attn.k_norm.weight") : nil,
                gate: gate, up: up, down: try get(p + "mlp.down_proj.weight"))
        }
        finalNorm = try get("model.norm.weight")
        head = c.tiedEmbeddings ? embedding : try get("lm_head.weight")
        self.owner = owner
    }
}
