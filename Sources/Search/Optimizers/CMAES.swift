import Foundation

/// CMA-ES (Hansen 2016, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772) behind the
/// ask/tell `Optimizer` protocol, with pycma 4.x's defaults: active CMA, CSA step-size control,
/// lazy eigendecomposition, pycma's termination criteria, IPOP and BIPOP restarts, sep-CMA-ES
/// above `CMAESOptions.diagonalAboveDimension` genes.
///
/// It minimizes the first objective of each evaluation; the others are accepted and ignored.
///
/// - Genes: each is one internal coordinate. The distribution lives in unbounded internal
///   coordinates; a bounded continuous gene is `BoundTransform.unit` of its coordinate (pycma's
///   `BoundTransform`), a gene with k choices (categorical, or boolean with k = 2) is
///   min(k − 1, ⌊k · T(x)⌋), and `CMAESMargin` keeps the other choices sampled. The internal
///   samples of the current generation are part of the state, and `tell` updates with them
///   after checking each genome told against the one proposed.
/// - Failures (no objective, or a non-finite one) rank below every success, in proposal order;
///   their values never enter the arithmetic, so they cannot put NaN into the distribution.
/// - A generation is asked whole (λ genomes); `ask` returns nothing until all are told.
public struct CMAES: Optimizer {
    public let genes: [Gene]
    public let objectiveCount: Int
    public let options: CMAESOptions
    private var random: SearchRandom
    private var run: CMAESRun
    private var schedule: CMAESRestartSchedule
    private var limits: CMAESRunLimits
    private var outstanding = Outstanding()
    /// Internal samples of the generation in flight and the values told for them so far.
    private var samples: [[Double]] = []
    private var values: [Double?] = []
    /// Evaluations told over all runs.
    public private(set) var evaluations = 0
    /// The termination reasons of each finished run, in order.
    public private(set) var finishedRuns: [[String]] = []
    private var stopped = false

    /// A search over `genes` expecting `objectiveCount` objectives per evaluation.
    public init(genes: [Gene], objectiveCount: Int = 1, options: CMAESOptions = CMAESOptions()) throws(OptimizerError) {
        if let problem = options.problem(genes: genes) { throw OptimizerError("CMA-ES options: \(problem)") }
        guard objectiveCount >= 1 else { throw OptimizerError("CMA-ES needs at least one objective, not \(objectiveCount)") }
        self.genes = genes
        self.objectiveCount = objectiveCount
        self.options = options
        random = SearchRandom(seed: options.seed)
        let n = genes.count
        let basePopulation = options.population.map(Double.init) ?? CMAESParameters.defaultPopulation(dimension: n)
        let dn = Double(n)
        // pycma's maxiter 100 + 150 (n+3)² // √λ₀ and tolstagnation int(100 + 100 n^1.5 / λ₀).
        let maxIterations = options.maxIterations.map(Double.init)
            ?? 100 + (150 * (dn + 3) * (dn + 3) / basePopulation.squareRoot()).rounded(.down)
        limits = CMAESRunLimits(
            maxIterations: maxIterations,
            tolstagnation: options.tolstagnation.map(Double.init) ?? (100 + 100 * Foundation.pow(dn, 1.5) / basePopulation).rounded(.down)
        )
        schedule = CMAESRestartSchedule(options: options, basePopulation: basePopulation, baseMaxIterations: maxIterations)
        run = Self.makeRun(genes: genes, options: options, plan: schedule.firstPlan)
    }

