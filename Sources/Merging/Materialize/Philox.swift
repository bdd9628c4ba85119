/// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as easy
/// as 1, 2, 3" (SC 2011; Random123). A pure function of (counter, key): the random sparsifiers
/// draw element `e` of input `j` of tensor `name` from counter (e/4, j, hash(name)) under the
/// recipe's seed, so a recipe materializes to the same tensors whatever the threading or order.
public struct Philox: Sendable {
    public let key: (UInt32, UInt32)

    public init(seed: UInt64) {
        key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// Four 32-bit outputs for one 128-bit counter.
    @inline(__always)
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var c = (c0, c1, c2, c3)
        var k = key
        for round in 0..<10 {
            if round > 0 {
                k.0 &+= 0x9E37_79B9
                k.1 &+= 0xBB67_AE85
            }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c.0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// Uniform floats in [0, 1) (24-bit resolution) for elements `range` of stream (`stream`, `name`).
    public func uniforms(stream: UInt32, name: UInt64, range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let n2 = UInt32(truncatingIfNeeded: name), n3 = UInt32(truncatingIfNeeded: name >> 32)
        var e = range.lowerBound
        let scale: Float = 1.0 / 16_777_216
        while e < range.upperBound {
            let block = e >> 2
            let r = self.block(UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32) ^ (stream << 16), n2, n3)
            var lane = e & 3
            while lane < 4, e < range.upperBound {
                let bits = lane == 0 ? r.0 : lane == 1 ? r.1 : lane == 2 ? r.2 : r.3
                out[e - range.lowerBound] = Float(bits >> 8) * scale
                lane += 1
                e += 1
            }
        }
    }

    /// FNV-1a of a tensor name: the stream's name component.
    public static func hash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
