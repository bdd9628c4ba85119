import Foundation
import Search
import Tensors

/// CMA-ES against pycma's figures (ANCHORS.md, "CMA-ES sample efficiency"): evaluations to reach
/// f < 1e-8 from x0 = 3·1 with σ₀ = 2, unbounded, default population, counted in whole
/// generations as pycma's `countevals` at its ftarget stop; the median over seeds 1…`seeds`,
/// a seed that stops without reaching the target counting as infinite. Then Rastrigin 10-D
/// with IPOP restarts (9 at most, population doubling) from the same start.
enum CMAESBenchmarkSuite {
    /// A test function with pycma's figure for it.
    struct Problem {
        let name: String
        let dimension: Int
        let pycma: Double
        let function: @Sendable ([Double]) -> Double
    }

    static let problems: [Problem] = [
        Problem(name: "sphere", dimension: 10, pycma: 1430, function: sphere),
        Problem(name: "ellipsoid", dimension: 10, pycma: 4270, function: ellipsoid),
        Problem(name: "rosenbrock", dimension: 10, pycma: 5520, function: rosenbrock),
        Problem(name: "sphere", dimension: 20, pycma: 2808, function: sphere),
        Problem(name: "ellipsoid", dimension: 20, pycma: 13044, function: ellipsoid),
        Problem(name: "rosenbrock", dimension: 20, pycma: 18132, function: rosenbrock),
    ]

    /// pycma's Rastrigin 10-D IPOP median (11/11 seeds reach the target).
    static let pycmaRastrigin = 58_092.0

    static func run(seeds: Int) -> [(String, JSONValue)] {
        var results = JSONObject()
        var allWithin = true
        print("CMA-ES: evaluations to f < 1e-8 (x0 = 3·1, σ0 = 2, median of \(seeds) seeds)")
        print("function      n   ours      pycma     ratio  ≤ 1.1  reached")
        for problem in problems {
            let outcomes = (1...max(1, seeds)).map { seed in
                minimize(problem.function, dimension: problem.dimension, seed: UInt64(seed), restarts: .none)
            }
            let median = medianCountingFailuresAsInfinite(outcomes)
            let ratio = median / problem.pycma
            let within = ratio <= 1.1
            allWithin = allWithin && within
            let reached = outcomes.compactMap { $0 }.count
            print(
                problem.name.padding(toLength: 12, withPad: " ", startingAt: 0),
                String(problem.dimension).padding(toLeft: 3), Format.fixed(median, digits: 0).padding(toLeft: 8),
                Format.fixed(problem.pycma, digits: 0).padding(toLeft: 10), Format.fixed(ratio, digits: 3).padding(toLeft: 7),
                within ? "  yes  " : "  NO   ", "\(reached)/\(outcomes.count)"
            )
            results["\(problem.name)\(problem.dimension)"] = .object(JSONObject([
                "median": .double(median, digits: 1), "pycma": .double(problem.pycma, digits: 1),
                "ratio": .double(ratio), "reached": .int(reached),
            ]))
        }

        let ipopRuns = (1...max(1, seeds)).map { seed in
            minimize(rastrigin, dimension: 10, seed: UInt64(seed), restarts: .ipop)
        }
        let rastriginMedian = medianCountingFailuresAsInfinite(ipopRuns)
        let rastriginReached = ipopRuns.compactMap { $0 }.count
        let rastriginTarget = (9 * seeds + 10) / 11  // 9 of 11
        print("rastrigin 10-D, IPOP: \(rastriginReached)/\(ipopRuns.count) seeds reach 1e-8 (target ≥ \(rastriginTarget)), median \(Format.fixed(rastriginMedian, digits: 0)) evaluations "
              + "(pycma 58092, ratio \(Format.fixed(rastriginMedian / pycmaRastrigin, digits: 3)))")
        results["rastrigin10_ipop"] = .object(JSONObject([
            "median": .double(rastriginMedian, digits: 1), "pycma": .double(pycmaRastrigin, digits: 1),
            "ratio": .double(rastriginMedian / pycmaRastrigin), "reached": .int(rastriginReached),
        ]))
        let accepted = allWithin && rastriginReached >= rastriginTarget
        print("CMA-ES acceptance (every median ≤ 1.1 × pycma, rastrigin ≥ 9/11): \(accepted ? "met" : "NOT met")")
        results["accepted"] = .bool(accepted)
        return [("cmaes", .object(results))]
    }

    /// Evaluations at which a run from x0 = 3·1, σ₀ = 2 first told a value ≤ 1e-8 (whole
    /// generations), or nil when it stopped without.
    static func minimize(_ function: ([Double]) -> Double, dimension: Int, seed: UInt64, restarts: CMAESOptions.Restarts) -> Double? {
        let options = CMAESOptions(
            x0: [Double](repeating: 3, count: dimension), sigma0: 2, seed: seed, bounded: false,
            restarts: restarts, maxRestarts: 9, populationIncrease: 2,
            maxEvaluations: 100_000 * dimension, targetObjective: 1e-8
        )
        guard var optimizer = try? CMAES(genes: [Gene](repeating: .continuous, count: dimension), options: options) else { return nil }
        while optimizer.termination == nil {
            let genomes = optimizer.ask()
            guard !genomes.isEmpty else { break }
            let evaluations = genomes.map { Evaluation(genome: $0, objectives: [function($0)]) }
            guard (try? optimizer.tell(evaluations)) != nil else { return nil }
        }
        guard optimizer.finishedRuns.last?.contains("ftarget") == true else { return nil }
        return Double(optimizer.evaluations)
    }

    static func sphere(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 } }

    /// Σ 10^(6 (i−1)/(n−1)) xᵢ², condition 1e6.
    static func ellipsoid(_ x: [Double]) -> Double {
        let n = Double(x.count - 1)
        return x.enumerated().reduce(0) { $0 + Foundation.pow(10, 6 * Double($1.offset) / n) * $1.element * $1.element }
    }

    static func rosenbrock(_ x: [Double]) -> Double {
        (0..<(x.count - 1)).reduce(0) { sum, i in
            let a = x[i + 1] - x[i] * x[i], b = 1 - x[i]
            return sum + 100 * a * a + b * b
        }
    }

    /// 10 n + Σ (xᵢ² − 10 cos 2π xᵢ).
    static func rastrigin(_ x: [Double]) -> Double {
        x.reduce(10 * Double(x.count)) { $0 + $1 * $1 - 10 * Foundation.cos(2 * Double.pi * $1) }
    }
}
