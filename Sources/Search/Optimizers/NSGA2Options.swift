/// NSGA-II's settings, defaulting to pymoo 0.6.2's `NSGA2()` (`pymoo/algorithms/moo/nsga2.py`):
/// population 100, SBX with η 15 and mating probability 0.9 (per-gene 0.5, exchange 1.0, swap
/// 0.5), polynomial mutation with η 20 (individual probability 0.9, per-gene min(0.5, 1/n)), and
/// up to 100 breeding rounds to find offspring that are not duplicates.
public struct NSGA2Options: Codable, Sendable, Equatable {
    /// How results flow back into the population.
    public enum Mode: String, Codable, Sendable, CaseIterable {
        /// pymoo's NSGA-II: whole generations of `population` offspring, (μ+λ) survival once all
        /// of them are told; `ask` returns nothing while results are outstanding.
        case generational
        /// After the initial population, every `ask` breeds one offspring from the current
        /// population, even while earlier ones are outstanding, and every result is inserted
        /// with (μ+1) rank-and-crowding survival, so no worker waits for a generation barrier.
        case steadyState
    }

    public var population: Int
    public var mode: Mode
    public var seed: UInt64
    /// Probability that a mating crosses its parents at all (pymoo's `Crossover.prob`).
    public var crossoverProbability: Double
    /// SBX distribution index η_c.
    public var crossoverEta: Double
    /// Probability that SBX crosses a given continuous gene (pymoo's `prob_var`).
    public var crossoverVariableProbability: Double
    /// Probability that a mating may swap its children gene by gene (pymoo's `prob_exch`).
    public var crossoverExchangeProbability: Double
    /// Probability that SBX swaps a crossed gene between the children (pymoo's `prob_bin`).
    public var crossoverSwapProbability: Double
    /// Polynomial mutation distribution index η_m.
    public var mutationEta: Double
    /// Probability that an offspring takes its mutated genes (pymoo's `Mutation.prob`).
    public var mutationProbability: Double
    /// Probability that a continuous gene mutates; nil means min(0.5, 1/n) for n continuous genes.
    public var mutationVariableProbability: Double?
    /// Breeding rounds allowed to fill the offspring with genomes that duplicate nothing (pymoo's
    /// `n_max_iterations`); when none can be found the optimizer stops.
    public var breedingRounds: Int
    /// Genomes that open the initial population, in this order (a warm start: the engine's best
    /// baseline), the rest of it drawn uniformly as usual. Nil or empty: all of it uniform.
    public var initial: [Genome]?

    public init(
        population: Int = 100, mode: Mode = .generational, seed: UInt64 = 1,
        crossoverProbability: Double = 0.9, crossoverEta: Double = 15, crossoverVariableProbability: Double = 0.5,
        crossoverExchangeProbability: Double = 1.0, crossoverSwapProbability: Double = 0.5,
        mutationEta: Double = 20, mutationProbability: Double = 0.9, mutationVariableProbability: Double? = nil,
        breedingRounds: Int = 100, initial: [Genome]? = nil
    ) {
        self.population = population
        self.mode = mode
        self.seed = seed
        self.crossoverProbability = crossoverProbability
        self.crossoverEta = crossoverEta
        self.crossoverVariableProbability = crossoverVariableProbability
        self.crossoverExchangeProbability = crossoverExchangeProbability
        self.crossoverSwapProbability = crossoverSwapProbability
        self.mutationEta = mutationEta
        self.mutationProbability = mutationProbability
        self.mutationVariableProbability = mutationVariableProbability
        self.breedingRounds = breedingRounds
        self.initial = initial
    }

    /// What is wrong with these options for `genes`, or nil.
    func problem(genes: [Gene]) -> String? {
        if let problem = Gene.problem(in: genes) { return problem }
        if population < 2 { return "population must be at least 2, not \(population)" }
        if breedingRounds < 1 { return "breedingRounds must be at least 1, not \(breedingRounds)" }
        for (index, genome) in (initial ?? []).enumerated() {
            guard genome.count == genes.count else { return "initial[\(index)] has \(genome.count) values for \(genes.count) genes" }
            if let gene = zip(genes, genome).first(where: { !$0.0.admits($0.1) }) { return "initial[\(index)]: \(gene.1) is not a value of gene \(gene.0)" }
        }
        let probabilities: [(String, Double?)] = [
            ("crossoverProbability", crossoverProbability), ("crossoverVariableProbability", crossoverVariableProbability),
            ("crossoverExchangeProbability", crossoverExchangeProbability), ("crossoverSwapProbability", crossoverSwapProbability),
            ("mutationProbability", mutationProbability), ("mutationVariableProbability", mutationVariableProbability),
        ]
        for case let (name, value?) in probabilities where !(value >= 0 && value <= 1) {
            return "\(name) must be in [0, 1], not \(value)"
        }
        for (name, value) in [("crossoverEta", crossoverEta), ("mutationEta", mutationEta)] where !(value >= 0 && value.isFinite) {
            return "\(name) must be a finite number ≥ 0, not \(value)"
        }
        return nil
    }
}

extension Gene {
    /// What makes `genes` unsearchable (none at all, a categorical gene without choices), or nil.
    static func problem(in genes: [Gene]) -> String? {
        if genes.isEmpty { return "there are no genes to search" }
        if genes.contains(where: { if case .categorical(let count) = $0 { count < 1 } else { false } }) {
            return "a categorical gene has no choices"
        }
        return nil
    }
}
