import Dispatch

/// Conversion between the stored float formats (F32, F16, BF16) and Float32 buffers.
///
/// Numeric contract: widening (BF16/F16 → F32) is exact for every bit pattern, NaN payloads and
/// signs included. Narrowing to BF16 rounds to nearest, ties to even, exactly as torch's
/// `c10::BFloat16` does (every NaN becomes the canonical 0x7FC0); narrowing to F16 is IEEE
/// round-to-nearest-even. Sources may be unaligned (a safetensors data region starts wherever
/// its header ends); the loops use unaligned loads and vectorize.
public enum FloatConversion {
    /// Elements below which a conversion stays on the calling thread.
    static let parallelThreshold = 1 << 18

    /// Widens `source` (raw little-endian elements of `dtype`) into `destination`.
    /// `dtype` must be F32, F16 or BF16 and the counts must match; callers check both.
    public static func decode(_ dtype: DType, from source: UnsafeRawBufferPointer, into destination: UnsafeMutableBufferPointer<Float>, threads: Int = 1) {
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let count = min(destination.count, source.count / max(dtype.byteWidth, 1))
        parallelChunks(count: count, threads: threads) { range in
            switch dtype {
            case .bf16: widenBF16(src + 2 * range.lowerBound, dst + range.lowerBound, range.count)
            case .f16: widenF16(src + 2 * range.lowerBound, dst + range.lowerBound, range.count)
            case .f32:
                UnsafeMutableRawPointer(dst + range.lowerBound).copyMemory(from: src + 4 * range.lowerBound, byteCount: 4 * range.count)
            default: break
            }
        }
    }

    /// Narrows `source` into `destination` as raw little-endian elements of `dtype` (F32, F16 or
    /// BF16); `destination` holds `source.count × dtype.byteWidth` bytes.
    public static func encode(_ dtype: DType, from source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableRawBufferPointer, threads: Int = 1) {
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let count = min(source.count, destination.count / max(dtype.byteWidth, 1))
        parallelChunks(count: count, threads: threads) { range in
            switch dtype {
            case .bf16: narrowBF16(src + range.lowerBound, dst + 2 * range.lowerBound, range.count)
            case .f16: narrowF16(src + range.lowerBound, dst + 2 * range.lowerBound, range.count)
            case .f32:
                (dst + 4 * range.lowerBound).copyMemory(from: src + range.lowerBound, byteCount: 4 * range.count)
            default: break
            }
        }
    }

    /// Rounds Float32 `values` in place through `dtype` (what storing them as `dtype` and reading
    /// them back gives; a no-op for F32).
    public static func roundTrip(_ dtype: DType, _ values: UnsafeMutablePointer<Float>, count: Int) {
        switch dtype {
        case .bf16: for i in 0..<count { values[i] = float(bf16: bf16(values[i])) }
        case .f16: for i in 0..<count { values[i] = Float(Float16(values[i])) }
        default: break
        }
    }

    /// One BF16 → Float32: the 16 bits are the top half of the float.
    @inline(__always)
    public static func float(bf16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// One Float32 → BF16, round to nearest even; NaN → 0x7FC0 (torch's rule).
    @inline(__always)
    public static func bf16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
        return value.isNaN ? 0x7FC0 : rounded
    }

    /// One F16 → Float32, branch-free so the loop vectorizes (F. Giesen, "half to float done
    /// quick"): move exponent and mantissa into place, rebias, then fix infinities/NaN (exponent
    /// all ones) and zeros/subnormals (renormalized by subtracting 2⁻¹⁴).
    @inline(__always)
    public static func float(f16 bits: UInt16) -> Float {
        let h = UInt32(bits)
        let shiftedExponent: UInt32 = 0x7C00 << 13
        var o = (h & 0x7FFF) << 13
        let exponent = shiftedExponent & o
        o &+= (127 - 15) << 23
        let special = o &+ ((128 - 16) << 23)
        let subnormal = Float(bitPattern: o &+ (1 << 23)) - Float(bitPattern: 113 << 23)
        o = exponent == shiftedExponent ? special : o
        o = exponent == 0 ? subnormal.bitPattern : o
        return Float(bitPattern: o | (h & 0x8000) << 16)
    }

    private static func widenBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = float(bf16: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        }
    }

    private static func widenF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = float(f16: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
        }
    }

    private static func narrowBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0..<count {
            dst.storeBytes(of: bf16(src[i]), toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    private static func narrowF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0..<count {
            dst.storeBytes(of: Float16(src[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
        }
    }
}

/// Runs `body` over `0..<count` split into contiguous chunks, on up to `threads` threads
/// (`Parallel.forEach`; each element converts alone, so any cut gives the same bytes). Small
/// counts run on the calling thread. Chunks are multiples of 1024 elements so no two threads write
/// the same cache line.
func parallelChunks(count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    let threads = max(1, threads)
    guard threads > 1, count >= FloatConversion.parallelThreshold else {
        body(0..<count)
        return
    }
    let chunks = threads * 4
    Parallel.forEach(count: count, chunk: ((count + chunks - 1) / chunks + 1023) / 1024 * 1024, threads: threads, body)
}
