/// OLMo 2 (OLMo Team 2024; transformers' `modeling_olmo2.py`): norms after each sublayer rather
/// than before (`post_attention_layernorm`, `post_feedforward_layernorm`, no input norm), and
/// RMSNorm of the whole query and key projections (`q_norm` over heads × head_dim) before the
/// rotary embedding.
enum Olmo2: ModelFamily {
    static let modelType = "olmo2"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var block = DecoderBlock(
            attention: .init(inputNorm: nil, outputNorm: "post_attention_layernorm"),
            mlp: .init(inputNorm: nil, outputNorm: "post_feedforward_layernorm"))
        block.attention.bias = try c.bool("attention_bias") ?? false
        block.attention.outputBias = block.attention.bias
        block.attention.queryKeyNorm = .wholeProjection
        block.mlp.activation = try c.activation(["hidden_act"], default: .silu)
        return try DecoderConfiguration(common: c, block: block, tiedByDefault: false)
    }
}
