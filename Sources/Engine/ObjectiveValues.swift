import Fitness
import Foundation
import Search

/// A candidate's objective values, computed from its calibration scores and costs.
public enum ObjectiveValues {
    /// Each objective of the space as it states it (accuracy maximized as is, costs as counted),
    /// in the space's order; nil when a score it needs is missing.
    ///
    /// accuracy = Σ wₜ·mₜ / Σ wₜ over tasks of positive weight, mₜ the task's metric — for a
    /// perplexity, −ln(perplexity), so that higher is better for every term.
    public static func compute(context: SearchContext, scores: [TaskScore], costs: CandidateCosts) -> [Double]? {
        var values: [Double] = []
        for objective in context.space.objectives {
            switch objective.quantity {
            case .accuracy:
                guard let accuracy = accuracy(context: context, scores: scores, split: .calibration) else { return nil }
                values.append(accuracy)
            case .task(let name, let metric):
                let wanted = metric ?? context.fitness.tasks.first { $0.name == name }?.metric
                guard let score = scores.first(where: { $0.task == name && $0.metric == wanted && $0.split == .calibration }) else { return nil }
                values.append(score.value)
            case .params: values.append(Double(costs.params))
            case .layers: values.append(Double(costs.layers))
            case .density: values.append(costs.density)
            case .flops: values.append(Double(costs.flops))
            }
        }
        return values
    }

    /// The weighted mean of the tasks' metrics on `split` (see `compute`); nil when a task's score is missing.
    public static func accuracy(context: SearchContext, scores: [TaskScore], split: FitnessFile.Split) -> Double? {
        accuracy(tasks: context.fitness.tasks) { name, metric in
            scores.first { $0.task == name && $0.metric == metric && $0.split == split }?.value
        }
    }

    /// The weighted mean over `tasks` of each one's metric as `value(task, metric)` gives it (nil
    /// when one is missing): the one definition of accuracy, for scores in memory or in an archive.
    public static func accuracy(tasks: [FitnessFile.Task], value: (String, String) -> Double?) -> Double? {
        var sum = 0.0, weights = 0.0
        for task in tasks where task.weight > 0 {
            guard let score = value(task.name, task.metric) else { return nil }
            sum += task.weight * (task.kind == .perplexity ? -log(score) : score)
            weights += task.weight
        }
        return weights > 0 ? sum / weights : 0
    }

    /// The values as the optimizer minimizes them (maximized objectives negated).
    public static func minimized(_ values: [Double], space: SearchSpace) -> [Double] {
        zip(values, space.objectives).map { $1.maximize ? -$0 : $0 }
    }
}
