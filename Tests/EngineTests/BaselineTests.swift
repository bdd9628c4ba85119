import Archive
import Fitness
import Foundation
import Inference
import Merging
import Search
import Tensors
import Testing
@testable import Engine

/// Baselines (DESIGN.md §4): every run scores the base, each source alone and each method's
/// equal-weight merge first, on both splits, counts them as evaluations and never tells the
/// optimizer about them.
@Suite(.serialized) struct BaselineTests {
    typealias Folder = SearchEngineTests.Folder

    func run(_ space: SearchSpace, in folder: Folder, evaluations: Int) throws -> SQLiteArchive {
        let context = try SearchContext(space: space, threadsPerWorker: 1)
        let archive = try SQLiteArchive(path: folder.path + "/archive-\(space.baselines).sqlite")
        let engine = try SearchEngine(context: context, archive: archive, settings: .init(workers: 2, evaluations: evaluations, time: nil))
        #expect(try engine.run(stop: Cancellation()) { _ in } == .budget)
        return archive
    }

    @Test func theDemoScoresItsSevenBaselinesFirstAndNeverTellsTheOptimizer() throws {
        let folder = try Folder()
        var space = try SearchEngineTests.space(in: folder.path)
        let archive = try run(space, in: folder, evaluations: 7 + 8)
        let candidates = try archive.candidates()
        let baselines = candidates.filter { $0.baseline != nil }
        #expect(baselines.map(\.baseline) == ["base", "add", "rev", "facts", "ties", "dare_ties", "task_arithmetic"])
        #expect(baselines.map(\.id) == Array(1...7) && baselines.map(\.seq) == Array(-7 ... -1))
        #expect(baselines.allSatisfy { $0.status == .done && $0.genome.isEmpty })
        // The base and the sources alone are those models' weights; the merges weight 1 each and nothing else.
        let recipes = try baselines.map { try Recipe(yaml: $0.recipe, file: "baseline") }
        #expect(recipes[0].mergeMethod == .passthrough && recipes[0].models?.map(\.model) == [space.baseModel])
        #expect(recipes[1...3].map { $0.mergeMethod } == [.passthrough, .passthrough, .passthrough])
        #expect(recipes[1...3].map { $0.models?.map(\.model) ?? [] } == space.models.map { [$0] })
        for (recipe, method) in zip(recipes[4...], space.methods) {
            #expect(recipe.mergeMethod == method && recipe.baseModel == space.baseModel && recipe.models?.count == 3)
            for model in recipe.models ?? [] {
                #expect(model.parameters.entries.map(\.name) == ["weight"])
                // The space has filters: one value per filter and the default, all 1.
                guard case .filtered(let entries)? = model.parameters["weight"] else { Issue.record("weight is not a filter list"); continue }
                #expect(entries.map(\.filter) == ["self_attn", "mlp", nil] && entries.allSatisfy { $0.value == .scalar(.number(1)) })
            }
        }
        // Scored on both splits, every task.
        let scores = Dictionary(grouping: try archive.scores(candidate: nil), by: \.candidate)
        for baseline in baselines {
            #expect(scores[baseline.id]?.filter { $0.split == .calibration }.count == 3, "\(baseline.baseline ?? "")")
            #expect(scores[baseline.id]?.filter { $0.split == .holdout }.count == 3, "\(baseline.baseline ?? "")")
        }
        // Proposed candidates follow (ids from 8, seqs from 0), and the optimizer proposed exactly
        // what it proposes in a run without baselines: it was never told about them.
        let proposed = candidates.filter { $0.baseline == nil }
        #expect(proposed.first?.id == 8 && proposed.first?.seq == 0)
        space.baselines = false
        let without = try run(space, in: folder, evaluations: 8)
        #expect(try without.candidates().allSatisfy { $0.baseline == nil })
        #expect(try without.candidates().map(\.genome) == proposed.map(\.genome))
        #expect(try without.candidates().map(\.id) == proposed.map { $0.id - 7 })
    }

    @Test func aSourceAloneScoresAsThatModelReadFromDisk() throws {
        let folder = try Folder()
        let space = try SearchEngineTests.space(in: folder.path)
        let archive = try run(space, in: folder, evaluations: 7)
        let context = try SearchContext(space: space, threadsPerWorker: 1)
        let rev = try #require(try archive.candidates().first { $0.baseline == "rev" })
        var model = try DecoderModel(folder: ModelFolder(path: space.models[1]))
        model.threads = 1
        let tokenizer = try Tokenizer(folder: space.models[1])
        let evaluator = Evaluator(model: model, tokenizer: tokenizer, prefixToken: try #require(context.evaluation?.endOfText), modelPath: space.models[1])
        let stored = Dictionary(uniqueKeysWithValues: try archive.scores(candidate: rev.id).map { ("\($0.task) \($0.split.rawValue)", $0.value) })
        for task in context.fitness.tasks {
            #expect(stored["\(task.name) calibration"] == (try evaluator.score(task, split: FitnessFile.Split.calibration).value), "\(task.name)")
            #expect(stored["\(task.name) holdout"] == (try evaluator.score(task, split: FitnessFile.Split.holdout).value), "\(task.name)")
        }
    }

    @Test func aBudgetSmallerThanTheBaselinesEndsBeforeTheSearchAndStatusSaysSo() throws {
        let folder = try Folder()
        let space = try SearchEngineTests.space(in: folder.path)
        let archive = try run(space, in: folder, evaluations: 3)
        let candidates = try archive.candidates()
        #expect(candidates.count == 7 && candidates.allSatisfy { $0.baseline != nil })
        #expect(candidates.filter { $0.status == .done }.map(\.baseline) == ["base", "add", "rev"])
        #expect(try archive.latestCheckpoint() == nil)
    }

    @Test func oneMethodAndAdapterSourcesGiveTheirOwnBaselines() throws {
        let repository = SearchEngineTests.repository
        let space = try SearchSpace(contentsOf: repository + "/search-spaces/demo-lora.yaml")
        let context = try SearchContext(space: space, threadsPerWorker: 1)
        let baselines = Baselines.make(context: context)
        #expect(baselines.map(\.name) == ["base", "add", "rev", "facts"] + space.methods.map(\.rawValue))
        // An adapter alone is the base with it folded in: mergekit's BASE+ADAPTER.
        #expect(baselines[1].recipe.models?.map(\.model) == [space.baseModel + "+" + space.models[0]])
        #expect(baselines.map(\.kind).prefix(2) == ["the base model", "a source alone"])
        var one = space
        one.methods = [.taskArithmetic]
        let single = Baselines.make(context: try SearchContext(space: one, threadsPerWorker: 1))
        #expect(single.map(\.name) == ["base", "add", "rev", "facts", "task_arithmetic"])
        one.baselines = false
        #expect(Baselines.make(context: try SearchContext(space: one, threadsPerWorker: 1)).isEmpty)
    }
}
