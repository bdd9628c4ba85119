import Archive
import Fitness
import Foundation
import Search

/// How sure a lead over the best baseline is: a paired bootstrap of the first objective's
/// difference on the holdout split (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*,
/// ch. 13, the percentile interval; paired over the same test items as Koehn 2004, "Statistical
/// Significance Tests for Machine Translation Evaluation", and Berg-Kirkpatrick et al. 2012).
///
/// Both models were scored on the same examples, so each resample draws, per task, as many
/// example indices as the task has, uniformly with replacement, and takes the mean over them of
/// the candidate's value minus the baseline's on the same example (stratified by task: each task
/// keeps its size and weight). The objective's difference is the weighted sum over tasks, as
/// `ObjectiveValues.accuracy` weighs them; a task without per-example values (a perplexity, whose
/// score is not a mean over examples, or a command task) enters with its observed difference in
/// every resample (and with no task to resample there is no result). The interval is the percentile interval at `confidence`: the ⌈B·α/2⌉-th and
/// ⌈B·(1 − α/2)⌉-th of the B sorted resampled differences (α = 1 − confidence); `pBetter` is the
/// share of resamples in which the candidate is strictly better. Seeded: the same archive gives
/// the same figures.
public enum PairedBootstrap {
    public struct Task: Sendable, Equatable {
        public var weight: Double
        /// Per-example values of the candidate and the baseline, same examples in the same order.
        public var candidate: [Double]
        public var baseline: [Double]
        /// For a task without per-example values: the candidate's score minus the baseline's.
        public var fixedDifference: Double?

        public init(weight: Double, candidate: [Double], baseline: [Double]) {
            self.weight = weight
            self.candidate = candidate
            self.baseline = baseline
        }

        public init(weight: Double, fixedDifference: Double) {
            self.weight = weight
            candidate = []
            baseline = []
            self.fixedDifference = fixedDifference
        }
    }

    public struct Result: Sendable, Equatable {
        /// The observed difference (candidate − baseline, in the objective's own direction).
        public var difference: Double
        public var low: Double
        public var high: Double
        /// Share of resamples where the candidate is strictly better.
        public var pBetter: Double
        public var resamples: Int
    }

    public static func compare(_ tasks: [Task], maximize: Bool = true, resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64) -> Result? {
        let total = tasks.reduce(0) { $0 + $1.weight }
        // Nothing to resample (every task a perplexity or a command) would give a zero-width
        // interval that claims a certainty nobody measured: no result.
        guard total > 0, resamples > 0, tasks.contains(where: { $0.fixedDifference == nil }),
              tasks.allSatisfy({ $0.fixedDifference != nil || ($0.candidate.count == $0.baseline.count && !$0.candidate.isEmpty) }) else {
            return nil
        }
        let differences = tasks.map { task in task.fixedDifference.map { _ in [Double]() } ?? zip(task.candidate, task.baseline).map { $0 - $1 } }
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        let observed = zip(tasks, differences).reduce(0) { sum, pair in sum + pair.0.weight * (pair.0.fixedDifference ?? mean(pair.1)) } / total
        var random = SearchRandom(seed: seed)
        var draws: [Double] = []
        draws.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for (task, difference) in zip(tasks, differences) {
                if let fixed = task.fixedDifference {
                    sum += task.weight * fixed
                    continue
                }
                var drawn = 0.0
                for _ in difference.indices { drawn += difference[random.integer(below: difference.count)] }
                sum += task.weight * drawn / Double(difference.count)
            }
            draws.append(sum / total)
        }
        draws.sort()
        let alpha = 1 - confidence
        let better = draws.filter { maximize ? $0 > 0 : $0 < 0 }.count
        return Result(difference: observed, low: draws[rank(alpha / 2, of: resamples)], high: draws[rank(1 - alpha / 2, of: resamples)],
                      pBetter: Double(better) / Double(resamples), resamples: resamples)
    }

    /// The 0-based index of the ⌈B·q⌉-th of B sorted values (at least the first).
    static func rank(_ q: Double, of count: Int) -> Int {
        min(count - 1, max(0, Int((Double(count) * q - 1e-9).rounded(.up)) - 1))
    }

    /// A front member against the best baseline, as `front` shows it.
    public struct Comparison: Sendable, Equatable {
        public var baseline: String
        public var result: Result
    }

    /// The holdout comparison of `candidate` with `baseline` on the space's first objective, from
    /// the archive's per-example holdout values; nil when the first objective is a cost (nothing
    /// to resample), either side lacks its holdout scores, or a task's examples differ in number.
    public static func holdout(archive: any ArchiveStore, space: SearchSpace, fitness: FitnessFile, candidate: Int, baseline: Int) throws -> Result? {
        guard let first = space.objectives.first else { return nil }
        let scores = try archive.scores(candidate: candidate).filter { $0.split == .holdout }
        let baselineScores = try archive.scores(candidate: baseline).filter { $0.split == .holdout }
        let examples = try archive.exampleScores(candidate: candidate, split: .holdout)
        let baselineExamples = try archive.exampleScores(candidate: baseline, split: .holdout)
        func task(_ name: String, metric: String, kind: FitnessFile.Kind, weight: Double) -> Task? {
            if let a = examples.first(where: { $0.task == name && $0.metric == metric }), let b = baselineExamples.first(where: { $0.task == name && $0.metric == metric }) {
                return a.values.count == b.values.count ? Task(weight: weight, candidate: a.values, baseline: b.values) : nil
            }
            guard let a = scores.first(where: { $0.task == name && $0.metric == metric }), let b = baselineScores.first(where: { $0.task == name && $0.metric == metric }) else { return nil }
            // A perplexity enters the accuracy as −ln(perplexity).
            let value = { (x: Double) in kind == .perplexity ? -log(x) : x }
            return Task(weight: weight, fixedDifference: value(a.value) - value(b.value))
        }
        var tasks: [Task] = []
        switch first.quantity {
        case .accuracy:
            for entry in fitness.tasks where entry.weight > 0 {
                guard let built = task(entry.name, metric: entry.metric, kind: entry.kind, weight: entry.weight) else { return nil }
                tasks.append(built)
            }
        case .task(let name, let metric):
            // The task's score itself, in the objective's direction (a perplexity as is, not −ln).
            guard let entry = fitness.tasks.first(where: { $0.name == name }),
                  let built = task(name, metric: metric ?? entry.metric, kind: .choice, weight: 1) else { return nil }
            tasks.append(built)
        case .params, .layers, .density, .flops:
            return nil
        }
        return compare(tasks, maximize: first.maximize, seed: space.optimizer.seed)
    }
}
