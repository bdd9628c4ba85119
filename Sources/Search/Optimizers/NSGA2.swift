import Foundation

/// NSGA-II (Deb, Pratap, Agarwal & Meyarivan 2002, "A fast and elitist multiobjective genetic
/// algorithm: NSGA-II", IEEE TEC 6(2)) behind the ask/tell `Optimizer` protocol, with pymoo
/// 0.6.2's operators and defaults (`pymoo/algorithms/moo/nsga2.py`; see `NSGA2Options`).
///
/// All objectives are minimized together; the population converges to the Pareto front.
///
/// - Initial population: uniform random genomes (pymoo's `FloatRandomSampling`; categorical and
///   boolean genes drawn uniformly among their values), duplicates removed.
/// - Mating: `BinaryTournament` picks parents; variation works per gene kind as pymoo's
///   mixed-variable GA groups them (`pymoo/core/mixed.py`): the continuous genes together by
///   `SimulatedBinaryCrossover` then `PolynomialMutation` (exactly pymoo's NSGA-II when every gene
///   is continuous), the boolean genes together by uniform crossover then bit flip, each
///   categorical gene on its own by uniform crossover then random reset (`DiscreteVariation`).
///   Every genome proposed is valid for its genes (`Gene.admits`) and inside [0, 1].
/// - Duplicates (pymoo's `DefaultDuplicateElimination`): an offspring within 1e-16 (Euclidean) of
///   a population member, of an offspring bred before it, or of a proposal still outstanding is
///   dropped and more are bred, for up to `breedingRounds` rounds. If an `ask` finds none at all,
///   it returns nothing; with nothing outstanding either, the optimizer stops with a termination
///   reason (pymoo ends the run there too), otherwise it tries again after the next result.
/// - Failures (objectives nil or non-finite) are infeasible solutions: they lose every
///   tournament against a success and survive only when successes do not fill the population
///   (`RankAndCrowdingSurvival`); their values never enter sorting or crowding.
/// - Modes (`NSGA2Options.Mode`): `generational` is pymoo's (μ+λ) scheme, `ask` returning a whole
///   generation and then nothing until all of it is told. `steadyState` returns the initial
///   population on the first `ask`; after that, every `ask` returns one offspring bred from the
///   members told so far (a uniform random genome while fewer than two have been told), whatever
///   is still outstanding, and every result told joins the population through (μ+1)
///   rank-and-crowding survival. Idle workers never wait for a generation barrier.
/// - The whole state (population with objectives, ranks and crowding, results of the generation
///   in flight, outstanding proposals, generator, mode) is `Codable`; a decoded optimizer
///   continues with bit-identical genomes.
public struct NSGA2: Optimizer {
    public let genes: [Gene]
    public let objectiveCount: Int
    public let options: NSGA2Options
    /// The current population after the latest survival.
    public private(set) var population: [NSGA2Member] = []
    /// Generational mode: completed survivals (1 once the initial population is told).
    /// Steady-state mode: results told, divided by the population size.
    public private(set) var generation = 0
    /// Results told so far.
    public private(set) var evaluations = 0
    private var random: SearchRandom
    private var outstanding = Outstanding()
    /// Generational mode: results of the generation in flight told so far.
    private var told: [NSGA2Member] = []
    private var initialProposed = false
    private var stopReason: String?

    /// A search over `genes` expecting `objectiveCount` objectives per evaluation.
    public init(genes: [Gene], objectiveCount: Int = 2, options: NSGA2Options = NSGA2Options()) throws(OptimizerError) {
        if let problem = options.problem(genes: genes) { throw OptimizerError("NSGA-II options: \(problem)") }
        guard objectiveCount >= 1 else { throw OptimizerError("NSGA-II needs at least one objective, not \(objectiveCount)") }
        self.genes = genes
        self.objectiveCount = objectiveCount
        self.options = options
        random = SearchRandom(seed: options.seed)
    }

