import Foundation

/// The search's random source: xoshiro256** (Blackman & Vigna 2018, "Scrambled linear
/// pseudorandom number generators"), seeded by expanding a 64-bit seed with SplitMix64 as the
/// authors recommend. Its whole state is four words plus the spare normal deviate, so it is
/// `Codable` and a decoded generator continues the same stream bit for bit.
///
/// - `uniform()`: the top 53 bits of the next word times 2⁻⁵³, in [0, 1).
/// - `normal()`: Marsaglia's polar method (Marsaglia & Bray 1964). Each accepted pair gives two
///   independent N(0, 1) deviates; the second is kept as `spare` (part of the saved state) and
///   returned by the next call.
public struct SearchRandom: Codable, Sendable, Equatable, RandomNumberGenerator {
    public private(set) var state: [UInt64]
    public private(set) var spare: Double?

    public init(seed: UInt64) {
        var x = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        if words.allSatisfy({ $0 == 0 }) { words[0] = 1 }
        state = words
        spare = nil
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let words = try container.decode([UInt64].self, forKey: .state)
        guard words.count == 4, words.contains(where: { $0 != 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .state, in: container, debugDescription: "expected four words, not all zero")
        }
        state = words
        spare = try container.decodeIfPresent(Double.self, forKey: .spare)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((state[1] &* 5) << 7 | (state[1] &* 5) >> 57) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = state[3] << 45 | state[3] >> 19
        return result
    }

    /// A uniform deviate in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in 0..<bound (Lemire's nearly divisionless method, unbiased).
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0)
        return Int(next(upperBound: UInt64(bound)))
    }

    /// A standard normal deviate (Marsaglia's polar method; see the type's documentation).
    public mutating func normal() -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        while true {
            let u = 2 * uniform() - 1, v = 2 * uniform() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                let factor = (-2 * Foundation.log(s) / s).squareRoot()
                spare = v * factor
                return u * factor
            }
        }
    }

    /// A new generator seeded from this one's next word (e.g. one stream per restart).
    public mutating func split() -> SearchRandom {
        SearchRandom(seed: next())
    }
}
