import Archive
import Fitness
import Foundation
import Inference
import Merging
import Search
import Tensors

/// What one evaluation of a candidate produced: its scores and costs, or why it failed.
public struct EvaluationOutcome: Sendable {
    public var scores: [TaskScore] = []
    public var costs: CandidateCosts?
    public var error: String?
    /// The work was abandoned (a stop request): neither a result nor a failure.
    public var cancelled = false
    public var seconds = 0.0
    /// The part of `seconds` spent merging (into the arena, or to the command tasks' folder).
    public var mergeSeconds = 0.0

    public var failed: Bool { error != nil }
}

/// One worker's bench: its own arena (the merged weights, in the run's arena dtype), merge scratch
/// and workspace (key/value cache, activations, widened weight tiles, logits), allocated on the first
/// candidate and reused by every later one (DESIGN.md §4), where it merges a candidate in memory
/// and scores it.
///
/// A class because it owns the arena; used by one thread at a time.
public final class Workbench {
    public let context: SearchContext
    public let arena = TensorArena()
    public let workspace = DecoderWorkspace()
    /// Merge scratch, reused by every candidate's materializer.
    let mergeScratch = ScratchPool()

    public init(context: SearchContext) {
        self.context = context
    }

    /// Merges `candidate` into the arena and scores it on `split`'s tasks (and the extra metrics
    /// the objectives name). Every failure — a recipe the plan refuses, a non-finite score, a
    /// command task's exit status — is returned as data, never thrown. Once `cancellation` is
    /// cancelled the work stops at the next tensor or example and the outcome is `cancelled`.
    /// With `slice` (racing, DESIGN.md §5b) only that stage's examples of the calibration split are
    /// scored, each score's value their mean and `n` their count.
    public func evaluate(_ candidate: GenomeCodec.Candidate, split: FitnessFile.Split, slice: RacingSchedule.Slice? = nil,
                         cancellation: Cancellation? = nil) -> EvaluationOutcome {
        evaluate(recipe: candidate.recipe, split: split, slice: slice, cancellation: cancellation)
    }

    /// Merges any recipe over the space's models and scores it (baselines such as equal-weight merges).
    public func evaluate(recipe: Recipe, split: FitnessFile.Split, slice: RacingSchedule.Slice? = nil, cancellation: Cancellation? = nil) -> EvaluationOutcome {
        let start = Date()
        var outcome = EvaluationOutcome()
        do {
            // Errors name the candidate's recipe, not the space file: its path differs between a run and its resume.
            let plan = try MergePlan(recipe: recipe, file: "candidate recipe", opened: context.folders, layouts: { [layout = context.layout] _ in layout })
            outcome.costs = CandidateCosts(plan: plan)
            let materializer = Materializer(plan: plan, threads: context.threadsPerWorker, scratch: mergeScratch)
            let tasks = context.tasks(split)
            // The arena is filled only for the built-in evaluator: a worker whose tasks are all
            // `command` tasks streams each candidate to its folder and never allocates one.
            let mergeStart = Date()
            if context.evaluation != nil && tasks.contains(where: { $0.kind != .command }) {
                try materializer.materialize(into: arena, storage: context.arenaStorage, cancellation: cancellation)
            }
            var folder: String?
            defer { if let folder { try? FileManager.default.removeItem(atPath: folder) } }
            if tasks.contains(where: { $0.kind == .command }) {
                // The only kind that needs the model on disk (DESIGN.md §3); removed afterwards.
                let path = NSTemporaryDirectory() + "amalgam-candidate-\(UUID().uuidString)"
                try MergedModelWriter(materializer: materializer).write(to: path, cancellation: cancellation)
                folder = path
            }
            outcome.mergeSeconds = Date().timeIntervalSince(mergeStart)
            // The built-in model is built only when a built-in task needs it (SearchContext.evaluation).
            var evaluator: Evaluator?
            if let evaluation = context.evaluation, tasks.contains(where: { $0.kind != .command }) {
                let config = plan.outputConfig(context.baseConfig)
                let configuration = try DecoderConfiguration(config)
                var model = DecoderModel(configuration: configuration, weights: try DecoderWeights(arena: arena, configuration: configuration))
                model.threads = context.threadsPerWorker
                model.workspace = workspace
                var built = Evaluator(model: model, tokenizer: evaluation.tokenizer, prefixToken: evaluation.endOfText, modelPath: folder)
                built.cancellation = cancellation
                built.prepared = evaluation.examples
                evaluator = built
            }
            func score(_ task: FitnessFile.Task) throws -> TaskScore {
                if let evaluator { return try evaluator.score(task, split: split, rows: slice?.rows[task.name]) }
                guard task.kind == .command, let folder else {
                    throw EvaluationFailure("task \(task.name): the built-in evaluator is not loaded for this run")
                }
                return try Evaluator.scoreCommand(task, split: split, modelPath: folder, cancellation: cancellation)
            }
            // A racing stage scores its share of each raced task (and the others whole, last).
            func inSlice(_ task: FitnessFile.Task) -> Bool { slice.map { $0.scores(task.name, raced: context.racing?.races(task.name) ?? false) } ?? true }
            for task in tasks where inSlice(task) {
                let score = try score(task)
                guard score.value.isFinite || task.kind == .perplexity && score.value == .infinity else {
                    throw EvaluationFailure("task \(task.name): \(score.metric) is \(score.value) (the merged weights give non-finite logits)")
                }
                outcome.scores.append(score)
            }
            if split == .calibration {
                for extra in extraMetrics() where inSlice(extra) {
                    outcome.scores.append(try score(extra))
                }
            }
        } catch is CancellationError {
            outcome.cancelled = true
            outcome.scores = []
        } catch {
            outcome.error = "\(error)"
            outcome.scores = []
        }
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }

    /// Choice tasks whose objectives ask for the other metric (task:NAME:acc_norm on an acc task).
    func extraMetrics() -> [FitnessFile.Task] {
        context.space.objectives.compactMap { objective in
            guard case .task(let name, let metric?) = objective.quantity,
                  let task = context.fitness.tasks.first(where: { $0.name == name }), task.metric != metric else { return nil }
            return task.reporting(metric)
        }
    }
}

/// A candidate that merged but cannot be scored.
struct EvaluationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
