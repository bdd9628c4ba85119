import Testing
@testable import Search

/// Strategy parameters against pycma 4.5.0's own values (printed by
/// `cma.CMAEvolutionStrategy(n * [0.1], 1)`'s `sp`, `sm.parameters()` and `adapt_sigma`).
@Suite struct CMAESParametersTests {
    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }

    @Test func defaultsIn20DimensionsMatchPycma() {
        let p = CMAESParameters(dimension: 20, population: 12, diagonal: false)
        #expect(p.parents == 6)
        #expect(Self.close(p.effectiveParents, 3.729458934303067))
        #expect(Self.close(p.rankOneRate, 0.004372354435160246))
        #expect(Self.close(p.rankMuRate, 0.009216561776274354))
        #expect(Self.close(p.cumulationC, 0.17176721127681213))
        #expect(Self.close(p.cumulationSigma, 0.21434997799189287))
        #expect(Self.close(p.dampingSigma, 1.214349977991893))
        let pycma = [0.4024029428187127, 0.25338908403288657, 0.16622156455542053, 0.10437522524706053,
                     0.0564034775763251, 0.017207705769594468, -0.050187136362590284, -0.1406167894157392,
                     -0.22038139637901172, -0.2917332686928812, -0.3562788884362007, -0.415204422561155]
        #expect(zip(p.weights, pycma).allSatisfy { Self.close($0, $1) })
    }

    @Test func separableRatesMatchPycma() {
        let p = CMAESParameters(dimension: 20, population: 12, diagonal: true)
        #expect(Self.close(p.rankOneRate, 0.03432799281030094))
        #expect(Self.close(p.rankMuRate, 0.05653859816658076))
        #expect(Self.close(p.cumulationC, 0.25259494835857677))
    }

    /// A large population: the mueff term of the damping, the positive-definiteness limit on the
    /// negative weights and the lazy eigendecomposition gap.
    @Test func largePopulationMatchesPycma() {
        let p = CMAESParameters(dimension: 40, population: 200, diagonal: false)
        #expect(Self.close(p.dampingSigma, 5.922013413688965))
        let last = [-0.0074173564855242085, -0.007472461339630698, -0.007527289977770046]
        #expect(zip(p.weights.suffix(3), last).allSatisfy { Self.close($0, $1) })
        #expect(Self.close(p.eigenUpdateGap, 0.043749324406438875))
    }

    @Test func expectedNormMatchesPycmasTable() {
        #expect(abs(CMAESParameters.expectedNorm(dimension: 3) - 1.595769121605731) < 1e-13)
        #expect(abs(CMAESParameters.expectedNorm(dimension: 100) - 9.97503163955105) < 1e-11)
    }
}
