import Foundation
import Search
import Tensors

/// NSGA-II against pymoo's figures (ANCHORS.md, "NSGA-II"): ZDT1–3 with 30 variables, population
/// 100, pymoo's default operators, hypervolume of the population up to (1.1, 1.1) after 10 000 and
/// 20 000 evaluations, the median over seeds 1…`seeds`. Both modes run: generational is pymoo's
/// algorithm and carries the target (≥ 0.99 × pymoo at 20 000); steady-state is what searches use
/// by default and is shown beside it.
enum NSGA2BenchmarkSuite {
    /// A ZDT problem (Zitzler, Deb & Thiele 2000) with pymoo's 10 000 / 20 000-evaluation medians.
    struct Problem {
        let name: String
        let pymoo: (tenThousand: Double, twentyThousand: Double)
        let trueFront: Double
        let objectives: @Sendable ([Double]) -> [Double]
    }

    static let problems: [Problem] = [
        Problem(name: "ZDT1", pymoo: (0.849, 0.868), trueFront: 0.871, objectives: zdt1),
        Problem(name: "ZDT2", pymoo: (0.495, 0.535), trueFront: 0.538, objectives: zdt2),
        Problem(name: "ZDT3", pymoo: (1.293, 1.326), trueFront: 1.329, objectives: zdt3),
    ]
    static let checkpoints = [10_000, 20_000]
    static let reference = [1.1, 1.1]
    static let variables = 30

    static func run(seeds: Int) -> [(String, JSONValue)] {
        let seedCount = max(1, seeds)
        var results = JSONObject()
        var accepted = true
        print("NSGA-II on ZDT (\(variables) variables, population 100, hypervolume to (1.1, 1.1), median of \(seedCount) seeds)")
        print("problem  evaluations  generational  steady-state  pymoo   ratio gen  ratio steady")
        for problem in problems {
            // Median hypervolume per mode, one figure per checkpoint.
            var medians: [NSGA2Options.Mode: [Double]] = [:]
            var entry = JSONObject()
            for mode in NSGA2Options.Mode.allCases {
                let runs = (1...seedCount).map { hypervolumes(problem, mode: mode, seed: UInt64($0)) }
                let figures = checkpoints.indices.map { index in median(runs.map { $0.count > index ? $0[index] : .nan }) }
                medians[mode] = figures
                var object = JSONObject()
                for (index, evaluations) in checkpoints.enumerated() { object["\(evaluations)"] = .double(figures[index], digits: 4) }
                entry[mode.rawValue] = .object(object)
            }
            let pymoo = [problem.pymoo.tenThousand, problem.pymoo.twentyThousand]
            for (index, evaluations) in checkpoints.enumerated() {
                let generational = medians[.generational]?[index] ?? .nan, steady = medians[.steadyState]?[index] ?? .nan
                print(problem.name.padding(toLength: 9, withPad: " ", startingAt: 0),
                      String(evaluations).padding(toLeft: 10), Format.fixed(generational, digits: 4).padding(toLeft: 13), Format.fixed(steady, digits: 4).padding(toLeft: 13),
                      Format.fixed(pymoo[index], digits: 3).padding(toLeft: 7), Format.fixed(generational / pymoo[index], digits: 3).padding(toLeft: 10),
                      Format.fixed(steady / pymoo[index], digits: 3).padding(toLeft: 13))
            }
            let generational = medians[.generational]?.last ?? .nan, steady = medians[.steadyState]?.last ?? .nan
            entry["pymoo"] = .object(JSONObject(["10000": .double(pymoo[0]), "20000": .double(pymoo[1])]))
            entry["ratio_20000"] = .double(generational / pymoo[1])
            entry["ratio_20000_steady_state"] = .double(steady / pymoo[1])
            entry["true_front"] = .double(problem.trueFront)
            accepted = accepted && generational / pymoo[1] >= 0.99
            results[problem.name.lowercased()] = .object(entry)
        }
        print("NSGA-II acceptance (generational ≥ 0.99 × pymoo at 20 000 evaluations): \(accepted ? "met" : "NOT met")")
        results["accepted"] = .bool(accepted)
        return [("nsga2", .object(results))]
    }

    /// The hypervolume of the population at each checkpoint of one run.
    static func hypervolumes(_ problem: Problem, mode: NSGA2Options.Mode, seed: UInt64) -> [Double] {
        let genes = [Gene](repeating: .continuous, count: variables)
        guard var optimizer = try? NSGA2(genes: genes, objectiveCount: 2, options: NSGA2Options(mode: mode, seed: seed)) else { return [] }
        var figures: [Double] = []
        var queue: [Genome] = []
        while let last = checkpoints.last, optimizer.evaluations < last {
            if queue.isEmpty { queue = optimizer.ask() }
            guard !queue.isEmpty else { break }
            // Steady-state: tell one result at a time, as the engine does.
            let batch = mode == .steadyState ? [queue.removeFirst()] : queue
            if mode == .generational { queue = [] }
            guard (try? optimizer.tell(batch.map { Evaluation(genome: $0, objectives: problem.objectives($0)) })) != nil else { break }
            if checkpoints.contains(optimizer.evaluations) {
                figures.append(Hypervolume.of(optimizer.population.compactMap(\.objectives), reference: reference))
            }
        }
        return figures
    }

    /// Median of the figures, a NaN (a run that stopped early) counting as the worst.
    static func median(_ values: [Double]) -> Double {
        let sorted = values.map { $0.isNaN ? -Double.infinity : $0 }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// g = 1 + 9/(n − 1) Σ_{i≥2} xᵢ.
    static func g(_ x: [Double]) -> Double { 1 + 9.0 / Double(x.count - 1) * x.dropFirst().reduce(0, +) }

    static func zdt1(_ x: [Double]) -> [Double] {
        let g = g(x)
        return [x[0], g * (1 - (x[0] / g).squareRoot())]
    }

    static func zdt2(_ x: [Double]) -> [Double] {
        let g = g(x)
        return [x[0], g * (1 - (x[0] / g) * (x[0] / g))]
    }

    static func zdt3(_ x: [Double]) -> [Double] {
        let g = g(x), ratio = x[0] / g
        return [x[0], g * (1 - ratio.squareRoot() - ratio * Foundation.sin(10 * Double.pi * x[0]))]
    }
}
