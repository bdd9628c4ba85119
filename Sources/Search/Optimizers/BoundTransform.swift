/// pycma's default boundary handling for a box (`BoundTransform`, which applies
/// `BoxConstraintsLinQuadTransformation` from cma/transformations.py): a periodic map from the
/// whole real line onto [lower, upper] that is the identity on [lower + a, upper − a], quadratic
/// (C¹) in the margins of width a = min((upper − lower) / 2, max(1, |bound|) / 20), and mirrored
/// beyond them with period 2 (upper − lower + 2a).
///
/// Why: CMA-ES keeps its distribution in unbounded internal coordinates and only the proposed
/// point is mapped into the box, so every proposal is feasible, the update learns from the
/// unmapped sample, and the interior behaves exactly like unbounded CMA-ES.
struct BoundTransform: Codable, Sendable, Equatable {
    let lower: Double
    let upper: Double
    let lowerMargin: Double
    let upperMargin: Double

    /// `margin_width2` of cma/transformations.py, the default.
    init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
        lowerMargin = min((upper - lower) / 2, max(1, abs(lower)) / 20)
        upperMargin = min((upper - lower) / 2, max(1, abs(upper)) / 20)
    }

    /// The unit interval every bounded gene lives in.
    static let unit = BoundTransform(lower: 0, upper: 1)

    /// The point of [lower, upper] that internal coordinate `x` stands for; never outside the
    /// box, and the box's centre for a non-finite `x` (which a finite distribution cannot draw).
    func transform(_ x: Double) -> Double {
        guard x.isFinite else { return (lower + upper) / 2 }
        let y = intoInvertibleDomain(x)
        let value: Double
        if y < lower + lowerMargin {
            value = lower + (y - (lower - lowerMargin)) * (y - (lower - lowerMargin)) / 4 / lowerMargin
        } else if y < upper - upperMargin {
            value = y
        } else {
            value = upper - (y - (upper + upperMargin)) * (y - (upper + upperMargin)) / 4 / upperMargin
        }
        return min(upper, max(lower, value))
    }

    /// The internal coordinate in [lower − a, upper + a] that maps to `y` (clamped into the box).
    func inverse(_ y: Double) -> Double {
        let y = min(upper, max(lower, y))
        if y < lower + lowerMargin {
            return (lower - lowerMargin) + 2 * (lowerMargin * (y - lower)).squareRoot()
        } else if y < upper - upperMargin {
            return y
        }
        return (upper + upperMargin) - 2 * (upperMargin * (upper - y)).squareRoot()
    }

    /// Shifts by whole periods and mirrors `x` into [lower − a, upper + a]
    /// (`shift_or_mirror_into_invertible_domain`).
    private func intoInvertibleDomain(_ x: Double) -> Double {
        var x = x
        let width = upper - lower
        if x < lower - 2 * lowerMargin - width / 2 || x > upper + 2 * upperMargin + width / 2 {
            let period = 2 * (width + lowerMargin + upperMargin)
            let start = lower - 2 * lowerMargin - width / 2
            x -= period * ((x - start) / period).rounded(.down)
        }
        if x > upper + upperMargin { x -= 2 * (x - upper - upperMargin) }
        if x < lower - lowerMargin { x += 2 * (lower - lowerMargin - x) }
        return x
    }
}
