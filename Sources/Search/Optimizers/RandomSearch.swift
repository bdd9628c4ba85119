/// Random search, the baseline every report compares the optimizers against (Bergstra & Bengio
/// 2012, "Random search for hyper-parameter optimization"): genomes drawn independently of all
/// results, uniformly or from a Sobol sequence.
///
/// - Any number of objectives is accepted; results are checked against the proposals and
///   counted, nothing else (the archive keeps the front).
/// - `ask` always returns `batchSize` genomes, whatever is outstanding: nothing ever waits.
/// - Uniform: each continuous gene a uniform deviate in [0, 1), each categorical or boolean gene
///   a uniform choice. Sobol: one point of a digitally shifted `SobolSequence` per genome, one
///   dimension per gene (a continuous gene takes the coordinate u, a gene with k choices
///   min(k − 1, ⌊k u⌋)). Spaces with more genes than the 1024 embedded dimensions use the Sobol
///   coordinates for the first 1024 genes and uniform deviates for the rest ("padding" a
///   quasi-random design with random coordinates, Owen 1998, "Latin supercube sampling").
/// - The state (generator, Sobol index and shifts, outstanding proposals) is `Codable`; a decoded
///   search continues with bit-identical genomes.
public struct RandomSearch: Optimizer {
    public let genes: [Gene]
    public let objectiveCount: Int
    public let options: RandomSearchOptions
    /// Results told so far, and how many of them failed.
    public private(set) var evaluations = 0
    public private(set) var failures = 0
    private var random: SearchRandom
    private var sobol: SobolSequence?
    private var outstanding = Outstanding()
    private var exhausted = false

    public init(genes: [Gene], objectiveCount: Int = 1, options: RandomSearchOptions = RandomSearchOptions()) throws(OptimizerError) {
        if let problem = options.problem(genes: genes) { throw OptimizerError("random search options: \(problem)") }
        guard objectiveCount >= 1 else { throw OptimizerError("random search needs at least one objective, not \(objectiveCount)") }
        self.genes = genes
        self.objectiveCount = objectiveCount
        self.options = options
        random = SearchRandom(seed: options.seed)
        if options.sampling == .sobol {
            let dimension = min(genes.count, SobolSequence.maximumDimension)
            sobol = options.scrambled ? try SobolSequence(dimension: dimension, random: &random) : try SobolSequence(dimension: dimension)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        genes = try c.decode([Gene].self, forKey: .genes)
        objectiveCount = try c.decode(Int.self, forKey: .objectiveCount)
        options = try c.decode(RandomSearchOptions.self, forKey: .options)
        evaluations = try c.decode(Int.self, forKey: .evaluations)
        failures = try c.decode(Int.self, forKey: .failures)
        random = try c.decode(SearchRandom.self, forKey: .random)
        sobol = try c.decodeIfPresent(SobolSequence.self, forKey: .sobol)
        outstanding = try c.decode(Outstanding.self, forKey: .outstanding)
        exhausted = try c.decode(Bool.self, forKey: .exhausted)
        let sobolFits = options.sampling == .uniform ? sobol == nil : sobol?.dimension == min(genes.count, SobolSequence.maximumDimension)
        let problem = options.problem(genes: genes)
            ?? (objectiveCount >= 1 ? nil : "objectiveCount must be at least 1")
            ?? (sobolFits ? nil : "the Sobol sequence does not fit the genes")
            ?? (outstanding.genomes.allSatisfy { $0.count == genes.count && zip(genes, $0).allSatisfy { $0.admits($1) } } ? nil : "a genome does not fit the genes")
        if let problem {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "random search state: \(problem)"))
        }
    }

    public var termination: String? { exhausted ? "the Sobol sequence is exhausted (2³² points)" : nil }

    public mutating func ask() -> [Genome] {
        var genomes: [Genome] = []
        for _ in 0..<options.batchSize {
            guard let genome = nextGenome() else {
                exhausted = true
                break
            }
            genomes.append(genome)
        }
        outstanding.add(genomes)
        return genomes
    }

    public mutating func tell(_ evaluations: [Evaluation]) throws(OptimizerError) {
        try outstanding.take(evaluations, objectives: objectiveCount)
        self.evaluations += evaluations.count
        failures += evaluations.filter { $0.finiteObjectives == nil }.count
    }

    private mutating func nextGenome() -> Genome? {
        var coordinates: [Double] = []
        if sobol != nil {
            guard let point = sobol?.next() else { return nil }
            coordinates = point
        }
        while coordinates.count < genes.count { coordinates.append(random.uniform()) }
        return zip(genes, coordinates).map { gene, u in
            switch gene {
            case .continuous: u
            case .categorical(let count): Double(min(count - 1, Int(u * Double(count))))
            case .boolean: u < 0.5 ? 0 : 1
            }
        }
    }
}

/// Random search's settings.
public struct RandomSearchOptions: Codable, Sendable, Equatable {
    public enum Sampling: String, Codable, Sendable, CaseIterable {
        case uniform, sobol
    }

    public var sampling: Sampling
    /// Genomes each `ask` returns.
    public var batchSize: Int
    public var seed: UInt64
    /// Sobol only: apply the seeded random digital shift (false gives the plain sequence).
    public var scrambled: Bool

    public init(sampling: Sampling = .uniform, batchSize: Int = 1, seed: UInt64 = 1, scrambled: Bool = true) {
        self.sampling = sampling
        self.batchSize = batchSize
        self.seed = seed
        self.scrambled = scrambled
    }

    /// What is wrong with these options for `genes`, or nil.
    func problem(genes: [Gene]) -> String? {
        if let problem = Gene.problem(in: genes) { return problem }
        if batchSize < 1 { return "batchSize must be at least 1, not \(batchSize)" }
        return nil
    }
}
