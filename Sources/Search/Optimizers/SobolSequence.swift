/// Sobol' low-discrepancy points in [0, 1)^d (Sobol' 1967), with Joe & Kuo's direction numbers
/// (`SobolDirectionNumbers`, new-joe-kuo-6.21201) for up to `maximumDimension` = 1024 dimensions,
/// 32 bits per coordinate, in Gray-code order (Antonov & Saleev 1979) as scipy's
/// `scipy.stats.qmc.Sobol` returns them.
///
/// Unscrambled, point 0 is the origin and the first points equal scipy's `Sobol(d,
/// scramble=False)` exactly. With a generator, each dimension gets a random digital shift (its
/// 32-bit integer coordinates XORed with a seeded random word): every point stays in the same
/// digital net, so the uniformity of the sequence is kept while seeds give different point sets
/// (Owen 2003, "Variance with alternative scramblings of digital nets"). The state is the point
/// index and the shifts, so it is `Codable` and continues exactly. At most 2³² points exist;
/// `next()` returns nil after them.
public struct SobolSequence: Codable, Sendable, Equatable {
    /// Dimensions the embedded direction numbers cover.
    public static let maximumDimension = SobolDirectionNumbers.dimensions
    static let bits = 32

    public let dimension: Int
    /// Index of the next point.
    public private(set) var index: UInt64 = 0
    /// One XOR word per dimension (all zero when unscrambled).
    private let shift: [UInt32]

    /// The plain sequence.
    public init(dimension: Int) throws(OptimizerError) {
        try self.init(dimension: dimension, shift: [UInt32](repeating: 0, count: max(0, dimension)))
    }

    /// The sequence with a random digital shift drawn from `random`.
    public init(dimension: Int, random: inout SearchRandom) throws(OptimizerError) {
        let words = (0..<max(0, dimension)).map { _ in UInt32(truncatingIfNeeded: random.next() >> 32) }
        try self.init(dimension: dimension, shift: words)
    }

    private init(dimension: Int, shift: [UInt32]) throws(OptimizerError) {
        guard dimension >= 1 && dimension <= Self.maximumDimension else {
            throw OptimizerError("Sobol points have 1 to \(Self.maximumDimension) dimensions, not \(dimension)")
        }
        self.dimension = dimension
        self.shift = shift
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dimension = try c.decode(Int.self, forKey: .dimension)
        index = try c.decode(UInt64.self, forKey: .index)
        shift = try c.decode([UInt32].self, forKey: .shift)
        guard dimension >= 1 && dimension <= Self.maximumDimension, shift.count == dimension, index <= 1 << UInt64(Self.bits) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "Sobol state: dimension, shifts and index do not fit"))
        }
    }

    /// The next point, or nil once all 2³² points were returned.
    public mutating func next() -> [Double]? {
        guard index < 1 << UInt64(Self.bits) else { return nil }
        let gray = index ^ (index >> 1)
        index += 1
        let directions = Self.directions
        return (0..<dimension).map { dimension in
            var value: UInt32 = 0
            var bits = gray, bit = 0
            while bits != 0 {
                if bits & 1 == 1 { value ^= directions[dimension * Self.bits + bit] }
                bits >>= 1
                bit += 1
            }
            return Double(value ^ shift[dimension]) * 0x1.0p-32
        }
    }

    /// v_{j,k} = m_{j,k} · 2^(32−k) for every dimension j and bit k, row-major, built once from the
    /// table with the recurrence m_k = 2^s m_{k−s} ⊕ m_{k−s} ⊕ ⊕_{i=1}^{s−1} 2^i a_i m_{k−i}
    /// (Bratley & Fox 1988; Joe & Kuo 2008, eq. 1).
    static let directions: [UInt32] = {
        var result = [UInt32](repeating: 0, count: maximumDimension * bits)
        for k in 1...bits { result[k - 1] = UInt32(1) << UInt32(bits - k) }
        let lines = SobolDirectionNumbers.table.split(separator: "\n")
        for (offset, line) in lines.prefix(maximumDimension - 1).enumerated() {
            let numbers = line.split(separator: " ").compactMap { UInt64($0) }
            guard numbers.count >= 3, let degree = Int(exactly: numbers[0]), degree >= 1, numbers.count == degree + 2 else { continue }
            let coefficients = numbers[1]
            var m = [UInt64](repeating: 0, count: bits + 1)
            for k in 1...bits {
                if k <= degree {
                    m[k] = numbers[k + 1]
                } else {
                    var value = m[k - degree] ^ (m[k - degree] << UInt64(degree))
                    for i in 1..<degree where (coefficients >> UInt64(degree - 1 - i)) & 1 == 1 {
                        value ^= m[k - i] << UInt64(i)
                    }
                    m[k] = value
                }
                result[(offset + 1) * bits + k - 1] = UInt32(truncatingIfNeeded: m[k] << UInt64(bits - k))
            }
        }
        return result
    }()
}
