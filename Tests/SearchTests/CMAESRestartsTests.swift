import Testing
@testable import Search

/// IPOP and BIPOP restart schedules as pycma's `fmin` runs them.
@Suite struct CMAESRestartsTests {
    static func options(_ restarts: CMAESOptions.Restarts, maxRestarts: Int = 9) -> CMAESOptions {
        CMAESOptions(x0: Array(repeating: 3, count: 10), sigma0: 2, bounded: false, restarts: restarts, maxRestarts: maxRestarts, maxIterations: 6)
    }

    /// pycma doubles its unrounded default population 4 + 3 ln 10 = 10.9…: 10, 21, 43, 87.
    @Test func ipopDoublesTheRealDefaultPopulation() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 10), options: Self.options(.ipop, maxRestarts: 3))
        var populations: [Int] = []
        for _ in 0..<100 {
            let genomes = optimizer.ask()
            if genomes.isEmpty { break }
            if populations.last != genomes.count { populations.append(genomes.count) }
            try optimizer.tell(genomes.map { Evaluation(genome: $0, objectives: [CMAESFixtures.rastrigin($0)]) })
        }
        #expect(populations == [10, 21, 43, 87])
        #expect(optimizer.termination == "maxiter (after 3 restarts)")
        #expect(optimizer.finishedRuns.count == 4)
    }

    @Test func theTargetEndsTheSearchWithoutARestart() throws {
        var options = Self.options(.ipop)
        options.maxIterations = nil
        options.targetObjective = 1e-6
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 10), options: options)
        _ = try CMAESFixtures.run(&optimizer, generations: 2000) { CMAESFixtures.sphere($0) }
        #expect(optimizer.termination == "ftarget")
        #expect(optimizer.restarts == 0, "\(optimizer.finishedRuns)")
    }

    /// BIPOP: the first run counts as small, so a large run (twice the population) follows;
    /// then small runs with a population between λ₀ and the large one and σ₀ · [0.01, 1] while
    /// the small runs have spent fewer evaluations than the large ones.
    @Test func bipopInterleavesSmallAndLargeRuns() {
        var schedule = CMAESRestartSchedule(options: Self.options(.bipop, maxRestarts: 3), basePopulation: 10.9, baseMaxIterations: 1000)
        var random = SearchRandom(seed: 5)
        #expect(schedule.firstPlan == .init(population: 10, sigmaFactor: 1, maxIterations: 1000))
        let large = schedule.next(after: ["tolfun"], evaluations: 1000, random: &random)
        #expect(large == .init(population: 21, sigmaFactor: 1, maxIterations: 1000))
        var evaluations = 1000 + 21 * 200  // the large run spends 4 200
        var smallPlans = 0
        while let plan = schedule.next(after: ["tolfun"], evaluations: evaluations, random: &random) {
            if plan.sigmaFactor < 1 {
                smallPlans += 1
                #expect(plan.population >= 10 && plan.population <= 21 * 2)
                #expect(plan.sigmaFactor >= 0.01)
                #expect(plan.maxIterations <= 0.5 * Double(schedule.largeEvaluations) / Double(plan.population))
                evaluations += plan.population * Int(plan.maxIterations)
            } else {
                evaluations += plan.population * 200
            }
        }
        #expect(smallPlans >= 1)
        #expect(schedule.run - schedule.smallRuns == 4)  // small runs do not count against maxRestarts
    }
}
