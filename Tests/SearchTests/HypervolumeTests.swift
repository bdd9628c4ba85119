import Foundation
import Testing
@testable import Search

@Suite struct HypervolumeTests {
    struct Golden: Decodable {
        let points: [[Double]]
        let reference: [Double]
        let hypervolume: Double
    }

    static func close(_ value: Double, _ expected: Double) -> Bool {
        abs(value - expected) <= 1e-12 * max(1, abs(expected))
    }

    @Test func oneAndTwoDimensions() {
        #expect(Hypervolume.of([[0.25], [0.5]], reference: [1]) == 0.75)
        // A staircase: strips 3·1 + 2·1 + 1·1.
        let staircase: [[Double]] = [[1, 3], [2, 2], [3, 1]]
        #expect(Hypervolume.of(staircase, reference: [4, 4]) == 6)
        // A duplicate, a dominated point, points beyond or on the reference change nothing.
        let noisy = staircase + [[2, 2], [3, 3], [5, 0], [0, 4], [4, 0], [.nan, 0], [0, .infinity], [1, 1, 1]]
        #expect(Hypervolume.of(noisy, reference: [4, 4]) == 6)
        #expect(Hypervolume.of([], reference: [1, 1]) == 0)
        #expect(Hypervolume.of([[2, 2]], reference: [1, 1]) == 0)
        #expect(Hypervolume.of([[0, 0]], reference: [.nan, 1]) == 0)
    }

    @Test func threeDimensions() {
        #expect(Hypervolume.of([[0, 0, 0]], reference: [1, 1, 1]) == 1)
        // Boxes of volume 0.5 and 0.25 overlapping in 0.125.
        #expect(Self.close(Hypervolume.of([[0, 0, 0.5], [0.5, 0.5, 0]], reference: [1, 1, 1]), 0.625))
        // The unit vectors against (2, 2, 2): the whole cube but the corner [1, 2]³.
        let units: [[Double]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        #expect(Hypervolume.of(units, reference: [2, 2, 2]) == 7)
        #expect(Hypervolume.of(units + units + [[1, 1, 1], [3, 0, 0]], reference: [2, 2, 2]) == 7)
    }

    @Test func fourAndFiveDimensions() {
        for dimension in [4, 5] {
            let units = (0..<dimension).map { axis in (0..<dimension).map { $0 == axis ? 1.0 : 0.0 } }
            let reference = [Double](repeating: 2, count: dimension)
            let cube = Foundation.pow(2.0, Double(dimension))
            #expect(Hypervolume.of(units, reference: reference) == cube - 1)
            #expect(Hypervolume.of(units + units + [reference, [Double](repeating: 1.5, count: dimension)], reference: reference) == cube - 1)
        }
        #expect(Self.close(Hypervolume.of([[0.5, 0.5, 0.5, 0.5]], reference: [1, 1, 1, 1]), 0.0625))
    }

    /// The slicing used above three objectives agrees with the 3-D sweep on the same points.
    @Test func slicingAgreesWithTheSweepInThreeDimensions() {
        var random = SearchRandom(seed: 5)
        let points = (0..<60).map { _ in (0..<3).map { _ in random.uniform() } }
        let reference: [Double] = [1, 1, 1]
        #expect(Self.close(Hypervolume.sliced(points, reference: reference), Hypervolume.volume3D(points, reference: reference)))
    }

    /// Equal to pymoo's Hypervolume (moocore) in 2 to 5 objectives, with points beyond the reference.
    @Test func matchesPymoo() throws {
        let cases = try SearchFixtures.load("hypervolume.json", as: [Golden].self)
        #expect(cases.count >= 9)
        for golden in cases {
            let value = Hypervolume.of(golden.points, reference: golden.reference)
            #expect(Self.close(value, golden.hypervolume), "\(golden.reference.count)-D: \(value) vs \(golden.hypervolume)")
        }
    }
}
