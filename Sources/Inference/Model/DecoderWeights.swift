import Tensors

/// A decoder's weights, read from a model folder or borrowed from a `TensorArena` (a candidate
/// merged in memory is never copied or written to disk). Matrices stay in their stored dtype
/// (F32, F16 or BF16: a BF16 model takes 2 bytes per parameter) and are widened tile by tile as
/// the forward pass multiplies; norms and biases are Float32 (widened once, exactly).
/// Every tensor the architecture needs must be present with the configured shape; extra tensors
/// are refused, so that a mismatched checkpoint is an error rather than a silent skip.
///
/// `@unchecked Sendable`: nothing changes after `init` (pointers into what it owns, or into a lent
/// arena that cannot reallocate them while the loan lasts), so any thread may read it.
public final class DecoderWeights: @unchecked Sendable {
    /// One layer's weights by role; fused checkpoint tensors (Phi-3's `qkv_proj`, `gate_up_proj`)
    /// are borrowed as row ranges, never copied.
    struct Layer {
        let attentionInputNorm, attentionOutputNorm, mlpInputNorm, mlpOutputNorm: UnsafeBufferPointer<Float>?
        let query, key, value, output: StoredTensor
        let queryBias, keyBias, valueBias, outputBias: UnsafeBufferPointer<Float>?
        let queryNorm, keyNorm: UnsafeBufferPointer<Float>?
        let gate, up, down: StoredTensor
    }

    let embedding: StoredTensor
    let layers: [Layer]
    let finalNorm: UnsafeBufferPointer<Float>
    let head: StoredTensor
    /// The arena lent to these weights (kept alive, and kept from reallocating, until they go).
    private let lender: TensorArena?
    /// What was read from disk, owned and freed here.
    private var owned: [UnsafeMutableRawBufferPointer] = []

    deinit {
        for buffer in owned { buffer.deallocate() }
        lender?.endLoan()
    }

    /// Bytes of the matrices (what the arena or the folder's copy holds, norms aside).
    public var matrixBytes: Int {
        var total = embedding.byteCount + (head.base == embedding.base ? 0 : head.byteCount)
        for layer in layers { total += [layer.query, layer.key, layer.value, layer.output, layer.gate, layer.up, layer.down].reduce(0) { $0 + $1.byteCount } }
        return total
    }

    /// Reads every weight of `folder`: matrices at their stored width, vectors as Float32.
    public convenience init(folder: ModelFolder, configuration: DecoderConfiguration) throws {
        var tensors: [String: StoredTensor] = [:]
        var owned: [UnsafeMutableRawBufferPointer] = []
        let shapes = configuration.tensorShapes
        do {
            for (name, shape) in shapes {
                guard let (file, info) = folder.tensor(name) else {
                    throw ModelError(file: folder.path, "has no tensor '\(name)', which \(configuration.modelType) needs")
                }
                guard info.shape == shape else {
                    throw ModelError(file: file.path, "tensor '\(name)' has shape \(info.shape), config.json implies \(shape)")
                }
                guard info.dtype.isFloat32Convertible else {
                    throw ModelError(file: file.path, "tensor '\(name)' is \(info.dtype.rawValue), not F32, F16 or BF16")
                }
                // Matrices keep their stored width; vectors are widened when `Self.init` reads them.
                let dtype = shape.count >= 2 ? info.dtype : .f32
                let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, info.elementCount * dtype.byteWidth), alignment: 64)
                owned.append(memory)
                if dtype == info.dtype, dtype != .f32 {
                    memory.copyMemory(from: file.bytes(of: info))
                } else {
                    try file.read(info, into: memory.bindMemory(to: Float.self))
                }
                tensors[name] = memory.baseAddress.map { StoredTensor(base: UnsafeRawPointer($0), dtype: dtype, count: info.elementCount) }
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
        try self.init(tensors: tensors, configuration: configuration, lender: nil, owned: owned, file: folder.path)
    }

    /// Borrows the merged weights of `arena` for this object's life: a loan (`TensorArena.lend`)
    /// keeps every borrowed buffer where it is — the arena refuses to reallocate one — and the
    /// arena alive, so no pointer here can dangle or alias a reallocated buffer.
    public convenience init(arena: TensorArena, configuration: DecoderConfiguration) throws {
        var tensors: [String: StoredTensor] = [:]
        for (name, shape) in configuration.tensorShapes {
            guard let tensor = arena[name] else { throw ModelError(file: "(in-memory candidate)", "has no tensor '\(name)'") }
            guard tensor.count == shape.reduce(1, *) else {
                throw ModelError(file: "(in-memory candidate)", "tensor '\(name)' has \(tensor.count) elements, config.json implies \(shape)")
            }
            tensors[name] = tensor
        }
        try self.init(tensors: tensors, configuration: configuration, lender: arena, owned: [], file: "(in-memory candidate)")
    }

