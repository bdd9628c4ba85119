/// Which elements of a tensor rank inside a window when sorted ascending by a 32-bit key (the bit
/// pattern of a magnitude: for non-negative floats, bit order is numeric order), equal keys
/// ordered by element index so that exactly `window.count` elements are kept.
///
/// Found without sorting or storing the keys: a two-level radix select (a 65 536-bin histogram of
/// the high 16 bits, then of the low 16 bits inside the bins holding the window's ends), plus one
/// counting pass only when a run of equal keys straddles an end. TIES keeps ascending ranks
/// [n − k, n) (mergekit's top-k by magnitude); Model Breadcrumbs keeps [n_bot, n_bot + target).
struct RankWindow {
    let window: Range<Int>
    let low: UInt32
    let lowBelow: Int
    let high: UInt32
    let highBelow: Int
    /// Per chunk: keys equal to `low` (resp. `high`) in the chunks before it; nil when no run of
    /// equal keys straddles that end.
    let lowPrefix: [Int]?
    let highPrefix: [Int]?

    /// Fills `keys` with the chunk's keys (elements of `range`).
    typealias Keys = (Range<Int>, MergeContext.Scratch, UnsafeMutablePointer<UInt32>) -> Void

    /// Selects `window` (non-empty, inside 0..<count) with `keyBuffer` the scratch extra used for keys.
    init(context: MergeContext, window: Range<Int>, loading: [Int], extra: Int, keyBuffer: Int, keys: Keys) {
        self.window = window
        let bins = 1 << 16
        // Pass 1: high 16 bits.
        let firstScratch = context.forEachChunk(loading: loading, extra: extra) { _, range, scratch in
            if scratch.counts.isEmpty { scratch.counts = [Int](repeating: 0, count: bins) }
            let k = scratch.keys(keyBuffer)
            keys(range, scratch, k)
            scratch.counts.withUnsafeMutableBufferPointer { counts in
                for i in 0..<range.count { counts[Int(k[i] >> 16)] += 1 }
            }
        }
        var high1 = [Int](repeating: 0, count: bins)
        for scratch in firstScratch where !scratch.counts.isEmpty {
            for b in 0..<bins { high1[b] += scratch.counts[b] }
        }
        func locate(_ rank: Int, in histogram: [Int]) -> (bin: Int, below: Int) {
            var below = 0
            for (bin, n) in histogram.enumerated() {
                if rank < below + n { return (bin, below) }
                below += n
            }
            return (histogram.count - 1, below)
        }
        let (lowBin, lowBelow1) = locate(window.lowerBound, in: high1)
        let (highBin, highBelow1) = locate(window.upperBound - 1, in: high1)

        // Pass 2: low 16 bits inside the two bins.
        let secondScratch = context.forEachChunk(loading: loading, extra: extra) { _, range, scratch in
            if scratch.counts.count != 2 * bins { scratch.counts = [Int](repeating: 0, count: 2 * bins) }
            let k = scratch.keys(keyBuffer)
            keys(range, scratch, k)
            scratch.counts.withUnsafeMutableBufferPointer { counts in
                for i in 0..<range.count {
                    let bin = Int(k[i] >> 16)
                    if bin == lowBin { counts[Int(k[i] & 0xFFFF)] += 1 }
                    if bin == highBin { counts[bins + Int(k[i] & 0xFFFF)] += 1 }
                }
            }
        }
        var lowHistogram = [Int](repeating: 0, count: bins), highHistogram = [Int](repeating: 0, count: bins)
        for scratch in secondScratch where scratch.counts.count == 2 * bins {
            for b in 0..<bins {
                lowHistogram[b] += scratch.counts[b]
                highHistogram[b] += scratch.counts[bins + b]
            }
        }
        let (lowBits, lowBelow2) = locate(window.lowerBound - lowBelow1, in: lowHistogram)
        let (highBits, highBelow2) = locate(window.upperBound - 1 - highBelow1, in: highHistogram)
        low = UInt32(lowBin << 16 | lowBits)
        high = UInt32(highBin << 16 | highBits)
        self.lowBelow = lowBelow1 + lowBelow2
        self.highBelow = highBelow1 + highBelow2
        let highEqual = highHistogram[highBits]
        let lowSplit = self.lowBelow < window.lowerBound
        let highSplit = self.highBelow + highEqual > window.upperBound

        // Pass 3, only for straddling runs: equal keys per chunk, as prefix sums in chunk order.
        if lowSplit || highSplit {
            let (lowValue, highValue) = (low, high)
            let perChunk = context.mapChunks(loading: loading, extra: extra) { _, range, scratch -> (Int, Int) in
                let k = scratch.keys(keyBuffer)
                keys(range, scratch, k)
                var equalLow = 0, equalHigh = 0
                for i in 0..<range.count {
                    if k[i] == lowValue { equalLow += 1 }
                    if k[i] == highValue { equalHigh += 1 }
                }
                return (equalLow, equalHigh)
            }
            var lowPrefix: [Int] = [], highPrefix: [Int] = []
            var lowSum = 0, highSum = 0
            for (l, h) in perChunk {
                lowPrefix.append(lowSum)
                highPrefix.append(highSum)
                lowSum += l
                highSum += h
            }
            self.lowPrefix = lowSplit ? lowPrefix : nil
            self.highPrefix = highSplit ? highPrefix : nil
        } else {
            lowPrefix = nil
            highPrefix = nil
        }
    }

    /// Writes 1 or 0 into `mask` for the chunk's `keys`, in element order.
    func mask(chunk: Int, keys: UnsafeMutablePointer<UInt32>, count: Int, into mask: UnsafeMutablePointer<Float>) {
        var lowSeen = lowPrefix?[chunk] ?? 0
        var highSeen = highPrefix?[chunk] ?? 0
        for i in 0..<count {
            let key = keys[i]
            var keep = key > low && key < high
            if key == low || key == high {
                keep = true
                if key == low {
                    if lowPrefix != nil { keep = keep && lowBelow + lowSeen >= window.lowerBound }
                    lowSeen += 1
                }
                if key == high {
                    if highPrefix != nil { keep = keep && highBelow + highSeen < window.upperBound }
                    highSeen += 1
                }
            }
            mask[i] = keep ? 1 : 0
        }
    }
}
