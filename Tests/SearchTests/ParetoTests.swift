import Foundation
import Testing
@testable import Search

/// Golden files written by tools/make_pareto_goldens.py from pymoo 0.6.2 and scipy.
enum SearchFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Decodes a fixture; infinities are written as the strings "Infinity" / "-Infinity".
    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try OptimizerStateCoding.decoder().decode(type, from: Data(contentsOf: folder.appendingPathComponent(name)))
    }
}

@Suite struct ParetoTests {
    struct SortingGolden: Decodable {
        let points: [[Double]]
        let fronts: [[Int]]
        let crowding: [[Double]]
    }

    @Test func dominanceRelations() {
        #expect(Dominance.relation([1, 2], [2, 2]) == .dominates)
        #expect(Dominance.relation([2, 3], [1, 3]) == .dominated)
        #expect(Dominance.relation([1, 3], [2, 2]) == .incomparable)
        #expect(Dominance.relation([1, 1], [1, 1]) == .incomparable)
        #expect(Dominance.relation([1, 1], [1, 1, 0]) == .incomparable)
        #expect(Dominance.dominates([0, 0, 0], [0, 0, 1]))
        #expect(!Dominance.dominates([0, 0, 1], [0, 0, 1]))
    }

    @Test func fastNonDominatedSortOnAHandMadeSet() {
        // 0 and 2 are equal, 3 and 4 are the extremes; 1 is dominated by 0 and 2; 5 by 1.
        let points: [[Double]] = [[1, 1], [2, 2], [1, 1], [0, 3], [3, 0], [3, 3]]
        #expect(NonDominatedSort.fronts(points) == [[0, 2, 3, 4], [1], [5]])
        #expect(NonDominatedSort.ranks(points) == [0, 1, 0, 0, 0, 2])
        #expect(NonDominatedSort.fronts([]) == [])
        #expect(NonDominatedSort.fronts([[5, 5]]) == [[0]])
        // A chain: each point dominated by the one before it.
        #expect(NonDominatedSort.fronts([[3, 3, 3], [1, 1, 1], [2, 2, 2], [0, 0, 0]]) == [[3], [1], [2], [0]])
    }

    @Test func crowdingDistanceOnHandMadeFronts() {
        let front: [[Double]] = [[0, 3], [1, 2], [2, 1], [3, 0]]
        let distance = CrowdingDistance.of(front)
        #expect(distance[0] == .infinity && distance[3] == .infinity)
        // Gaps 2/3 in each objective, averaged over the two objectives.
        #expect(abs(distance[1] - 2.0 / 3) < 1e-15 && abs(distance[2] - 2.0 / 3) < 1e-15)
        #expect(CrowdingDistance.of([[1, 2], [2, 1]]) == [.infinity, .infinity])
        #expect(CrowdingDistance.of([]) == [])
        // A constant objective adds nothing, extremes included; the other objective gives ∞ at its ends.
        let flat = CrowdingDistance.of([[0, 5], [1, 5], [3, 5]])
        #expect(flat[0] == .infinity && flat[2] == .infinity && abs(flat[1] - 0.5) < 1e-15)
        // All points equal: no range anywhere, every distance 0 (pymoo), never NaN.
        #expect(CrowdingDistance.of([[1, 1], [1, 1], [1, 1]]) == [0, 0, 0])
        // Duplicates: sorted stably, the first of two equal points sits at the low end of the first
        // objective, the second at the high end of the second objective.
        let duplicated = CrowdingDistance.of([[0, 2], [0, 2], [1, 1], [2, 0]])
        #expect(duplicated == [.infinity, .infinity, 1, .infinity])
    }

    /// Fronts and crowding distances equal pymoo's on random sets, integer grids with ties and
    /// duplicates, and tiny sets.
    @Test func sortingAndCrowdingMatchPymoo() throws {
        let cases = try SearchFixtures.load("pareto.json", as: [SortingGolden].self)
        #expect(cases.count >= 10)
        for golden in cases {
            let fronts = NonDominatedSort.fronts(golden.points)
            #expect(fronts == golden.fronts)
            for (front, expected) in zip(fronts, golden.crowding) {
                let distance = CrowdingDistance.of(front.map { golden.points[$0] })
                #expect(distance.count == expected.count)
                for (value, reference) in zip(distance, expected) {
                    #expect(value == reference || abs(value - reference) <= 1e-12 * max(1, abs(reference)), "\(value) vs \(reference)")
                }
            }
        }
    }

    @Test func paretoFrontKeepsTheNonDominatedPoints() {
        var front = ParetoFront<String>()
        let entered = [
            front.insert("a", objectives: [2, 2]), front.insert("b", objectives: [1, 3]), front.insert("dominated", objectives: [3, 3]),
            front.insert("equal", objectives: [2, 2]), front.insert("c", objectives: [1, 1]),  // c dominates a, b and equal
        ]
        #expect(entered == [true, true, false, true, true])
        #expect(front.entries.map(\.element) == ["c"])
        let refused = [
            front.insert("failed", objectives: [.nan, 0]), front.insert("infinite", objectives: [-.infinity, 0]),
            front.insert("wrong length", objectives: [0, 0, 0]), front.insert("empty", objectives: []),
        ]
        #expect(refused == [false, false, false, false])
        let enteredD = front.insert("d", objectives: [0, 4])
        #expect(enteredD)
        #expect(front.entries.map(\.element) == ["c", "d"])
        #expect(front.dominates([2, 5]) && !front.dominates([0.5, 0.5]))
        #expect(abs(front.hypervolume(reference: [5, 5]) - 17) < 1e-12)
    }

    @Test func paretoFrontOfASetAgreesWithTheFirstFront() throws {
        for golden in try SearchFixtures.load("pareto.json", as: [SortingGolden].self) {
            let front = ParetoFront(golden.points.enumerated().map { ParetoFront.Entry(objectives: $0.element, element: $0.offset) })
            #expect(front.entries.map(\.element).sorted() == golden.fronts.first ?? [])
            #expect(ParetoFront<Int>.nondominatedIndices(golden.points) == golden.fronts.first ?? [])
        }
        #expect(ParetoFront<Int>.nondominatedIndices([[1, .nan], [2, 2], [3, 1]]) == [1, 2])
    }
}
