import Foundation

/// The objective-value and mean histories of one run that pycma's termination criteria read
/// (`CMAEvolutionStrategy.fit`, `best`, `_StopTolXStagnation` in cma/evolution_strategy.py).
/// Failed evaluations enter as +∞.
struct CMAESRecord: Codable, Sendable, Equatable {
    /// This generation's values, ascending (`fit.fit`).
    private(set) var current: [Double] = []
    /// Best value of the recent generations, newest first (`fit.hist`).
    private(set) var recentBest: [Double] = []
    /// Best and median values of every fifth generation, newest first, at most 20 000
    /// (`fit.histbest`, `fit.histmedian`).
    private(set) var bestHistory: [Double] = []
    private(set) var medianHistory: [Double] = []
    /// Best value of the run and the evaluation (over all runs) that found it.
    private(set) var best: Double = .infinity
    private(set) var bestEvaluation = 0
    /// Successive generations whose best equals the value at rank ⌊0.75 λ⌋.
    private(set) var flatGenerations = 0
    /// tolxstagnation: the mean it compares with, when it was taken, and generations counted.
    private(set) var stagnationMean: [Double]
    private(set) var stagnationSince = 0
    private(set) var stagnationCount = 0

    init(mean: [Double]) { stagnationMean = mean }

    mutating func addGeneration(sorted: [Double], values: [Double?], evaluations: Int, iteration: Int, dimension: Int) {
        current = sorted
        let lambda = sorted.count
        recentBest.insert(sorted[0], at: 0)
        let middle = lambda / 2
        let median = lambda % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        if iteration % 5 == 0 {
            bestHistory.insert(sorted[0], at: 0)
            medianHistory.insert(median, at: 0)
        }
        if bestHistory.count > 20_000 {
            bestHistory.removeLast()
            medianHistory.removeLast()
        }
        if Double(recentBest.count) > 10 + 30 * Double(dimension) / Double(lambda) { recentBest.removeLast() }
        if let index = values.indices.filter({ values[$0] != nil }).min(by: { (values[$0] ?? 0) < (values[$1] ?? 0) }),
           let value = values[index], value < best {
            best = value
            bestEvaluation = evaluations - lambda + index + 1
        }
        if sorted[0] < sorted[Int(0.75 * Double(lambda))] { flatGenerations = 0 } else { flatGenerations += 1 }
    }

    /// `_StopTolXStagnation.update`: a new reference when the mean moved more than
    /// 1e-9 · √max(1, generations since the reference / (20 + 0.1 g)).
    mutating func noteMean(_ mean: [Double]) {
        stagnationCount += 1
        let elapsed = Double(stagnationCount - stagnationSince)
        let delta = 1e-9 * max(1, elapsed / stagnationThreshold).squareRoot()
        let distance = zip(stagnationMean, mean).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        if distance > delta {
            stagnationMean = mean
            stagnationSince = stagnationCount
        }
    }

    var stagnationThreshold: Double { 20 + 0.1 * Double(stagnationCount) }
}

/// Per-run limits that pycma evaluates once, from the first run's population, and keeps for
/// every restart (its `fmin` passes the evaluated options on).
struct CMAESRunLimits: Codable, Sendable, Equatable {
    var maxIterations: Double
    var tolstagnation: Double
}

extension CMAESRun {
    /// The termination criteria this run meets after its last generation, by pycma's names
    /// (`_CMAStopDict._update`), with the thresholds of `options`; empty while it goes on.
    /// `evaluations` counts over all runs.
    func stopReasons(options: CMAESOptions, limits: CMAESRunLimits, evaluations: Int) -> [String] {
        guard iteration > 0 else { return [] }
        var reasons: [String] = []
        func check(_ name: String, _ condition: Bool) { if condition { reasons.append(name) } }
        let n = dimension, lambda = parameters.population
        let deviations = standardDeviations

        if let target = options.targetObjective { check("ftarget", record.best <= target) }
        if let maxEvaluations = options.maxEvaluations { check("maxfevals", evaluations >= maxEvaluations) }
        check("maxiter", Double(iteration) >= limits.maxIterations)
        check("tolfacupx", deviations.contains { $0 > initialSigma * options.tolfacupx })
        check("tolx", deviations.allSatisfy { $0 < options.tolx } && zip(scaling, covariancePath).allSatisfy { sigma * $0 * $1 < options.tolx })

        let currentRange = Self.range(record.current), historicRange = Self.range(record.recentBest)
        check("tolfun", currentRange < options.tolfun && historicRange < options.tolfun)
        check("tolfunhist", record.recentBest.count > 9 && historicRange < options.tolfunhist)

        if limits.tolstagnation > 0 {
            let bests = record.bestHistory, medians = record.medianHistory
            let span = max(limits.tolstagnation / 5 / 2, Double(bests.count) / 10)
            if span <= Double(iteration) {
                let l = Int(span)
                check("tolstagnation",
                      Double(iteration) > Double(n) * (5 + 100 / Double(lambda))
                        && Double(evaluations - record.bestEvaluation) / Double(lambda) > limits.tolstagnation / 2
                        && bests.count > 100 && 2 * l < bests.count
                        && Self.median(medians[..<l]) >= Self.median(medians[l..<(2 * l)])
                        && Self.median(bests[..<l]) >= Self.median(bests[l..<(2 * l)]))
            }
        }
        if options.tolxstagnation {
            check("tolxstagnation", Double(record.stagnationCount - record.stagnationSince) > record.stagnationThreshold)
        }
        let axes = principalAxisLengths
        if let longest = axes.last, longest > 0 {
            check("tolupsigma", sigma / longest > initialSigma * options.tolupsigma)
        }

        check("noeffectcoord", (0..<n).contains { mean[$0] == mean[$0] + 0.2 * deviations[$0] })
        if !parameters.diagonal {
            let axis = iteration % n
            check("noeffectaxis", (0..<n).allSatisfy {
                mean[$0] == mean[$0] + 0.1 * sigma * axisLengths[axis] * scaling[$0] * eigenvectors[$0 + axis * n]
            })
        }
        if let shortest = axes.first, let longest = axes.last {
            check("tolconditioncov", longest > options.tolconditioncov.squareRoot() * shortest)
        }
        check("tolflatfitness", record.flatGenerations > options.tolflatfitness)
        return reasons
    }

    private static func range(_ values: [Double]) -> Double {
        guard let low = values.min(), let high = values.max() else { return .infinity }
        return high - low
    }

    /// `np.median`.
    private static func median(_ values: ArraySlice<Double>) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
