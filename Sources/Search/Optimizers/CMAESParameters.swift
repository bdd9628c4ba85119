import Foundation

/// CMA-ES's strategy parameters for one dimension and population size, with pycma 4.x's default
/// settings (the acceptance figures are pycma's): recombination weights with negative weights
/// for active CMA, learning rates c1, cμ, cc, and the step-size constants cσ, dσ.
///
/// Sources: Hansen 2016, "The CMA Evolution Strategy: A Tutorial" (arXiv:1604.00772), Table 1;
/// pycma's cma/recombination_weights.py, cma/options_parameters.py (`CMAParameters`),
/// cma/interfaces.py (`parameters`, the c1 and cμ pycma actually uses) and
/// cma/sigma_adaptation.py (`CMAAdaptSigmaCSA`). Where pycma departs from the tutorial it is
/// followed and said so below.
struct CMAESParameters: Codable, Sendable, Equatable {
    let dimension: Int
    /// λ, the number of samples per generation.
    let population: Int
    /// μ, the number of positive weights (⌊λ/2⌋).
    let parents: Int
    /// wᵢ for every rank: positive ones sum to 1, negative ones as finalized for active CMA.
    let weights: [Double]
    /// μ_eff = 1 / Σ wᵢ² over the positive weights.
    let effectiveParents: Double
    /// cσ = min(1/2, (μ_eff + 2) / (n + μ_eff + 3)); pycma caps the tutorial's value at 1/2.
    let cumulationSigma: Double
    /// dσ, pycma's damping (see `init`).
    let dampingSigma: Double
    /// cc, c1, cμ of the covariance update (the separable ones in diagonal mode).
    let cumulationC: Double
    let rankOneRate: Double
    let rankMuRate: Double
    /// E‖N(0, I)‖.
    let expectedNorm: Double
    /// Whether C is diagonal (sep-CMA-ES).
    let diagonal: Bool
    /// Generations between eigendecompositions: 1 / (c1 + cμ) / n / 10, pycma's `lazy_update_gap`.
    let eigenUpdateGap: Double

    init(dimension n: Int, population lambda: Int, diagonal: Bool) {
        dimension = n
        population = lambda
        self.diagonal = diagonal
        let dn = Double(n)

        // Raw weights ln((λ+1)/2) − ln i; the positive ones normalized to sum 1, the negative ones
        // to sum −1 before they are finalized (RecombinationWeights.__init__).
        var w = (1...lambda).map { Foundation.log(Double(lambda + 1) / 2) - Foundation.log(Double($0)) }
        let mu = w.filter { $0 > 0 }.count
        let positiveSum = w[..<mu].reduce(0, +)
        for i in 0..<lambda { w[i] /= positiveSum }
        let negativeSum = w[mu...].reduce(0, +)
        if negativeSum != 0 { for i in mu..<lambda { w[i] /= -negativeSum } }
        let mueff = 1 / w[..<mu].reduce(0) { $0 + $1 * $1 }
        parents = mu
        effectiveParents = mueff

        // Learning rates. Full C: interfaces.py `parameters` (c1 with pycma's min(1, λ/6) factor,
        // cμ with α_cov = 2 and the 1/4 offset of options_parameters.py). Diagonal C: pycma's
        // `c1_sep`, `cmu_sep`, `cc_sep` (degrees-of-freedom forms of Ros & Hansen 2008, "A Simple
        // Modification in CMA-ES Achieving Linear Time and Space Complexity", whose rates are
        // about (n + 2)/3 times the full ones).
        if diagonal {
            let c1 = 1 / (dn + 2 * dn.squareRoot() + mueff / dn)
            rankOneRate = c1
            rankMuRate = min(1 - c1, (0.25 + mueff + 1 / mueff - 2) / (dn + 4 * dn.squareRoot() + mueff / 2))
            cumulationC = (1 + 1 / dn + mueff / dn) / (dn.squareRoot() + 1 / dn + 2 * mueff / dn)
        } else {
            let c1 = min(1, Double(lambda) / 6) * 2 / ((dn + 1.3) * (dn + 1.3) + mueff)
            rankOneRate = c1
            rankMuRate = min(1 - c1, 2 * (0.25 + mueff - 2 + 1 / mueff) / ((dn + 2) * (dn + 2) + mueff))
            cumulationC = (4 + mueff / dn) / (dn + 4 + 2 * mueff / dn)
        }
        weights = Self.finalizingNegativeWeights(w, parents: mu, mueff: mueff, dimension: dn, c1: rankOneRate, cmu: rankMuRate)

        // Step size: cσ as above; dσ = 1/2 + 1/2 (no mirrored samples) + 2 max(0, d (√((μ_eff−1)/(n+1))) − 1) + cσ
        // with d = max(1, 3 (1 − 2^(−n/9))) (`compute_damps`; the tutorial has d = 1).
        let cs = min(0.5, (mueff + 2) / (dn + mueff + 3))
        cumulationSigma = cs
        let inner = max(1, 3 * (1 - Foundation.pow(0.5, dn / 9)))
        dampingSigma = 1 + 2 * max(0, inner * ((mueff - 1) / (dn + 1)).squareRoot() - 1) + cs
        expectedNorm = Self.expectedNorm(dimension: n)
        eigenUpdateGap = 1 / (rankOneRate + rankMuRate + 1e-23) / dn / 10
    }

