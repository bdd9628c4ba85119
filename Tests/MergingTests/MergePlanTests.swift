import Foundation
import Testing
@testable import Merging
@testable import Tensors

/// Problems only the models reveal, each found before any arithmetic and named.
@Suite struct MergePlanTests {
    static let m = "Tests/MergingTests/Fixtures/models"

    func expectPlanError(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation, _ check: @escaping (any Error) -> Bool) throws {
        let recipe = try Fixture.recipe(yaml: yaml)
        #expect(sourceLocation: sourceLocation, performing: { try Fixture.plan(recipe) }, throws: check)
    }

    @Test func missingModelFolderNamesTheField() throws {
        try expectPlanError("merge_method: linear\nmodels:\n  - {model: \(Self.m)/a, parameters: {weight: 1}}\n  - {model: \(Self.m)/nope, parameters: {weight: 1}}") {
            ($0 as? RecipeError)?.path == "models[1].model" && ($0 as? RecipeError)?.message.hasSuffix("/nope does not exist") == true
        }
    }

    @Test func layerRangePastTheModel() throws {
        try expectPlanError("merge_method: passthrough\nslices:\n  - sources: [{model: \(Self.m)/a, layer_range: [1, 5]}]") {
            ($0 as? RecipeError)?.path == "slices[0].sources[0].layer_range"
                && ($0 as? RecipeError)?.message == "[1, 5] runs past \(Self.m)/a, which has 3 layers"
        }
    }

    @Test func slerpNeedsExactlyTwoModels() throws {
        try expectPlanError("merge_method: slerp\nbase_model: \(Self.m)/base\nmodels:\n  - model: \(Self.m)/a\n  - model: \(Self.m)/b\nparameters: {t: 0.5}") {
            ($0 as? RecipeError)?.message == "tensor 'model.embed_tokens.weight': slerp needs exactly two models, the base and one other (got 3 inputs)"
        }
    }

    @Test func dellaEpsilonBounds() throws {
        try expectPlanError("merge_method: della\nbase_model: \(Self.m)/base\nmodels:\n  - {model: \(Self.m)/a, parameters: {weight: 1, density: 0.2, epsilon: 0.3}}") {
            ($0 as? RecipeError)?.message.contains("della needs density ± epsilon inside (0, 1), got density 0.2 and epsilon 0.3") == true
        }
    }

    @Test func missingRequiredWeight() throws {
        try expectPlanError("merge_method: task_arithmetic\nbase_model: \(Self.m)/base\nmodels:\n  - {model: \(Self.m)/a, parameters: {weight: [{filter: mlp, value: 1}]}}") {
            ($0 as? RecipeError)?.message == "missing required parameter weight for \(Self.m)/a.model.embed_tokens.weight"
        }
    }

    @Test func mismatchedShapesAndTensorSets() throws {
        let directory = try TemporaryDirectory()
        let odd = directory.path + "/odd"
        try FileManager.default.copyItem(atPath: Fixture.models + "/a", toPath: odd)
        // Rewrite one shard so that a tensor changes shape, and one so that a tensor disappears.
        let layout = SafetensorsLayout(tensors: [TensorSpec(name: "model.embed_tokens.weight", dtype: .f32, shape: [8, 13])], maxShardSize: .max)
        let small = directory.path + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let writer = try SafetensorsWriter(directory: small, layout: layout)
        try [Float](repeating: 1, count: 104).withUnsafeBufferPointer { try writer.write("model.embed_tokens.weight", values: $0) }
        try writer.finish()
        try FileManager.default.copyItem(atPath: Fixture.models + "/a/config.json", toPath: small + "/config.json")
        let recipe = try Fixture.recipe(yaml: "merge_method: task_arithmetic\nbase_model: \(Fixture.models)/base\nmodels:\n  - {model: \(small), parameters: {weight: 1}}")
        #expect { try MergePlan(recipe: recipe, file: "r.yml") } throws: {
            ($0 as? ModelFolderError)?.message == "tensor 'model.embed_tokens.weight' has shape [8, 13] but 'model.embed_tokens.weight' of \(Fixture.models)/base has [104, 104]"
        }
        try FileManager.default.removeItem(atPath: small + "/model.safetensors")
        let shard = SafetensorsLayout(tensors: [TensorSpec(name: "model.embed_tokens.weight", dtype: .f32, shape: [104, 104])], maxShardSize: .max)
        let second = try SafetensorsWriter(directory: small, layout: shard)
        try [Float](repeating: 1, count: 10816).withUnsafeBufferPointer { try second.write("model.embed_tokens.weight", values: $0) }
        try second.finish()
        #expect { try MergePlan(recipe: recipe, file: "r.yml") } throws: {
            ($0 as? ModelFolderError)?.message == "has no tensor 'model.layers.0.input_layernorm.weight', which the llama layout needs"
        }
    }

    @Test func planFollowsMergekitSlicing() throws {
        let plan = try Fixture.plan(Fixture.recipe("passthrough"))
        #expect(plan.layerCount == 5)
        let layer3 = try #require(plan.tensors.first { $0.name == "model.layers.3.mlp.up_proj.weight" })
        #expect(layer3.inputs.map(\.tensor) == ["model.layers.2.mlp.up_proj.weight"])
        #expect(plan.models[layer3.inputs[0].model].reference.hasSuffix("/b"))
        #expect(layer3.inputs[0].parameters["scale"] == .number(0.5))
        let embed = try #require(plan.tensors.first { $0.name == "model.embed_tokens.weight" })
        #expect(plan.models[embed.inputs[0].model].reference.hasSuffix("/a"))
        let norm = try #require(plan.tensors.first { $0.name == "model.norm.weight" })
        #expect(plan.models[norm.inputs[0].model].reference.hasSuffix("/base"))
        #expect(!plan.tensors.contains { $0.name == "lm_head.weight" })  // tied embeddings: no head anywhere

        let slerp = try Fixture.plan(Fixture.recipe("slerp"))
        let t = { (name: String) in slerp.tensors.first { $0.name == name }?.parameters["t"] }
        #expect(t("model.layers.1.self_attn.q_proj.weight") == .number(0.5))
        #expect(t("model.layers.2.mlp.down_proj.weight") == .number(0))
        #expect(t("model.layers.2.input_layernorm.weight") == .number(0.3))
    }

    /// Dropping layers of a model whose config lists `layer_types` (zoo/gemma2-tiny: sliding, full,
    /// sliding, full) keeps each kept layer's type and lists one per output layer.
    @Test func outputConfigCutsLayerTypesToTheKeptLayers() throws {
        let base = "zoo/gemma2-tiny/base"
        let plan = try Fixture.plan(try Fixture.recipe(yaml: """
            merge_method: passthrough
            slices:
              - sources: [{model: \(base), layer_range: [1, 2]}]
              - sources: [{model: \(base), layer_range: [2, 4]}]
            """))
        #expect(plan.sourceLayers == [1, 2, 3])
        let config = try #require(plan.models[plan.configModel].folder.config)
        let output = plan.outputConfig(config)
        #expect(try output.layerCount == 3)
        #expect(output.json["layer_types"]?.array?.compactMap(\.string) == ["full_attention", "sliding_attention", "full_attention"])
        #expect(output.json["hidden_size"] == config.json["hidden_size"])
    }
}
