import Foundation
import Testing
@testable import Tensors

@Suite struct FloatConversionTests {
    struct Rounding: Decodable {
        let f32: [UInt32]
        let bf16: [UInt16]
        let f16: [UInt16]
    }

    @Test func everyHalfWidensExactly() {
        for bits in 0...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let ours = FloatConversion.float(f16: bits)
            if reference.isNaN {
                #expect(ours.isNaN && ours.bitPattern >> 31 == reference.bitPattern >> 31, "F16 \(bits)")
            } else {
                #expect(ours.bitPattern == reference.bitPattern, "F16 \(bits)")
            }
        }
    }

    @Test func everyBFloatWidensExactly() {
        for bits in 0...UInt16.max {
            #expect(FloatConversion.float(bf16: bits).bitPattern == UInt32(bits) << 16)
        }
    }

    @Test func narrowingMatchesTheReference() throws {
        let url = URL(fileURLWithPath: Fixture.golden + "/rounding.json")
        let cases = try JSONDecoder().decode(Rounding.self, from: Data(contentsOf: url))
        #expect(cases.f32.count > 8000)
        let source = cases.f32.map { Float(bitPattern: $0) }
        for dtype in [DType.bf16, .f16] {
            var out = [UInt8](repeating: 0, count: source.count * 2)
            source.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBytes { FloatConversion.encode(dtype, from: src, into: $0) }
            }
            let got = out.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
            let want = dtype == .bf16 ? cases.bf16 : cases.f16
            let mismatches = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
            #expect(mismatches.isEmpty, "\(dtype) first mismatch: \(mismatches.first.map { "f32 \(cases.f32[$0.offset])" } ?? "")")
        }
    }

    @Test func nanNarrowsToTorchsCanonicalNaN() {
        for nan in [Float.nan, -Float.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC1_2345)] {
            #expect(FloatConversion.bf16(nan) == 0x7FC0)
        }
    }

    @Test(arguments: [DType.bf16, .f16, .f32])
    func unalignedParallelDecodeEqualsScalar(dtype: DType) {
        let count = FloatConversion.parallelThreshold + 12345
        let width = dtype.byteWidth
        var raw = [UInt8](repeating: 0, count: count * width + 1)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in raw.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            raw[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
        var parallel = [Float](repeating: 0, count: count)
        raw.withUnsafeBytes { bytes in
            let unaligned = UnsafeRawBufferPointer(rebasing: bytes[1...])
            parallel.withUnsafeMutableBufferPointer { FloatConversion.decode(dtype, from: unaligned, into: $0, threads: 4) }
        }
        let scalar = (0..<count).map { i -> UInt32 in
            let lo = UInt32(raw[1 + i * width]), hi = UInt32(raw[2 + i * width])
            switch dtype {
            case .bf16: return FloatConversion.float(bf16: UInt16(hi << 8 | lo)).bitPattern
            case .f16: return FloatConversion.float(f16: UInt16(hi << 8 | lo)).bitPattern
            default: return lo | hi << 8 | UInt32(raw[3 + i * width]) << 16 | UInt32(raw[4 + i * width]) << 24
            }
        }
        #expect(parallel.map(\.bitPattern) == scalar)
    }
}
