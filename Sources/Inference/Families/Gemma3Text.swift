import Tensors

/// Gemma 3's text decoder (`gemma3_text`; transformers' `modeling_gemma3.py`): the Gemma 2
/// block with (1 + w) RMSNorm of each query and key head, no soft-capping by default, five
/// sliding layers in six (`sliding_window_pattern`, or `layer_types`), and two rotary
/// embeddings: local layers at `rope_local_base_freq` (10 000), global layers at `rope_theta`
/// (1 000 000) with `rope_scaling` (linear factor 8 in the 4B and larger), or transformers 5's
/// `rope_parameters` keyed by layer type.
enum Gemma3Text: ModelFamily {
    static let modelType = "gemma3_text"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var configuration = try Gemma2.gemma(c, queryKeyNorm: .perHead, softCaps: (attention: nil, final: nil))
        let pattern = try c.int("sliding_window_pattern") ?? 6
        guard pattern > 0 else { throw c.fail("sliding_window_pattern", "must be positive, found \(pattern)") }
        try configuration.slidingWindows(c, window: try c.int("sliding_window") ?? 4096, isSliding: { ($0 + 1) % pattern != 0 })

        let d = configuration.headDimension
        let byType = c.config.json["rope_parameters"]?.object
        let global: RotaryEmbedding, local: RotaryEmbedding
        if let full = byType?["full_attention"]?.object {
            global = try c.rotary(dimension: d, parameters: full, theta: 1_000_000)
            local = try c.rotary(dimension: d, parameters: byType?["sliding_attention"]?.object ?? JSONObject(), theta: 10_000)
        } else {
            global = try c.rotary(dimension: d, theta: 1_000_000)
            local = RotaryEmbedding(theta: try c.double("rope_local_base_freq") ?? 10_000, dimension: d)
        }
        configuration.rotaries = [global, local]
        for i in configuration.layers.indices {
            configuration.layers[i].rotary = configuration.layers[i].slidingWindow == nil ? 0 : 1
        }
        return configuration
    }
}
