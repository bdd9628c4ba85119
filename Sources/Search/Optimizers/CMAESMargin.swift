import Foundation

/// The margin that keeps categorical and boolean genes alive, in the spirit of CMA-ES with
/// Margin (Hamano, Saito, Nomura & Shirakawa, GECCO 2022: "CMA-ES with Margin: Lower-Bounding
/// Marginal Probability for Mixed-Integer Black-Box Optimization").
///
/// A gene with k choices is one internal coordinate x; its choice is ⌊k · T(x)⌋ (capped at
/// k − 1), T the unit `BoundTransform`. Without a margin, CMA-ES shrinks that coordinate's
/// standard deviation until one choice is sampled forever. Here its marginal standard deviation
/// s is lower-bounded (through pycma's `minstd` mechanism, `CMAESRun`) so that the probability
/// of sampling another choice than the mean's stays at least α (the paper's default α = 1/(nλ)).
///
/// For the mean at the least favourable place of its choice's preimage, the centre, that
/// probability is 2Φ(−d/s), with d the distance from the centre to the preimage's ends: half a
/// choice's width 1/(2k) for an inner choice, and 1/k + a for the first and last (T mirrors
/// about −a and 1 + a, a = 0.05, so their preimage is twice as wide). Hence
/// s ≥ d / Φ⁻¹(1 − α/2), with d taken for the choice the mean is in.
struct CMAESMargin: Codable, Sendable, Equatable {
    /// k for each coordinate that encodes a choice, 0 for a continuous one.
    let choices: [Int]
    /// Φ⁻¹(1 − α/2); 0 turns the margin off.
    let quantile: Double

    init(choices: [Int], alpha: Double) {
        self.choices = choices
        quantile = alpha > 0 ? Self.normalQuantile(1 - alpha / 2) : 0
    }

    /// The least standard deviation of coordinate `index` when the mean sits at `mean`
    /// (internal coordinates); 0 when no floor applies.
    func floor(index: Int, mean: Double) -> Double {
        let k = choices[index]
        guard k >= 2, quantile > 0 else { return 0 }
        let transform = BoundTransform.unit
        let choice = min(k - 1, Int((transform.transform(mean) * Double(k)).rounded(.down)))
        let width = 1 / Double(k)
        let distance = choice == 0 || choice == k - 1 ? width + transform.lowerMargin : width / 2
        return distance / quantile
    }

    /// Φ⁻¹(p) for p in (0, 1), by bisection on Φ(x) = erfc(−x/√2)/2 (used once per run).
    static func normalQuantile(_ p: Double) -> Double {
        var low = -40.0, high = 40.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if Foundation.erfc(-middle / 2.0.squareRoot()) / 2 < p { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}
