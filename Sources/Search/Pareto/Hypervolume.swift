/// The exact hypervolume indicator (Zitzler & Thiele 1998): the volume of objective space that a
/// set of points dominates and that dominates a reference point, every objective minimized. It is
/// the figure NSGA-II runs are compared by (pymoo's `Hypervolume`, computed there by moocore).
///
/// - Only points strictly better than the reference in every objective contribute; points on or
///   beyond it, points of another dimension and points with a non-finite value contribute nothing.
///   Dominated points and duplicates are allowed and change nothing.
/// - 1-D: the gap to the reference. 2-D: a sweep in x order, O(n log n). 3-D: a sweep over the
///   third objective that keeps the 2-D front of the points below the plane in a sorted array and
///   adds each slab's area, O(n²) (the slicing of While et al. 2006, "A faster algorithm for
///   calculating hypervolume", with the 2-D base done incrementally).
/// - 4-D and above: hypervolume by slicing objectives (HSO, While et al. 2006): the points are
///   sorted by their last objective, and each slab between consecutive values contributes the
///   (d−1)-dimensional hypervolume of the points below it times its thickness, recursing down to
///   the 3-D sweep. O(n^(d−1)): exact and fast for the populations NSGA-II keeps, not meant for
///   thousands of points in many objectives.
public enum Hypervolume {
    /// The hypervolume `points` dominate up to `reference`.
    public static func of(_ points: [[Double]], reference: [Double]) -> Double {
        let dimension = reference.count
        guard dimension > 0, reference.allSatisfy(\.isFinite) else { return 0 }
        let inside = points.filter { point in
            point.count == dimension && point.allSatisfy(\.isFinite) && zip(point, reference).allSatisfy { $0 < $1 }
        }
        guard !inside.isEmpty else { return 0 }
        return volume(inside, reference: reference)
    }

    /// Hypervolume of points already known to lie strictly inside the reference box.
    static func volume(_ points: [[Double]], reference: [Double]) -> Double {
        switch reference.count {
        case 1: return reference[0] - points.reduce(reference[0]) { min($0, $1[0]) }
        case 2: return area(points.map { ($0[0], $0[1]) }, reference: (reference[0], reference[1]))
        case 3: return volume3D(points, reference: reference)
        default: return sliced(points, reference: reference)
        }
    }

    /// 2-D sweep: sorted by x, each point that lowers the best y so far adds the strip between
    /// its y and the previous best, from its x to the reference.
    static func area(_ points: [(Double, Double)], reference: (Double, Double)) -> Double {
        let sorted = points.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        var total = 0.0, bestY = reference.1
        for (x, y) in sorted where y < bestY {
            total += (reference.0 - x) * (bestY - y)
            bestY = y
        }
        return total
    }

    /// 3-D sweep over z with an incrementally maintained 2-D front.
    static func volume3D(_ points: [[Double]], reference: [Double]) -> Double {
        let sorted = points.sorted { $0[2] < $1[2] }
        var front = StaircaseFront()
        var total = 0.0
        for (index, point) in sorted.enumerated() {
            front.insert(x: point[0], y: point[1], reference: (reference[0], reference[1]))
            let nextZ = index + 1 < sorted.count ? sorted[index + 1][2] : reference[2]
            if nextZ > point[2] { total += front.area * (nextZ - point[2]) }
        }
        return total
    }

    /// HSO: slabs along the last objective, each the (d−1)-D hypervolume of the points below it.
    static func sliced(_ points: [[Double]], reference: [Double]) -> Double {
        let last = reference.count - 1
        let sorted = points.sorted { $0[last] < $1[last] }
        let lower = Array(reference.dropLast())
        var total = 0.0
        var below: [[Double]] = []
        for (index, point) in sorted.enumerated() {
            let projected = Array(point.dropLast())
            // Only the non-dominated projections matter below the plane: drop the dominated ones.
            if !below.contains(where: { dominatesOrEquals($0, projected) }) {
                below.removeAll { dominatesOrEquals(projected, $0) }
                below.append(projected)
            }
            let nextValue = index + 1 < sorted.count ? sorted[index + 1][last] : reference[last]
            if nextValue > point[last] { total += volume(below, reference: lower) * (nextValue - point[last]) }
        }
        return total
    }

    /// Whether `a` is no worse than `b` in every objective.
    static func dominatesOrEquals(_ a: [Double], _ b: [Double]) -> Bool {
        zip(a, b).allSatisfy { $0 <= $1 }
    }
}

/// A 2-D non-dominated staircase kept sorted by x (and so by decreasing y), with its area up to
/// a reference point; the base of the 3-D sweep.
struct StaircaseFront {
    private var xs: [Double] = []
    private var ys: [Double] = []
    private(set) var area = 0.0

    /// Adds a point unless a point of the front is no worse in both coordinates; drops the points
    /// it makes redundant and updates the area.
    mutating func insert(x: Double, y: Double, reference: (Double, Double)) {
        // First position whose x is greater than the new x: everything before has x ≤ new x.
        var low = 0, high = xs.count
        while low < high {
            let middle = (low + high) / 2
            if xs[middle] <= x { low = middle + 1 } else { high = middle }
        }
        let position = low
        // The point before has the smallest y among those with x ≤ new x.
        if position > 0 && ys[position - 1] <= y { return }
        // The point with the same x (if any) and the points after it with y ≥ new y are now
        // dominated; they form a run.
        let start = position > 0 && xs[position - 1] == x ? position - 1 : position
        var end = position
        while end < xs.count && ys[end] >= y { end += 1 }
        xs.replaceSubrange(start..<end, with: [x])
        ys.replaceSubrange(start..<end, with: [y])
        var total = 0.0, bestY = reference.1
        for index in xs.indices {
            total += (reference.0 - xs[index]) * (bestY - ys[index])
            bestY = ys[index]
        }
        area = total
    }
}
