/// Llama 1–3 (Touvron et al. 2023; transformers' `modeling_llama.py`): pre-norm blocks,
/// grouped-query attention with rotary embeddings (llama3, linear or dynamic scaling as
/// configured), SwiGLU MLP. `attention_bias` adds biases to q, k, v and o.
enum Llama: ModelFamily {
    static let modelType = "llama"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        try refuseMLPBias(c)
        var block = DecoderBlock.preNorm
        block.attention.bias = try c.bool("attention_bias") ?? false
        block.attention.outputBias = block.attention.bias
        block.mlp.activation = try c.activation(["hidden_act"], default: .silu)
        return try DecoderConfiguration(common: c, block: block, tiedByDefault: false)
    }

    /// `mlp_bias: true` (a few llama checkpoints) adds biases this evaluator does not load.
    static func refuseMLPBias(_ c: ConfigReader) throws(ModelError) {
        if try c.bool("mlp_bias") == true { throw c.fail("mlp_bias", "true is not supported (MLP biases)") }
    }
}
