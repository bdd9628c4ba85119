import Foundation

/// Where the variation operators take their randomness: the search's generator, or draws recorded
/// from pymoo when a test replays them. Each operator consumes its draws in the order pymoo's
/// vectorized code makes them for one mating or one individual.
protocol UniformSource {
    /// A uniform deviate in [0, 1).
    mutating func uniform() -> Double
    /// A uniform integer in 0..<bound.
    mutating func integer(below bound: Int) -> Int
}

extension SearchRandom: UniformSource {}

/// Simulated binary crossover for genes in [0, 1] (Deb & Agrawal 1995, "Simulated binary
/// crossover for continuous search space"; the bounded form of Deb & Beyer 2001), exactly as
/// pymoo 0.6.2 computes it (`pymoo/operators/crossover/sbx.py`, `cross_sbx`, and the mating coin
/// of `pymoo/core/crossover.py`).
///
/// Per mating: with `probability` the parents are crossed, otherwise copied. With probability
/// 1 − `exchangeProbability` no child swap happens in this mating. Per gene: crossed with
/// `variableProbability` unless the parents differ by 1e-14 or less. For y1 < y2 and one uniform
/// u shared by both children, β = 1 + 2(y1 − 0)/(y2 − y1) for the lower child and
/// 1 + 2(1 − y2)/(y2 − y1) for the upper one, α = 2 − β^−(η+1), β_q = (uα)^(1/(η+1)) if u ≤ 1/α,
/// else (1/(2 − uα))^(1/(η+1)); children ½((y1 + y2) ∓ β_q (y2 − y1)), assigned to the parent
/// they came from, then swapped with `swapProbability` (pymoo's `prob_bin`), then clamped to
/// [0, 1].
struct SimulatedBinaryCrossover: Codable, Sendable, Equatable {
    var probability: Double
    var eta: Double
    var variableProbability: Double
    var exchangeProbability: Double
    var swapProbability: Double

    /// Parents closer than this are not crossed (pymoo's `eps`).
    static let tooClose = 1.0e-14

    /// The two children of `first` and `second` (equal lengths, values in [0, 1]).
    func children<R: UniformSource>(_ first: [Double], _ second: [Double], random: inout R) -> ([Double], [Double]) {
        guard random.uniform() < probability else { return (first, second) }
        let swapping = random.uniform() > exchangeProbability ? 0 : swapProbability
        var crossed: [Int] = []
        for index in first.indices where random.uniform() < variableProbability {
            if abs(first[index] - second[index]) > Self.tooClose { crossed.append(index) }
        }
        let spreads = crossed.map { _ in random.uniform() }
        var one = first, two = second
        for (offset, index) in crossed.enumerated() {
            let p1 = first[index], p2 = second[index]
            let y1 = min(p1, p2), y2 = max(p1, p2), delta = y2 - y1
            let u = spreads[offset]
            let lower = 0.5 * ((y1 + y2) - spreadFactor(beta: 1 + 2 * y1 / delta, u: u) * delta)
            let upper = 0.5 * ((y1 + y2) + spreadFactor(beta: 1 + 2 * (1 - y2) / delta, u: u) * delta)
            // The child of the smaller parent is the lower one; pymoo then swaps with `swapping`,
            // its XOR with (p1 > p2) undoing the assignment's order.
            var child1 = p1 < p2 ? lower : upper, child2 = p1 < p2 ? upper : lower
            if (random.uniform() < swapping) != (p1 > p2) { swap(&child1, &child2) }
            one[index] = UnitInterval.clamp(child1, fallback: p1)
            two[index] = UnitInterval.clamp(child2, fallback: p2)
        }
        return (one, two)
    }

    /// pymoo's `calc_betaq`.
    private func spreadFactor(beta: Double, u: Double) -> Double {
        let alpha = 2.0 - Foundation.pow(beta, -(eta + 1.0))
        if u <= 1.0 / alpha { return Foundation.pow(u * alpha, 1.0 / (eta + 1.0)) }
        return Foundation.pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0))
    }
}

