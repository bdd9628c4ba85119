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

    /// The weights a recipe gives each model (every filter's value and the default, which must agree).
    func weights(_ recipe: Recipe, _ name: String = "weight") -> [Double] {
        (recipe.models ?? []).map { model in
            if case .scalar(.number(let v))? = model.parameters[name] { return v }
            guard case .filtered(let entries)? = model.parameters[name] else { return .nan }
            let values = Set(entries.map { entry -> Double in if case .scalar(.number(let v)) = entry.value { v } else { .nan } })
            return values.count == 1 ? values.first! : .nan
        }
    }

    @Test func theDemoScoresItsSevenBaselinesFirstAndNeverTellsTheOptimizer() throws {
        let folder = try Folder()
        let space = try SearchEngineTests.space(in: folder.path)
        let archive = try run(space, in: folder, evaluations: 7 + 8)
        let context = try SearchContext(space: space, threadsPerWorker: 1)
        let candidates = try archive.candidates()
        let baselines = candidates.filter { $0.baseline != nil }
        #expect(baselines.map(\.baseline) == ["base", "add", "rev", "facts", "ties", "dare_ties", "task_arithmetic"])
        #expect(baselines.map(\.id) == Array(1...7) && baselines.map(\.seq) == Array(-7 ... -1))
        #expect(baselines.allSatisfy { $0.status == .done })
        // Each is a point of the space: its recipe is its genome's.
        for baseline in baselines {
            #expect(try context.codec.decode(baseline.genome).yaml == baseline.recipe, "\(baseline.baseline ?? "")")
        }
        let recipes = try baselines.map { try Recipe(yaml: $0.recipe, file: "baseline") }
        // The base: task_arithmetic with every weight 0; a source alone: weight 1 on it, 0 on the others.
        #expect(recipes[0].mergeMethod == .taskArithmetic && weights(recipes[0]) == [0, 0, 0])
        #expect(recipes[1...3].map(\.mergeMethod) == [.taskArithmetic, .taskArithmetic, .taskArithmetic])
        #expect(recipes[1...3].map { weights($0) } == [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        // The merges: weight 1 each, density 1 (mergekit's default) where the method reads one.
        for (recipe, method) in zip(recipes[4...], space.methods) {
            #expect(recipe.mergeMethod == method && recipe.baseModel == space.baseModel && weights(recipe) == [1, 1, 1])
            let names = (recipe.models ?? []).map { $0.parameters.entries.map(\.name) }
            #expect(names.allSatisfy { $0 == (method == .taskArithmetic ? ["weight"] : ["weight", "density"]) })
            if method != .taskArithmetic { #expect(weights(recipe, "density") == [1, 1, 1]) }
        }
        // Scored on both splits, every task.
        let scores = Dictionary(grouping: try archive.scores(candidate: nil), by: \.candidate)
        for baseline in baselines {
            #expect(scores[baseline.id]?.filter { $0.split == .calibration }.count == 3, "\(baseline.baseline ?? "")")
            #expect(scores[baseline.id]?.filter { $0.split == .holdout }.count == 3, "\(baseline.baseline ?? "")")
        }
        // Their holdout split's per-example values are kept (for the paired bootstrap): 0/1 per
        // example, whose mean is the task's score.
        for baseline in baselines {
            let examples = try archive.exampleScores(candidate: baseline.id, split: .holdout)
            #expect(examples.map(\.task) == ["add", "facts", "rev"] && examples.allSatisfy { $0.values.count == 4 && $0.values.allSatisfy { $0 == 0 || $0 == 1 } })
            for record in examples {
                let score = scores[baseline.id]?.first { $0.task == record.task && $0.split == .holdout }
                #expect(score?.value == record.values.reduce(0, +) / 4)
            }
        }
        // Proposed candidates follow (ids from 8, seqs from 0). The optimizer is CMA-ES started at
        // the best baseline and told the proposed candidates' results alone: replayed by hand, it
        // proposes exactly what the run recorded.
        let proposed = candidates.filter { $0.baseline == nil }
        #expect(proposed.first?.id == 8 && proposed.first?.seq == 0)
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        func minimized(_ id: Int) -> [Double]? {
            guard let records = objectives[id] else { return nil }
            return ObjectiveValues.minimized(space.objectives.map { o in records.first { $0.name == o.name }?.value ?? .nan }, space: space)
        }
        let best = try #require(baselines.min { (minimized($0.id)?[0] ?? .infinity, $0.id) < (minimized($1.id)?[0] ?? .infinity, $1.id) })
        var replay = try SearchOptimizer.make(space: space, genes: context.codec.genes, start: best.genome)
        var index = 0
        while index < proposed.count {
            let batch = replay.ask()
            #expect(batch == proposed[index..<min(proposed.count, index + batch.count)].map(\.genome))
            let told = proposed[index..<min(proposed.count, index + batch.count)]
            guard told.allSatisfy({ $0.status == .done || $0.status == .duplicate }), told.count == batch.count else { break }
            try replay.tell(told.map { Evaluation(genome: $0.genome, objectives: minimized($0.id)) })
            index += batch.count
        }
        #expect(index >= 8)
        #expect(try archive.events().contains { $0.kind == "warm start" && $0.message.contains(best.baseline ?? "?") })
    }

    @Test func nsga2sFirstProposalIsTheBestBaselineAndCostsNothing() throws {
        let folder = try Folder()
        var space = try SearchEngineTests.space(in: folder.path)
        space.optimizer.name = .nsga2
        let archive = try run(space, in: folder, evaluations: 7 + 4)
        let candidates = try archive.candidates()
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        func accuracy(_ id: Int) -> Double { objectives[id]?.first { $0.name == "accuracy" }?.value ?? -.infinity }
        let best = try #require(candidates.filter { $0.baseline != nil }.max { (accuracy($0.id), -$0.id) < (accuracy($1.id), -$1.id) })
        let first = try #require(candidates.first { $0.seq == 0 })
        #expect(first.genome == best.genome && first.recipe == best.recipe && first.recipeHash == best.recipeHash)
        #expect(first.status == .duplicate && first.duplicateOf == best.id)
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

    @Test func aBudgetSmallerThanTheBaselinesEndsBeforeTheSearch() throws {
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
        // (Its layer groups make slices: one weight per group, 1 on the adapter, 0 on the others.)
        #expect(baselines[1].recipe.mergeMethod == .linear && baselines[1].genome != nil)
        let sources = (baselines[1].recipe.slices ?? []).flatMap(\.sources)
        #expect(Set(sources.map(\.model)) == Set(space.modelReferences))
        #expect(sources.allSatisfy { source in
            guard case .filtered(let entries)? = source.parameters["weight"] else { return false }
            return entries.allSatisfy { $0.value == .scalar(.number(source.model == space.modelReferences[0] ? 1 : 0)) }
        })
        #expect(baselines.map(\.kind).prefix(2) == ["the base model", "a source alone"])
        var one = space
        one.methods = [.taskArithmetic]
        let single = Baselines.make(context: try SearchContext(space: one, threadsPerWorker: 1))
        #expect(single.map(\.name) == ["base", "add", "rev", "facts", "task_arithmetic"])
        // A space that cannot express a model alone scores it as a passthrough: exactly its weights.
        one.methods = [.ties]
        let ties = Baselines.make(context: try SearchContext(space: one, threadsPerWorker: 1))
        #expect(ties.prefix(4).allSatisfy { $0.recipe.mergeMethod == .passthrough && $0.genome == nil })
        #expect(ties[4].recipe.mergeMethod == .ties && ties[4].genome != nil)
        one.baselines = false
        #expect(Baselines.make(context: try SearchContext(space: one, threadsPerWorker: 1)).isEmpty)
    }
}
