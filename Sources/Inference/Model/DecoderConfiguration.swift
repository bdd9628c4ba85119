import Foundation
import Tensors

/// The decoder-only transformer described by config.json, validated while decoding: llama,
/// mistral (sliding window) and qwen2 (q/k/v biases) share one implementation, as they differ
/// only in these fields. Keys are transformers' own (`rms_norm_eps`, `rope_theta`, …); both the
/// top-level `rope_theta`/`rope_scaling` layout and transformers 5's `rope_parameters` are read.
public struct DecoderConfiguration: Sendable, Equatable {
    public static let supportedTypes: Set<String> = ["llama", "mistral", "qwen2"]

    public let modelType: String
    public let hiddenSize: Int
    public let intermediateSize: Int
    public let layerCount: Int
    public let headCount: Int
    public let keyValueHeadCount: Int
    public let headDimension: Int
    public let vocabularySize: Int
    public let rmsNormEpsilon: Float
    public let ropeTheta: Double
    public let ropeScaling: Llama3RopeScaling?
    /// Attend to at most this many most recent positions (mistral), nil for full causal attention.
    public let slidingWindow: Int?
    public let attentionBias: Bool
    public let tiedEmbeddings: Bool

    /// llama3-style `rope_scaling` (Meta's Llama 3.1 frequency smoothing).
    public struct Llama3RopeScaling: Sendable, Equatable {
        public let factor: Double
        public let lowFrequencyFactor: Double
        public let highFrequencyFactor: Double
        public let originalMaxPositions: Double
    }

    public init(_ config: ModelConfig) throws(ModelError) {
        let file = config.path
        func fail(_ field: String, _ message: String) -> ModelError { ModelError(file: file, field: field, message) }
        func required(_ key: String) throws(ModelError) -> Int {
            let value: Int?
            do { value = try config.int(key) } catch { throw fail(key, error.message) }
            guard let value else { throw fail(key, "is missing") }
            guard value > 0 else { throw fail(key, "must be positive, found \(value)") }
            return value
        }
        func number(_ object: JSONObject?, _ key: String) -> Double? { object?[key]?.number?.double }

        guard let type = config.json["model_type"]?.string else { throw fail("model_type", "is missing") }
        guard Self.supportedTypes.contains(type) else {
            throw fail("model_type", "\"\(type)\" is not supported (supported: \(Self.supportedTypes.sorted().joined(separator: ", ")))")
        }
        modelType = type
        hiddenSize = try required("hidden_size")
        intermediateSize = try required("intermediate_size")
        layerCount = try required("num_hidden_layers")
        headCount = try required("num_attention_heads")
        keyValueHeadCount = config.json["num_key_value_heads"]?.number?.int ?? headCount
        guard keyValueHeadCount > 0, headCount % keyValueHeadCount == 0 else {
            throw fail("num_key_value_heads", "\(keyValueHeadCount) does not divide num_attention_heads \(headCount)")
        }
        headDimension = config.json["head_dim"]?.number?.int ?? hiddenSize / headCount
        guard headDimension > 0, headDimension % 2 == 0 else { throw fail("head_dim", "must be a positive even number, found \(headDimension)") }
        vocabularySize = try required("vocab_size")
        rmsNormEpsilon = Float(config.json["rms_norm_eps"]?.number?.double ?? 1e-6)

        let parameters = config.json["rope_parameters"]?.object
        let scaling = config.json["rope_scaling"]?.object ?? parameters
        ropeTheta = number(parameters, "rope_theta") ?? config.json["rope_theta"]?.number?.double ?? 10_000
        let ropeType = scaling?["rope_type"]?.string ?? scaling?["type"]?.string ?? "default"
        switch ropeType {
        case "default": ropeScaling = nil
        case "llama3":
            guard let factor = number(scaling, "factor"), let low = number(scaling, "low_freq_factor"),
                  let high = number(scaling, "high_freq_factor"), let original = number(scaling, "original_max_position_embeddings"), high > low
            else { throw fail("rope_scaling", "llama3 scaling needs factor, low_freq_factor < high_freq_factor and original_max_position_embeddings") }
            ropeScaling = Llama3RopeScaling(factor: factor, lowFrequencyFactor: low, highFrequencyFactor: high, originalMaxPositions: original)
        default:
            throw fail("rope_scaling", "rope type \"\(ropeType)\" is not supported (default, llama3)")
        }
        let window = config.json["sliding_window"]?.number?.int
        switch type {
        case "mistral": slidingWindow = window
        case "qwen2": slidingWindow = config.json["use_sliding_window"]?.bool == true ? window : nil
        default: slidingWindow = nil
        }
        attentionBias = type == "qwen2" || config.json["attention_bias"]?.bool == true
        tiedEmbeddings = config.json["tie_word_embeddings"]?.bool ?? (type == "qwen2")
    }

    /// RoPE inverse frequencies θ^(−2i/d), with llama3 smoothing when configured
    /// (transformers' `_compute_default_rope_parameters` and `_compute_llama3_parameters`),
    /// computed in Float32 as transformers computes them.
    public var inverseFrequencies: [Float] {
        let d = Float(headDimension)
        let base = stride(from: 0, to: headDimension, by: 2).map { 1 / powf(Float(ropeTheta), Float($0) / d) }
        guard let scaling = ropeScaling else { return base }
        let factor = Float(scaling.factor), low = Float(scaling.lowFrequencyFactor), high = Float(scaling.highFrequencyFactor)
        let original = Float(scaling.originalMaxPositions)
        let lowWavelength = original / low, highWavelength = original / high
        return base.map { frequency in
            let wavelength = 2 * Float.pi / frequency
            if wavelength < highWavelength { return frequency }
            if wavelength > lowWavelength { return frequency / factor }
            let smooth = (original / wavelength - low) / (high - low)
            return (1 - smooth) * frequency / factor + smooth * frequency
        }
    }
}
