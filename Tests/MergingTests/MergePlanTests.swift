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

    /// mergekit's input contracts of the newer methods, checked per tensor before any arithmetic.
    @Test func newerMethodsCheckTheirInputs() throws {
        let m = Self.m
        for method in ["nearswap", "arcee_fusion"] {
            let t = method == "nearswap" ? "\nparameters: {t: 0.01}" : ""
            try expectPlanError("merge_method: \(method)\nbase_model: \(m)/base\nmodels:\n  - model: \(m)/a\n  - model: \(m)/b" + t) {
                ($0 as? RecipeError)?.message == "tensor 'model.embed_tokens.weight': \(method) needs exactly two models, the base and one other (got 3 inputs)"
            }
        }
        try expectPlanError("merge_method: multislerp\nbase_model: \(m)/base\nmodels:\n  - model: \(m)/base") {
            ($0 as? RecipeError)?.message == "tensor 'model.embed_tokens.weight': multislerp needs at least one model besides the optional base (got 0)"
        }
        try expectPlanError("merge_method: multislerp\nmodels:\n  - model: \(m)/a\n  - {model: \(m)/b, parameters: {weight: 1}}") {
            ($0 as? RecipeError)?.message == "missing required parameter weight for \(m)/a.model.embed_tokens.weight"
        }
        try expectPlanError("merge_method: karcher\nmodels: [{model: \(m)/a}, {model: \(m)/b}]\nparameters: {max_iter: [1, 4]}") {
            // Layer 1 of 3 interpolates to 2.5 (mergekit's pydantic refuses it as an int too).
            ($0 as? RecipeError)?.path == "max_iter" && ($0 as? RecipeError)?.message.hasPrefix("model.layers.1.") == true
                && ($0 as? RecipeError)?.message.hasSuffix(": expected a whole number") == true
        }
        let zeroSum = try Fixture.plan(Fixture.recipe(yaml: "merge_method: multislerp\nmodels:\n  - {model: \(m)/a, parameters: {weight: 1}}\n  - {model: \(m)/b, parameters: {weight: -1}}"))
        #expect(performing: { try Fixture.merge(zeroSum) }, throws: {
            ($0 as? RecipeError)?.message == "tensor 'model.embed_tokens.weight': multislerp's weights sum to 0, which normalize_weights divides by"
        })
        // karcher takes a base given anyway as one more input, as mergekit does.
        let plan = try Fixture.plan(Fixture.recipe(yaml: "merge_method: karcher\nbase_model: \(m)/base\nmodels: [{model: \(m)/a}]"))
        #expect(plan.tensors.allSatisfy { $0.inputs.count == 2 })
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

    /// A copy of the qwen3 fixture's `model` with tensors left out and others added (ones).
    func editedQwen3(_ model: String, in directory: TemporaryDirectory, name: String,
                     dropping dropped: Set<String> = [], adding added: [(String, [Int])] = []) throws -> String {
        let source = try ModelFolder(path: FamilyFixture.directory("qwen3") + "/models/\(model)")
        let kept = try source.tensorNames.filter { !dropped.contains($0) }.map { name in
            let (file, info) = try #require(source.tensor(name))
            return (name, info.shape, try file.floats(info))
        }
        let tensors = kept + added.map { ($0.0, $0.1, [Float](repeating: 1, count: $0.1.reduce(1, *))) }
        let folder = directory.path + "/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: FamilyFixture.directory("qwen3") + "/models/\(model)/config.json", toPath: folder + "/config.json")
        let layout = SafetensorsLayout(tensors: tensors.map { TensorSpec(name: $0.0, dtype: .f32, shape: $0.1) }, maxShardSize: .max)
        let writer = try SafetensorsWriter(directory: folder, layout: layout)
        for (name, _, values) in tensors { try values.withUnsafeBufferPointer { try writer.write(name, values: $0) } }
        try writer.finish()
        return folder
    }

    /// A checkpoint with no `….layers.N.` tensors has no layout Amalgam can infer: one error that
    /// names the model and its first tensor.
    @Test func modelWithoutLayerTensorsIsOneError() throws {
        let directory = try TemporaryDirectory()
        let gpt = try editedQwen3("base", in: directory, name: "gpt",
                                  dropping: Set(try ModelFolder(path: FamilyFixture.directory("qwen3") + "/models/base").tensorNames),
                                  adding: [("transformer.wte.weight", [64, 32]), ("transformer.h.0.attn.c_attn.weight", [32, 96])])
        let recipe = try Fixture.recipe(yaml: "merge_method: linear\nmodels:\n  - {model: \(gpt), parameters: {weight: 1}}")
        #expect { try MergePlan(recipe: recipe, file: "r.yml") } throws: {
            $0 as? ModelFolderError == ModelFolderError(
                file: gpt, "has no per-layer tensors named '….layers.0.…' (its first tensor is 'transformer.wte.weight'); Amalgam merges decoders whose tensors follow the Hugging Face naming")
        }
    }

    /// Models whose tensor sets differ: one error naming the model that differs and the first
    /// tensor in which it does, whichever of the two is listed first.
    @Test func modelsWithDifferentTensorsAreOneError() throws {
        let directory = try TemporaryDirectory()
        let base = FamilyFixture.directory("qwen3") + "/models/base"
        let extra = try editedQwen3("a", in: directory, name: "extra", adding: [("model.layers.1.self_attn.q_proj.bias", [8])])
        let missing = try editedQwen3("a", in: directory, name: "missing", dropping: ["model.layers.2.mlp.up_proj.weight"])
        func plan(_ first: String, _ second: String) throws -> MergePlan {
            let yaml = "merge_method: task_arithmetic\nbase_model: \(first)\nmodels:\n  - {model: \(second), parameters: {weight: 1}}"
            return try MergePlan(recipe: Fixture.recipe(yaml: yaml), file: "r.yml")
        }
        #expect { try plan(base, extra) } throws: {
            $0 as? ModelFolderError == ModelFolderError(
                file: extra, "has tensor 'model.layers.1.self_attn.q_proj.bias', which \(base) has not; merged models must hold the same tensors")
        }
        #expect { try plan(base, missing) } throws: {
            $0 as? ModelFolderError == ModelFolderError(file: missing, "has no tensor 'model.layers.2.mlp.up_proj.weight', which the qwen3 layout needs")
        }
        // Listed first, the odd model is the one the layout is read from: its layers disagree.
        #expect { try plan(extra, base) } throws: {
            $0 as? ModelFolderError == ModelFolderError(
                file: extra, "layer 1 holds other tensors than layer 0, first 'model.layers.1.self_attn.q_proj.bias'")
        }
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
        let config = try #require(plan.models[plan.configModel].source.config)
        let output = plan.outputConfig(config)
        #expect(try output.layerCount == 3)
        #expect(output.json["layer_types"]?.array?.compactMap(\.string) == ["full_attention", "sliding_attention", "full_attention"])
        #expect(output.json["hidden_size"] == config.json["hidden_size"])
    }
}
