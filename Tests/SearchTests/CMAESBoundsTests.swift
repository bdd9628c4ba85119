import Foundation
import Testing
@testable import Search

/// `BoundTransform` against pycma's `BoxConstraintsLinQuadTransformation([[0, 1]])`, and
/// genomes that always respect their genes.
@Suite struct CMAESBoundsTests {
    struct Golden: Decodable {
        struct Bounds: Decodable {
            let transform: [[Double]]
            let inverse: [[Double]]
        }
        let bounds: Bounds
    }

    /// Fixtures/cmaes.json's points (tools/make_cmaes_goldens.py), mapped both ways.
    @Test func transformMatchesPycma() throws {
        let bounds = try SearchFixtures.load("cmaes.json", as: Golden.self).bounds
        #expect(bounds.transform.count == 10 && bounds.inverse.count == 6)
        for pair in bounds.transform { #expect(abs(BoundTransform.unit.transform(pair[0]) - pair[1]) < 1e-12, "T(\(pair[0]))") }
        for pair in bounds.inverse { #expect(abs(BoundTransform.unit.inverse(pair[0]) - pair[1]) < 1e-12, "T⁻¹(\(pair[0]))") }
        for y in stride(from: 0.0, through: 1.0, by: 0.01) {
            #expect(abs(BoundTransform.unit.transform(BoundTransform.unit.inverse(y)) - y) < 1e-12)
        }
    }

    @Test func transformStaysInTheBoxForExtremeInputs() {
        var random = SearchRandom(seed: 3)
        var inputs: [Double] = [1e300, -1e300, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan, 0, 1]
        for _ in 0..<10_000 { inputs.append(random.normal() * Foundation.pow(10, 12 * random.uniform())) }
        for x in inputs {
            let y = BoundTransform.unit.transform(x)
            #expect(y >= 0 && y <= 1, "T(\(x)) = \(y)")
        }
    }

    /// A huge σ₀ and an objective that drives every gene against its upper bound: the internal
    /// mean runs far outside the box, every genome still lies inside and admits its gene.
    @Test func genomesNeverViolateTheirGenes() throws {
        let genes: [Gene] = [.continuous, .continuous, .continuous, .continuous, .categorical(count: 3), .categorical(count: 7), .boolean]
        for seed in UInt64(1)...4 {
            var optimizer = try CMAES(genes: genes, options: CMAESOptions(sigma0: 50, seed: seed, maxEvaluations: 4000))
            let proposed = try CMAESFixtures.run(&optimizer, generations: 1000) { g in -g.reduce(0, +) }
            let genomes = proposed.flatMap { $0 }
            #expect(genomes.count > 1000)
            for genome in genomes {
                #expect(zip(genes, genome).allSatisfy { $0.admits($1) }, "\(genome)")
            }
        }
    }

    /// The step of a bounded gene is capped at a third of its range (pycma's maxstd_boundrange).
    @Test func boundedStandardDeviationsStayBelowAThird() throws {
        var optimizer = try CMAES(genes: Array(repeating: .continuous, count: 4), options: CMAESOptions(sigma0: 5))
        #expect(optimizer.standardDeviations.allSatisfy { $0 <= 1.0 / 3 * Foundation.exp(1e-4) })
        _ = try CMAESFixtures.run(&optimizer, generations: 30) { g in g[0] }
        #expect(optimizer.standardDeviations.allSatisfy { $0 <= 1.0 / 3 + 1e-12 })
    }
}
