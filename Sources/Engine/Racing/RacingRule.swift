import Fitness
import Foundation
import Search

/// When racing stops a candidate after a stage, and what the optimizer is told of it
/// (DESIGN.md §5b). Every bound is `ConfidenceBound`'s; all values here are minimized (the
/// engine negates what a space maximizes).
///
/// - CMA-ES (`selection`): the candidates of one generation (one `ask`) race together, stage by
///   stage: stage k is decided once every member still racing has scored it. A member is pruned
///   when at least μ other members (μ = CMA-ES's selected parents, ⌊λ/2⌋) are surely better on
///   the first objective: each one's pessimistic bound below its optimistic bound. When the
///   bounds hold, each of those μ is truly better, so the pruned member is not among the μ best
///   and could not have been selected; the μ best are never pruned and are scored in full.
///   Racing with the generation is the successive-elimination scheme of Hoeffding races (Maron &
///   Moore 1994, "Hoeffding races: accelerating model selection search for classification and
///   function approximation", NIPS 6) and F-Race (Birattari et al. 2002), with the selected set
///   as the quantity raced for.
/// - NSGA-II and random search (`front`): a candidate is pruned when its optimistic point (each
///   score objective at its optimistic bound, costs exact) is dominated by the bar: the front of
///   the candidates told when it was proposed (fixed then, so no later result can change it).
///   When the bounds hold its true point is dominated as well, so it could never join the front.
///
/// What is told: the estimate, i.e. each objective from the scores of the examples scored so far
/// (an unbiased estimate under the random order), costs exact — as Optuna's pruners leave a
/// pruned trial its last intermediate value. The estimate lies between the bounds, so it ranks
/// the candidate where the rule put it: for CMA-ES below the μ surely better members, hence below
/// the μ-th best value of the generation; the μ best are told their exact values, so the
/// selected parents and their order (mean, evolution paths, step size and the positive
/// covariance update) are exactly those of full scoring whenever the bounds hold. Only the ranks
/// below μ (the negative weights of active CMA, the termination tests' value record) see
/// estimates. For NSGA-II and random search the estimate is dominated by the bar point as the
/// true point is; random search ignores what it is told.
public enum RacingRule: Sendable, Equatable {
    case selection(parents: Int)
    case front

    /// The rule for an optimizer, `population` being the size of the batch a CMA-ES `ask` returned.
    static func of(_ name: SearchSpace.OptimizerSettings.Name, population: Int) -> RacingRule {
        switch name {
        case .cmaes: .selection(parents: CMAES.parents(population: population))
        case .nsga2, .random: .front
        }
    }

    /// A candidate of a CMA-ES race: pruned when at least `parents` entries of `others` (the
    /// pessimistic first objectives of the other members) are below its `optimistic` one.
    public static func prunedBySelection(optimistic: Double, others: [Double], parents: Int) -> Bool {
        others.count { $0 < optimistic } >= parents
    }

    /// A candidate of NSGA-II or random search: pruned when a point of `bar` dominates its
    /// optimistic point.
    public static func prunedByFront(optimistic: [Double], bar: [[Double]]) -> Bool {
        bar.contains { Dominance.dominates($0, optimistic) }
    }

    /// One line for `search --dry-run`.
    public static func summary(_ name: SearchSpace.OptimizerSettings.Name) -> String {
        switch name {
        case .cmaes:
            "rule (CMA-ES): after each stage a candidate is pruned when μ = ⌊λ/2⌋ others of its generation are surely better on the first objective"
        case .nsga2, .random:
            "rule (\(name.rawValue)): after each stage a candidate is pruned when even its optimistic point is dominated by the front told before it was proposed"
        }
    }
}

/// A racing candidate's objectives after a stage: estimate and bounds, minimized.
public struct RacingEstimate: Sendable, Equatable {
    /// The objectives from the examples scored so far (what a pruned candidate is told).
    public var estimate: [Double]
    /// Each objective at its best (lowest) and worst (highest) plausible value.
    public var optimistic: [Double]
    public var pessimistic: [Double]

    /// The estimate of a candidate whose cumulative calibration scores are `scores` (n each) and
    /// costs `costs`; nil when a score an objective needs is missing.
    public init?(context: SearchContext, schedule: RacingSchedule, scores: [TaskScore], costs: CandidateCosts) {
        guard let values = ObjectiveValues.compute(context: context, scores: scores, costs: costs) else { return nil }
        let confidence = schedule.settings.confidence
        func term(_ task: FitnessFile.Task, weight: Double) -> ConfidenceBound.Term {
            let scored = scores.first { $0.task == task.name && $0.split == .calibration }?.n ?? 0
            return ConfidenceBound.Term(weight: weight, scored: scored, total: schedule.order[task.name]?.count ?? scored)
        }
        var estimate: [Double] = [], optimistic: [Double] = [], pessimistic: [Double] = []
        for (objective, value) in zip(context.space.objectives, values) {
            let radius: Double
            switch objective.quantity {
            case .accuracy:
                radius = ConfidenceBound.radius(context.fitness.tasks.filter { $0.weight > 0 }.map { term($0, weight: $0.weight) }, confidence: confidence)
            case .task(let name, _):
                radius = context.fitness.tasks.first { $0.name == name }.map { ConfidenceBound.radius([term($0, weight: 1)], confidence: confidence) } ?? 0
            case .params, .layers, .density, .flops:
                radius = 0
            }
            // Scores of 0 or 1 per example keep both objectives in [0, 1]; costs are exact.
            let (low, high) = radius == 0 ? (value, value) : (max(0, value - radius), min(1, value + radius))
            let sign = objective.maximize ? -1.0 : 1.0
            estimate.append(sign * value)
            optimistic.append(objective.maximize ? -high : low)
            pessimistic.append(objective.maximize ? -low : high)
        }
        self.estimate = estimate
        self.optimistic = optimistic
        self.pessimistic = pessimistic
    }
}
