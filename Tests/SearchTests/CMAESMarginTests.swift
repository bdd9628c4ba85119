import Foundation
import Testing
@testable import Search

/// Categorical and boolean genes: the best choice is found, and the margin keeps the others
/// sampled now and then.
@Suite struct CMAESMarginTests {
    static let genes: [Gene] = [.continuous, .continuous, .continuous, .categorical(count: 4), .boolean]

    /// Continuous part minimal at 0.4; choice 2 and `true` are best, the others cost more.
    static func objective(_ g: Genome) -> Double? {
        CMAESFixtures.sphere(Array(g[0..<3]), centre: 0.4) + (g[3] == 2 ? 0 : 1 + 0.1 * g[3]) + (g[4] == 1 ? 0 : 0.5)
    }

    /// Genomes of generations 100…399 whose choices differ from the best ones. The value
    /// tolerances are off: with the best choices found, a generation that happens to sample no
    /// other choice would end the run by tolfun, as in pycma.
    static func othersSampledLate(margin: Double?, seed: UInt64) throws -> (others: Int, total: Int, optimizer: CMAES) {
        let options = CMAESOptions(seed: seed, margin: margin, tolfun: 0, tolfunhist: 0, tolx: 0)
        var optimizer = try CMAES(genes: genes, options: options)
        let proposed = try CMAESFixtures.run(&optimizer, generations: 400, objective: objective)
        let late = proposed.dropFirst(100).flatMap { $0 }
        return (late.filter { $0[3] != 2 || $0[4] != 1 }.count, late.count, optimizer)
    }

    @Test func findsTheBestChoicesAndKeepsSamplingTheOthers() throws {
        for seed in UInt64(1)...3 {
            let (others, total, optimizer) = try Self.othersSampledLate(margin: nil, seed: seed)
            let mean = optimizer.meanGenome
            #expect(mean[3] == 2 && mean[4] == 1, "seed \(seed): mean \(mean)")
            #expect(total > 1000, "seed \(seed): \(optimizer.finishedRuns)")
            // α = 1/(nλ) = 1/40 per choice gene and sample: about 5% of the samples, far from all.
            #expect(others > total / 100, "seed \(seed): \(others) of \(total)")
            #expect(others < total / 4, "seed \(seed): \(others) of \(total)")
        }
    }

    /// The control: without the margin the other choices die out once σ shrinks.
    @Test func withoutTheMarginTheOtherChoicesDieOut() throws {
        let (others, total, _) = try Self.othersSampledLate(margin: 0, seed: 1)
        #expect(others * 100 <= max(total, 1), "\(others) of \(total)")
    }

    @Test func theFloorGuaranteesTheMarginAtTheWorstMean() {
        let alpha = 0.02
        let margin = CMAESMargin(choices: [4], alpha: alpha)
        // Inner choice 1 spans [0.25, 0.5): its centre 0.375 is 0.125 from either end.
        let inner = margin.floor(index: 0, mean: 0.375)
        #expect(abs(2 * 0.5 * Foundation.erfc(0.125 / inner / 2.0.squareRoot()) - alpha) < 1e-9)
        // Edge choice 0: its preimage is [−0.35, 0.25), centred on −0.05, 0.3 from either end.
        let edge = margin.floor(index: 0, mean: -0.05)
        #expect(abs(2 * 0.5 * Foundation.erfc(0.3 / edge / 2.0.squareRoot()) - alpha) < 1e-9)
        #expect(CMAESMargin(choices: [0], alpha: alpha).floor(index: 0, mean: 0.3) == 0)
        #expect(abs(CMAESMargin.normalQuantile(0.975) - 1.959963984540054) < 1e-12)
    }
}
