import Tensors

/// Phi-3 and Phi-4-mini (Abdin et al. 2024; transformers' `modeling_phi3.py`): the llama block
/// with fused projections — `qkv_proj` holds the q rows, then k, then v; `gate_up_proj` the gate
/// rows, then up — rotary embeddings over the first `partial_rotary_factor` of each head
/// (Phi-4-mini: 0.75), longrope scaling (short factors up to `original_max_position_embeddings`,
/// long beyond), and `sliding_window` on every layer when set.
enum Phi3: ModelFamily {
    static let modelType = "phi3"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var block = DecoderBlock.preNorm
        block.attention.projections = .fused
        block.mlp.fusedGateUp = true
        block.mlp.activation = try c.activation(["hidden_act"], default: .silu)
        var configuration = try DecoderConfiguration(common: c, block: block, tiedByDefault: false) { headDimension throws(ModelError) in
            try rotary(c, headDimension: headDimension)
        }
        try configuration.slidingWindows(c, window: try c.int("sliding_window"), isSliding: { _ in true })
        return configuration
    }

    /// Phi-3's rotary embedding: over `partial_rotary_factor` of each head, with longrope's
    /// `original_max_position_embeddings` and `rope_theta` at the top level of config.json as
    /// Phi-3 checkpoints write them, and the old names `su` / `yarn` read as longrope (as
    /// transformers' `Phi3Config` does).
    static func rotary(_ c: ConfigReader, headDimension: Int) throws(ModelError) -> RotaryEmbedding {
        let parameters = c.config.json["rope_parameters"]?.object
        let topFactor = try c.double("partial_rotary_factor")
        let factor = parameters?["partial_rotary_factor"]?.number?.double ?? topFactor ?? 1
        guard factor > 0, factor <= 1 else { throw c.fail("partial_rotary_factor", "must be in (0, 1], found \(factor)") }
        var rope = c.config.json["rope_scaling"]?.object ?? parameters ?? JSONObject()
        let type = rope["rope_type"]?.string ?? rope["type"]?.string
        if type == "su" || type == "yarn" || type == "longrope" {
            rope["rope_type"] = .string("longrope")
            rope["type"] = nil
        }
        if rope["original_max_position_embeddings"] == nil {
            rope["original_max_position_embeddings"] = .number(JSONNumber(try c.int("original_max_position_embeddings") ?? 4096))
        }
        if rope["rope_theta"] == nil, let theta = try c.double("rope_theta") { rope["rope_theta"] = .number(JSONNumber(theta)) }
        return try c.rotary(dimension: Int(Double(headDimension) * factor), parameters: rope)
    }
}
