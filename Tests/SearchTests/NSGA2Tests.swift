import Foundation
import Testing
@testable import Search

/// A driver that tells results the way the engine does, and test problems.
enum NSGA2Fixtures {
    /// Drives `optimizer` until `evaluations` results were told, telling the oldest proposal one at
    /// a time and asking again while fewer than `lookAhead` are in flight (the engine's loop).
    /// `pause` is called once, when `evaluations(paused)` results have been told, and may replace
    /// the optimizer. Returns every genome proposed, in order.
    static func run<O: Optimizer>(
        _ optimizer: inout O, evaluations: Int, lookAhead: Int,
        pauseAt paused: Int? = nil, pause: (inout O) throws -> Void = { _ in },
        objectives: (Genome) -> [Double]?
    ) throws -> [Genome] {
        var proposed: [Genome] = [], inFlight: [Genome] = []
        var told = 0
        while told < evaluations {
            while inFlight.count < lookAhead && optimizer.termination == nil {
                let batch = optimizer.ask()
                if batch.isEmpty { break }
                proposed += batch
                inFlight += batch
            }
            guard !inFlight.isEmpty else { break }
            let genome = inFlight.removeFirst()
            try optimizer.tell([Evaluation(genome: genome, objectives: objectives(genome))])
            told += 1
            if told == paused { try pause(&optimizer) }
        }
        return proposed
    }

    /// Encodes the state, decodes it into a fresh optimizer.
    static func roundTrip<O: Optimizer>(_ optimizer: inout O) throws {
        optimizer = try OptimizerStateCoding.decode(O.self, from: OptimizerStateCoding.encode(optimizer))
    }

    /// ZDT1 on the continuous genes, shifted by the discrete ones; every 9th genome (by its first
    /// gene's bits) fails, some with nil, some with NaN or an infinity.
    static func objectives(_ genome: Genome, genes: [Gene]) -> [Double]? {
        let continuous = zip(genes, genome).filter { $0.0 == .continuous }.map(\.1)
        let discrete = zip(genes, genome).filter { $0.0 != .continuous }.reduce(0) { $0 + $1.1 }
        let f1 = continuous.first ?? 0
        let g = 1 + 9 * continuous.dropFirst().reduce(0, +) / Double(max(1, continuous.count - 1)) + 0.1 * discrete
        switch genome[0].bitPattern % 9 {
        case 0: return nil
        case 1: return [.nan, 1]
        case 2: return [0, .infinity]
        default: return [f1, g * (1 - (f1 / g).squareRoot())]
        }
    }

    static let mixedGenes: [Gene] = [.continuous, .continuous, .boolean, .categorical(count: 3), .continuous, .boolean, .categorical(count: 2), .continuous]

    /// The index of the first genome that differs bit for bit (or where one list ends), nil if none.
    static func firstDifference(_ a: [Genome], _ b: [Genome]) -> Int? {
        for index in 0..<max(a.count, b.count) {
            guard index < a.count, index < b.count, a[index].map(\.bitPattern) == b[index].map(\.bitPattern) else { return index }
        }
        return nil
    }
}

@Suite struct NSGA2Tests {
    static let population = 16
    static let generations = 50

