/// Mistral 7B (Jiang et al. 2023; transformers' `modeling_mistral.py`): the llama block, with
/// every layer attending through `sliding_window` when it is set.
enum Mistral: ModelFamily {
    static let modelType = "mistral"

    static func configuration(_ c: ConfigReader) throws(ModelError) -> DecoderConfiguration {
        var block = DecoderBlock.preNorm
        block.mlp.activation = try c.activation(["hidden_act"], default: .silu)
        var configuration = try DecoderConfiguration(common: c, block: block, tiedByDefault: false)
        try configuration.slidingWindows(c, window: try c.int("sliding_window"), isSliding: { _ in true })
        return configuration
    }
}
