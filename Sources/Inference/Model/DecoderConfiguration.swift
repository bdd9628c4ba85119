import Foundation
import Tensors

/// A decoder-only transformer as config.json describes it, validated while decoding, in the
/// terms the shared forward pass runs: the sizes, the block wiring (`DecoderBlock`), the rotary
/// embeddings and which layers attend through a sliding window, and the family quirks (Gemma's
/// embedding scale, (1 + w) norms and soft-capping). Each model family (`ModelFamily`) decodes its
/// own config.json into this value with transformers' own keys and defaults; `init(_:)` finds
/// the family by `model_type` in `ModelFamilies`.
public struct DecoderConfiguration: Sendable, Equatable {
    public internal(set) var modelType: String
    public internal(set) var hiddenSize: Int
    public internal(set) var intermediateSize: Int
    public internal(set) var layerCount: Int
    public internal(set) var headCount: Int
    public internal(set) var keyValueHeadCount: Int
    public internal(set) var headDimension: Int
    public internal(set) var vocabularySize: Int
    public internal(set) var rmsNormEpsilon: Float
    /// RMSNorm multiplies by `normOffset + weight`: 0 for most families, 1 for Gemma's (1 + w).
    public internal(set) var normOffset: Float = 0
    public internal(set) var block: DecoderBlock
    /// The embedding is multiplied by this (Gemma: √hidden_size, rounded to Float32).
    public internal(set) var embeddingScale: Float?
    /// Attention scores are q·k times this: `head_dim^-0.5`, Gemma `query_pre_attn_scalar^-0.5`.
    public internal(set) var queryScale: Float
    /// Scores become `cap · tanh(score / cap)` before the mask (Gemma 2 `attn_logit_softcapping`).
    public internal(set) var attentionSoftCap: Float?
    /// Logits become `cap · tanh(logit / cap)` (Gemma 2 `final_logit_softcapping`).
    public internal(set) var finalLogitSoftCap: Float?
    public internal(set) var tiedEmbeddings: Bool
    /// Per layer: the sliding window (nil for full causal attention) and which of `rotaries` it uses.
    public internal(set) var layers: [Layer]
    /// The distinct rotary embeddings the layers use (Gemma 3: one for local, one for global layers).
    public internal(set) var rotaries: [RotaryEmbedding]

    public struct Layer: Sendable, Equatable {
        /// Attend to at most this many most recent positions (the query's own included).
        public var slidingWindow: Int?
        public var rotary: Int
    }

    /// Decodes config.json with the family its `model_type` names.
    public init(_ config: ModelConfig) throws(ModelError) {
        let reader = ConfigReader(config)
        guard let type = config.json["model_type"]?.string else { throw reader.fail("model_type", "is missing") }
        guard let family = ModelFamilies.family(type) else {
            throw reader.fail("model_type", "\"\(type)\" cannot be run by Amalgam's built-in evaluator (it runs \(ModelFamilies.modelTypes.joined(separator: ", "))); score it with `command` tasks (lm-eval-harness, say) instead")
        }
        self = try family.configuration(reader)
        try validate(reader)
    }

    /// The sizes and defaults every family shares, read with transformers' keys; the family then
    /// adjusts what its own config class does differently. `rotary` reads the rotary embedding
    /// for the head dimension (by default from the top-level keys).
    init(common c: ConfigReader, block: DecoderBlock, tiedByDefault: Bool, headDimension defaultHeadDimension: Int? = nil,
         rotary: ((Int) throws(ModelError) -> RotaryEmbedding)? = nil) throws(ModelError) {
        modelType = c.config.json["model_type"]?.string ?? "?"
        hiddenSize = try c.required("hidden_size")
        intermediateSize = try c.required("intermediate_size")
        layerCount = try c.required("num_hidden_layers")
        headCount = try c.required("num_attention_heads")
        keyValueHeadCount = try c.int("num_key_value_heads") ?? headCount
        guard keyValueHeadCount > 0, headCount % keyValueHeadCount == 0 else {
            throw c.fail("num_key_value_heads", "\(keyValueHeadCount) does not divide num_attention_heads \(headCount)")
        }
        headDimension = try c.int("head_dim") ?? defaultHeadDimension ?? hiddenSize / headCount
        guard headDimension > 0, headDimension % 2 == 0 else { throw c.fail("head_dim", "must be a positive even number, found \(headDimension)") }
        vocabularySize = try c.required("vocab_size")
        rmsNormEpsilon = Float(try c.double("rms_norm_eps") ?? 1e-6)
        self.block = block
        queryScale = Float(pow(Double(headDimension), -0.5))
        tiedEmbeddings = try c.bool("tie_word_embeddings") ?? tiedByDefault
        if let rotary { rotaries = [try rotary(headDimension)] } else { rotaries = [try c.rotary(dimension: headDimension)] }
        layers = Array(repeating: Layer(slidingWindow: nil, rotary: 0), count: layerCount)
    }

    func validate(_ c: ConfigReader) throws(ModelError) {
        for rotary in rotaries where rotary.dimension <= 0 || rotary.dimension > headDimension || rotary.dimension % 2 != 0 {
            throw c.fail("partial_rotary_factor", "gives a rotary dimension of \(rotary.dimension) for head_dim \(headDimension); it must be even and within 1…head_dim")
        }
        if let window = layers.compactMap(\.slidingWindow).first(where: { $0 <= 0 }) {
            throw c.fail("sliding_window", "must be positive, found \(window)")
        }
        for (key, cap) in [("attn_logit_softcapping", attentionSoftCap), ("final_logit_softcapping", finalLogitSoftCap)] {
            if let cap, !(cap > 0 && cap.isFinite) { throw c.fail(key, "must be a positive number, found \(cap)") }
        }
        guard queryScale > 0, queryScale.isFinite else { throw c.fail("query_pre_attn_scalar", "must be a positive number") }
    }