    /// 50 generations; at generation 20 the state is encoded and decoded into a fresh optimizer,
    /// which proposes exactly the genomes of the uninterrupted run — for both modes, continuous
    /// and mixed genes, with failures and non-finite objectives in the mix.
    @Test(arguments: NSGA2Options.Mode.allCases, [false, true])
    func decodedStateContinuesBitForBit(mode: NSGA2Options.Mode, mixed: Bool) throws {
        let genes = mixed ? NSGA2Fixtures.mixedGenes : [Gene](repeating: .continuous, count: 6)
        let options = NSGA2Options(population: Self.population, mode: mode, seed: 11)
        let total = Self.population * Self.generations, pause = Self.population * 20
        let objectives = { NSGA2Fixtures.objectives($0, genes: genes) }

        var uninterrupted = try NSGA2(genes: genes, objectiveCount: 2, options: options)
        let reference = try NSGA2Fixtures.run(&uninterrupted, evaluations: total, lookAhead: Self.population, objectives: objectives)

        var resumed = try NSGA2(genes: genes, objectiveCount: 2, options: options)
        var pausedGeneration = 0, pausedOutstanding = 0
        let continued = try NSGA2Fixtures.run(&resumed, evaluations: total, lookAhead: Self.population, pauseAt: pause, pause: { optimizer in
            pausedGeneration = optimizer.generation
            pausedOutstanding = optimizer.outstandingCount
            try NSGA2Fixtures.roundTrip(&optimizer)
        }, objectives: objectives)

        #expect(pausedGeneration == 20)
        if mode == .steadyState { #expect(pausedOutstanding > 0) }
        #expect(reference.count >= total)
        #expect(NSGA2Fixtures.firstDifference(continued, reference) == nil)
        let samePopulation = resumed.population == uninterrupted.population
        #expect(samePopulation)
        #expect(uninterrupted.generation == Self.generations)
        #expect(reference.allSatisfy { genome in zip(genes, genome).allSatisfy { $0.admits($1) } })
    }

    /// Every genome ever proposed fits its genes and [0, 1], and the population never holds a NaN
    /// although a third of the evaluations fail or return NaN or ∞.
    @Test(arguments: NSGA2Options.Mode.allCases)
    func boundsHoldAndFailuresNeverCorruptThePopulation(mode: NSGA2Options.Mode) throws {
        let genes = NSGA2Fixtures.mixedGenes
        var optimizer = try NSGA2(genes: genes, objectiveCount: 2, options: NSGA2Options(population: 20, mode: mode, seed: 4))
        var failures = 0
        let proposed = try NSGA2Fixtures.run(&optimizer, evaluations: 1000, lookAhead: 20) { genome in
            let values = NSGA2Fixtures.objectives(genome, genes: genes)
            if values?.allSatisfy(\.isFinite) != true { failures += 1 }
            return values
        }
        #expect(failures > 100)
        #expect(proposed.allSatisfy { genome in genome.count == genes.count && zip(genes, genome).allSatisfy { $0.admits($1) } })
        #expect(proposed.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 <= 1 || $0 == 2 } })
        #expect(optimizer.population.count == 20)
        for member in optimizer.population {
            #expect(!member.crowding.isNaN)
            #expect(member.objectives?.allSatisfy(\.isFinite) ?? true)
        }
        // Failures are pushed out: with enough successes, none survives.
        let survivorsSucceeded = optimizer.population.allSatisfy { $0.objectives != nil }
        #expect(survivorsSucceeded)
        let state = String(decoding: try OptimizerStateCoding.encode(optimizer), as: UTF8.self)
        #expect(!state.contains("NaN"))
    }

    /// The population improves on ZDT1: its hypervolume beats that of the initial population by far.
    @Test func convergesTowardTheFrontOfZDT1() throws {
        let genes = [Gene](repeating: .continuous, count: 10)
        var optimizer = try NSGA2(genes: genes, objectiveCount: 2, options: NSGA2Options(population: 40, seed: 2))
        let zdt1 = { (x: Genome) -> [Double]? in
            let g = 1 + 9 * x.dropFirst().reduce(0, +) / 9
            return [x[0], g * (1 - (x[0] / g).squareRoot())]
        }
        _ = try NSGA2Fixtures.run(&optimizer, evaluations: 40, lookAhead: 40, objectives: zdt1)
        let initial = Hypervolume.of(optimizer.population.compactMap(\.objectives), reference: [1.1, 1.1])
        _ = try NSGA2Fixtures.run(&optimizer, evaluations: 40 * 99, lookAhead: 40, objectives: zdt1)
        let final = Hypervolume.of(optimizer.front.compactMap(\.objectives), reference: [1.1, 1.1])
        #expect(optimizer.generation == 100)
        #expect(final > 0.8 && final > initial + 0.3, "hypervolume \(initial) → \(final)")
    }

    /// Steady-state mode: after the initial population, each ask hands out one genome although
    /// results are outstanding; generational mode hands out nothing until its generation is told.
    @Test func steadyStateHandsOutGenomesWhileResultsAreOutstanding() throws {
        let genes = [Gene](repeating: .continuous, count: 4)
        var steady = try NSGA2(genes: genes, objectiveCount: 2, options: NSGA2Options(population: 10, mode: .steadyState))
        let initial = steady.ask()
        #expect(initial.count == 10)
        // Nothing told yet: a random genome rather than a wait.
        let early = steady.ask()
        #expect(early.count == 1)
        try steady.tell(initial.prefix(3).map { Evaluation(genome: $0, objectives: [$0[0], 1 - $0[0]]) })
        for _ in 0..<25 {
            #expect(steady.ask().count == 1)
        }
        #expect(steady.outstandingCount == 10 - 3 + 1 + 25)
        #expect(steady.termination == nil)

        var generational = try NSGA2(genes: genes, objectiveCount: 2, options: NSGA2Options(population: 10))
        let first = generational.ask()
        #expect(first.count == 10 && generational.ask().isEmpty)
        try generational.tell(first.prefix(9).map { Evaluation(genome: $0, objectives: [$0[0], 1 - $0[0]]) })
        #expect(generational.ask().isEmpty)
        try generational.tell([Evaluation(genome: first[9], objectives: nil)])
        #expect(generational.ask().count == 10)
        #expect(generational.generation == 1)
    }

    /// Offspring duplicate neither the population nor each other nor outstanding proposals; when a
    /// tiny discrete space runs out of new genomes the optimizer stops and says why.
    @Test(arguments: NSGA2Options.Mode.allCases)
    func duplicatesAreNeverProposed(mode: NSGA2Options.Mode) throws {
        let genes: [Gene] = [.boolean, .boolean, .boolean, .categorical(count: 2)]
        var optimizer = try NSGA2(genes: genes, objectiveCount: 2, options: NSGA2Options(population: 4, mode: mode, seed: 6))
        var proposedEver = 0
        for _ in 0..<200 {
            let population = optimizer.population.map(\.genome)
            let batch = optimizer.ask()
            if batch.isEmpty { break }
            proposedEver += batch.count
            #expect(Set(batch).count == batch.count)
            #expect(batch.allSatisfy { !population.contains($0) })
            try optimizer.tell(batch.map { Evaluation(genome: $0, objectives: [$0[0] + $0[1], $0[2] + $0[3]]) })
        }
        #expect(proposedEver > 4)
        #expect(optimizer.population.count <= 4)
    }

    /// One boolean gene has two genomes: once both are in the population nothing new can be bred,
    /// and the optimizer stops with a reason instead of proposing duplicates.
    @Test(arguments: NSGA2Options.Mode.allCases)
    func stopsWhenNoNewGenomeCanBeBred(mode: NSGA2Options.Mode) throws {
        var optimizer = try NSGA2(genes: [.boolean], objectiveCount: 2, options: NSGA2Options(population: 4, mode: mode, breedingRounds: 20))
        var proposed: [Genome] = []
        for _ in 0..<10 {
            let batch = optimizer.ask()
            if batch.isEmpty { break }
            proposed += batch
            try optimizer.tell(batch.map { Evaluation(genome: $0, objectives: [$0[0], 1 - $0[0]]) })
        }
        #expect(Set(proposed) == [[0], [1]] && proposed.count == 2)
        #expect(optimizer.termination?.contains("duplicates") == true)
        #expect(optimizer.ask().isEmpty)
    }

    /// Survival keeps successes before failures and cuts the last front by crowding distance.
    @Test func survivalRanksFailuresLast() {
        var random = SearchRandom(seed: 1)
        func member(_ objectives: [Double]?, _ tag: Double) -> NSGA2Member {
            NSGA2Member(Evaluation(genome: [tag], objectives: objectives))
        }
        let members = [
            member(nil, 0), member([0, 4], 0.1), member([1, 3], 0.2), member([1.1, 2.9], 0.3), member([2, 2], 0.4),
            member([4, 0], 0.5), member([5, 5], 0.6), member([.nan, 0], 0.7),
        ]
        let survivors = RankAndCrowdingSurvival.survivors(of: members, count: 4, random: &random)
        // Front 0 holds five points; the two extremes (∞) and the two loneliest inner ones stay.
        #expect(survivors.map(\.genome[0]).sorted() == [0.1, 0.2, 0.4, 0.5])
        #expect(survivors.allSatisfy { $0.rank == 0 && !$0.crowding.isNaN })
        let all = RankAndCrowdingSurvival.survivors(of: members, count: 8, random: &random)
        #expect(all.count == 8)
        #expect(all.suffix(2).map(\.genome[0]) == [0, 0.7])
        #expect(all.suffix(2).allSatisfy { $0.rank == nil && $0.crowding == 0 })
        #expect(all[5].rank == 1)
    }

    /// Tournaments: a success beats a failure, a dominating member wins, then the larger crowding.
    @Test func tournamentFollowsPymoosBinaryTournament() {
        var random = SearchRandom(seed: 2)
        var a = NSGA2Member(Evaluation(genome: [0], objectives: [1, 1]))
        var b = NSGA2Member(Evaluation(genome: [1], objectives: [2, 2]))
        let failed = NSGA2Member(Evaluation(genome: [2], objectives: nil))
        var c = NSGA2Member(Evaluation(genome: [3], objectives: [0, 3]))
        a.crowding = 1
        b.crowding = 5
        c.crowding = 2
        let population = [a, b, failed, c, failed]
        for _ in 0..<20 {
            #expect(BinaryTournament.winner(2, 1, in: population, random: &random) == 1)
            #expect(BinaryTournament.winner(0, 2, in: population, random: &random) == 0)
            #expect(BinaryTournament.winner(1, 0, in: population, random: &random) == 0)
            #expect(BinaryTournament.winner(0, 3, in: population, random: &random) == 3)
        }
        let coins = (0..<200).map { _ in BinaryTournament.winner(2, 4, in: population, random: &random) }
        #expect(Set(coins) == [2, 4])
        #expect(BinaryTournament.winners(7, from: population, random: &random).count == 7)
    }

    @Test func misuseIsRefused() throws {
        #expect(throws: OptimizerError.self) { try NSGA2(genes: [], objectiveCount: 2) }
        #expect(throws: OptimizerError.self) { try NSGA2(genes: [.continuous], objectiveCount: 0) }
        #expect(throws: OptimizerError.self) { try NSGA2(genes: [.categorical(count: 0)]) }
        #expect(throws: OptimizerError.self) { try NSGA2(genes: [.continuous], options: NSGA2Options(population: 1)) }
        #expect(throws: OptimizerError.self) { try NSGA2(genes: [.continuous], options: NSGA2Options(crossoverProbability: 1.5)) }
        var optimizer = try NSGA2(genes: [.continuous, .boolean], objectiveCount: 2, options: NSGA2Options(population: 4))
        let genomes = optimizer.ask()
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: [0.5, 0], objectives: [1, 1])]) }
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: genomes[0], objectives: [1])]) }
        try optimizer.tell(genomes.map { Evaluation(genome: $0, objectives: [1, 2]) })
        #expect(throws: OptimizerError.self) { try optimizer.tell([Evaluation(genome: genomes[0], objectives: [1, 2])]) }
        // Telling nothing changes nothing: no survival runs on an empty generation.
        let before = optimizer.population
        try optimizer.tell([])
        let unchanged = optimizer.generation == 1 && optimizer.population == before
        #expect(unchanged)
    }

    /// A state whose parts do not fit is refused when decoded.
    @Test func damagedStatesAreRefused() throws {
        var optimizer = try NSGA2(genes: [.continuous, .boolean], objectiveCount: 2, options: NSGA2Options(population: 4))
        let genomes = optimizer.ask()
        try optimizer.tell(genomes.map { Evaluation(genome: $0, objectives: [$0[0], 1 - $0[0]]) })
        let text = String(decoding: try OptimizerStateCoding.encode(optimizer), as: UTF8.self)
        #expect(throws: (any Error).self) {
            try OptimizerStateCoding.decode(NSGA2.self, from: Data(text.replacingOccurrences(of: "\"objectiveCount\":2", with: "\"objectiveCount\":3").utf8))
        }
        #expect(throws: (any Error).self) {
            try OptimizerStateCoding.decode(NSGA2.self, from: Data(text.replacingOccurrences(of: "{\"boolean\":{}}", with: "{\"categorical\":{\"count\":0}}").utf8))
        }
        #expect(throws: (any Error).self) {
            try OptimizerStateCoding.decode(NSGA2.self, from: Data(text.replacingOccurrences(of: "\"population\":4", with: "\"population\":2").utf8))
        }
        _ = try OptimizerStateCoding.decode(NSGA2.self, from: Data(text.utf8))
    }
}
