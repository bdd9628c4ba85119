import Testing
@testable import Merging
@testable import Tensors

/// The histogram selection against a plain sort of (key, index) pairs, on tensors large enough to
/// take every path: sampled bins, the exact fallback when the sample misleads, runs of equal keys.
@Suite struct RankSelectionTests {
    /// A one-input "tensor" of `values` (keys are their magnitudes' bit patterns).
    func select(_ values: [Float], windows: [Range<Int>], threads: Int = 2) -> [RankWindow] {
        selectCounting(values, windows: windows, threads: threads).windows
    }

    /// `select`, with how many ends one counting pass settled.
    func selectCounting(_ values: [Float], windows: [Range<Int>], threads: Int = 2) -> (windows: [RankWindow], confirmedGuesses: Int) {
        let tensor = MergePlan.OutputTensor(name: "t", shape: [values.count / 64, 64], inputs: [], parameters: [:],
                                            outDType: .f32, computeDType: nil, passthrough: false)
        return values.withUnsafeBytes { bytes in
            let context = MergeContext(tensor: tensor, sources: [MergeContext.Source(bytes: bytes, dtype: .f32)], threads: threads, seed: 0)
            return RankSelection.selectCounting(context: context, windows: windows, loading: [0], extra: 1, keyBuffer: 0) { _, range, scratch, keys in
                let x = scratch.inputs[0]
                for i in 0..<range.count { keys[i] = x[i].bitPattern & 0x7FFF_FFFF }
            }
        }
    }

    func reference(_ values: [Float], _ window: Range<Int>) -> Set<Int> {
        let packed = values.enumerated().map { UInt64($0.element.bitPattern & 0x7FFF_FFFF) << 32 | UInt64($0.offset) }.sorted()
        return Set(packed[window].map { Int($0 & 0xFFFF_FFFF) })
    }

    func kept(_ values: [Float], _ window: RankWindow) -> Set<Int> {
        var mask = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            mask.withUnsafeMutableBufferPointer { m in window.mask(start: 0, values: v.baseAddress!, count: values.count, into: m.baseAddress!) }
        }
        return Set(mask.indices.filter { mask[$0] == 1 })
    }

    @Test(arguments: [false, true])
    func quantizedValuesWithLongRunsOfEqualKeys(misleadingSample: Bool) {
        let n = 64 * 20_000  // 1.28 M elements, 79 chunks: the sampled path
        var state: UInt64 = 12345
        let values: [Float] = (0..<n).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let level = Float(Int(state >> 58)) * 0.125 - 4  // 64 levels: every key repeats ~20 000 times
            // Every 8th chunk (the sample) much smaller: the estimate misses and the exact pass runs.
            let chunk = i / 16_384
            return misleadingSample && chunk % 8 == 0 ? level * 1e-3 : level
        }
        let windows = [n - n / 3..<n, n / 10..<n / 2, 0..<n / 4, 0..<n]
        for (window, selected) in zip(windows, select(values, windows: windows)) {
            let ours = kept(values, selected)
            #expect(ours.count == window.count)
            #expect(ours == reference(values, window), "window \(window)")
        }
        // Same answer on one thread.
        #expect(select(values, windows: windows, threads: 1).map(\.lowest) == select(values, windows: windows).map(\.lowest))
    }

    /// Few levels (runs of ~12% of the tensor): the sample's guess of each boundary key is
    /// confirmed by one counting pass. With a misleading sample the guess fails the count and
    /// the histogram path takes over; the answer is the same either way.
    @Test(arguments: [false, true])
    func wideRunsAreSettledByCounting(misleadingSample: Bool) {
        let n = 64 * 24_000
        var state: UInt64 = 777
        let values: [Float] = (0..<n).map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let level = Float(Int(state >> 61)) * 0.25 + 0.25  // 8 levels
            return misleadingSample && (i / 16_384) % 8 == 0 ? level * 3 : level
        }
        let windows = [n / 2..<n, n - n / 5..<n, n / 10..<n - n / 10]
        let selection = selectCounting(values, windows: windows)
        for (window, selected) in zip(windows, selection.windows) {
            #expect(kept(values, selected) == reference(values, window), "window \(window)")
        }
        if !misleadingSample { #expect(selection.confirmedGuesses > 0) }
    }

    /// Continuous values: the boundary key shares its sub-bucket with others, so the per-chunk
    /// equal counts come from the third pass.
    @Test func continuousValues() {
        let n = 64 * 18_000
        var state: UInt64 = 99
        let values: [Float] = (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state) >> 20) * 1e-9
        }
        let windows = [n / 2..<n, n / 7..<n - n / 5]
        for (window, selected) in zip(windows, select(values, windows: windows)) {
            #expect(kept(values, selected) == reference(values, window), "window \(window)")
        }
    }

    @Test func smallTensorsSortDirectly() {
        let values: [Float] = (0..<(64 * 100)).map { Float(($0 * 7919) % 101) - 50 }
        let window = 1000..<5000
        let selected = select(values, windows: [window])[0]
        #expect(kept(values, selected) == reference(values, window))
    }
}
