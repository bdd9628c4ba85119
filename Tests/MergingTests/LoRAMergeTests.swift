import Foundation
import Testing
@testable import Merging
@testable import Tensors

/// LoRA adapters as merge sources, against PEFT's `merge_and_unload` and mergekit 0.1.5 run with
/// `--lora-merge-dtype float32` on the same `BASE+ADAPTER` recipes (tools/make_lora_goldens.py).
@Suite struct LoRAMergeTests {
    static let lora = Fixture.directory + "/lora"
    static let base = "Tests/MergingTests/Fixtures/models/base"
    static func adapter(_ name: String) -> String { "Tests/MergingTests/Fixtures/lora/adapters/\(name)" }

    /// Worst |ours − theirs| / max |theirs| over every tensor of `golden`, with the tensor sets equal.
    static func worstRelative(_ merged: [String: [Float]], golden path: String) throws -> Float {
        let golden = try ModelFolder(path: path)
        #expect(Set(merged.keys) == Set(golden.tensorNames))
        var worst: Float = 0
        for name in golden.tensorNames {
            let (file, info) = try #require(golden.tensor(name))
            let want = try file.floats(info)
            let got = try #require(merged[name])
            let scale = want.map(\.magnitude).max() ?? 0
            let diff = zip(got, want).map { ($0 - $1).magnitude }.max() ?? 0
            if scale > 0 { worst = max(worst, diff / scale) }
        }
        return worst
    }

    /// One adapter on its base, read as a model: PEFT's fold in float32.
    @Test(arguments: ["a", "b", "c"])
    func anAdapterReadsAsPEFTFoldsIt(name: String) throws {
        let recipe = try Fixture.recipe(yaml: "merge_method: linear\nmodels:\n  - model: \(Self.base)+\(Self.adapter(name))\n    parameters: {weight: 1.0}\ndtype: float32\n")
        let plan = try Fixture.plan(recipe)
        #expect(plan.tensors.allSatisfy { $0.outDType == .f32 })
        let worst = try Self.worstRelative(try Fixture.merge(plan), golden: Self.lora + "/folded/\(name)")
        print("folded \(name): worst |diff| / max |value| = \(worst)")
        #expect(worst <= 1e-6)
    }

    @Test(arguments: ["lora_linear", "lora_task_arithmetic", "lora_ties", "lora_dare_ties", "lora_modules_to_save"])
    func recipesOfAdaptersMatchMergekit(name: String) throws {
        let plan = try Fixture.plan(try Recipe(contentsOf: Self.lora + "/recipes/\(name).yml"))
        let worst = try Self.worstRelative(try Fixture.merge(plan), golden: Self.lora + "/golden/\(name)")
        print("golden \(name): worst |diff| / max |value| = \(worst)")
        #expect(worst <= 1e-6)
    }

    /// DARE's draws are Amalgam's own (Philox), so at density < 1 the check is against Amalgam
    /// merging mergekit's folded models: the same masks over the same task vectors.
    @Test func dareTiesOnAdaptersEqualsDareTiesOnTheirFoldedModels() throws {
        func plan(_ a: String, _ c: String) throws -> MergePlan {
            try Fixture.plan(try Fixture.recipe(yaml: """
                merge_method: dare_ties
                base_model: \(Self.base)
                models:
                  - model: \(a)
                    parameters: {weight: 0.6, density: 0.4}
                  - model: \(c)
                    parameters: {weight: 0.5, density: 0.7}
                dtype: float32
                random_seed: 11
                """))
        }
        let adapters = try Fixture.merge(plan("\(Self.base)+\(Self.adapter("a"))", "\(Self.base)+\(Self.adapter("c"))"))
        let folded = try Fixture.merge(plan("Tests/MergingTests/Fixtures/lora/folded/a", "Tests/MergingTests/Fixtures/lora/folded/c"))
        var worst: Float = 0
        for (name, values) in folded {
            let ours = try #require(adapters[name])
            let scale = values.map(\.magnitude).max() ?? 1
            worst = max(worst, (zip(ours, values).map { ($0 - $1).magnitude }.max() ?? 0) / scale)
        }
        print("dare_ties on adapters vs on folded models: worst |diff| / max |value| = \(worst)")
        #expect(worst <= 1e-6)
    }

    /// A bare adapter folder takes the recipe's base, else the base its config names.
    @Test func aBareAdapterFolderTakesItsBase() throws {
        let withBase = try Fixture.plan(try Fixture.recipe(yaml: "merge_method: task_arithmetic\nbase_model: \(Self.base)\nmodels:\n  - model: \(Self.adapter("a"))\n    parameters: {weight: 1.0}\ndtype: float32\n"))
        #expect(withBase.models.contains { $0.source.adapter != nil })
        #expect(try Self.worstRelative(try Fixture.merge(withBase), golden: Self.lora + "/folded/a") <= 1e-6)
        let named = try Fixture.plan(try Fixture.recipe(yaml: "merge_method: linear\nmodels:\n  - model: \(Self.adapter("a"))\n    parameters: {weight: 1.0}\ndtype: float32\n"))
        #expect(try Self.worstRelative(try Fixture.merge(named), golden: Self.lora + "/folded/a") <= 1e-6)
    }

    @Test func outputDoesNotDependOnThreads() throws {
        let plan = try Fixture.plan(try Recipe(contentsOf: Self.lora + "/recipes/lora_ties.yml"))
        let one = try Fixture.merge(plan, threads: 1)
        let three = try Fixture.merge(plan, threads: 3)
        for (name, values) in one { #expect(three[name] == values, "\(name)") }
    }

    static let refusals: [(String, String, String)] = [
        ("dora", "adapters/dora/adapter_config.json: use_dora: is true", "DoRA"),
        ("other", "adapters/other: updates tensor 'model.layers.0.mlp.down_proj.weight' with lora_B [64, 4] · lora_A [4, 64]", "another model"),
        ("bad_rank", "lora_A has rank 4 (shape [4, 104]) but lora_B has rank 3 (shape [104, 3])", "up_proj"),
    ]

    @Test(arguments: refusals.indices)
    func badAdaptersAreOneClearError(index: Int) throws {
        let (name, expected, also) = Self.refusals[index]
        let recipe = try Fixture.recipe(yaml: "merge_method: task_arithmetic\nbase_model: \(Self.base)\nmodels:\n  - model: \(Self.base)+\(Self.adapter(name))\n    parameters: {weight: 1.0}\n")
        let error = try #require(throws: (any Error).self) { try Fixture.plan(recipe) }
        let text = "\(error)"
        #expect(text.contains(expected) && text.contains(also), "\(text)")
        #expect(!text.contains("\n"))
    }

    @Test func anAdapterWithoutWeightsNamesTheFile() throws {
        let directory = try TemporaryDirectory()
        let folder = directory.path + "/adapter"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.lora + "/adapters/a/adapter_config.json", toPath: folder + "/adapter_config.json")
        let recipe = try Fixture.recipe(yaml: "merge_method: task_arithmetic\nbase_model: \(Self.base)\nmodels:\n  - model: \(Self.base)+\(folder)\n    parameters: {weight: 1.0}\n")
        let error = try #require(throws: ModelFolderError.self) { try Fixture.plan(recipe) }
        #expect("\(error)" == "\(folder): has no adapter_model.safetensors")
    }
}
