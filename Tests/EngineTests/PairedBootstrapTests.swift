import Testing
@testable import Engine

/// The paired bootstrap against the best baseline, on cases whose answer is known by hand.
struct PairedBootstrapTests {
    @Test func aConstantDifferenceHasNoSpread() throws {
        let result = try #require(PairedBootstrap.compare([.init(weight: 1, candidate: [1, 1, 1], baseline: [0, 0, 0])], seed: 7))
        #expect(result == PairedBootstrap.Result(difference: 1, low: 1, high: 1, pBetter: 1, resamples: 1000))
    }

    @Test func tasksWeighAsTheAccuracyWeighsThemAndFixedTermsAreNotResampled() throws {
        // (1 · 1 + 3 · (−0.2)) / 4 = 0.1 in every resample.
        let tasks: [PairedBootstrap.Task] = [.init(weight: 1, candidate: [1, 1], baseline: [0, 0]), .init(weight: 3, fixedDifference: -0.2)]
        let result = try #require(PairedBootstrap.compare(tasks, seed: 1))
        #expect(abs(result.difference - 0.1) < 1e-15 && abs(result.low - 0.1) < 1e-15 && abs(result.high - 0.1) < 1e-15 && result.pBetter == 1)
    }

    @Test func twoExamplesOneWonGiveTheBinomialShares() throws {
        // Differences [1, 0]: a resample's mean is 0, ½ or 1 with probabilities ¼, ½, ¼, so the
        // 2.5% and 97.5% points are 0 and 1 and the candidate is better in ¾ of the resamples
        // (1 000 draws: standard deviation 0.014; 0.05 is 3.6 of them).
        let result = try #require(PairedBootstrap.compare([.init(weight: 1, candidate: [1, 0], baseline: [0, 0])], seed: 3))
        #expect(result.difference == 0.5 && result.low == 0 && result.high == 1)
        #expect(abs(result.pBetter - 0.75) < 0.05, "p_better \(result.pBetter)")
        // Seeded: the same figures again; another seed, other draws.
        #expect(PairedBootstrap.compare([.init(weight: 1, candidate: [1, 0], baseline: [0, 0])], seed: 3) == result)
    }

    @Test func aMinimizedObjectiveIsBetterBelowZero() throws {
        let result = try #require(PairedBootstrap.compare([.init(weight: 1, candidate: [0, 0], baseline: [1, 1])], maximize: false, seed: 1))
        #expect(result.difference == -1 && result.pBetter == 1)
    }

    @Test func thePercentilePointsAreTheCeilingRanks() {
        #expect(PairedBootstrap.rank(0.025, of: 1000) == 24 && PairedBootstrap.rank(0.975, of: 1000) == 974)
        #expect(PairedBootstrap.rank(0.025, of: 10) == 0 && PairedBootstrap.rank(0.975, of: 10) == 9)
    }

    @Test func examplesThatDoNotPairAreRefused() {
        #expect(PairedBootstrap.compare([.init(weight: 1, candidate: [1, 0], baseline: [0])], seed: 1) == nil)
        #expect(PairedBootstrap.compare([.init(weight: 0, candidate: [1], baseline: [0])], seed: 1) == nil)
        // Nothing to resample (perplexities, command tasks): no interval rather than a zero-width one.
        #expect(PairedBootstrap.compare([.init(weight: 1, fixedDifference: 0.1)], seed: 1) == nil)
    }
}