    /// Decodes a state and checks that its parts fit together, so that a damaged or hand-edited
    /// state is refused here instead of failing later inside `ask` or `tell`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        genes = try c.decode([Gene].self, forKey: .genes)
        objectiveCount = try c.decode(Int.self, forKey: .objectiveCount)
        options = try c.decode(NSGA2Options.self, forKey: .options)
        population = try c.decode([NSGA2Member].self, forKey: .population)
        generation = try c.decode(Int.self, forKey: .generation)
        evaluations = try c.decode(Int.self, forKey: .evaluations)
        random = try c.decode(SearchRandom.self, forKey: .random)
        outstanding = try c.decode(Outstanding.self, forKey: .outstanding)
        told = try c.decode([NSGA2Member].self, forKey: .told)
        initialProposed = try c.decode(Bool.self, forKey: .initialProposed)
        stopReason = try c.decodeIfPresent(String.self, forKey: .stopReason)
        if let problem = options.problem(genes: genes) ?? (objectiveCount >= 1 ? nil : "objectiveCount must be at least 1") ?? consistencyProblem {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "NSGA-II state: \(problem)"))
        }
    }

    /// Why the decoded parts do not fit together, or nil.
    private var consistencyProblem: String? {
        let members = population + told
        if members.contains(where: { !valid($0.genome) }) || outstanding.genomes.contains(where: { !valid($0) }) {
            return "a genome does not fit the genes"
        }
        if members.contains(where: { $0.objectives.map { $0.count != objectiveCount || !$0.allSatisfy(\.isFinite) } ?? false }) {
            return "a member's objectives do not fit"
        }
        if population.count > options.population { return "the population holds more than \(options.population) members" }
        if !initialProposed && !(members.isEmpty && outstanding.isEmpty) { return "results without an initial population" }
        if options.mode == .steadyState && !told.isEmpty { return "steady-state mode keeps no generation in flight" }
        if !told.isEmpty && outstanding.isEmpty { return "a generation was told in full but not merged" }
        return nil
    }

    private func valid(_ genome: Genome) -> Bool {
        genome.count == genes.count && zip(genes, genome).allSatisfy { $0.admits($1) }
    }

    public var termination: String? { stopReason }

    /// The population's non-dominated successes.
    public var front: [NSGA2Member] { population.filter { $0.rank == 0 } }

    /// Proposals not yet told.
    public var outstandingCount: Int { outstanding.count }

    public mutating func ask() -> [Genome] {
        guard stopReason == nil else { return [] }
        let proposed: [Genome]
        if !initialProposed {
            proposed = initialPopulation()
            initialProposed = true
        } else {
            switch options.mode {
            case .generational:
                guard outstanding.isEmpty else { return [] }
                proposed = breed(options.population, avoiding: population.map(\.genome))
            case .steadyState:
                let avoid = population.map(\.genome) + outstanding.genomes
                proposed = population.count < 2 ? sample(1, avoiding: avoid) : breed(1, avoiding: avoid)
            }
            if proposed.isEmpty && outstanding.isEmpty {
                stopReason = "no offspring that duplicates no member could be bred in \(options.breedingRounds) rounds"
            }
        }
        outstanding.add(proposed)
        return proposed
    }

    public mutating func tell(_ evaluations: [Evaluation]) throws(OptimizerError) {
        try outstanding.take(evaluations, objectives: objectiveCount)
        guard !evaluations.isEmpty else { return }
        self.evaluations += evaluations.count
        let members = evaluations.map(NSGA2Member.init)
        switch options.mode {
        case .generational:
            told += members
            guard outstanding.isEmpty else { return }
            let first = generation == 0
            population = RankAndCrowdingSurvival.survivors(
                of: first ? told : population + told, count: first ? told.count : options.population, random: &random)
            told = []
            generation += 1
        case .steadyState:
            for member in members {
                population = RankAndCrowdingSurvival.survivors(
                    of: population + [member], count: min(options.population, population.count + 1), random: &random)
            }
            generation = self.evaluations / options.population
        }
    }

    /// The initial population: the given `initial` genomes first (at most `population` of them),
    /// then uniform genomes for the rest of `options.population`, duplicates dropped.
    private mutating func initialPopulation() -> [Genome] {
        var genomes: [Genome] = []
        for genome in (options.initial ?? []).prefix(options.population) where !genomes.contains(where: { Self.duplicates($0, genome) }) {
            genomes.append(genome)
        }
        for _ in genomes.count..<options.population {
            let genome = randomGenome()
            if !genomes.contains(where: { Self.duplicates($0, genome) }) { genomes.append(genome) }
        }
        return genomes
    }

    /// Up to `count` uniform genomes that duplicate nothing in `avoid`.
    private mutating func sample(_ count: Int, avoiding avoid: [Genome]) -> [Genome] {
        var genomes: [Genome] = []
        for _ in 0..<options.breedingRounds where genomes.count < count {
            let genome = randomGenome()
            if !(avoid + genomes).contains(where: { Self.duplicates($0, genome) }) { genomes.append(genome) }
        }
        return genomes
    }

    private mutating func randomGenome() -> Genome {
        genes.map { gene in
            switch gene {
            case .continuous: random.uniform()
            case .categorical(let count): Double(random.integer(below: count))
            case .boolean: Double(random.integer(below: 2))
            }
        }
    }

    /// Up to `count` offspring that duplicate neither `avoid` nor each other, bred as pymoo's
    /// `InfillCriterion.do` does: rounds of ⌈remaining/2⌉ matings, duplicates dropped, the
    /// surplus of the last round cut.
    private mutating func breed(_ count: Int, avoiding avoid: [Genome]) -> [Genome] {
        let groups = GeneGroups(genes)
        let variation = NSGA2Variation(options: options)
        var offspring: [Genome] = []
        for _ in 0..<options.breedingRounds where offspring.count < count {
            let remaining = count - offspring.count
            let matings = (remaining + 1) / 2
            let parents = BinaryTournament.winners(2 * matings, from: population, random: &random)
            var batch: [Genome] = []
            for mating in 0..<matings {
                let (one, two) = variation.children(population[parents[2 * mating]].genome, population[parents[2 * mating + 1]].genome,
                                                    groups: groups, random: &random)
                batch += [one, two]
            }
            var accepted: [Genome] = []
            for child in batch where accepted.count < remaining {
                let seen = accepted.contains { Self.duplicates($0, child) } || offspring.contains { Self.duplicates($0, child) }
                    || avoid.contains { Self.duplicates($0, child) }
                if !seen { accepted.append(child) }
            }
            offspring += accepted
        }
        return offspring
    }

    /// pymoo's duplicate test: Euclidean distance at most 1e-16.
    static func duplicates(_ a: Genome, _ b: Genome) -> Bool {
        var sum = 0.0
        for index in a.indices {
            let difference = a[index] - b[index]
            sum += difference * difference
            if sum > 1e-32 { return false }
        }
        return true
    }
}