/// Polynomial mutation for genes in [0, 1] (Deb & Goyal 1996, "A combined genetic adaptive
/// search (GeneAS) for engineering design"), exactly as pymoo 0.6.2 computes it
/// (`pymoo/operators/mutation/pm.py`, `mut_pm`, and the individual coin of
/// `pymoo/core/mutation.py`).
///
/// Each gene is picked with `variableProbability` (pymoo: min(0.5, 1/n) for n genes). For a
/// picked x and uniform u: if u ≤ 0.5, δ = (2u + (1 − 2u)(1 − x)^(η+1))^(1/(η+1)) − 1, else
/// δ = 1 − (2(1 − u) + 2(u − 0.5)(1 − (1 − x))^(η+1))^(1/(η+1)); the gene becomes x + δ, clamped
/// to [0, 1]. The mutated genome replaces the original with `probability` (pymoo's `PM(prob=0.9)`
/// default), otherwise the individual is left as it was.
struct PolynomialMutation: Codable, Sendable, Equatable {
    var probability: Double
    var eta: Double
    /// nil: min(0.5, 1/n) for a genome of n genes.
    var variableProbability: Double?

    func mutated<R: UniformSource>(_ genome: [Double], random: inout R) -> [Double] {
        guard !genome.isEmpty else { return genome }
        let perGene = variableProbability ?? min(0.5, 1.0 / Double(genome.count))
        let picked = genome.indices.filter { _ in random.uniform() < perGene }
        var result = genome
        let power = 1.0 / (eta + 1.0)
        for index in picked {
            let x = genome[index], u = random.uniform()
            let delta: Double
            if u <= 0.5 {
                let value = 2.0 * u + (1.0 - 2.0 * u) * Foundation.pow(1.0 - x, eta + 1.0)
                delta = Foundation.pow(value, power) - 1.0
            } else {
                let value = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * Foundation.pow(1.0 - (1.0 - x), eta + 1.0)
                delta = 1.0 - Foundation.pow(value, power)
            }
            result[index] = UnitInterval.clamp(x + delta, fallback: x)
        }
        return random.uniform() <= probability ? result : genome
    }
}

/// The operators for categorical and boolean genes, as pymoo's mixed-variable GA pairs them
/// (`pymoo/core/mixed.py`, `MixedVariableMating`): uniform crossover (`ux.py`: with the mating
/// probability, each gene swapped between the children with probability ½), then bit flip for
/// booleans (`bitflip.py`: each flipped with min(0.5, 1/n) for n boolean genes) and random reset
/// for a categorical gene (`rm.py`: pymoo mutates each categorical variable on its own, so with
/// probability min(0.5, 1/1) = ½ it is redrawn uniformly among its choices, possibly the same).
struct DiscreteVariation: Codable, Sendable, Equatable {
    var crossoverProbability: Double

    /// Uniform crossover of the genes at `indices`.
    func cross<R: UniformSource>(_ first: inout [Double], _ second: inout [Double], at indices: [Int], random: inout R) {
        guard random.uniform() < crossoverProbability else { return }
        for index in indices where random.uniform() < 0.5 {
            swap(&first[index], &second[index])
        }
    }

    /// Bit flip of the boolean genes at `indices`.
    func flip<R: UniformSource>(_ genome: inout [Double], at indices: [Int], random: inout R) {
        let perGene = min(0.5, 1.0 / Double(max(1, indices.count)))
        for index in indices where random.uniform() < perGene {
            genome[index] = genome[index] == 0 ? 1 : 0
        }
    }

    /// Random reset of the categorical gene at `index` with `count` choices.
    func reset<R: UniformSource>(_ genome: inout [Double], at index: Int, count: Int, random: inout R) {
        if random.uniform() < 0.5 { genome[index] = Double(random.integer(below: count)) }
    }
}

/// Values kept inside [0, 1], as pymoo's `repair_clamp` does after each operator.
enum UnitInterval {
    /// `value` clamped to [0, 1]; `fallback` if it is not a number (it cannot be one with finite
    /// parents, but a NaN must never leave an operator).
    static func clamp(_ value: Double, fallback: Double) -> Double {
        if value.isNaN { return fallback }
        return value < 0 ? 0 : value > 1 ? 1 : value
    }
}
