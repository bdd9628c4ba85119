import Tensors

/// One architecture, in the image of mlx-swift-lm's `Libraries/MLXLLM/Models/*.swift`: how its
/// config.json becomes a `DecoderConfiguration` (transformers' own keys and defaults, validated
/// while decoding), and with it the block its forward pass runs (`DecoderBlock`, built from the
/// shared pieces in `DecoderModel`) and the tensor layout merging and costs read
/// (`DecoderConfiguration.layout`).
protocol ModelFamily: Sendable {
    /// config.json's `model_type`.
    static var modelType: String { get }
    static func configuration(_ config: ConfigReader) throws(ModelError) -> DecoderConfiguration
}

/// The families Amalgam's built-in evaluator runs, by `model_type`.
///
/// Adding a family touches three places: its file in `Sources/Inference/Families/` (a type
/// conforming to `ModelFamily`), one line in `all` below, and its golden models in
/// `tools/make_model_goldens.py` (the golden tests pick up its folder). Nothing else
/// names a family: merging infers any Hugging Face decoder's layout from its tensor names, and
/// takes this registry's layout from its caller when the family is known.
public enum ModelFamilies {
    static let all: [any ModelFamily.Type] = [
        Llama.self, Mistral.self, Qwen2.self, Qwen3.self, Gemma2.self, Gemma3Text.self, Phi3.self, Olmo2.self,
    ]

    static func family(_ modelType: String) -> (any ModelFamily.Type)? {
        all.first { $0.modelType == modelType }
    }

    /// The `model_type`s the evaluator runs, sorted.
    public static var modelTypes: [String] { all.map { $0.modelType }.sorted() }

    public static func canEvaluate(_ modelType: String) -> Bool { family(modelType) != nil }

    /// The family's layout of a model, when the evaluator knows the family and its config decodes;
    /// nil otherwise (merging then infers the layout from the tensor names).
    public static func layout(_ config: ModelConfig) -> TensorLayout? {
        guard let type = config.json["model_type"]?.string, canEvaluate(type) else { return nil }
        return try? DecoderConfiguration(config).layout
    }
}
