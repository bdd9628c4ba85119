import Foundation
import Testing
@testable import Search

/// Test functions and a driver shared by the CMA-ES suites.
enum CMAESFixtures {
    /// Drives `optimizer` for up to `generations` generations (fewer if it terminates), telling
    /// each genome `objective`'s value as a one-objective evaluation (nil for a failure); returns
    /// what each generation proposed.
    static func run(_ optimizer: inout CMAES, generations: Int, objective: (Genome) -> Double?) throws -> [[Genome]] {
        var proposed: [[Genome]] = []
        for _ in 0..<generations {
            let genomes = optimizer.ask()
            if genomes.isEmpty { break }
            proposed.append(genomes)
            try optimizer.tell(genomes.map { Evaluation(genome: $0, objectives: objective($0).map { [$0] }) })
        }
        return proposed
    }

    static func sphere(_ x: [Double], centre: Double = 0) -> Double { x.reduce(0) { $0 + ($1 - centre) * ($1 - centre) } }

    /// 10n + Σ (xᵢ² − 10 cos 2π xᵢ): many local minima, so runs end early and restarts happen.
    static func rastrigin(_ x: [Double]) -> Double {
        x.reduce(10 * Double(x.count)) { $0 + $1 * $1 - 10 * Foundation.cos(2 * Double.pi * $1) }
    }
}

@Suite struct CMAESTests {
    static func unbounded(_ n: Int, seed: UInt64 = 1, target: Double? = nil) -> CMAESOptions {
        CMAESOptions(x0: [Double](repeating: 3, count: n), sigma0: 2, seed: seed, bounded: false, targetObjective: target)
    }

