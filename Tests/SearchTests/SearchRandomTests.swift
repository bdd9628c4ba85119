import Foundation
import Testing
@testable import Search

@Suite struct SearchRandomTests {
    /// The reference output of xoshiro256** (Vigna's C code) from the state {1, 2, 3, 4}.
    @Test func matchesTheReferenceStream() throws {
        let json = Data(#"{"state": [1, 2, 3, 4]}"#.utf8)
        var random = try JSONDecoder().decode(SearchRandom.self, from: json)
        let expected: [UInt64] = [11520, 0, 1509978240, 1215971899390074240]
        #expect((0..<4).map { _ in random.next() } == expected)
    }

    @Test func aDecodedGeneratorContinuesTheSameStream() throws {
        var random = SearchRandom(seed: 42)
        _ = (0..<17).map { _ in random.normal() }  // odd: a spare deviate is pending
        #expect(random.spare != nil)
        let copy = try JSONDecoder().decode(SearchRandom.self, from: JSONEncoder().encode(random))
        var a = random, b = copy
        for _ in 0..<100 {
            #expect(a.normal().bitPattern == b.normal().bitPattern)
            #expect(a.uniform().bitPattern == b.uniform().bitPattern)
        }
    }

    @Test func deviatesHaveTheirMoments() {
        var random = SearchRandom(seed: 7)
        let n = 200_000
        var sum = 0.0, squares = 0.0, uniformSum = 0.0, low = 1.0, high = 0.0
        for _ in 0..<n {
            let z = random.normal()
            sum += z
            squares += z * z
            let u = random.uniform()
            uniformSum += u
            low = min(low, u)
            high = max(high, u)
        }
        // Means within 5 standard errors; variance 1 within 5 of its standard errors (√(2/n)).
        #expect(abs(sum / Double(n)) < 5 / Double(n).squareRoot())
        #expect(abs(squares / Double(n) - 1) < 5 * (2 / Double(n)).squareRoot())
        #expect(abs(uniformSum / Double(n) - 0.5) < 5 * (1 / 12 / Double(n)).squareRoot())
        #expect(low >= 0 && high < 1)
    }

    @Test func rejectsAnAllZeroState() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SearchRandom.self, from: Data(#"{"state": [0, 0, 0, 0]}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SearchRandom.self, from: Data(#"{"state": [1, 2]}"#.utf8)) }
    }
}
