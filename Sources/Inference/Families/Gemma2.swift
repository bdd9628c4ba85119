import Foundation
import Tensors

/// Gemma 2 (Gemma Team 2024; transformers' `modeling_gemma2.py`): the embedding scaled by
/// √hidden_size, (1 + w) RMSNorms in a sandwich around both sublayers (`input_layernorm` →
/// attention → `post_attention_layernorm`, `pre_feedforward_layernorm` → MLP →
/// `post_feedforward_layernorm`), scores scaled by `query_pre_attn_scalar^-0.5` and soft-capped
/// (`attn_logit_softcapping`), even layers sliding (`layer_types`), GELU-tanh MLP, logits
/// soft-capped (`final_logit_softcapping`), tied embeddings.
enum Gemma2: ModelFamily {
    static let modelType = "gemma2"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var configuration = try gemma(c, queryKeyNorm: .none, softCaps: (attention: 50, final: 30))
        try configuration.slidingWindows(c, window: try c.int("sliding_window") ?? 4096, isSliding: { ($0 + 1) % 2 != 0 })
        return configuration
    }

    /// What Gemma 2 and Gemma 3 share; `softCaps` are the config class's defaults.
    static func gemma(_ c: ConfigReader, queryKeyNorm: DecoderBlock.QueryKeyNorm, softCaps: (attention: Double?, final: Double?)) throws(ModelError) -> DecoderConfiguration {
        if try c.bool("use_bidirectional_attention") == true {
            throw c.fail("use_bidirectional_attention", "true is not supported (an embedding model, not a causal decoder)")
        }
        var block = DecoderBlock(
            attention: .init(inputNorm: "input_layernorm", outputNorm: "post_attention_layernorm"),
            mlp: .init(inputNorm: "pre_feedforward_layernorm", outputNorm: "post_feedforward_layernorm"))
        block.attention.bias = try c.bool("attention_bias") ?? false
        block.attention.outputBias = block.attention.bias
        block.attention.queryKeyNorm = queryKeyNorm
        block.mlp.activation = try c.activation(["hidden_activation", "hidden_act"], default: .geluTanh)
        var configuration = try DecoderConfiguration(common: c, block: block, tiedByDefault: true, headDimension: 256)
        configuration.normOffset = 1
        configuration.embeddingScale = Float(Double(configuration.hiddenSize).squareRoot())
        let scalar = try c.double("query_pre_attn_scalar") ?? 256
        guard scalar > 0 else { throw c.fail("query_pre_attn_scalar", "must be positive, found \(scalar)") }
        configuration.queryScale = Float(pow(scalar, -0.5))
        func cap(_ key: String, _ fallback: Double?) -> Float? {
            guard let value = c.config.json[key] else { return fallback.map(Float.init) }
            return value.number?.double.map { Float($0) }
        }
        configuration.attentionSoftCap = cap("attn_logit_softcapping", softCaps.attention)
        configuration.finalLogitSoftCap = cap("final_logit_softcapping", softCaps.final)
        return configuration
    }
}
