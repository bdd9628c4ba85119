import ArgumentParser
import Dispatch
import Foundation
import Inference
import Tensors

/// Random-weight models of a real shape, written once and reused across benchmark runs. The
/// tensor list comes from the family's own file (`DecoderConfiguration.tensorShapes`), so a
/// benchmark model holds exactly what the evaluator and merging read.
enum SyntheticModels {
    enum Shape: String, CaseIterable, ExpressibleByArgument, Sendable {
        /// Qwen2-0.5B: hidden 896, 24 layers, 14 heads with 2 KV heads of 64, MLP 4864, vocabulary
        /// 151 936, tied embeddings, q/k/v biases — 494 M parameters.
        case qwen2 = "qwen2-0.5b"
        /// Qwen2-1.5B: hidden 1536, 28 layers, 12 heads with 2 KV heads of 128, MLP 8960,
        /// vocabulary 151 936, tied, q/k/v biases — 1.54 B parameters.
        case qwen2Large = "qwen2-1.5b"
        /// Qwen2.5-3B: hidden 2048, 36 layers, 16 heads with 2 KV heads of 128, MLP 11 008,
        /// vocabulary 151 936, tied, q/k/v biases — 3.09 B parameters.
        case qwen25x3 = "qwen2.5-3b"
        /// Llama-3-8B truncated to 4 layers: hidden 4096, 32 heads with 8 KV heads of 128, MLP
        /// 14 336, vocabulary 128 256, untied head — full-width tensors, 1.92 B parameters.
        case llama3x8Truncated = "llama3-8b-4-layers"
        /// Qwen3-0.6B: hidden 1024, 28 layers, 16 heads with 8 KV heads of 128, q/k norms, MLP
        /// 3072, vocabulary 151 936, tied — 596 M parameters.
        case qwen3 = "qwen3-0.6b"
        /// Gemma-2-2B: hidden 2304, 26 layers, 8 heads with 4 KV heads of 256, MLP 9216 (GELU-tanh),
        /// vocabulary 256 000, sandwich norms, soft-capping, alternating 4096 windows — 2.61 B.
        case gemma2 = "gemma2-2b"

