import Foundation

/// How far a racing candidate's full calibration score can lie from what its first examples
/// gave: a Hoeffding–Serfling bound for sampling without replacement (Serfling 1974, "Probability
/// inequalities for the sum in sampling without replacement", Ann. Statist. 2(1), Theorem 2.1;
/// restated as Bardenet & Maillard 2015, "Concentration inequalities for sampling without
/// replacement", Bernoulli 21(3), §2).
///
/// The setting is exact, not an approximation: each task's calibration examples are scored in a
/// seeded uniformly random order (`RacingSchedule`), so after m of its N examples the task's
/// mean â is the mean of a simple random sample of the N per-example scores, each 0 or 1, whose
/// mean a is the very score racing off would record. Serfling bounds the moment generating
/// function of such a sample's sum, E exp(λ m (â − a)) ≤ exp(λ² m (1 − f*) / 8) with f* = (m − 1)/N.
/// The `accuracy` objective is a weighted mean Σ vₜ âₜ (vₜ = wₜ / Σ w) of tasks drawn
/// independently, so the MGFs multiply, and Chernoff's method gives for either tail
///
///     P(Σ vₜ (aₜ − âₜ) ≥ ε) ≤ exp(−2 ε² / S),   S = Σ vₜ² (1 − f*ₜ) / mₜ,
///     ε = √(S · ln(1 / (1 − confidence)) / 2).
///
/// A task scored on all its examples (m = N) contributes nothing: its score is known. The bound
/// holds with probability `confidence` over the example order, for each candidate and stage
/// separately (no union over the comparisons of a run is taken, as in Hoeffding races, Maron &
/// Moore 1994, whose δ is per comparison too).
public enum ConfidenceBound {
    /// One task of a weighted mean: its weight in the mean, examples scored and examples in all.
    public struct Term: Sendable, Equatable {
        public let weight: Double
        public let scored: Int
        public let total: Int

        public init(weight: Double, scored: Int, total: Int) {
            self.weight = weight
            self.scored = scored
            self.total = total
        }
    }

    /// ε such that the full weighted mean lies within ±ε of the partial one, each side with
    /// probability at least `confidence`; +∞ when a weighted task has no example scored yet.
    public static func radius(_ terms: [Term], confidence: Double) -> Double {
        let weights = terms.reduce(0) { $0 + $1.weight }
        guard weights > 0 else { return 0 }
        var spread = 0.0
        for term in terms where term.weight > 0 && term.scored < term.total {
            guard term.scored > 0 else { return .infinity }
            let share = term.weight / weights
            let remaining = 1 - Double(term.scored - 1) / Double(term.total)
            spread += share * share * remaining / Double(term.scored)
        }
        return (spread * Foundation.log(1 / (1 - confidence)) / 2).squareRoot()
    }
}
