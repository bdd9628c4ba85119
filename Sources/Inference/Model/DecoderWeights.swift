import Tensors

/// A decoder's weights as Float32 buffers, read from a model folder or borrowed from a
/// `TensorArena` (a candidate merged in memory is never copied or written to disk).
/// Every tensor the architecture needs must be present with the configured shape; extra tensors
/// are refused, so that a mismatched checkpoint is an error rather than a silent skip.
public final class DecoderWeights: @unchecked Sendable {
    struct Layer {
        let inputNorm, postNorm: UnsafeBufferPointer<Float>
        let query, key, value, output: UnsafeBufferPointer<Float>
        let queryBias, keyBias, valueBias: UnsafeBufferPointer<Float>?
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

    /// Expected shapes by tensor name.
    static func shapes(_ c: DecoderConfiguration) -> [(String, [Int])] {
        var list: [(String, [Int])] = [("model.embed_tokens.weight", [c.vocabularySize, c.hiddenSize])]
        let q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            list += [
                (p + "input_layernorm.weight", [c.hiddenSize]), (p + "post_attention_layernorm.weight", [c.hiddenSize]),
                (p + "self_attn.q_proj.weight", [q, c.hiddenSize]), (p + "self_attn.k_proj.weight", [kv, c.hiddenSize]),
                (p + "self_attn.v_proj.weight", [kv, c.hiddenSize]), (p + "self_attn.o_proj.weight", [c.hiddenSize, q]),
                (p + "mlp.gate_proj.weight", [c.intermediateSize, c.hiddenSize]), (p + "mlp.up_proj.weight", [c.intermediateSize, c.hiddenSize]),
                (p + "mlp.down_proj.weight", [c.hiddenSize, c.intermediateSize]),
            ]
            if c.attentionBias {
                list += [(p + "self_attn.q_proj.bias", [q]), (p + "self_attn.k_proj.bias", [kv]), (p + "self_attn.v_proj.bias", [kv])]
            }
        }
        list.append(("model.norm.weight", [c.hiddenSize]))
        if !c.tiedEmbeddings { list.append(("lm_head.weight", [c.vocabularySize, c.hiddenSize])) }
        return list
    }

    /// Reads every weight of `folder` as Float32.
    public convenience init(folder: ModelFolder, configuration: DecoderConfiguration) throws {
        var buffers: [String: UnsafeBufferPointer<Float>] = [:]
        var owned: [UnsafeMutableBufferPointer<Float>] = []
        do {
            for (name, shape) in Self.shapes(configuration) {
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
            let expected = Set(Self.shapes(configuration).map(\.0))
            let tolerated: Set<String> = configuration.tiedEmbeddings ? ["lm_head.weight"] : []
            if let extra = folder.tensorNames.first(where: { !expected.contains($0) && !tolerated.contains($0) && !$0.hasSuffix("rotary_emb.inv_freq") }) {
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
        for (name, shape) in Self.shapes(configuration) {
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
        embedding = try get("model.embed_tokens.weight")
        layers = try (0..<c.layerCount).map { i in
            let p = "model.layers.\(i)."
            return Layer(
                inputNorm: try get(p + "input_layernorm.weight"), postNorm: try get(p + "post_attention_layernorm.weight"),
                query: try get(p + "self_attn.q_proj.weight"), key: try get(p + "self_attn.k_proj.weight"),
                value: try get(p + "self_attn.v_proj.weight"), output: try get(p + "self_attn.o_proj.weight"),
                queryBias: c.attentionBias ? try get(p + "self_attn.q_proj.bias") : nil,
                keyBias: c.attentionBias ? try get(p + "self_attn.k_proj.bias") : nil,
                valueBias: c.attentionBias ? try get(p + "self_attn.v_proj.bias") : nil,
                gate: try get(p + "mlp.gate_proj.weight"), up: try get(p + "mlp.up_proj.weight"), down: try get(p + "mlp.down_proj.weight"))
        }
        finalNorm = try get("model.norm.weight")
        head = c.tiedEmbeddings ? embedding : try get("lm_head.weight")
        self.owner = owner
    }
}
