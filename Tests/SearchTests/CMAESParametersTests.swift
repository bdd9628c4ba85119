import Foundation
import Testing
@testable import Search

/// Strategy parameters against pycma's own values (Fixtures/cmaes.json, written by
/// tools/make_cmaes_goldens.py from `cma.CMAEvolutionStrategy(n * [0.1], 1)`'s `sp`,
/// `sm.parameters()` and `adapt_sigma`).
@Suite struct CMAESParametersTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            let dimension, population: Int
            let diagonal: Bool
            let parents: Int
            let mueff, c1, cmu, cc, cs, damps: Double
            let weights: [Double]
            let lazy_gap: Double?
        }
        struct Norm: Decodable {
            let dimension: Int
            let value: Double
        }
        let parameters: [Case]
        let expected_norm: [Norm]
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }

    @Test func everyCaseMatchesPycma() throws {
        let golden = try SearchFixtures.load("cmaes.json", as: Golden.self)
        #expect(golden.parameters.count >= 5)
        for c in golden.parameters {
            let p = CMAESParameters(dimension: c.dimension, population: c.population, diagonal: c.diagonal)
            let name = "n = \(c.dimension), λ = \(c.population)\(c.diagonal ? ", diagonal" : "")"
            #expect(p.parents == c.parents, "\(name)")
            #expect(Self.close(p.effectiveParents, c.mueff), "\(name): mueff \(p.effectiveParents) vs \(c.mueff)")
            #expect(Self.close(p.rankOneRate, c.c1), "\(name): c1 \(p.rankOneRate) vs \(c.c1)")
            #expect(Self.close(p.rankMuRate, c.cmu), "\(name): cmu \(p.rankMuRate) vs \(c.cmu)")
            #expect(Self.close(p.cumulationC, c.cc), "\(name): cc \(p.cumulationC) vs \(c.cc)")
            #expect(Self.close(p.cumulationSigma, c.cs), "\(name): cs \(p.cumulationSigma) vs \(c.cs)")
            #expect(Self.close(p.dampingSigma, c.damps), "\(name): damps \(p.dampingSigma) vs \(c.damps)")
            #expect(p.weights.count == c.weights.count && zip(p.weights, c.weights).allSatisfy { Self.close($0, $1) }, "\(name): weights")
            if let gap = c.lazy_gap { #expect(Self.close(p.eigenUpdateGap, gap), "\(name): lazy gap \(p.eigenUpdateGap) vs \(gap)") }
        }
    }

    @Test func expectedNormIsTheGammaRatio() throws {
        for norm in try SearchFixtures.load("cmaes.json", as: Golden.self).expected_norm {
            #expect(abs(CMAESParameters.expectedNorm(dimension: norm.dimension) - norm.value) < 1e-12 * max(1, norm.value), "n = \(norm.dimension)")
        }
    }
}