    /// Decodes a state and checks that its parts fit together, so that a damaged or hand-edited
    /// state is refused here instead of failing later inside `ask` or `tell`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        genes = try c.decode([Gene].self, forKey: .genes)
        objectiveCount = try c.decode(Int.self, forKey: .objectiveCount)
        options = try c.decode(CMAESOptions.self, forKey: .options)
        random = try c.decode(SearchRandom.self, forKey: .random)
        run = try c.decode(CMAESRun.self, forKey: .run)
        schedule = try c.decode(CMAESRestartSchedule.self, forKey: .schedule)
        limits = try c.decode(CMAESRunLimits.self, forKey: .limits)
        outstanding = try c.decode(Outstanding.self, forKey: .outstanding)
        samples = try c.decode([[Double]].self, forKey: .samples)
        values = try c.decode([Double?].self, forKey: .values)
        evaluations = try c.decode(Int.self, forKey: .evaluations)
        finishedRuns = try c.decode([[String]].self, forKey: .finishedRuns)
        stopped = try c.decode(Bool.self, forKey: .stopped)
        let problem = options.problem(genes: genes)
            ?? (objectiveCount >= 1 ? nil : "objectiveCount must be at least 1")
            ?? run.consistencyProblem(dimension: genes.count)
            ?? generationProblem
        if let problem {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "CMA-ES state: \(problem)"))
        }
    }

    /// Why the generation in flight does not fit the run, or nil.
    private var generationProblem: String? {
        guard !samples.isEmpty else { return values.isEmpty && outstanding.isEmpty ? nil : "results without a generation in flight" }
        if samples.count != run.parameters.population || samples.contains(where: { $0.count != genes.count }) {
            return "the generation in flight does not have \(run.parameters.population) samples of \(genes.count) coordinates"
        }
        if values.count + outstanding.count != samples.count { return "told and outstanding results do not add up to the generation" }
        return nil
    }

    /// A fresh run from x0 with the plan's population and step size.
    private static func makeRun(genes: [Gene], options: CMAESOptions, plan: CMAESRestartSchedule.Plan) -> CMAESRun {
        let n = genes.count
        let diagonal: Bool
        switch options.covariance {
        case .automatic: diagonal = n > CMAESOptions.diagonalAboveDimension
        case .full: diagonal = false
        case .diagonal: diagonal = true
        }
        let parameters = CMAESParameters(dimension: n, population: plan.population, diagonal: diagonal)
        let unit = BoundTransform.unit
        var mean: [Double] = [], maximumStd: [Double] = [], choices: [Int] = []
        for (index, gene) in genes.enumerated() {
            let start = options.x0?[index]
            switch gene {
            case .continuous where !options.bounded:
                mean.append(start ?? 0.5)
                maximumStd.append(.infinity)
                choices.append(0)
            case .continuous:
                mean.append(unit.inverse(start ?? 0.5))
                maximumStd.append(1.0 / 3)  // pycma's maxstd_boundrange × the range
                choices.append(0)
            case .categorical, .boolean:
                let k = Self.choiceCount(gene)
                mean.append(unit.inverse(start.map { ($0 + 0.5) / Double(k) } ?? 0.5))
                maximumStd.append(1.0 / 3)
                choices.append(k)
            }
        }
        let alpha = options.margin ?? 1 / (Double(n) * Double(plan.population))
        return CMAESRun(
            parameters: parameters, mean: mean, sigma: options.sigma0 * plan.sigmaFactor,
            maximumStd: maximumStd, margin: CMAESMargin(choices: choices, alpha: alpha)
        )
    }

    /// The genome an internal point stands for.
    private func genome(_ x: [Double]) -> Genome {
        zip(genes, x).map { gene, value in
            switch gene {
            case .continuous where !options.bounded: return value
            case .continuous: return BoundTransform.unit.transform(value)
            case .categorical, .boolean:
                let k = Self.choiceCount(gene)
                return Double(min(k - 1, Int((BoundTransform.unit.transform(value) * Double(k)).rounded(.down))))
            }
        }
    }

    public mutating func ask() -> [Genome] {
        guard !stopped, samples.isEmpty else { return [] }
        samples = run.sample(count: run.parameters.population, random: &random)
        values = []
        let genomes = samples.map(genome)
        outstanding.add(genomes)
        return genomes
    }

    public mutating func tell(_ evaluations: [Evaluation]) throws(OptimizerError) {
        try outstanding.take(evaluations, objectives: objectiveCount)
        for evaluation in evaluations { values.append(evaluation.finiteObjectives?.first) }
        guard !samples.isEmpty, values.count == samples.count else { return }
        self.evaluations += samples.count
        run.update(samples: samples, values: values, evaluations: self.evaluations)
        samples = []
        values = []
        let reasons = run.stopReasons(options: options, limits: limits, evaluations: self.evaluations)
        guard !reasons.isEmpty else { return }
        finishedRuns.append(reasons)
        if let plan = schedule.next(after: reasons, evaluations: self.evaluations, random: &random) {
            limits.maxIterations = plan.maxIterations
            run = Self.makeRun(genes: genes, options: options, plan: plan)
        } else {
            stopped = true
        }
    }

    public var termination: String? {
        guard stopped, let reasons = finishedRuns.last else { return nil }
        let restarts = finishedRuns.count - 1
        return reasons.joined(separator: ", ") + (restarts > 0 ? " (after \(restarts) restart\(restarts == 1 ? "" : "s"))" : "")
    }

    // MARK: Inspection

    /// Generations told in the current run.
    public var generation: Int { run.iteration }
    /// λ of the current run.
    public var population: Int { run.parameters.population }
    /// μ of the current run: how many of each generation are selected (the positive weights).
    public var parents: Int { run.parameters.parents }

    /// μ for a generation of `population` (λ) genomes: ⌊λ/2⌋, the positive weights of
    /// ln((λ + 1)/2) − ln i (`CMAESParameters`), as pycma's `RecombinationWeights`.
    public static func parents(population: Int) -> Int {
        (1...max(1, population)).count { Foundation.log(Double(population + 1) / 2) - Foundation.log(Double($0)) > 0 }
    }
    /// σ of the current run.
    public var stepSize: Double { run.sigma }
    /// Whether the current run's covariance is diagonal (sep-CMA-ES).
    public var isDiagonal: Bool { run.parameters.diagonal }
    /// Restarts so far.
    public var restarts: Int { finishedRuns.count - (stopped ? 1 : 0) }
    /// The genome of the distribution's mean, the current best estimate.
    public var meanGenome: Genome { genome(run.mean) }
    /// Standard deviation of each internal coordinate (σ · sᵢ · √Cᵢᵢ).
    public var standardDeviations: [Double] { run.standardDeviations }
    /// Whether every number of the distribution (mean, σ, C, B, D, paths, scaling) is finite.
    public var distributionIsFinite: Bool {
        let numbers = [run.mean, run.covariance, run.eigenvectors, run.axisLengths, run.covariancePath, run.sigmaPath, run.scaling, [run.sigma]]
        return numbers.allSatisfy { $0.allSatisfy(\.isFinite) }
    }

    /// How many values a choice gene takes (2 for a boolean); 0 for a continuous gene.
    private static func choiceCount(_ gene: Gene) -> Int {
        switch gene {
        case .continuous: return 0
        case .categorical(let count): return max(1, count)
        case .boolean: return 2
        }
    }
}
