import ArgumentParser
import Foundation
import Search
import Tensors

/// `amalgam-bench optimizers`: sample efficiency of CMA-ES and NSGA-II against the pycma and
/// pymoo figures in ANCHORS.md (issue 5). Each suite prints its own table; the run ends with one
/// JSON summary line holding both.
struct OptimizersBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimizers",
        abstract: "Evaluations CMA-ES needs on standard functions and NSGA-II's hypervolume on ZDT, next to pycma and pymoo."
    )

    enum Suite: String, ExpressibleByArgument, CaseIterable {
        case all, cmaes, nsga2
    }

    @Option(help: "Which optimizers to measure.")
    var suite: Suite = .all

    @Option(help: "Seeds per problem; medians are taken over them.")
    var seeds = 11

    func run() throws {
        var summary: [(String, JSONValue)] = [("bench", .string("optimizers")), ("seeds", .int(seeds))]
        if suite == .all || suite == .cmaes { summary += CMAESBenchmarkSuite.run(seeds: seeds) }
        if suite == .all || suite == .nsga2 { summary += NSGA2BenchmarkSuite.run(seeds: seeds) }
        var object = JSONObject()
        for (key, value) in summary { object[key] = value }
        print(JSONValue.object(object).serialized())
    }
}

/// Median of `values`, where `nil` (a seed that never reached the target) counts as infinite.
func medianCountingFailuresAsInfinite(_ values: [Double?]) -> Double {
    let sorted = values.map { $0 ?? .infinity }.sorted()
    guard !sorted.isEmpty else { return .nan }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}
