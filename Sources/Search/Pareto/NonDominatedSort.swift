/// Fast non-dominated sorting (Deb et al. 2002, "A fast and elitist multiobjective genetic
/// algorithm: NSGA-II", §III-A): the points split into fronts, the first holding the points no
/// other point dominates, each next one the points dominated only by earlier fronts.
///
/// O(M N²) comparisons for N points of M objectives (minimized). Equal points do not dominate
/// each other and share a front. Each front lists its indices in increasing order, as pymoo's
/// `NonDominatedSorting` returns them, so ties later broken by position (crowding distance's
/// stable sort) fall the same way. Points are expected finite: a NaN neither dominates nor is
/// dominated.
public enum NonDominatedSort {
    /// The fronts of `points`, best first; every index appears in exactly one front.
    public static func fronts(_ points: [[Double]]) -> [[Int]] {
        let count = points.count
        guard count > 0 else { return [] }
        var dominatedBy = [Int](repeating: 0, count: count)
        var dominating = [[Int]](repeating: [], count: count)
        for i in 0..<count {
            for j in (i + 1)..<count {
                switch Dominance.relation(points[i], points[j]) {
                case .dominates:
                    dominating[i].append(j)
                    dominatedBy[j] += 1
                case .dominated:
                    dominating[j].append(i)
                    dominatedBy[i] += 1
                case .incomparable:
                    break
                }
            }
        }
        var fronts: [[Int]] = []
        var current = (0..<count).filter { dominatedBy[$0] == 0 }
        while !current.isEmpty {
            fronts.append(current)
            var next: [Int] = []
            for i in current {
                for j in dominating[i] {
                    dominatedBy[j] -= 1
                    if dominatedBy[j] == 0 { next.append(j) }
                }
            }
            current = next.sorted()
        }
        return fronts
    }

    /// The front number of every point (0 for the non-dominated ones).
    public static func ranks(_ points: [[Double]]) -> [Int] {
        var ranks = [Int](repeating: 0, count: points.count)
        for (rank, front) in fronts(points).enumerated() {
            for index in front { ranks[index] = rank }
        }
        return ranks
    }
}
