import Foundation

/// The random moments of a test come from a seed that is printed, so a failure can be replayed:
/// `AMALGAM_TEST_SEED=N swift test --filter …` draws the same moments again.
struct TestSeed: RandomNumberGenerator {
    let seed: UInt64
    private var state: UInt64

    /// The seed from `AMALGAM_TEST_SEED`, else a fresh one; printed either way with `label`.
    init(_ label: String) {
        let given = ProcessInfo.processInfo.environment["AMALGAM_TEST_SEED"].flatMap { UInt64($0) }
        seed = given ?? UInt64.random(in: 1...UInt64(UInt32.max))
        state = seed
        print("\(label): random moments from seed \(seed) (replay with AMALGAM_TEST_SEED=\(seed))")
    }

    /// SplitMix64 (Steele, Lea & Flood 2014).
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