        var config: JSONObject {
            func n(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
            func d(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
            var pairs: [(String, JSONValue)] = [("torch_dtype", .string("bfloat16")), ("tie_word_embeddings", .bool(self != .llama3x8Truncated)), ("rms_norm_eps", d(1e-6))]
            switch self {
            case .qwen2:
                pairs += [("architectures", .array([.string("Qwen2ForCausalLM")])), ("model_type", .string("qwen2")),
                          ("hidden_size", n(896)), ("intermediate_size", n(4864)), ("num_hidden_layers", n(24)),
                          ("num_attention_heads", n(14)), ("num_key_value_heads", n(2)), ("vocab_size", n(151_936)),
                          ("max_position_embeddings", n(32768)), ("rope_theta", d(1_000_000)), ("hidden_act", .string("silu"))]
            case .qwen2Large, .qwen25x3:
                let large = self == .qwen2Large
                pairs += [("architectures", .array([.string("Qwen2ForCausalLM")])), ("model_type", .string("qwen2")),
                          ("hidden_size", n(large ? 1536 : 2048)), ("intermediate_size", n(large ? 8960 : 11008)),
                          ("num_hidden_layers", n(large ? 28 : 36)), ("num_attention_heads", n(large ? 12 : 16)),
                          ("num_key_value_heads", n(2)), ("vocab_size", n(151_936)),
                          ("max_position_embeddings", n(32768)), ("rope_theta", d(1_000_000)), ("hidden_act", .string("silu"))]
            case .llama3x8Truncated:
                pairs += [("architectures", .array([.string("LlamaForCausalLM")])), ("model_type", .string("llama")),
                          ("hidden_size", n(4096)), ("intermediate_size", n(14336)), ("num_hidden_layers", n(4)),
                          ("num_attention_heads", n(32)), ("num_key_value_heads", n(8)), ("vocab_size", n(128_256)),
                          ("max_position_embeddings", n(8192)), ("rope_theta", d(500_000)), ("hidden_act", .string("silu")),
                          ("bos_token_id", n(128_000)), ("eos_token_id", n(128_001))]
            case .qwen3:
                pairs += [("architectures", .array([.string("Qwen3ForCausalLM")])), ("model_type", .string("qwen3")),
                          ("hidden_size", n(1024)), ("intermediate_size", n(3072)), ("num_hidden_layers", n(28)),
                          ("num_attention_heads", n(16)), ("num_key_value_heads", n(8)), ("head_dim", n(128)),
                          ("vocab_size", n(151_936)), ("max_position_embeddings", n(40960)), ("rope_theta", d(1_000_000)),
                          ("hidden_act", .string("silu")), ("attention_bias", .bool(false))]
            case .gemma2:
                pairs += [("architectures", .array([.string("Gemma2ForCausalLM")])), ("model_type", .string("gemma2")),
                          ("hidden_size", n(2304)), ("intermediate_size", n(9216)), ("num_hidden_layers", n(26)),
                          ("num_attention_heads", n(8)), ("num_key_value_heads", n(4)), ("head_dim", n(256)),
                          ("vocab_size", n(256_000)), ("max_position_embeddings", n(8192)), ("rope_theta", d(10_000)),
                          ("hidden_activation", .string("gelu_pytorch_tanh")), ("query_pre_attn_scalar", n(256)),
                          ("sliding_window", n(4096)), ("attn_logit_softcapping", d(50)), ("final_logit_softcapping", d(30)),
                          ("pad_token_id", n(0)), ("eos_token_id", n(1)), ("bos_token_id", n(2))]
            }
            var object = JSONObject()
            for (key, value) in pairs.sorted(by: { $0.0 < $1.0 }) { object[key] = value }
            return object
        }

        /// Every tensor, BF16, in the family file's order.
        func tensors() throws -> [TensorSpec] {
            try DecoderConfiguration(ModelConfig(path: "(\(rawValue))", json: config)).tensorShapes.map {
                TensorSpec(name: $0.0, dtype: .bf16, shape: $0.1)
            }
        }
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
    static func write(_ shape: Shape = .qwen2, variant: Int, to folder: String, threads: Int) throws {
        let marker = folder + "/.complete"
        if FileManager.default.fileExists(atPath: marker) { return }
        try? FileManager.default.removeItem(atPath: folder)
        let specs = try shape.tensors()
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
        try Data((JSONValue.object(shape.config).serialized(indent: 2) + "\n").utf8).write(to: URL(fileURLWithPath: staging.path + "/config.json"))
        try staging.commit(replacing: true)
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
    }
}

extension SyntheticModels {
    /// The linear layers a LoRA adapter targets: every projection of the blocks.
    static let linearModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

    /// Writes a PEFT LoRA adapter `variant` of rank `rank` on every linear layer of `shape`
    /// (BF16, as PEFT saves an adapter trained on a BF16 base; lora_alpha = 2·rank) into `folder`,
    /// unless a complete copy is there.
    static func writeAdapter(_ shape: Shape = .qwen2, variant: Int, rank: Int, base: String, to folder: String, threads: Int) throws {
        let marker = folder + "/.complete"
        if FileManager.default.fileExists(atPath: marker) { return }
        try? FileManager.default.removeItem(atPath: folder)
        var specs: [TensorSpec] = []
        for spec in try shape.tensors() where spec.shape.count == 2 && linearModules.contains(where: { spec.name.hasSuffix(".\($0).weight") }) {
            let module = LoRAAdapter.keyPrefix + spec.name.dropLast(".weight".count)
            specs.append(TensorSpec(name: module + ".lora_A.weight", dtype: .bf16, shape: [rank, spec.shape[1]]))
            specs.append(TensorSpec(name: module + ".lora_B.weight", dtype: .bf16, shape: [spec.shape[0], rank]))
        }
        let staging = try StagingDirectory(destination: folder)
        let writer = try SafetensorsWriter(directory: staging.path, layout: SafetensorsLayout(tensors: specs))
        for (t, spec) in specs.enumerated() {
            let values = (0..<spec.elementCount).map { uniform(UInt64(200 + variant), UInt64(t), UInt64($0)) * 0.02 }
            try values.withUnsafeBufferPointer { try writer.write(spec.name, values: $0, threads: threads) }
        }
        try writer.finish()
        try FileManager.default.moveItem(atPath: staging.path + "/model.safetensors", toPath: staging.path + "/" + LoRAAdapter.weightsFileName)
        let config = JSONObject([
            "peft_type": .string("LORA"), "task_type": .string("CAUSAL_LM"), "base_model_name_or_path": .string(base),
            "r": .number(JSONNumber(rank)), "lora_alpha": .number(JSONNumber(2 * rank)), "lora_dropout": .number(JSONNumber(0)),
            "target_modules": .array(linearModules.map(JSONValue.string)), "bias": .string("none"), "fan_in_fan_out": .bool(false),
            "use_rslora": .bool(false), "use_dora": .bool(false), "inference_mode": .bool(true),
        ])
        try Data((JSONValue.object(config).serialized(indent: 2) + "\n").utf8).write(to: URL(fileURLWithPath: staging.path + "/" + LoRAAdapter.configFileName))
        try staging.commit(replacing: true)
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
    }
}