    /// The default population 4 + 3 ln n before truncation; pycma keeps this real number and
    /// derives maxiter, tolstagnation and the IPOP populations from it.
    static func defaultPopulation(dimension: Int) -> Double {
        4 + 3 * Foundation.log(Double(dimension))
    }

    /// E‖N(0, I)‖ = √2 Γ((n+1)/2) / Γ(n/2), computed through log-gamma (pycma tabulates the
    /// same values up to n = 100 and approximates above, within 4·10⁻⁷).
    static func expectedNorm(dimension: Int) -> Double {
        let n = Double(dimension)
        return 2.0.squareRoot() * Foundation.exp(Foundation.lgamma((n + 1) / 2) - Foundation.lgamma(n / 2))
    }

    /// `RecombinationWeights.finalize_negative_weights`: scale the negative weights so that
    /// c1 + cμ Σw = 0 (no decay of C), then limit their sum so that C stays positive definite
    /// when every negatively weighted vector has squared Mahalanobis norm n (vectors are
    /// rescaled to that norm in the update), then by 1 + 2 μ⁻_eff / (μ_eff + 2).
    ///
    /// pycma skips the positive-definiteness limit for its diagonal mode, whose update is
    /// multiplicative; our diagonal update is additive like the full one, so it keeps the limit.
    private static func finalizingNegativeWeights(_ weights: [Double], parents mu: Int, mueff: Double, dimension n: Double, c1: Double, cmu: Double) -> [Double] {
        var w = weights
        guard let last = w.last, last < 0, mu < w.count else { return w }
        let negative = w[mu...]
        let negativeSum = negative.reduce(0, +)
        let mueffMinus = negativeSum * negativeSum / negative.reduce(0) { $0 + $1 * $1 }
        func scaleNegative(toAtMost limit: Double, exactly: Bool) {
            let sum = -w[mu...].reduce(0, +)
            guard sum > 0, exactly || sum > limit else { return }
            let factor = limit / sum
            for i in mu..<w.count { w[i] *= factor }
        }
        if cmu > 0 {
            scaleNegative(toAtMost: 1 + c1 / cmu, exactly: true)
            scaleNegative(toAtMost: (1 - c1 - cmu) / cmu / n, exactly: false)
        }
        scaleNegative(toAtMost: 1 + 2 * mueffMinus / (mueff + 2), exactly: false)
        return w
    }
}
