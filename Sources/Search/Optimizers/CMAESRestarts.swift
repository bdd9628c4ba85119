import Foundation

/// The population, step-size factor and generation limit of each run, following the restart
/// loop of pycma's `fmin` (cma/evolution_strategy.py) for IPOP and BIPOP.
///
/// - IPOP (Auger & Hansen 2005): run r has λ = ⌊λ₀ · k^r⌋ with k = `populationIncrease`, where
///   λ₀ is the real default 4 + 3 ln n (pycma keeps it unrounded, hence 10, 21, 43, 87 … in
///   10-D) or the population the options set.
/// - BIPOP (Hansen 2009): the first run counts as small. Afterwards, while the evaluations spent
///   in small runs are below those of the large runs, a small run starts with σ₀ · 10^(−2U) and
///   λ = ⌊λ₀ (λ_large/λ₀)^(U′²)⌋ (U, U′ uniform in [0, 1], λ_large the last large population) and
///   at most half the large runs' evaluations; otherwise a large run doubles the population as
///   IPOP does. Small runs do not count against `maxRestarts`.
struct CMAESRestartSchedule: Codable, Sendable, Equatable {
    enum Regime: String, Codable, Sendable { case small, large }

    /// What a run starts with.
    struct Plan: Equatable {
        var population: Int
        var sigmaFactor: Double
        var maxIterations: Double
    }

    /// The largest population a restart may reach; many doublings would otherwise overflow.
    static let maximumPopulation = 1 << 20

    let strategy: CMAESOptions.Restarts
    let maxRestarts: Int
    let increase: Double
    /// λ₀ and the first run's generation limit (pycma's `popsize0`, `maxiter0`).
    let basePopulation: Double
    let baseMaxIterations: Double
    /// Index of the current run (`irun`), how many of the runs were small (`runs_with_small`).
    private(set) var run = 0
    private(set) var smallRuns = 0
    /// Evaluations spent in small and in large runs (`sum(small_i)`, `sum(large_i)`).
    private(set) var smallEvaluations = 0
    private(set) var largeEvaluations = 0
    private(set) var regime = Regime.small
    /// Evaluations at the start of the current run.
    private(set) var runStart = 0

    init(options: CMAESOptions, basePopulation: Double, baseMaxIterations: Double) {
        strategy = options.restarts
        maxRestarts = options.maxRestarts
        increase = options.populationIncrease
        self.basePopulation = basePopulation
        self.baseMaxIterations = baseMaxIterations
    }

    var firstPlan: Plan {
        Plan(population: Int(basePopulation), sigmaFactor: 1, maxIterations: baseMaxIterations)
    }

    /// The next run after the current one stopped for `reasons` with `evaluations` spent in
    /// all; nil when the search ends: no restart left, the target reached or the evaluation
    /// budget spent.
    mutating func next(after reasons: [String], evaluations: Int, random: inout SearchRandom) -> Plan? {
        let spent = evaluations - runStart
        runStart = evaluations
        if strategy == .bipop {
            if regime == .small { smallEvaluations += spent } else { largeEvaluations += spent }
        }
        run += 1
        guard strategy != .none, run - smallRuns <= maxRestarts,
              !reasons.contains("ftarget"), !reasons.contains("maxfevals") else { return nil }
        if strategy == .bipop && smallEvaluations < max(1, largeEvaluations) {
            regime = .small
            smallRuns += 1
            let sigmaFactor = Foundation.pow(0.01, random.uniform())
            let multiplier = Foundation.pow(increase, Double(run - smallRuns))
            let exponent = random.uniform()
            let population = Self.population(basePopulation * Foundation.pow(multiplier, exponent * exponent))
            let maxIterations = min(baseMaxIterations, 0.5 * Double(largeEvaluations) / Double(population))
            return Plan(population: population, sigmaFactor: sigmaFactor, maxIterations: maxIterations)
        }
        regime = .large
        let population = Self.population(basePopulation * Foundation.pow(increase, Double(run - smallRuns)))
        return Plan(population: population, sigmaFactor: 1, maxIterations: baseMaxIterations)
    }

    /// ⌊size⌋ within [2, `maximumPopulation`].
    private static func population(_ size: Double) -> Int {
        Int(min(Double(maximumPopulation), max(2, size)).rounded(.down))
    }
}