/// The genes by kind, as pymoo's `MixedVariableMating` groups variables: continuous genes
/// together, boolean genes together, each categorical gene alone.
struct GeneGroups {
    var continuous: [Int] = []
    var boolean: [Int] = []
    var categorical: [(index: Int, count: Int)] = []

    init(_ genes: [Gene]) {
        for (index, gene) in genes.enumerated() {
            switch gene {
            case .continuous: continuous.append(index)
            case .boolean: boolean.append(index)
            case .categorical(let count): categorical.append((index, count))
            }
        }
    }
}

/// One mating's variation over every gene group (see `NSGA2`).
struct NSGA2Variation {
    let crossover: SimulatedBinaryCrossover
    let mutation: PolynomialMutation
    let discrete: DiscreteVariation

    init(options: NSGA2Options) {
        crossover = SimulatedBinaryCrossover(
            probability: options.crossoverProbability, eta: options.crossoverEta, variableProbability: options.crossoverVariableProbability,
            exchangeProbability: options.crossoverExchangeProbability, swapProbability: options.crossoverSwapProbability)
        mutation = PolynomialMutation(probability: options.mutationProbability, eta: options.mutationEta,
                                      variableProbability: options.mutationVariableProbability)
        discrete = DiscreteVariation(crossoverProbability: options.crossoverProbability)
    }

    /// Two children of `first` and `second`: each group crossed, then each child mutated.
    func children<R: UniformSource>(_ first: Genome, _ second: Genome, groups: GeneGroups, random: inout R) -> (Genome, Genome) {
        var one = first, two = second
        if !groups.continuous.isEmpty {
            let (crossedOne, crossedTwo) = crossover.children(groups.continuous.map { first[$0] }, groups.continuous.map { second[$0] }, random: &random)
            let mutatedOne = mutation.mutated(crossedOne, random: &random)
            let mutatedTwo = mutation.mutated(crossedTwo, random: &random)
            for (position, index) in groups.continuous.enumerated() {
                one[index] = mutatedOne[position]
                two[index] = mutatedTwo[position]
            }
        }
        if !groups.boolean.isEmpty {
            discrete.cross(&one, &two, at: groups.boolean, random: &random)
            discrete.flip(&one, at: groups.boolean, random: &random)
            discrete.flip(&two, at: groups.boolean, random: &random)
        }
        for (index, count) in groups.categorical {
            discrete.cross(&one, &two, at: [index], random: &random)
            discrete.reset(&one, at: index, count: count, random: &random)
            discrete.reset(&two, at: index, count: count, random: &random)
        }
        return (one, two)
    }
}
