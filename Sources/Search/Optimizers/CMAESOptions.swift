import Foundation

/// The settings of a CMA-ES search. Every field has a default (pycma 4.x's where pycma has
/// one), and decoding accepts any subset of the keys, so a search space may name only what it
/// changes.
public struct CMAESOptions: Codable, Sendable, Equatable {
    /// What happens when a run meets a termination criterion.
    public enum Restarts: String, Codable, Sendable, CaseIterable {
        /// Stop.
        case none
        /// IPOP-CMA-ES (Auger & Hansen 2005, "A Restart CMA Evolution Strategy With Increasing
        /// Population Size"): start again from x0 with the population multiplied by
        /// `populationIncrease`, as pycma's `fmin2(restarts=…, incpopsize=…)` does.
        case ipop
        /// BIPOP-CMA-ES (Hansen 2009, "Benchmarking a BI-Population CMA-ES on the BBOB-2009
        /// Function Testbed"): interleaves IPOP runs with runs of a small random population and
        /// step size whose evaluations are kept below those of the large runs, as pycma's
        /// `fmin2(bipop=True)` does.
        case bipop
    }

    /// The shape of the covariance matrix.
    public enum Covariance: String, Codable, Sendable, CaseIterable {
        /// Full up to `CMAESOptions.diagonalAboveDimension` genes, diagonal beyond.
        case automatic
        /// A full covariance matrix (O(n²) memory, an O(n³) eigendecomposition every few generations).
        case full
        /// sep-CMA-ES (Ros & Hansen 2008): a diagonal matrix with faster learning rates; linear in
        /// n, and the better choice on separable or very high-dimensional problems.
        case diagonal
    }

    /// Above this many genes `.automatic` chooses the diagonal covariance: the full matrix then
    /// learns too slowly (c1 ~ 2/n²) for the budgets a merge search can afford.
    public static let diagonalAboveDimension = 100

    /// Start point in genome space (categorical genes as indices); nil puts every gene at the
    /// centre of its range: 0.5 for continuous genes, the midpoint between the categories.
    public var x0: Genome?
    /// Initial step size σ₀ in genome units; a quarter of the unit range by default.
    public var sigma0: Double
    /// λ; nil for the default 4 + ⌊3 ln n⌋.
    public var population: Int?
    /// Seed of the random generator.
    public var seed: UInt64
    /// Keep continuous genes in [0, 1] through `BoundTransform` (the search); false leaves them
    /// unbounded (benchmarks on test functions). Categorical and boolean genes are always bounded.
    public var bounded: Bool
    public var restarts: Restarts
    /// Restarts allowed after the first run (pycma's default when restarts are on: 9). BIPOP's
    /// small-population runs do not count, as in pycma.
    public var maxRestarts: Int
    /// Factor on the population at each IPOP (or BIPOP large) restart.
    public var populationIncrease: Double
    public var covariance: Covariance
    /// The margin α of CMA-ES with Margin (Hamano et al., GECCO 2022) for categorical and boolean
    /// genes: the least probability of sampling a category other than the mean's; nil for the
    /// paper's 1/(n λ).
    public var margin: Double?

    // Termination, pycma's names and defaults (cma/options_parameters.py).
    /// Stop when the best values of this and the last ⌊10 + 30n/λ⌋ − 1 generations, and all values
    /// of this generation, lie within this range.
    public var tolfun: Double
    /// Stop when the best values of the last ⌊10 + 30n/λ⌋ (more than 9) generations lie within this range.
    public var tolfunhist: Double
    /// Stop when every coordinate's standard deviation and σ·pc fall below this.
    public var tolx: Double
    /// Stop after this many generations without improvement of the best and median values;
    /// nil for 100 + 100 n^1.5 / λ₀.
    public var tolstagnation: Int?
    /// Stop when the mean moved less than 1e-9 over 20 + 10% of the generations so far.
    public var tolxstagnation: Bool
    /// Stop when the condition number of C exceeds this.
    public var tolconditioncov: Double
    /// Stop after more than this many successive generations whose best value equals the
    /// value at rank ⌊0.75 λ⌋ (a flat or failing landscape).
    public var tolflatfitness: Int
    /// Stop when a standard deviation grew beyond σ₀ times this (σ₀ far too small).
    public var tolfacupx: Double
    /// Stop when σ / max √eig(C) exceeds σ₀ times this (creeping).
    public var tolupsigma: Double
    /// Generations per run; nil for 100 + 150 (n+3)² / √λ₀ (pycma's maxiter).
    public var maxIterations: Int?
    /// Evaluations over all runs; nil for no limit. Ends the search without a restart.
    public var maxEvaluations: Int?
    /// Stop (without a restart) once an objective value ≤ this was seen; nil for none.
    public var targetObjective: Double?

