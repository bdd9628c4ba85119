import Tensors

/// The tensor layout of a decoder-only architecture, as mergekit's architecture files describe it
/// (`mergekit/_data/architectures/*.json`): weights before the layers, per-layer weights, weights
/// after. It decides which tensors a merge writes and how layers are renumbered by slices.
public struct Architecture: Sendable, Equatable {
    public struct Weight: Sendable, Equatable {
        public let name: String
        /// Absent from some models (an untied `lm_head.weight`): merged from the models that have it.
        public let optional: Bool
    }

    public let modelType: String
    public let preWeights: [Weight]
    /// Names after `model.layers.N.`.
    public let layerWeights: [String]
    public let postWeights: [Weight]

    public static let layerPrefix = "model.layers."

    public func layerTensor(_ index: Int, _ suffix: String) -> String {
        "\(Self.layerPrefix)\(index).\(suffix)"
    }

    static let llamaLayer = [
        "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
        "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.up_proj.weight", "mlp.gate_proj.weight",
        "mlp.down_proj.weight",
    ]

    static func decoder(_ modelType: String, layer: [String]) -> Architecture {
        Architecture(
            modelType: modelType,
            preWeights: [Weight(name: "model.embed_tokens.weight", optional: false)],
            layerWeights: layer,
            postWeights: [Weight(name: "model.norm.weight", optional: false), Weight(name: "lm_head.weight", optional: true)]
        )
    }

    /// The architectures Amalgam merges and evaluates, by config.json's `model_type`.
    public static let registry: [String: Architecture] = [
        "llama": decoder("llama", layer: llamaLayer),
        "mistral": decoder("mistral", layer: llamaLayer),
        "qwen2": decoder("qwen2", layer: llamaLayer + ["self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"]),
        "qwen3": decoder("qwen3", layer: llamaLayer + ["self_attn.q_norm.weight", "self_attn.k_norm.weight"]),
    ]

    /// Every tensor name this layout expects of a model with `layers` layers.
    public func tensorNames(layers: Int) -> [String] {
        preWeights.map(\.name) + (0..<layers).flatMap { i in layerWeights.map { layerTensor(i, $0) } } + postWeights.map(\.name)
    }
}