    /// Every tensor the model needs with its shape, in the checkpoint's names.
    public var tensorShapes: [(String, [Int])] {
        var list: [(String, [Int])] = [("model.embed_tokens.weight", [vocabularySize, hiddenSize])]
        let layer = block.tensorShapes(self)
        for i in 0..<layerCount { list += layer.map { ("model.layers.\(i).\($0.0)", $0.1) } }
        list.append(("model.norm.weight", [hiddenSize]))
        if !tiedEmbeddings { list.append(("lm_head.weight", [vocabularySize, hiddenSize])) }
        return list
    }

    /// What merging needs of this family (`MergePlan`'s layout): the embedding before the layers,
    /// the block's tensors per layer, the final norm and the head after. An untied head is
    /// optional, as in mergekit's architecture files: fine-tunes of one base sometimes differ.
    public var layout: TensorLayout {
        TensorLayout(
            modelType: modelType,
            preWeights: [TensorLayout.Weight(name: "model.embed_tokens.weight")],
            layerWeights: block.tensorShapes(self).map(\.0),
            postWeights: [TensorLayout.Weight(name: "model.norm.weight")] + (tiedEmbeddings ? [] : [TensorLayout.Weight(name: "lm_head.weight", optional: true)]),
            layerTypes: Set(layers.map(\.slidingWindow)).count > 1 ? layers.map { $0.slidingWindow == nil ? "full_attention" : "sliding_attention" } : nil)
    }

    /// Sets every layer's sliding window from transformers' `layer_types` when config.json lists
    /// them, else from `isSliding(layer)` (the family's default pattern).
    mutating func slidingWindows(_ c: ConfigReader, window: Int?, isSliding: (Int) -> Bool) throws(ModelError) {
        let types = try c.layerTypes(count: layerCount)
        for i in 0..<layerCount {
            let sliding = types.map { $0[i] == "sliding_attention" } ?? isSliding(i)
            layers[i].slidingWindow = sliding ? window : nil
        }
    }
}

/// config.json read with errors that name the key: what every family's decoding shares.
struct ConfigReader {
    let config: ModelConfig

    init(_ config: ModelConfig) { self.config = config }

    func fail(_ field: String, _ message: String) -> ModelError { ModelError(file: config.path, field: field, message) }

    func int(_ key: String) throws(ModelError) -> Int? {
        do { return try config.int(key) } catch { throw fail(key, error.message) }
    }

    func required(_ key: String) throws(ModelError) -> Int {
        guard let value = try int(key) else { throw fail(key, "is missing") }
        guard value > 0 else { throw fail(key, "must be positive, found \(value)") }
        return value
    }

    func double(_ key: String) throws(ModelError) -> Double? {
        guard let value = config.json[key], value != .null else { return nil }
        guard let number = value.number?.double else { throw fail(key, "expected a number, found \(value.serialized())") }
        return number
    }

    func bool(_ key: String) throws(ModelError) -> Bool? {
        do { return try config.bool(key) } catch { throw fail(key, error.message) }
    }

    func string(_ key: String) throws(ModelError) -> String? {
        do { return try config.string(key) } catch { throw fail(key, error.message) }
    }

    /// `hidden_act` (or Gemma's `hidden_activation`) as an activation the MLP runs.
    func activation(_ keys: [String], default fallback: DecoderBlock.Activation) throws(ModelError) -> DecoderBlock.Activation {
        for key in keys {
            guard let name = try string(key) else { continue }
            guard let activation = DecoderBlock.Activation(configName: name) else {
                throw fail(key, "activation \"\(name)\" is not supported (silu, gelu_pytorch_tanh)")
            }
            return activation
        }
        return fallback
    }

    /// transformers' `layer_types`, checked: one of `sliding_attention` / `full_attention` per layer.
    func layerTypes(count: Int) throws(ModelError) -> [String]? {
        guard let value = config.json["layer_types"], value != .null else { return nil }
        guard let list = value.array?.compactMap(\.string), list.count == value.array?.count else {
            throw fail("layer_types", "expected a list of strings")
        }
        guard list.count == count else { throw fail("layer_types", "lists \(list.count) layers, num_hidden_layers is \(count)") }
        if let odd = list.first(where: { $0 != "sliding_attention" && $0 != "full_attention" }) {
            throw fail("layer_types", "\"\(odd)\" is not a layer type Amalgam runs (sliding_attention, full_attention)")
        }
        return list
    }

    /// The rotary embedding of the top-level keys: transformers 5's `rope_parameters`, else the
    /// older `rope_theta` + `rope_scaling`. `parameters` overrides where to look (Gemma 3 keeps
    /// one set per layer type).
    func rotary(dimension: Int, parameters override: JSONObject? = nil, theta: Double = 10_000, field: String = "rope_scaling") throws(ModelError) -> RotaryEmbedding {
        var merged: JSONObject
        if let override {
            merged = override
        } else {
            let parameters = config.json["rope_parameters"]?.object, scaling = config.json["rope_scaling"]?.object
            merged = scaling ?? parameters ?? JSONObject()
            if let parameters, scaling != nil {
                for member in parameters.members where merged[member.key] == nil { merged[member.key] = member.value }
            }
        }
        let fallback = override == nil ? try double("rope_theta") ?? theta : theta
        return try RotaryEmbedding.read(merged, theta: fallback, dimension: dimension, maxPositions: try int("max_position_embeddings"),
                                        file: config.path, field: override != nil ? "rope_parameters" : field)
    }
}