    public init(
        x0: Genome? = nil, sigma0: Double = 0.25, population: Int? = nil, seed: UInt64 = 1,
        bounded: Bool = true, restarts: Restarts = .none, maxRestarts: Int = 9,
        populationIncrease: Double = 2, covariance: Covariance = .automatic, margin: Double? = nil,
        tolfun: Double = 1e-11, tolfunhist: Double = 1e-12, tolx: Double = 1e-11,
        tolstagnation: Int? = nil, tolxstagnation: Bool = true, tolconditioncov: Double = 1e14,
        tolflatfitness: Int = 1, tolfacupx: Double = 1e3, tolupsigma: Double = 1e20,
        maxIterations: Int? = nil, maxEvaluations: Int? = nil, targetObjective: Double? = nil
    ) {
        self.x0 = x0
        self.sigma0 = sigma0
        self.population = population
        self.seed = seed
        self.bounded = bounded
        self.restarts = restarts
        self.maxRestarts = maxRestarts
        self.populationIncrease = populationIncrease
        self.covariance = covariance
        self.margin = margin
        self.tolfun = tolfun
        self.tolfunhist = tolfunhist
        self.tolx = tolx
        self.tolstagnation = tolstagnation
        self.tolxstagnation = tolxstagnation
        self.tolconditioncov = tolconditioncov
        self.tolflatfitness = tolflatfitness
        self.tolfacupx = tolfacupx
        self.tolupsigma = tolupsigma
        self.maxIterations = maxIterations
        self.maxEvaluations = maxEvaluations
        self.targetObjective = targetObjective
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CMAESOptions()
        self.init(
            x0: try c.decodeIfPresent(Genome.self, forKey: .x0),
            sigma0: try c.decodeIfPresent(Double.self, forKey: .sigma0) ?? d.sigma0,
            population: try c.decodeIfPresent(Int.self, forKey: .population),
            seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed,
            bounded: try c.decodeIfPresent(Bool.self, forKey: .bounded) ?? d.bounded,
            restarts: try c.decodeIfPresent(Restarts.self, forKey: .restarts) ?? d.restarts,
            maxRestarts: try c.decodeIfPresent(Int.self, forKey: .maxRestarts) ?? d.maxRestarts,
            populationIncrease: try c.decodeIfPresent(Double.self, forKey: .populationIncrease) ?? d.populationIncrease,
            covariance: try c.decodeIfPresent(Covariance.self, forKey: .covariance) ?? d.covariance,
            margin: try c.decodeIfPresent(Double.self, forKey: .margin),
            tolfun: try c.decodeIfPresent(Double.self, forKey: .tolfun) ?? d.tolfun,
            tolfunhist: try c.decodeIfPresent(Double.self, forKey: .tolfunhist) ?? d.tolfunhist,
            tolx: try c.decodeIfPresent(Double.self, forKey: .tolx) ?? d.tolx,
            tolstagnation: try c.decodeIfPresent(Int.self, forKey: .tolstagnation),
            tolxstagnation: try c.decodeIfPresent(Bool.self, forKey: .tolxstagnation) ?? d.tolxstagnation,
            tolconditioncov: try c.decodeIfPresent(Double.self, forKey: .tolconditioncov) ?? d.tolconditioncov,
            tolflatfitness: try c.decodeIfPresent(Int.self, forKey: .tolflatfitness) ?? d.tolflatfitness,
            tolfacupx: try c.decodeIfPresent(Double.self, forKey: .tolfacupx) ?? d.tolfacupx,
            tolupsigma: try c.decodeIfPresent(Double.self, forKey: .tolupsigma) ?? d.tolupsigma,
            maxIterations: try c.decodeIfPresent(Int.self, forKey: .maxIterations),
            maxEvaluations: try c.decodeIfPresent(Int.self, forKey: .maxEvaluations),
            targetObjective: try c.decodeIfPresent(Double.self, forKey: .targetObjective)
        )
    }

    /// Why these options cannot drive a search over `genes`, or nil when they can.
    func problem(genes: [Gene]) -> String? {
        if genes.isEmpty { return "CMA-ES needs at least one gene" }
        if !(sigma0 > 0 && sigma0.isFinite) { return "sigma0 must be a positive finite number, not \(sigma0)" }
        if let population, population < 2 || population > CMAESRestartSchedule.maximumPopulation {
            return "population must lie in 2…\(CMAESRestartSchedule.maximumPopulation), not \(population)"
        }
        if let index = genes.firstIndex(where: { if case .categorical(let count) = $0 { return count < 1 } else { return false } }) {
            return "gene \(index) is categorical with no choice"
        }
        if maxRestarts < 0 { return "maxRestarts must not be negative, not \(maxRestarts)" }
        if !(populationIncrease >= 1 && populationIncrease.isFinite) { return "populationIncrease must be at least 1, not \(populationIncrease)" }
        if let margin, !(margin >= 0 && margin < 1) { return "margin must lie in [0, 1), not \(margin)" }
        if let x0 {
            guard x0.count == genes.count else { return "x0 has \(x0.count) values for \(genes.count) genes" }
            for (index, (value, gene)) in zip(x0, genes).enumerated() {
                if case .continuous = gene, !bounded {
                    if !value.isFinite { return "x0[\(index)] = \(value) is not finite" }
                } else if !gene.admits(value) {
                    return "x0[\(index)] = \(value) is not a value of gene \(gene)"
                }
            }
        }
        return nil
    }
}
