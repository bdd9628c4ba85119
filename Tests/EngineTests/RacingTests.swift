import Fitness
import Foundation
import Search
import Testing
@testable import Engine

/// Racing's parts (DESIGN.md §5b): the Hoeffding–Serfling bound against hand-computed values,
/// the pruning rules, the example order and stages, and how stage scores combine.
@Suite struct RacingTests {
    // MARK: The bound

    @Test func theBoundOfOneTaskIsSerflingsRadius() {
        // ε = √((1 − (m − 1)/N)/m · ln(1/δ)/2) with N = 100, m = 25, δ = 0.05: √(0.76/25 · ln 20 / 2).
        let radius = ConfidenceBound.radius([.init(weight: 1, scored: 25, total: 100)], confidence: 0.95)
        #expect(abs(radius - 0.21338962148619284) < 1e-15)
        // Without the finite-population factor (Hoeffding) it would be √(ln 20 / 50) = 0.2448: Serfling's is tighter.
        #expect(radius < (Foundation.log(20.0) / 50).squareRoot())
    }

    @Test func aWeightedMeanAddsItsTasksSpreads() {
        // Weights 1 and 3 (shares 1/4, 3/4), 25 of 100 and 10 of 40 scored, δ = 0.1:
        // S = (1/4)² · 0.76/25 + (3/4)² · (1 − 9/40)/10, ε = √(S · ln 10 / 2).
        let terms = [ConfidenceBound.Term(weight: 1, scored: 25, total: 100), .init(weight: 3, scored: 10, total: 40)]
        #expect(abs(ConfidenceBound.radius(terms, confidence: 0.9) - 0.22885937884910668) < 1e-15)
        // A task scored in full is known; one not scored at all leaves the mean unbounded.
        #expect(ConfidenceBound.radius([.init(weight: 1, scored: 100, total: 100), .init(weight: 2, scored: 40, total: 40)], confidence: 0.95) == 0)
        #expect(ConfidenceBound.radius([.init(weight: 1, scored: 0, total: 100)], confidence: 0.95) == .infinity)
        // A weight-0 task does not enter the mean.
        #expect(ConfidenceBound.radius([.init(weight: 1, scored: 25, total: 100), .init(weight: 0, scored: 0, total: 9)], confidence: 0.95)
                == ConfidenceBound.radius([.init(weight: 1, scored: 25, total: 100)], confidence: 0.95))
    }

    @Test func theBoundHoldsAtLeastAsOftenAsItSays() {
        // 4 000 random orders of a fixed population of 0/1 scores: the full mean exceeds the
        // partial mean + ε in at most 5% of them (the bound is conservative: far fewer).
        let population = (0..<120).map { $0 % 10 < 3 ? 1.0 : 0.0 }
        let truth = population.reduce(0, +) / Double(population.count)
        let radius = ConfidenceBound.radius([.init(weight: 1, scored: 30, total: 120)], confidence: 0.95)
        var random = SearchRandom(seed: 11)
        var misses = 0
        for _ in 0..<4000 {
            var order = population
            for index in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(index, random.integer(below: index + 1)) }
            let partial = order.prefix(30).reduce(0, +) / 30
            if truth > partial + radius { misses += 1 }
        }
        #expect(misses <= 200)
    }

    // MARK: The rules

    @Test func cmaesPrunesOnlyWhatMuOthersSurelyBeat() {
        // Minimized values: a member whose optimistic value is 0.5 is beaten by pessimistic 0.4 and 0.45.
        #expect(RacingRule.prunedBySelection(optimistic: 0.5, others: [0.4, 0.45, 0.6, 0.9], parents: 2))
        #expect(!RacingRule.prunedBySelection(optimistic: 0.5, others: [0.4, 0.5, 0.6, 0.9], parents: 2), "a tie is not a win")
        #expect(!RacingRule.prunedBySelection(optimistic: 0.5, others: [0.4, 0.45, 0.6, 0.9], parents: 3))
        #expect(!RacingRule.prunedBySelection(optimistic: 0.5, others: [], parents: 1))
        #expect(RacingRule.of(.cmaes, population: 8) == .selection(parents: 4))
        #expect(RacingRule.of(.cmaes, population: 7) == .selection(parents: 3))
        #expect(RacingRule.of(.nsga2, population: 8) == .front && RacingRule.of(.random, population: 1) == .front)
    }

    @Test func cmaesParentsAreThePositiveWeights() throws {
        for lambda in 2...40 {
            let cmaes = try CMAES(genes: [.continuous, .continuous], options: CMAESOptions(population: lambda))
            #expect(CMAES.parents(population: lambda) == cmaes.parents, "λ = \(lambda)")
            #expect(cmaes.parents == lambda / 2)
        }
    }

    @Test func theFrontPrunesWhatItDominatesEvenAtBest() {
        let bar = [[-0.6, 0.5], [-0.4, 0.2]]
        #expect(RacingRule.prunedByFront(optimistic: [-0.5, 0.5], bar: bar))
        #expect(!RacingRule.prunedByFront(optimistic: [-0.5, 0.3], bar: bar), "cheaper than the first, better than the second")
        #expect(!RacingRule.prunedByFront(optimistic: [-0.6, 0.5], bar: bar), "equal to a bar point is not dominated")
        #expect(!RacingRule.prunedByFront(optimistic: [-0.1, 0.0], bar: []))
    }

    // MARK: The schedule

    static func fitness(_ tasks: String) throws -> FitnessFile {
        try FitnessFile(yaml: "tasks:\n" + tasks, path: SearchEngineTests.repository + "/fitness/test.yaml")
    }

    static func space(_ extra: String = "racing: {stages: [0.25, 0.5, 1], seed: 3}\n") throws -> SearchSpace {
        try SearchSpace(yaml: """
            base_model: ../zoo/base
            models: [../zoo/add, ../zoo/rev]
            fitness: ../fitness/demo.yaml
            \(extra)
            """, file: SearchEngineTests.repository + "/search-spaces/test.yaml")
    }

    @Test func stagesScoreASeededOrderOnceEach() throws {
        let fitness = try Self.fitness("""
              - {name: add, kind: choice, calibration: add.calib.jsonl}
              - {name: facts, kind: choice, calibration: facts.calib.jsonl}
            """)
        let schedule = try RacingSchedule(space: Self.space(), fitness: fitness, sizes: ["add": 150, "facts": 9])
        #expect(schedule.stageCount == 3 && schedule.examplesPerCandidate == 159)
        #expect(schedule.scored("add", through: 0) == 38 && schedule.scored("add", through: 1) == 75 && schedule.scored("add", through: 2) == 150)
        #expect(schedule.scored("facts", through: 0) == 3 && schedule.scored("facts", through: 1) == 5 && schedule.scored("facts", through: -1) == 0)
        for task in ["add", "facts"] {
            let rows = (0..<3).flatMap { schedule.slice($0).rows[task] ?? [] }
            #expect(rows == schedule.order[task] && rows.sorted() == Array(0..<(task == "add" ? 150 : 9)), "\(task): every example once")
        }
        #expect(schedule.order["add"] != Array(0..<150), "shuffled")
        #expect(schedule.slice(2).isLast && !schedule.slice(1).isLast)
        // The order is the seed's alone: the same again, another for another seed or task.
        let again = try RacingSchedule(space: Self.space(), fitness: fitness, sizes: ["add": 150, "facts": 9])
        let other = try RacingSchedule(space: Self.space("racing: {seed: 4}\n"), fitness: fitness, sizes: ["add": 150, "facts": 9])
        #expect(again.order == schedule.order && other.order["add"] != schedule.order["add"])
    }

    @Test func tasksThatCannotBeRacedAreRefusedByName() throws {
        let space = try Self.space()
        #expect {
            try RacingSchedule(space: space, fitness: Self.fitness("  - {name: text, kind: perplexity, calibration: add.calib.jsonl, weight: 1}\n"), sizes: ["text": 10])
        } throws: { error in
            guard let error = error as? SearchSpaceError else { return false }
            return error.field == "racing" && error.message.contains("task text is a perplexity with weight 1")
        }
        #expect {
            try RacingSchedule(space: space, fitness: Self.fitness("  - {name: lm, kind: command, run: [true], score: x}\n"), sizes: [:])
        } throws: { error in
            (error as? SearchSpaceError)?.message.contains("task lm is a command task") ?? false
        }
        // A weight-0 perplexity no objective names is scored whole with the last stage.
        let schedule = try RacingSchedule(space: space, fitness: Self.fitness("""
              - {name: add, kind: choice, calibration: add.calib.jsonl}
              - {name: text, kind: perplexity, calibration: add.calib.jsonl}
            """), sizes: ["add": 8, "text": 8])
        #expect(!schedule.races("text") && schedule.races("add"))
        #expect(!schedule.slice(0).scores("text", raced: false) && schedule.slice(2).scores("text", raced: false))
    }

    // MARK: Stage scores

    @Test func stageScoresCombineByTheirCounts() {
        let first = [TaskScore(task: "add", split: .calibration, metric: "acc", value: 3.0 / 8, stderr: nil, n: 8)]
        let second = [TaskScore(task: "add", split: .calibration, metric: "acc", value: 5.0 / 12, stderr: nil, n: 12),
                      TaskScore(task: "text", split: .calibration, metric: "token_perplexity", value: 7.5, stderr: nil, n: 4)]
        let combined = SearchEngine.accumulate(first, second)
        #expect(combined.count == 2)
        #expect(combined[0].value == 8.0 / 20 && combined[0].n == 20)
        // lm-eval's standard error of a mean of 0/1 values: √(p(1 − p)/(n − 1)).
        #expect(abs((combined[0].stderr ?? 0) - (0.4 * 0.6 / 19).squareRoot()) < 1e-15)
        #expect(combined[1].value == 7.5 && combined[1].n == 4)
    }
}
