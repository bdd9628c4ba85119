import Foundation

/// One run of CMA-ES between restarts: the search distribution N(m, σ² S C S) in internal
/// coordinates, with S = diag(`scaling`), and its evolution paths.
///
/// The generation step follows Hansen's tutorial (arXiv:1604.00772, Fig. 6) with active CMA
/// (Jastrebski & Arnold 2006; tutorial eq. 46–47) as pycma 4.x implements it by default
/// (cma/evolution_strategy.py `tell2`, cma/sampler.py `GaussFullSampler`,
/// cma/sigma_adaptation.py `CMAAdaptSigmaCSA`). `scaling` is pycma's `sigma_vec`: it stays 1
/// unless a coordinate's standard deviation leaves [minstd, maxstd], which bounds the
/// step of bounded genes (pycma's `maxstd_boundrange` = 1/3) and keeps categorical genes from
/// freezing (the margin, see `CMAES`).
struct CMAESRun: Codable, Sendable, Equatable {
    let parameters: CMAESParameters
    private(set) var mean: [Double]
    private(set) var sigma: Double
    let initialSigma: Double
    private(set) var scaling: [Double]
    /// C: n × n row-major, or its n diagonal entries in diagonal mode.
    private(set) var covariance: [Double]
    /// B, column-major, from the last eigendecomposition (full mode only).
    private(set) var eigenvectors: [Double]
    /// D: square roots of C's eigenvalues at the last decomposition, ascending (full mode only).
    private(set) var axisLengths: [Double]
    /// pc, the evolution path of the rank-one update, and pσ, the conjugate path of CSA.
    private(set) var covariancePath: [Double]
    private(set) var sigmaPath: [Double]
    /// Generations told so far in this run.
    private(set) var iteration = 0
    /// Covariance updates so far and at the last eigendecomposition (pycma's `count_tell`,
    /// `last_update`): B and D are refreshed only every `eigenUpdateGap` updates.
    private(set) var covarianceUpdates = 0
    private(set) var decomposedAt = 0
    let maximumStd: [Double]
    /// The floor on the standard deviation of coordinates that encode a choice.
    let margin: CMAESMargin
    /// What the termination criteria look at.
    private(set) var record: CMAESRecord

    var dimension: Int { parameters.dimension }

    init(parameters: CMAESParameters, mean: [Double], sigma: Double, maximumStd: [Double], margin: CMAESMargin) {
        let n = parameters.dimension
        self.parameters = parameters
        self.mean = mean
        self.sigma = sigma
        initialSigma = sigma
        scaling = [Double](repeating: 1, count: n)
        if parameters.diagonal {
            covariance = [Double](repeating: 1, count: n)
            eigenvectors = []
            axisLengths = []
        } else {
            // pycma's GaussFullSampler starts from diag(exp(1e-4 i / n)) so that no two
            // eigenvalues are equal; B = I, D ascending.
            covariance = [Double](repeating: 0, count: n * n)
            eigenvectors = [Double](repeating: 0, count: n * n)
            axisLengths = []
            for i in 0..<n {
                let variance = Foundation.exp(1e-4 / Double(n) * Double(i))
                covariance[i * n + i] = variance
                eigenvectors[i * n + i] = 1
                axisLengths.append(variance.squareRoot())
            }
        }
        covariancePath = [Double](repeating: 0, count: n)
        sigmaPath = [Double](repeating: 0, count: n)
        self.maximumStd = maximumStd
        self.margin = margin
        record = CMAESRecord(mean: mean)
        keepStandardDeviationsWithinLimits()
    }

    /// Why a decoded run cannot be used for `dimension` genes, or nil when its arrays have the
    /// sizes the code indexes with and its step size is positive.
    func consistencyProblem(dimension n: Int) -> String? {
        let p = parameters
        let square = p.diagonal ? n : n * n
        let sizes = [
            p.dimension == n, p.population >= 2, p.weights.count == p.population, p.parents >= 1, p.parents <= p.population,
            mean.count == n, scaling.count == n, covariance.count == square,
            eigenvectors.count == (p.diagonal ? 0 : n * n), axisLengths.count == (p.diagonal ? 0 : n),
            covariancePath.count == n, sigmaPath.count == n, maximumStd.count == n, margin.choices.count == n,
            record.stagnationMean.count == n, record.bestHistory.count == record.medianHistory.count,
        ]
        if sizes.contains(false) { return "the run's arrays do not fit \(n) genes" }
        if !(sigma > 0 && sigma.isFinite) { return "the step size \(sigma) is not a positive number" }
        return nil
    }

    /// C's diagonal.
    var variances: [Double] {
        let n = dimension
        return parameters.diagonal ? covariance : (0..<n).map { covariance[$0 * n + $0] }
    }

    /// σ · sᵢ · √Cᵢᵢ: the standard deviation of each internal coordinate.
    var standardDeviations: [Double] {
        zip(scaling, variances).map { sigma * $0 * $1.squareRoot() }
    }

