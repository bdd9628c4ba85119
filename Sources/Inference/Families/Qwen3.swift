/// Qwen 3 dense models (transformers' `modeling_qwen3.py`): the Qwen 2 block without q/k/v
/// biases (unless `attention_bias`), with RMSNorm of each query and key head over `head_dim`
/// before the rotary embedding (`q_norm`, `k_norm`).
enum Qwen3: ModelFamily {
    static let modelType = "qwen3"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var block = DecoderBlock.preNorm
        block.attention.bias = try c.bool("attention_bias") ?? false
        block.attention.outputBias = block.attention.bias
        block.attention.queryKeyNorm = .perHead
        block.mlp.activation = try c.activation(["hidden_act"], default: .silu)
        var configuration = try DecoderConfiguration(common: c, block: block, tiedByDefault: false, headDimension: 128)
        try configuration.qwenSlidingWindows(c)
        return configuration
    }
}
