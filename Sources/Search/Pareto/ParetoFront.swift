/// The non-dominated subset of a set of points, every objective minimized, each point carrying
/// an element (a candidate id, a genome): what the archive shows as the front and exports.
///
/// Points that are equal are all kept (none dominates another, as in pymoo's
/// `find_non_dominated` with `keep_weakly`), so two candidates with the same objectives both
/// appear. A point with a non-finite value, or with another number of objectives than the front
/// already holds, is refused: failed evaluations never enter a front.
public struct ParetoFront<Element> {
    /// One member: its objective values and what it stands for.
    public struct Entry {
        public let objectives: [Double]
        public let element: Element

        public init(objectives: [Double], element: Element) {
            self.objectives = objectives
            self.element = element
        }
    }

    /// The members in the order they entered.
    public private(set) var entries: [Entry] = []

    public init() {}

    /// The front of `entries`, which may hold dominated, duplicate or non-finite points.
    public init(_ entries: [Entry]) {
        for entry in entries { insert(entry.element, objectives: entry.objectives) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var objectives: [[Double]] { entries.map(\.objectives) }

    /// Adds a point unless a member dominates it, removing the members it dominates. Returns
    /// whether it entered.
    @discardableResult
    public mutating func insert(_ element: Element, objectives: [Double]) -> Bool {
        guard !objectives.isEmpty, objectives.allSatisfy(\.isFinite) else { return false }
        if let first = entries.first, first.objectives.count != objectives.count { return false }
        if entries.contains(where: { Dominance.dominates($0.objectives, objectives) }) { return false }
        entries.removeAll { Dominance.dominates(objectives, $0.objectives) }
        entries.append(Entry(objectives: objectives, element: element))
        return true
    }

    /// Whether a member dominates `objectives`.
    public func dominates(_ objectives: [Double]) -> Bool {
        entries.contains { Dominance.dominates($0.objectives, objectives) }
    }

    /// The hypervolume of the front up to `reference` (see `Hypervolume`).
    public func hypervolume(reference: [Double]) -> Double {
        Hypervolume.of(objectives, reference: reference)
    }

    /// Indices of the points no other point dominates, in increasing order; points with a
    /// non-finite value are left out.
    public static func nondominatedIndices(_ points: [[Double]]) -> [Int] {
        let finite = points.indices.filter { points[$0].allSatisfy(\.isFinite) }
        return finite.filter { index in
            !finite.contains { Dominance.dominates(points[$0], points[index]) }
        }
    }
}

extension ParetoFront.Entry: Sendable where Element: Sendable {}
extension ParetoFront: Sendable where Element: Sendable {}
extension ParetoFront.Entry: Equatable where Element: Equatable {}
extension ParetoFront: Equatable where Element: Equatable {}
extension ParetoFront.Entry: Codable where Element: Codable {}
extension ParetoFront: Codable where Element: Codable {}