    @Test func sphereConverges() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 10), options: Self.unbounded(10, target: 1e-10))
        _ = try CMAESFixtures.run(&optimizer, generations: 1000) { CMAESFixtures.sphere($0) }
        #expect(optimizer.termination?.hasPrefix("ftarget") == true)
        // pycma needs about 1 500 evaluations for 1e-8 here (ANCHORS.md).
        #expect(optimizer.evaluations < 2500)
        #expect(CMAESFixtures.sphere(optimizer.meanGenome) < 1e-8)
    }

    @Test func boundedSphereConvergesInsideAndOnTheBound() throws {
        var inside = try CMAES(genes: Array(repeating: .continuous, count: 5), options: CMAESOptions(targetObjective: 1e-12))
        _ = try CMAESFixtures.run(&inside, generations: 1000) { CMAESFixtures.sphere($0, centre: 0.3) }
        #expect(inside.termination?.hasPrefix("ftarget") == true)

        // The optimum of Σ (xᵢ + 0.1)² over [0, 1]⁵ is the corner 0, where f = 0.05.
        var corner = try CMAES(genes: Array(repeating: .continuous, count: 5), options: CMAESOptions(maxEvaluations: 3000))
        _ = try CMAESFixtures.run(&corner, generations: 1000) { CMAESFixtures.sphere($0, centre: -0.1) }
        #expect(corner.meanGenome.allSatisfy { $0 >= 0 && $0 < 1e-3 })
    }

    /// sep-CMA-ES learns the scales of a separable ellipsoid (condition 1e6) with its diagonal C.
    @Test func separableCMAConvergesOnASeparableEllipsoid() throws {
        let n = 20
        var options = Self.unbounded(n, target: 1e-8)
        options.covariance = .diagonal
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: n), options: options)
        #expect(optimizer.isDiagonal)
        _ = try CMAESFixtures.run(&optimizer, generations: 5000) { x in
            x.enumerated().reduce(0) { $0 + Foundation.pow(10, 6 * Double($1.offset) / Double(n - 1)) * $1.element * $1.element }
        }
        #expect(optimizer.termination?.hasPrefix("ftarget") == true)
        // Full CMA-ES needs about 13 000 evaluations here (ANCHORS.md); the diagonal learns faster.
        #expect(optimizer.evaluations < 10_000)
    }

    /// One gene, a population of two, a lone boolean, the diagonal in one dimension.
    @Test func tinyProblemsRun() throws {
        var one = try CMAES(genes: [.continuous], options: CMAESOptions(targetObjective: 1e-12))
        _ = try CMAESFixtures.run(&one, generations: 500) { CMAESFixtures.sphere($0, centre: 0.7) }
        #expect(one.termination?.hasPrefix("ftarget") == true)
        var two = try CMAES(genes: [.continuous, .continuous], options: CMAESOptions(population: 2, covariance: .diagonal, maxEvaluations: 400))
        let proposed = try CMAESFixtures.run(&two, generations: 500) { CMAESFixtures.sphere($0, centre: 0.7) }
        #expect(proposed.allSatisfy { $0.count == 2 } && two.distributionIsFinite && two.termination != nil)
        var lone = try CMAES(genes: [.boolean], options: CMAESOptions(maxEvaluations: 200))
        let flips = try CMAESFixtures.run(&lone, generations: 100) { $0[0] }.flatMap { $0 }
        #expect(flips.allSatisfy { $0 == [0] || $0 == [1] } && lone.meanGenome == [0])
    }

    @Test func covarianceTurnsDiagonalAboveOneHundredGenes() throws {
        #expect(try !CMAES(genes: Array(repeating: .continuous, count: 100)).isDiagonal)
        #expect(try CMAES(genes: Array(repeating: .continuous, count: 101)).isDiagonal)
        #expect(try !CMAES(genes: Array(repeating: .continuous, count: 101), options: CMAESOptions(covariance: .full)).isDiagonal)
    }

    /// Interrupted at generation 20 (with half a generation told), encoded, decoded into a fresh
    /// optimizer and continued: the same genomes bit for bit as the uninterrupted run.
    static func expectSameContinuation(genes: [Gene], options: CMAESOptions, objective: (Genome) -> Double?) throws {
        var original = try CMAES(genes: genes, options: options)
        _ = try CMAESFixtures.run(&original, generations: 19, objective: objective)
        let genomes = original.ask()
        try #require(!genomes.isEmpty)
        let half = genomes.count / 2
        try original.tell(genomes[..<half].map { Evaluation(genome: $0, objectives: objective($0).map { [$0] }) })

        let state = try OptimizerStateCoding.encode(original)
        var restored = try OptimizerStateCoding.decode(CMAES.self, from: state)
        #expect(try OptimizerStateCoding.encode(restored) == state)

        for copy in [0, 1] {
            let rest = genomes[half...].map { Evaluation(genome: $0, objectives: objective($0).map { [$0] }) }
            if copy == 0 { try original.tell(rest) } else { try restored.tell(rest) }
        }
        let expected = try CMAESFixtures.run(&original, generations: 30, objective: objective)
        let continued = try CMAESFixtures.run(&restored, generations: 30, objective: objective)
        #expect(expected.count == 30)
        #expect(expected.map { $0.map { $0.map(\.bitPattern) } } == continued.map { $0.map { $0.map(\.bitPattern) } })
        #expect(try OptimizerStateCoding.encode(original) == OptimizerStateCoding.encode(restored))
    }

    @Test func aDecodedStateContinuesBitForBit() throws {
        try Self.expectSameContinuation(genes: Array(repeating: .continuous, count: 6), options: Self.unbounded(6)) { CMAESFixtures.rastrigin($0) }
    }

    @Test func aDecodedStateContinuesBitForBitAcrossIPOPRestarts() throws {
        var options = Self.unbounded(4)
        options.restarts = .ipop
        options.maxIterations = 8
        var probe = try CMAES(genes: Array(repeating: .continuous, count: 4), options: options)
        _ = try CMAESFixtures.run(&probe, generations: 50) { CMAESFixtures.rastrigin($0) }
        #expect(probe.restarts >= 4)  // the restarts happen inside the 50 generations
        try Self.expectSameContinuation(genes: Array(repeating: .continuous, count: 4), options: options) { CMAESFixtures.rastrigin($0) }
    }

    @Test func aDecodedStateContinuesBitForBitWithBoundsChoicesFailuresAndBIPOP() throws {
        let genes: [Gene] = [.continuous, .continuous, .continuous, .categorical(count: 4), .boolean]
        let options = CMAESOptions(sigma0: 0.3, seed: 9, restarts: .bipop, maxIterations: 12)
        let objective: (Genome) -> Double? = { g in
            g[0] > 0.85 ? nil : CMAESFixtures.sphere(Array(g[0..<3]), centre: 0.6) + (g[3] == 2 ? 0 : 1) + g[4]
        }
        var probe = try CMAES(genes: genes, options: options)
        _ = try CMAESFixtures.run(&probe, generations: 50, objective: objective)
        #expect(probe.restarts >= 2)
        try Self.expectSameContinuation(genes: genes, options: options, objective: objective)
    }

    /// A state whose parts do not fit together is refused when decoded, not inside `ask`.
    @Test func aDamagedStateIsRefused() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 3))
        _ = try CMAESFixtures.run(&optimizer, generations: 3) { CMAESFixtures.sphere($0) }
        _ = optimizer.ask()
        let state = try #require(JSONSerialization.jsonObject(with: OptimizerStateCoding.encode(optimizer)) as? [String: Any])
        var run = try #require(state["run"] as? [String: Any])
        run["mean"] = [0.5, 0.5]
        var damaged = state
        damaged["run"] = run
        #expect(throws: DecodingError.self) {
            try OptimizerStateCoding.decode(CMAES.self, from: JSONSerialization.data(withJSONObject: damaged))
        }
        var unfinished = state
        unfinished["samples"] = [[0.5, 0.5, 0.5]]
        #expect(throws: DecodingError.self) {
            try OptimizerStateCoding.decode(CMAES.self, from: JSONSerialization.data(withJSONObject: unfinished))
        }
        _ = try OptimizerStateCoding.decode(CMAES.self, from: JSONSerialization.data(withJSONObject: state))
    }

    @Test func failedAndNonFiniteResultsNeverCorruptTheDistribution() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 8), options: Self.unbounded(8, target: 1e-8))
        var told = 0
        for _ in 0..<2000 {
            let genomes = optimizer.ask()
            if genomes.isEmpty { break }
            let evaluations = genomes.map { genome -> Evaluation in
                told += 1
                switch told % 10 {
                case 0: return Evaluation(genome: genome, objectives: nil)
                case 3: return Evaluation(genome: genome, objectives: [.nan])
                case 6: return Evaluation(genome: genome, objectives: [.infinity])
                case 8: return Evaluation(genome: genome, objectives: [-.infinity])
                default: return Evaluation(genome: genome, objectives: [CMAESFixtures.sphere(genome)])
                }
            }
            try optimizer.tell(evaluations)
            #expect(optimizer.distributionIsFinite)
        }
        #expect(optimizer.termination?.hasPrefix("ftarget") == true)
    }

    /// A generation without one success leaves the distribution as it was; two in a row end the
    /// run as flat (pycma's tolflatfitness), not with NaN.
    @Test func generationsThatAllFailEndTheRunAsFlat() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 3))
        let before = optimizer.meanGenome
        _ = try CMAESFixtures.run(&optimizer, generations: 10) { _ in nil }
        #expect(optimizer.generation == 2)
        #expect(optimizer.termination == "tolflatfitness")
        #expect(optimizer.meanGenome == before)
        #expect(optimizer.distributionIsFinite)
        #expect(optimizer.ask().isEmpty)
    }

    @Test func aRunEndsWithPycmasCriteriaWhenNoTargetIsSet() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 4), options: Self.unbounded(4))
        _ = try CMAESFixtures.run(&optimizer, generations: 3000) { CMAESFixtures.sphere($0) }
        let reason = try #require(optimizer.termination)
        #expect(["tolfun", "tolx", "tolfunhist", "noeffectcoord", "noeffectaxis"].contains { reason.contains($0) })
        #expect(optimizer.ask().isEmpty)
    }

    @Test func protocolMisuseThrows() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 3), objectiveCount: 2)
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: [0.5, 0.5, 0.5], objectives: [1, 2])]) }
        let genomes = optimizer.ask()
        #expect(optimizer.ask().isEmpty)  // the generation is in flight
        var altered = genomes[0]
        altered[1] = altered[1].nextUp
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: altered, objectives: [1, 2])]) }
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: genomes[1], objectives: [1, 2])]) }
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: genomes[0], objectives: [1])]) }
        let tooMany = (genomes + [genomes[0]]).map { Evaluation(genome: $0, objectives: [1, 2]) }
        #expect(throws: OptimizerError.self) { try optimizer.tell(tooMany) }
        // After the refusals the proper results are still accepted, one at a time.
        for genome in genomes { try optimizer.tell([Evaluation(genome: genome, objectives: [CMAESFixtures.sphere(genome), 0])]) }
        #expect(optimizer.generation == 1)
        #expect(!optimizer.ask().isEmpty)
    }

    @Test func invalidOptionsAreRefused() {
        #expect(throws: OptimizerError.self) { try CMAES(genes: []) }
        #expect(throws: OptimizerError.self) { try CMAES(genes: [.continuous], options: CMAESOptions(sigma0: 0)) }
        #expect(throws: OptimizerError.self) { try CMAES(genes: [.continuous], options: CMAESOptions(x0: [1.5])) }
        #expect(throws: OptimizerError.self) { try CMAES(genes: [.categorical(count: 3)], options: CMAESOptions(x0: [3])) }
        #expect(throws: OptimizerError.self) { try CMAES(genes: [.continuous], options: CMAESOptions(population: 1)) }
        #expect(throws: OptimizerError.self) { try CMAES(genes: [.categorical(count: 0)]) }
        #expect(throws: OptimizerError.self) { try CMAES(genes: [.continuous], objectiveCount: 0) }
    }

    @Test func optionsDecodeFromAnySubsetOfKeys() throws {
        let options = try JSONDecoder().decode(CMAESOptions.self, from: Data(#"{"sigma0": 0.1, "restarts": "ipop", "population": 8}"#.utf8))
        #expect(options.sigma0 == 0.1 && options.restarts == .ipop && options.population == 8)
        #expect(options.tolfun == 1e-11 && options.bounded && options.maxRestarts == 9)
        let roundTrip = try JSONDecoder().decode(CMAESOptions.self, from: JSONEncoder().encode(options))
        #expect(roundTrip == options)
    }
}