    private init(tensors: [String: StoredTensor], configuration c: DecoderConfiguration, lender: TensorArena?,
                 owned: [UnsafeMutableRawBufferPointer], file: String) throws {
        var owned = owned
        // On any failure below, what this object would have owned is freed here.
        var built = false
        defer { if !built { for buffer in owned { buffer.deallocate() } } }
        func matrix(_ name: String) throws -> StoredTensor {
            guard let tensor = tensors[name] else { throw ModelError(file: file, "has no tensor '\(name)'") }
            return tensor
        }
        /// A vector as Float32: borrowed when stored so, else widened once into memory this object owns.
        func get(_ name: String) throws -> UnsafeBufferPointer<Float> {
            let tensor = try matrix(name)
            if let floats = tensor.floats { return UnsafeBufferPointer(start: floats, count: tensor.count) }
            let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, tensor.count * 4), alignment: 64)
            owned.append(memory)
            let values = memory.bindMemory(to: Float.self)
            if let base = values.baseAddress { tensor.decode(0..<tensor.count, into: base) }
            return UnsafeBufferPointer(start: values.baseAddress, count: tensor.count)
        }
        func rows(_ buffer: UnsafeBufferPointer<Float>, _ range: Range<Int>, width: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(rebasing: buffer[(range.lowerBound * width)..<(range.upperBound * width)])
        }
        let b = c.block, h = c.hiddenSize, q = c.headCount * c.headDimension, kv = c.keyValueHeadCount * c.headDimension
        embedding = try matrix("model.embed_tokens.weight")
        layers = try (0..<c.layerCount).map { i in
            let p = "model.layers.\(i)."
            func optional(_ name: String?) throws -> UnsafeBufferPointer<Float>? { try name.map { try get(p + $0 + ".weight") } }
            func attention(_ role: String, _ range: Range<Int>) throws -> StoredTensor {
                switch b.attention.projections {
                case .separate: return try matrix(p + "self_attn.\(role)_proj.weight")
                case .fused: return try matrix(p + "self_attn.qkv_proj.weight").rows(range, width: h)
                }
            }
            func bias(_ role: String, _ range: Range<Int>) throws -> UnsafeBufferPointer<Float> {
                switch b.attention.projections {
                case .separate: return try get(p + "self_attn.\(role)_proj.bias")
                case .fused: return rows(try get(p + "self_attn.qkv_proj.bias"), range, width: 1)
                }
            }
            let (qr, kr, vr) = (0..<q, q..<(q + kv), (q + kv)..<(q + 2 * kv))
            let gate: StoredTensor, up: StoredTensor
            if b.mlp.fusedGateUp {
                let fused = try matrix(p + "mlp.gate_up_proj.weight")
                gate = fused.rows(0..<c.intermediateSize, width: h)
                up = fused.rows(c.intermediateSize..<(2 * c.intermediateSize), width: h)
            } else {
                gate = try matrix(p + "mlp.gate_proj.weight")
                up = try matrix(p + "mlp.up_proj.weight")
            }
            let norms = b.attention.queryKeyNorm != .none
            return Layer(
                attentionInputNorm: try optional(b.attention.inputNorm), attentionOutputNorm: try optional(b.attention.outputNorm),
                mlpInputNorm: try optional(b.mlp.inputNorm), mlpOutputNorm: try optional(b.mlp.outputNorm),
                query: try attention("q", qr), key: try attention("k", kr),
                value: try attention("v", vr), output: try matrix(p + "self_attn.o_proj.weight"),
                queryBias: b.attention.bias ? try bias("q", qr) : nil,
                keyBias: b.attention.bias ? try bias("k", kr) : nil,
                valueBias: b.attention.bias ? try bias("v", vr) : nil,
                outputBias: b.attention.outputBias ? try get(p + "self_attn.o_proj.bias") : nil,
                queryNorm: norms ? try get(p + "self_attn.q_norm.weight") : nil,
                keyNorm: norms ? try get(p + "self_attn.k_norm.weight") : nil,
                gate: gate, up: up, down: try matrix(p + "mlp.down_proj.weight"))
        }
        finalNorm = try get("model.norm.weight")
        head = c.tiedEmbeddings ? embedding : try matrix("lm_head.weight")
        self.owned = owned
        // Last, when nothing can throw any more: the loan that deinit ends.
        self.lender = lender
        lender?.lend()
        built = true
    }
}
