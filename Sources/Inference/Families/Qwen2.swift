/// Qwen 2 / 2.5 (transformers' `modeling_qwen2.py`): the llama block with biases on q, k and v
/// (never on o); layers from `max_window_layers` on slide when `use_sliding_window` is set.
enum Qwen2: ModelFamily {
    static let modelType = "qwen2"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var block = DecoderBlock.preNorm
        block.attention.bias = true
        block.mlp.activation = try c.activation(["hidden_act"], default: .silu)
        var configuration = try DecoderConfiguration(common: c, block: block, tiedByDefault: false)
        try configuration.qwenSlidingWindows(c)
        return configuration
    }
}

extension DecoderConfiguration {
    /// Qwen's rule (`Qwen2Config`, `Qwen3Config`): with `use_sliding_window`, layers at index
    /// `max_window_layers` (default 28) and above slide; `layer_types` overrides.
    mutating func qwenSlidingWindows(_ c: ConfigReader) throws(ModelError) {
        let window = try c.bool("use_sliding_window") == true ? try c.int("sliding_window") : nil
        let first = try c.int("max_window_layers") ?? 28
        try slidingWindows(c, window: window, isSliding: { window != nil && $0 >= first })
    }
}
