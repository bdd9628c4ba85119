import Archive
import ArgumentParser
import Engine
import Fitness
import Foundation
import Merging
import Search
import Tensors

/// `amalgam-bench search` (issue 6): on the demo space, the share of worker time spent idle and
/// the share of wall time the coordinator spends outside merging and scoring (archive, optimizer);
/// then the search's worth: holdout accuracy of the calibration-best candidate, median over seeds,
/// against random search with the same budget and against the best equal-weight merge of each
/// method at mergekit's default parameters.
struct SearchBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Time the demo search (idle and overhead shares) and compare it with random search and equal-weight merges."
    )

    @Option(help: "The search space.")
    var space = "search-spaces/demo.yaml"

    @Option(help: "Seeds for the comparison (medians are taken over them).")
    var seeds = 5

    @Flag(help: "Only the timing run.")
    var skipComparison = false

    func run() throws {
        let space = try SearchSpace(contentsOf: self.space)
        let scratch = NSTemporaryDirectory() + "amalgam-bench-search-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let timing = try search(space, in: scratch + "/timing")
        let stats = timing.statistics
        print("demo search: \(space.evaluations) evaluations, \(stats.workers) workers, \(Measure.gb(stats.wall)) s wall")
        print("  workers idle \(percent(stats.idleShare)) of their time (target < 10%); coordinator (archive, optimizer) \(percent(stats.overheadShare)) of wall time (target < 2%)")
        var summary: [(String, JSONValue)] = [
            ("bench", .string("search")), ("evaluations", .int(space.evaluations)), ("workers", .int(stats.workers)),
            ("wall_s", .double(stats.wall)), ("idle_share", .double(stats.idleShare, digits: 4)), ("overhead_share", .double(stats.overheadShare, digits: 4)),
            ("idle_target_met", .bool(stats.idleShare < 0.10)), ("overhead_target_met", .bool(stats.overheadShare < 0.02)),
        ]
        if !skipComparison {
            let context = try SearchContext(space: space, threadsPerWorker: ProcessInfo.processInfo.activeProcessorCount)
            var searched: [Double] = [], random: [Double] = []
            for seed in 1...max(1, seeds) {
                var ours = space
                ours.optimizer.seed = UInt64(seed)
                searched.append(try bestHoldout(ours, context: context, in: scratch + "/\(space.optimizer.name.rawValue)-\(seed)"))
                var baseline = ours
                baseline.optimizer.name = .random
                random.append(try bestHoldout(baseline, context: context, in: scratch + "/random-\(seed)"))
                print("  seed \(seed): \(space.optimizer.name.rawValue) \(percent(searched.last ?? 0)), random \(percent(random.last ?? 0)) holdout accuracy of the calibration-best")
            }
            let bench = Workbench(context: context)
            var equal: [(String, Double)] = []
            for method in space.methods {
                var best = -Double.infinity
                for weight in [1.0, 1.0 / Double(space.models.count)] {
                    let recipe = Recipe(mergeMethod: method, baseModel: space.baseModel,
                                        models: space.models.map { Recipe.InputModel(model: $0, parameters: ParameterSettings([("weight", .scalar(.number(weight)))])) },
                                        dtype: .f32, outDType: context.codec.outDType, randomSeed: 0)
                    let outcome = bench.evaluate(recipe: recipe, split: .holdout)
                    if let accuracy = ObjectiveValues.accuracy(context: context, scores: outcome.scores, split: .holdout) { best = max(best, accuracy) }
                }
                equal.append((method.rawValue, best))
                print("  equal-weight \(method.rawValue) (weights 1 or 1/\(space.models.count), mergekit defaults otherwise): \(percent(best)) holdout accuracy")
            }
            let ours = medianCountingFailuresAsInfinite(searched), baseline = medianCountingFailuresAsInfinite(random), bestEqual = equal.map(\.1).max() ?? 0
            print("holdout accuracy of the calibration-best, median of \(seeds) seeds, \(space.evaluations) evaluations each:")
            print("  \(space.optimizer.name.rawValue) \(percent(ours)) | random search \(percent(baseline)) | best equal-weight merge \(percent(bestEqual))")
            print("  \(String(format: "%+.1f", 100 * (ours - bestEqual))) points over the best equal-weight merge (target ≥ +5), \(String(format: "%+.1f", 100 * (ours - baseline))) over random search")
            summary += [("holdout_search", .double(ours, digits: 4)), ("holdout_random", .double(baseline, digits: 4)),
                        ("holdout_best_equal_weight", .double(bestEqual, digits: 4)),
                        ("points_over_equal_weight", .double(100 * (ours - bestEqual), digits: 2)),
                        ("ahead_of_random", .bool(ours > baseline)), ("equal_weight_target_met", .bool(ours - bestEqual >= 0.05))]
        }
        var object = JSONObject()
        for (key, value) in summary { object[key] = value }
        print(JSONValue.object(object).serialized())
    }

    func search(_ space: SearchSpace, in path: String) throws -> (ending: SearchEngine.Ending, statistics: SearchEngine.Statistics) {
        let folder = try RunFolder.create(path: path, space: space, force: true)
        return try SearchSession.run(folder: folder, space: space, workers: space.workers ?? 1, evaluations: space.evaluations, time: nil,
                                     stop: Cancellation()) { _ in }
    }

    /// Runs the search and returns the holdout accuracy of its calibration-best candidate.
    func bestHoldout(_ space: SearchSpace, context: SearchContext, in path: String) throws -> Double {
        _ = try search(space, in: path)
        let folder = RunFolder(path: path)
        let best = try Exporter.choose(folder: folder, id: nil, objective: "accuracy")
        let scores = try SQLiteArchive(path: folder.archivePath, reader: true).scores(candidate: best.id).filter { $0.split == .holdout }
        let taskScores = scores.map { TaskScore(task: $0.task, split: .holdout, metric: $0.metric, value: $0.value, stderr: $0.stderr, n: $0.n, samples: []) }
        return ObjectiveValues.accuracy(context: context, scores: taskScores, split: .holdout) ?? .nan
    }

    func percent(_ value: Double) -> String { String(format: "%.1f%%", 100 * value) }
}
