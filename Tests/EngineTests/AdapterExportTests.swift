import Foundation
import Testing
@testable import Inference
@testable import Merging
@testable import Tensors

/// A merge of adapters written as one adapter: PEFT, loading it on the base, gives the logits of
/// the full merge (tools/make_lora_export_goldens.py checked that in Python and kept PEFT's
/// logits); here the export is remade, compared with the one PEFT loaded, and Amalgam's own
/// forward passes over both are held to PEFT's logits.
@Suite struct AdapterExportTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let lora = repository + "/Tests/MergingTests/Fixtures/lora"
    static let base = repository + "/Tests/MergingTests/Fixtures/models/base"

    struct Golden: Decodable {
        let tokens: [Int]
        let logits: [[Float]]
    }

    func plan(_ name: String) throws -> MergePlan {
        try MergePlan(recipe: try Recipe(contentsOf: Self.lora + "/recipes/\(name).yml"), file: name, baseDirectory: Self.repository,
                      layouts: ModelFamilies.layout)
    }

    /// Worst |ours − PEFT| relative to each row's largest logit (at least 1).
    func worstAgainstPEFT(_ model: DecoderModel) throws -> Float {
        let golden = try JSONDecoder().decode([Golden].self, from: Data(contentsOf: URL(fileURLWithPath: Self.lora + "/exported/peft_logits.json")))
        var worst: Float = 0
        for case_ in golden {
            let logits = try model.session(capacity: 32).forward(case_.tokens)
            let vocabulary = model.configuration.vocabularySize
            for (row, expected) in case_.logits.enumerated() {
                let ours = logits[(row * vocabulary)..<((row + 1) * vocabulary)]
                let scale = max(1, expected.map(\.magnitude).max() ?? 1)
                worst = max(worst, (zip(ours, expected).map { ($0 - $1).magnitude }.max() ?? 0) / scale)
            }
        }
        return worst
    }

    func model(_ plan: MergePlan) throws -> DecoderModel {
        let arena = TensorArena()
        try Materializer(plan: plan, threads: 2).materialize(into: arena)
        let config = try #require(plan.models[plan.configModel].source.config)
        let configuration = try DecoderConfiguration(plan.outputConfig(config))
        return DecoderModel(configuration: configuration, weights: try DecoderWeights(arena: arena, configuration: configuration))
    }

    @Test func theExportIsTheAdapterPEFTLoaded() throws {
        let directory = NSTemporaryDirectory() + "amalgam-adapter-export-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try AdapterWriter(plan: plan("lora_task_arithmetic"), threads: 2).write(to: directory)
        let ours = try SafetensorsFile(path: directory + "/adapter_model.safetensors")
        let committed = try SafetensorsFile(path: Self.lora + "/exported/adapter/adapter_model.safetensors")
        #expect(ours.tensors.map(\.name) == committed.tensors.map(\.name))
        for tensor in committed.tensors {
            let mine = try #require(ours.tensor(named: tensor.name))
            #expect(mine.shape == tensor.shape)
            #expect(Array(ours.bytes(of: mine)) == Array(committed.bytes(of: tensor)), "\(tensor.name)")
        }
        let config = try ModelConfig(contentsOf: directory + "/adapter_config.json")
        #expect(try config.int("r") == 16 && config.int("lora_alpha") == 16)
    }

    @Test func theFullMergeAndTheBasePlusExportGivePEFTsLogits() throws {
        let full = try worstAgainstPEFT(try model(plan("lora_task_arithmetic")))
        let recipe = try Recipe(yaml: "merge_method: linear\nmodels:\n  - model: \(Self.base)+\(Self.lora)/exported/adapter\n    parameters: {weight: 1.0}\ndtype: float32\n", file: "fold.yml")
        let folded = try worstAgainstPEFT(try model(try MergePlan(recipe: recipe, file: "fold.yml", layouts: ModelFamilies.layout)))
        print("adapter export: full merge vs PEFT \(full), base + export vs PEFT \(folded)")
        #expect(full <= 1e-5)
        #expect(folded <= 1e-5)
    }

    @Test func methodsThatAreNotLinearInTheUpdatesAreRefused() throws {
        let refusal = try #require(AdapterWriter.refusal(try plan("lora_ties")))
        #expect(refusal.hasPrefix("ties is not linear in the adapters' updates"))
        let mixed = try MergePlan(recipe: try Recipe(yaml: "merge_method: task_arithmetic\nbase_model: \(Self.base)\nmodels:\n  - model: \(Self.repository)/Tests/MergingTests/Fixtures/models/a\n    parameters: {weight: 1.0}\n", file: "m.yml"), file: "m.yml")
        #expect(AdapterWriter.refusal(mixed)?.hasPrefix("an adapter export needs every source to be a LoRA adapter") == true)
    }
}
