import Dispatch
import Foundation
import Tensors

/// Random-weight models of a real shape, written once and reused across benchmark runs.
enum SyntheticModels {
    /// Qwen2-0.5B's shape: hidden 896, 24 layers, 14 heads with 2 KV heads of 64, MLP 4864,
    /// vocabulary 151 936, tied embeddings, q/k/v biases — 494 M parameters.
    static func qwen2HalfB() -> (config: [String: JSONValue], tensors: [TensorSpec]) {
        let hidden = 896, intermediate = 4864, layers = 24, heads = 14, kvHeads = 2, headDim = 64, vocab = 151_936
        var specs = [TensorSpec(name: "model.embed_tokens.weight", dtype: .bf16, shape: [vocab, hidden])]
        for layer in 0..<layers {
            let p = "model.layers.\(layer)."
            specs += [
                TensorSpec(name: p + "input_layernorm.weight", dtype: .bf16, shape: [hidden]),
                TensorSpec(name: p + "self_attn.q_proj.weight", dtype: .bf16, shape: [heads * headDim, hidden]),
                TensorSpec(name: p + "self_attn.q_proj.bias", dtype: .bf16, shape: [heads * headDim]),
                TensorSpec(name: p + "self_attn.k_proj.weight", dtype: .bf16, shape: [kvHeads * headDim, hidden]),
                TensorSpec(name: p + "self_attn.k_proj.bias", dtype: .bf16, shape: [kvHeads * headDim]),
                TensorSpec(name: p + "self_attn.v_proj.weight", dtype: .bf16, shape: [kvHeads * headDim, hidden]),
                TensorSpec(name: p + "self_attn.v_proj.bias", dtype: .bf16, shape: [kvHeads * headDim]),
                TensorSpec(name: p + "self_attn.o_proj.weight", dtype: .bf16, shape: [hidden, heads * headDim]),
                TensorSpec(name: p + "post_attention_layernorm.weight", dtype: .bf16, shape: [hidden]),
                TensorSpec(name: p + "mlp.gate_proj.weight", dtype: .bf16, shape: [intermediate, hidden]),
                TensorSpec(name: p + "mlp.up_proj.weight", dtype: .bf16, shape: [intermediate, hidden]),
                TensorSpec(name: p + "mlp.down_proj.weight", dtype: .bf16, shape: [hidden, intermediate]),
            ]
        }
        specs.append(TensorSpec(name: "model.norm.weight", dtype: .bf16, shape: [hidden]))
        let config: [String: JSONValue] = [
            "architectures": .array([.string("Qwen2ForCausalLM")]), "model_type": .string("qwen2"),
            "hidden_size": .number(JSONNumber(hidden)), "intermediate_size": .number(JSONNumber(intermediate)),
            "num_hidden_layers": .number(JSONNumber(layers)), "num_attention_heads": .number(JSONNumber(heads)),
            "num_key_value_heads": .number(JSONNumber(kvHeads)), "vocab_size": .number(JSONNumber(vocab)),
            "max_position_embeddings": .number(JSONNumber(32768)), "rms_norm_eps": .number(JSONNumber(1e-6)),
            "rope_theta": .number(JSONNumber(1_000_000.0)), "tie_word_embeddings": .bool(true),
            "hidden_act": .string("silu"), "torch_dtype": .string("bfloat16"),
        ]
        return (config, specs)
    }

    /// SplitMix64 of (seed, tensor, element) → uniform in [-0.5, 0.5).
    @inline(__always)
    static func uniform(_ seed: UInt64, _ tensor: UInt64, _ element: UInt64) -> Float {
        var z = seed &+ tensor &* 0x9E37_79B9_7F4A_7C15 &+ element &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) * (1.0 / 16_777_216) - 0.5
    }

    /// Writes model `variant` (0 = base; others = base + small noise) into `folder`, unless a
    /// complete copy is already there.
    static func write(variant: Int, to folder: String, threads: Int) throws {
        let marker = folder + "/.complete"
        if FileManager.default.fileExists(atPath: marker) { return }
        try? FileManager.default.removeItem(atPath: folder)
        let (config, specs) = qwen2HalfB()
        let staging = try StagingDirectory(destination: folder)
        let writer = try SafetensorsWriter(directory: staging.path, layout: SafetensorsLayout(tensors: specs))
        let largest = specs.map(\.elementCount).max() ?? 0
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: largest)
        defer { buffer.deallocate() }
        nonisolated(unsafe) let values = buffer
        for (t, spec) in specs.enumerated() {
            let count = spec.elementCount
            let isNorm = spec.name.hasSuffix("norm.weight")
            let chunks = 64
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = count * c / chunks, end = count * (c + 1) / chunks
                for i in start..<end {
                    let base = uniform(1, UInt64(t), UInt64(i)) * 0.07 + (isNorm ? 1 : 0)
                    values[i] = variant == 0 ? base : base + uniform(UInt64(100 + variant), UInt64(t), UInt64(i)) * 0.004
                }
            }
            try writer.write(spec.name, values: UnsafeBufferPointer(rebasing: buffer[0..<count]), threads: threads)
        }
        try writer.finish()
        var object = JSONObject()
        for key in config.keys.sorted() { object[key] = config[key] }
        try Data((JSONValue.object(object).serialized(indent: 2) + "\n").utf8).write(to: URL(fileURLWithPath: staging.path + "/config.json"))
        try staging.commit(replacing: true)
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
    }
}