    /// Square roots of C's eigenvalues, ascending (of its diagonal in diagonal mode).
    var principalAxisLengths: [Double] {
        parameters.diagonal ? variances.map { $0.squareRoot() }.sorted() : axisLengths
    }

    // MARK: Sampling

    /// `count` samples x = m + σ S B D z, z ~ N(0, I), drawn row by row as pycma does; B and D
    /// are refreshed first when enough updates have accumulated (`GaussFullSampler.update_now`).
    mutating func sample(count: Int, random: inout SearchRandom) -> [[Double]] {
        let n = dimension
        if !parameters.diagonal { decomposeIfDue() }
        let lengths = parameters.diagonal ? variances.map { $0.squareRoot() } : axisLengths
        var samples: [[Double]] = []
        samples.reserveCapacity(count)
        for _ in 0..<count {
            let z = (0..<n).map { lengths[$0] * (random.normal()) }
            var x = mean
            if parameters.diagonal {
                for i in 0..<n { x[i] += sigma * scaling[i] * z[i] }
            } else {
                for i in 0..<n {
                    var y = 0.0
                    for j in 0..<n { y += eigenvectors[i + j * n] * z[j] }
                    x[i] += sigma * scaling[i] * y
                }
            }
            samples.append(x)
        }
        return samples
    }

    /// The eigendecomposition C = B D² Bᵀ when `eigenUpdateGap` updates have passed since the
    /// last one. A matrix that is not positive definite gets the last smallest eigenvalue added
    /// to its diagonal and is decomposed again (`GaussFullSampler._decompose_C`); if LAPACK still
    /// fails, sampling goes on with the previous B and D.
    private mutating func decomposeIfDue() {
        let gap = parameters.eigenUpdateGap
        let since = Double(covarianceUpdates - decomposedAt)
        guard since >= gap, !(gap == 0 && since == 0) else { return }
        let n = dimension
        for _ in 0..<8 {
            if let result = SymmetricEigen.decompose(covariance, dimension: n), let smallest = result.values.first, smallest > 0 {
                eigenvectors = result.vectors
                axisLengths = result.values.map { $0.squareRoot() }
                decomposedAt = covarianceUpdates
                return
            }
            let shift = (axisLengths.first ?? 1) * (axisLengths.first ?? 1)
            for i in 0..<n { covariance[i * n + i] += shift }
        }
    }

