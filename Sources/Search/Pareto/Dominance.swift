/// How two objective vectors compare under Pareto dominance, every objective minimized.
///
/// `a` dominates `b` when it is no worse in every objective and better in at least one (Deb et
/// al. 2002, "A fast and elitist multiobjective genetic algorithm: NSGA-II", §II; pymoo's
/// `Dominator.get_relation`). Equal vectors, and vectors each better somewhere, are
/// `.incomparable`, and so are vectors of different lengths. A NaN compares as neither smaller nor
/// larger, so callers pass finite values.
public enum Dominance: Sendable, Equatable {
    case dominates
    case dominated
    case incomparable

    /// The relation of `a` to `b`.
    public static func relation(_ a: [Double], _ b: [Double]) -> Dominance {
        guard a.count == b.count else { return .incomparable }
        var aBetter = false, bBetter = false
        for index in a.indices {
            if a[index] < b[index] {
                if bBetter { return .incomparable }
                aBetter = true
            } else if b[index] < a[index] {
                if aBetter { return .incomparable }
                bBetter = true
            }
        }
        return aBetter ? .dominates : bBetter ? .dominated : .incomparable
    }

    /// Whether `a` dominates `b`.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        relation(a, b) == .dominates
    }
}
