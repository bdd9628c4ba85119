import Foundation
import Testing
@testable import Inference
import Tensors

/// The registry and the layouts: every family has a golden model, and what a family says its
/// tensors are is exactly what merging reads off the names of its checkpoints.
@Suite struct ModelFamilyTests {
    static let fixtures = DecoderGoldenTests.fixtures

    static func config(_ name: String) throws -> ModelConfig {
        try ModelConfig(contentsOf: fixtures + "/\(name)/config.json")
    }

    /// Adding a family means adding its golden model too (tools/make_model_goldens.py).
    @Test func everyRegisteredFamilyHasAGoldenModel() throws {
        let covered = try Set(DecoderGoldenTests.families.map { try Self.config($0).json["model_type"]?.string ?? "" })
        #expect(Set(ModelFamilies.modelTypes) == covered)
        #expect(ModelFamilies.modelTypes.count == 8)
    }

    @Test(arguments: DecoderGoldenTests.families)
    func familyLayoutEqualsTheInferredOne(name: String) throws {
        let folder = try ModelFolder(path: Self.fixtures + "/\(name)")
        let config = try Self.config(name)
        let family = try #require(ModelFamilies.layout(config))
        let inferred = try TensorLayout.inferred(from: folder.tensorNames, modelType: "?", file: folder.path)
        let layers = try #require(try config.layerCount)
        #expect(Set(family.tensorNames(layers: layers)) == Set(folder.tensorNames), "\(name): the family's names are the checkpoint's")
        #expect(Set(family.layerWeights) == Set(inferred.layerWeights))
        #expect(family.layerPrefix == inferred.layerPrefix)
        #expect(Set(family.preWeights.map(\.name)) == Set(inferred.preWeights.map(\.name)))
        #expect(Set(family.postWeights.map(\.name)) == Set(inferred.postWeights.map(\.name)))
    }

    @Test func anUnknownFamilyIsOneErrorThatSuggestsCommandTasks() throws {
        var config = try Self.config("olmo2")
        config.set("model_type", .string("starcoder2"))
        #expect { try DecoderConfiguration(config) } throws: { error in
            let message = (error as? ModelError)?.message ?? ""
            return (error as? ModelError)?.field == "model_type" && message.contains("\"starcoder2\" cannot be run")
                && message.contains("command") && message.contains("gemma2, gemma3_text, llama")
        }
    }

    /// Config fields each family reads are checked while decoding, naming the field.
    @Test(arguments: [
        ("phi3-longrope", "rope_scaling", JSONValue.object(JSONObject(["type": .string("longrope"), "short_factor": .array([.number(JSONNumber(1.0))]), "long_factor": .array([.number(JSONNumber(1.0))])])), "short_factor"),
        ("phi3", "partial_rotary_factor", JSONValue.number(JSONNumber(1.5)), "(0, 1]"),
        ("gemma2", "query_pre_attn_scalar", JSONValue.number(JSONNumber(-4)), "positive"),
        ("gemma3_text", "use_bidirectional_attention", JSONValue.bool(true), "not supported"),
        ("qwen3", "layer_types", JSONValue.array([.string("full_attention")]), "num_hidden_layers is 2"),
        ("llama", "rope_scaling", JSONValue.object(JSONObject(["rope_type": .string("yarn"), "factor": .number(JSONNumber(2.0))])), "\"yarn\" is not supported"),
        ("gemma2", "hidden_activation", JSONValue.string("relu"), "not supported"),
    ])
    func badConfigFieldsAreNamed(name: String, key: String, value: JSONValue, expected: String) throws {
        var config = try Self.config(name)
        if key == "partial_rotary_factor" {
            var parameters = config.json["rope_parameters"]?.object ?? JSONObject()
            parameters[key] = value
            config.set("rope_parameters", .object(parameters))
        } else {
            config.set(key, value)
        }
        #expect { try DecoderConfiguration(config) } throws: { error in
            guard let error = error as? ModelError else { return false }
            return error.message.contains(expected) && (error.field == key || error.field == "rope_parameters" || error.field == "rope_scaling")
        }
    }

    /// Gemma 3's two rotary embeddings and window pattern, read from the Hub's config layout.
    @Test func gemma3ReadsLocalAndGlobalRotaries() throws {
        let c = try DecoderConfiguration(Self.config("gemma3_text"))
        #expect(c.layers.map(\.slidingWindow) == [6, nil, 6])
        #expect(c.layers.map(\.rotary) == [1, 0, 1])
        #expect(c.rotaries[0] == RotaryEmbedding(theta: 1_000_000, dimension: 8, scaling: .linear(factor: 8)))
        #expect(c.rotaries[1] == RotaryEmbedding(theta: 10_000, dimension: 8))
        #expect(c.normOffset == 1 && c.embeddingScale == Float(32.0.squareRoot()))
    }
}