    /// C^(−1/2) v with the current B and D (or the diagonal).
    private func whitened(_ v: [Double]) -> [Double] {
        let n = dimension
        if parameters.diagonal { return zip(v, covariance).map { $0 / $1.squareRoot() } }
        var coefficients = [Double](repeating: 0, count: n)
        for j in 0..<n {
            var dot = 0.0
            for i in 0..<n { dot += eigenvectors[i + j * n] * v[i] }
            coefficients[j] = dot / axisLengths[j]
        }
        var result = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = 0.0
            for j in 0..<n { sum += eigenvectors[i + j * n] * coefficients[j] }
            result[i] = sum
        }
        return result
    }

    /// ‖C^(−1/2) v‖, the Mahalanobis norm `sm.norm` (‖D⁻¹ Bᵀ v‖).
    private func mahalanobisNorm(_ v: [Double]) -> Double {
        let n = dimension
        if parameters.diagonal { return zip(v, covariance).reduce(0) { $0 + $1.0 * $1.0 / $1.1 }.squareRoot() }
        var sum = 0.0
        for j in 0..<n {
            var dot = 0.0
            for i in 0..<n { dot += eigenvectors[i + j * n] * v[i] }
            let t = dot / axisLengths[j]
            sum += t * t
        }
        return sum.squareRoot()
    }

    // MARK: Update

    /// Tells one generation: `samples` in proposal order, `values` their objective (nil for a
    /// failure), `evaluations` the evaluation count after this generation (over all runs).
    ///
    /// Ranking: successes by value (ties in proposal order), then failures in proposal order,
    /// so a failure can only receive the weights of the worst ranks. A generation without a
    /// single success carries no information: it is counted (and recorded as flat, which ends
    /// the run after `tolflatfitness` such generations) but leaves the distribution unchanged.
    mutating func update(samples: [[Double]], values: [Double?], evaluations: Int) {
        iteration += 1
        let order = Self.ranking(values)
        record.addGeneration(sorted: order.map { values[$0] ?? .infinity }, values: values, evaluations: evaluations, iteration: iteration, dimension: dimension)
        if values.contains(where: { $0 != nil }) { adapt(samples: order.map { samples[$0] }) }
        record.noteMean(mean)
    }

    /// Indices of `values` from best to worst (see `update`).
    static func ranking(_ values: [Double?]) -> [Int] {
        values.indices.sorted { a, b in
            switch (values[a], values[b]) {
            case let (x?, y?): return x < y || (x == y && a < b)
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a < b
            }
        }
    }

    /// Mean, paths, C and σ from the ranked samples (tutorial eq. 41–47, pycma's `tell2`).
    private mutating func adapt(samples ranked: [[Double]]) {
        let n = dimension, p = parameters
        let w = p.weights, mueff = p.effectiveParents
        let cs = p.cumulationSigma, cc = p.cumulationC, c1 = p.rankOneRate, cmu = p.rankMuRate

        let old = mean
        var newMean = [Double](repeating: 0, count: n)
        for k in 0..<p.parents {
            for i in 0..<n { newMean[i] += w[k] * ranked[k][i] }
        }
        mean = newMean
        let step = (0..<n).map { (newMean[$0] - old[$0]) / scaling[$0] }

        // Cumulative step-size adaptation: pσ ← (1 − cσ) pσ + √(cσ(2 − cσ) μ_eff) C^(−1/2) Δm / σ.
        let shift = whitened(step)
        let pathWeight = (cs * (2 - cs)).squareRoot() * mueff.squareRoot() / sigma
        for i in 0..<n { sigmaPath[i] = (1 - cs) * sigmaPath[i] + pathWeight * shift[i] }
        let pathSquared = sigmaPath.reduce(0) { $0 + $1 * $1 }
        // pycma's stall of the rank-one path: ‖pσ‖² / (1 − (1 − cσ)^(2g)) / n − 1 < 1 + 4/(n + 1).
        let correctedSquared = pathSquared / (1 - Foundation.pow(1 - cs, 2 * Double(iteration)))
        let hsig = correctedSquared / Double(n) - 1 < 1 + 4 / (Double(n) + 1)
        let c1a = c1 * (1 - (hsig ? 0 : 1) * cc * (2 - cc))
        let cWeight = hsig ? (cc * (2 - cc) * mueff).squareRoot() / sigma : 0
        for i in 0..<n { covariancePath[i] = (1 - cc) * covariancePath[i] + cWeight * step[i] }

        // C ← (1 − c1a − cμ Σw) C + c1 pc pcᵀ + cμ Σ wₖ° yₖ yₖᵀ with yₖ = (xₖ − m_old) / (σ S) and
        // wₖ° = wₖ · n / ‖C^(−1/2) yₖ‖² for negative weights (tutorial eq. 46–47; the 1e-9 guard
        // is pycma's).
        var vectors: [[Double]] = []
        var rates: [Double] = []
        for k in 0..<ranked.count {
            let y = (0..<n).map { (ranked[k][$0] - old[$0]) / (sigma * scaling[$0]) }
            var rate = cmu * w[k]
            if rate < 0 {
                let norm = mahalanobisNorm(y) + 1e-9
                rate *= Double(n) / (norm * norm)
            }
            vectors.append(y)
            rates.append(rate)
        }
        let decay = 1 - c1a - cmu * w.reduce(0, +)
        if p.diagonal {
            for i in 0..<n {
                var value = decay * covariance[i] + c1 * covariancePath[i] * covariancePath[i]
                for k in vectors.indices { value += rates[k] * vectors[k][i] * vectors[k][i] }
                covariance[i] = value
            }
        } else {
            for i in 0..<n {
                for j in i..<n {
                    var value = decay * covariance[i * n + j] + c1 * covariancePath[i] * covariancePath[j]
                    for k in vectors.indices { value += rates[k] * vectors[k][i] * vectors[k][j] }
                    covariance[i * n + j] = value
                    covariance[j * n + i] = value
                }
            }
        }
        covarianceUpdates += 1

        // σ ← σ exp(min(1, max(−1, (cσ/dσ)(‖pσ‖ / E‖N(0, I)‖ − 1)))) (CMAAdaptSigmaCSA.update2).
        let change = (pathSquared.squareRoot() / p.expectedNorm - 1) * cs / p.dampingSigma
        sigma *= Foundation.exp(min(1, max(-1, change)))
        keepStandardDeviationsWithinLimits()
    }

    /// pycma's `_stds_into_limits`: a coordinate whose standard deviation left [minstd, maxstd]
    /// gets its scaling set so that it sits on the limit (the upper limit is loosened by
    /// e^(1e-4) in the first two generations, as the initial C is). minstd is the margin's floor
    /// for the mean's current choice, never above maxstd.
    private mutating func keepStandardDeviationsWithinLimits() {
        let deviations = standardDeviations
        let slack = iteration <= 2 ? Foundation.exp(1e-4) : 1
        for i in 0..<dimension {
            let s = deviations[i]
            let limit: Double
            let minimum = min(margin.floor(index: i, mean: mean[i]), maximumStd[i])
            if minimum > 0 && s < minimum {
                limit = minimum
            } else if maximumStd[i].isFinite && s > maximumStd[i] * slack {
                limit = maximumStd[i]
            } else {
                continue
            }
            guard s > 0, (scaling[i] * limit).isFinite else { continue }
            scaling[i] *= limit / s
        }
    }
}
