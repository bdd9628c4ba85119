/// NSGA-II's crowding distance (Deb et al. 2002, §III-B) with pymoo's exact semantics
/// (`pymoo/operators/survival/rank_and_crowding/metrics.py`, `calc_crowding_distance`): how much
/// room a point of a front has around it, larger meaning lonelier, so survival keeps spread.
///
/// - Two points or fewer: every distance is +∞.
/// - Per objective, points are ordered by a stable sort; the first and last get +∞ from that
///   objective, each inner point the gap between its neighbours divided by the objective's range
///   (max − min). An objective whose values are all equal adds 0 for every point, extremes
///   included.
/// - The sum over objectives is divided by the number of objectives.
/// - Duplicates are not filtered: equal values keep their input order, so of equal points the
///   first can sit at the low extreme of an objective and the last at the high one; between twins
///   the gap is 0.
///
/// Values must be finite (NSGA-II computes this only over successful evaluations), so the result
/// never holds a NaN.
public enum CrowdingDistance {
    /// The crowding distance of every point of `front` (one objective vector each).
    public static func of(_ front: [[Double]]) -> [Double] {
        let count = front.count
        guard count > 2 else { return [Double](repeating: .infinity, count: count) }
        let objectives = front.map(\.count).min() ?? 0
        var distance = [Double](repeating: 0, count: count)
        for objective in 0..<objectives {
            // Stable: equal values keep their input order (numpy's mergesort).
            let order = (0..<count).sorted { a, b in
                front[a][objective] < front[b][objective] || (front[a][objective] == front[b][objective] && a < b)
            }
            let lowest = front[order[0]][objective], highest = front[order[count - 1]][objective]
            let range = highest - lowest
            guard range > 0 else { continue }
            for position in 0..<count {
                let value = front[order[position]][objective]
                let toPrevious = position == 0 ? Double.infinity : (value - front[order[position - 1]][objective]) / range
                let toNext = position == count - 1 ? Double.infinity : (front[order[position + 1]][objective] - value) / range
                distance[order[position]] += toPrevious + toNext
            }
        }
        return distance.map { $0 / Double(max(1, objectives)) }
    }
}
