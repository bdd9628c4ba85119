/// Which elements of a tensor rank inside a window when sorted ascending by a 32-bit key (the bit
/// pattern of a magnitude: for non-negative floats, bit order is numeric order), ties between
/// equal keys broken by element index, so that exactly `window.count` elements are kept.
/// TIES keeps ascending ranks [n − k, n) (mergekit's top-k by magnitude); Model Breadcrumbs keeps
/// [n_bot, n_bot + target).
struct RankWindow {
    let window: Range<Int>
    /// Lowest and highest kept (key, index), packed as key << 32 | index.
    let lowest: UInt64
    let highest: UInt64

    /// x ← (x − base) · mask for the chunk's elements from `start`, eight lanes at a time: the
    /// (key, index) test split into 32-bit compares (keys < 2³¹; indices relative to the chunk).
    func sparsify(start: Int, x: UnsafeMutablePointer<Float>, base: UnsafeMutablePointer<Float>, count n: Int) {
        typealias F = SIMD8<Float>
        typealias I = SIMD8<Int32>
        func relative(_ packed: UInt64) -> (key: Int32, index: Int32) {
            let index = Int(packed & 0xFFFF_FFFF) - start
            return (Int32(truncatingIfNeeded: packed >> 32), Int32(clamping: index))
        }
        let (lowKey, lowIndex) = lowest == 0 ? (Int32(-1), Int32(0)) : relative(lowest)
        let (highKey, highIndex) = highest == .max ? (Int32.max, Int32.max) : relative(highest)
        let lk = I(repeating: lowKey), li = I(repeating: lowIndex), hk = I(repeating: highKey), hi = I(repeating: highIndex)
        let magnitude = I(repeating: 0x7FFF_FFFF), lanes = I(0, 1, 2, 3, 4, 5, 6, 7)
        let zero = F(repeating: 0), one = F(repeating: 1)
        var i = 0
        while i + 8 <= n {
            let delta = UnsafeRawPointer(x + i).loadUnaligned(as: F.self) - UnsafeRawPointer(base + i).loadUnaligned(as: F.self)
            let key = unsafeBitCast(delta, to: I.self) & magnitude
            let index = lanes &+ I(repeating: Int32(i))
            let above = (key .> lk) .| ((key .== lk) .& (index .>= li))
            let below = (key .< hk) .| ((key .== hk) .& (index .<= hi))
            UnsafeMutableRawPointer(x + i).storeBytes(of: delta * zero.replacing(with: one, where: above .& below), as: F.self)
            i += 8
        }
        while i < n {
            let delta = x[i] - base[i]
            let key = Int32(bitPattern: delta.bitPattern & 0x7FFF_FFFF), index = Int32(i)
            let above = key > lowKey || (key == lowKey && index >= lowIndex)
            let below = key < highKey || (key == highKey && index <= highIndex)
            x[i] = delta * (above && below ? 1 : 0)
            i += 1
        }
    }

    /// Writes 1 or 0 into `mask` for the magnitudes of `values` (elements from `start`): a
    /// branch-free compare of each packed (key, index) against the two bounds.
    func mask(start: Int, values: UnsafePointer<Float>, count: Int, into mask: UnsafeMutablePointer<Float>) {
        let (lowest, highest) = (lowest, highest)
        let first = UInt64(start)
        for i in 0..<count {
            let packed = UInt64(values[i].bitPattern & 0x7FFF_FFFF) << 32 | (first &+ UInt64(i))
            mask[i] = packed >= lowest && packed <= highest ? 1 : 0
        }
    }
}

/// Finds several rank windows over the same tensor at once, without sorting or storing keys:
/// one pass histograms every request's keys by their high 16 bits, a second by their low 16 bits
/// inside the bin holding each window end, and a third — only where a run of equal keys straddles
/// an end — counts that key per chunk, so the index where the window starts inside the run is found
/// by rescanning a single chunk. Ends at 0 or n need no work. Each pass loads the inputs once
/// for all requests.
enum RankSelection {
    /// Fills `keys` with request `r`'s keys for the chunk (elements of `range`).
    typealias Keys = (_ request: Int, Range<Int>, MergeContext.Scratch, UnsafeMutablePointer<UInt32>) -> Void

    static let bins = 1 << 16

    /// An end of a window being located: the rank of the element it must point at.
    struct End {
        let request: Int
        let rank: Int
        var bin = 0
        var below = 0
        var key: UInt32 = 0
        var index = 0
        /// Per chunk, keys equal to `key` (known from pass 2 when its sub-bucket holds only `key`).
        var equalPerChunk: [Int]?
    }

    /// Tensors up to this many elements are ranked by sorting their packed (key, index) pairs:
    /// cheaper than three histogram passes for norms, biases and small projections.
    static let sortLimit = 1 << 15

    static func selectBySorting(_ ends: inout [End], context: MergeContext, requests: Int, loading: [Int], extra: Int, keyBuffer: Int, keys: @escaping Keys) {
        let perChunk = context.mapChunks(loading: loading, extra: extra) { _, range, scratch -> [[UInt64]] in
            let k = scratch.keys(keyBuffer)
            return (0..<requests).map { r in
                keys(r, range, scratch, k)
                return (0..<range.count).map { UInt64(k[$0]) << 32 | UInt64(range.lowerBound + $0) }
            }
        }
        let sorted = (0..<requests).map { r in perChunk.flatMap { $0[r] }.sorted() }
        for e in ends.indices {
            let packed = sorted[ends[e].request][ends[e].rank]
            ends[e].key = UInt32(packed >> 32)
            ends[e].index = Int(packed & 0xFFFF_FFFF)
        }
    }

    static func select(context: MergeContext, windows: [Range<Int>], loading: [Int], extra: Int, keyBuffer: Int, keys: @escaping Keys) -> [RankWindow] {
        selectCounting(context: context, windows: windows, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys).windows
    }

    /// `select`, also saying how many window ends the sample's guess settled with one counting
    /// pass (`confirmGuessedKeys`), which the tests read to see that path taken.
    static func selectCounting(context: MergeContext, windows: [Range<Int>], loading: [Int], extra: Int, keyBuffer: Int,
                               keys: @escaping Keys) -> (windows: [RankWindow], confirmedGuesses: Int) {
        let n = context.count
        var confirmedGuesses = 0
        let requests = windows.count
        // The ends that need locating: a window's start unless it is 0, its last element unless n − 1.
        var ends: [End] = []
        for (r, window) in windows.enumerated() {
            if window.lowerBound > 0 { ends.append(End(request: r, rank: window.lowerBound)) }
            if window.upperBound < n { ends.append(End(request: r, rank: window.upperBound - 1)) }
        }
        if !ends.isEmpty && n <= sortLimit {
            selectBySorting(&ends, context: context, requests: requests, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
        } else if !ends.isEmpty {
            // Large tensors estimate each end's bin from every 8th chunk; the full pass 2 then
            // counts exactly and says whether the estimate held. Where it did not (the rank fell
            // outside the estimated bin), the exact pass 1 and pass 2 run for those ends.
            let sampled = context.chunkCount >= 64
            locateBins(&ends, context: context, requests: requests, every: sampled ? 8 : 1, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
            // Quantized (BF16) weights give runs of equal keys far wider than the sampling error:
            // where the sample puts the rank deep inside such a run, one pass of SIMD counts
            // (keys below it, keys equal to it) confirms it, with no histogram at all.
            var pending = Array(ends.indices)
            if sampled {
                let confirmed = confirmGuessedKeys(&ends, context: context, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
                confirmedGuesses = confirmed.count
                pending.removeAll { confirmed.contains($0) }
            }
            if !pending.isEmpty {
                var rest = pending.map { ends[$0] }
                let missed = locateKeys(&rest, context: context, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
                if !missed.isEmpty {
                    var retry = missed.map { rest[$0] }
                    locateBins(&retry, context: context, requests: requests, every: 1, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
                    _ = locateKeys(&retry, context: context, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
                    for (e, end) in zip(missed, retry) { rest[e] = end }
                }
                for (e, end) in zip(pending, rest) { ends[e] = end }
            }
            locateIndices(&ends, context: context, loading: loading, extra: extra, keyBuffer: keyBuffer, keys: keys)
        }
        let selected = windows.enumerated().map { r, window in
            let start = ends.first { $0.request == r && $0.rank == window.lowerBound && window.lowerBound > 0 }
            let last = ends.first { $0.request == r && $0.rank == window.upperBound - 1 && window.upperBound < n }
            return RankWindow(
                window: window,
                lowest: start.map { UInt64($0.key) << 32 | UInt64($0.index) } ?? 0,
                highest: last.map { UInt64($0.key) << 32 | UInt64($0.index) } ?? .max)
        }
        return (selected, confirmedGuesses)
    }

    /// Pass 1: per request, a histogram of the keys' high 16 bits, over every `every`-th chunk
    /// (ranks are scaled to the sample when it is not all of them).
    static func locateBins(_ ends: inout [End], context: MergeContext, requests: Int, every: Int, loading: [Int], extra: Int, keyBuffer: Int, keys: @escaping Keys) {
        let bins = Self.bins
        let scratches = context.forEachChunk(loading: loading, extra: extra, every: every) { _, range, scratch in
            let counters = scratch.counters(requests * bins)
            let k = scratch.keys(keyBuffer)
            let count = range.count
            for r in 0..<requests {
                keys(r, range, scratch, k)
                let histogram = counters + r * bins
                for i in 0..<count { histogram[Int(k[i] >> 16)] &+= 1 }
            }
        }
        let histograms = MergeContext.summedCounters(scratches, count: requests * bins)
        for e in ends.indices {
            let histogram = histograms[(ends[e].request * bins)..<((ends[e].request + 1) * bins)]
            let sampled = histogram.reduce(0, +)
            let rank = every == 1 ? ends[e].rank : min(sampled - 1, Int(Double(ends[e].rank) * Double(sampled) / Double(context.count)))
            ends[e].bin = locate(max(0, rank), in: histogram).bin
        }
    }

    /// The fast path for runs of equal keys. Over every 8th chunk, the exact key at each end's
    /// (scaled) rank and the run of equal keys around it; where the rank sits at least eight
    /// sampling errors inside that run, one full pass counts, per chunk, the keys below the guess
    /// and equal to it (SIMD compares only). The guess holds when the end's rank falls among the
    /// equal ones: its key, the keys below it and the per-chunk counts pass 3 needs are then
    /// known. Returns the ends settled that way; the others take the histogram path.
    static func confirmGuessedKeys(_ ends: inout [End], context: MergeContext, loading: [Int], extra: Int, keyBuffer: Int, keys: @escaping Keys) -> Set<Int> {
        let bins = Self.bins
        let targets = ends
        // Per end: the low-16-bit histogram of its bin's keys, the keys below the bin, the keys seen.
        let slots = targets.count * (bins + 2)
        let scratches = context.forEachChunk(loading: loading, extra: extra, every: 8) { _, range, scratch in
            let counters = scratch.counters(slots)
            let k = scratch.keys(keyBuffer)
            var computed = -1
            for (e, end) in targets.enumerated() {
                if computed != end.request { keys(end.request, range, scratch, k); computed = end.request }
                let histogram = counters + e * (bins + 2)
                let bin = UInt32(end.bin)
                var below: UInt32 = 0
                for i in 0..<range.count {
                    let high = k[i] >> 16
                    if high == bin { histogram[Int(k[i] & 0xFFFF)] &+= 1 } else if high < bin { below &+= 1 }
                }
                histogram[bins] &+= below
                histogram[bins + 1] &+= UInt32(range.count)
            }
        }
        let totals = MergeContext.summedCounters(scratches, count: slots)
        var guesses: [(end: Int, key: UInt32)] = []
        for (e, end) in targets.enumerated() {
            let offset = e * (bins + 2)
            let seen = totals[offset + bins + 1], belowBin = totals[offset + bins]
            guard seen > 0 else { continue }
            let rank = Double(end.rank) * Double(seen) / Double(context.count)
            var before = Double(belowBin)
            for low in 0..<bins {
                let count = Double(totals[offset + low])
                if count > 0 && rank < before + count {
                    // Chunks are sampled whole, so the error is larger than for independent draws.
                    let margin = 8 * rank.squareRoot() + 64
                    if rank - before >= margin && before + count - rank >= margin { guesses.append((e, UInt32(end.bin) << 16 | UInt32(low))) }
                    break
                }
                before += count
            }
        }
        guard !guesses.isEmpty else { return [] }
        let perChunk = context.mapChunks(loading: loading, extra: extra) { _, range, scratch -> [(below: Int, equal: Int)] in
            let k = scratch.keys(keyBuffer)
            var computed = -1
            return guesses.map { guess in
                let request = targets[guess.end].request
                if computed != request { keys(request, range, scratch, k); computed = request }
                return countBelowAndEqual(k, range.count, guess.key)
            }
        }
        var confirmed: Set<Int> = []
        for (slot, guess) in guesses.enumerated() {
            let below = perChunk.reduce(0) { $0 + $1[slot].below }
            let equal = perChunk.reduce(0) { $0 + $1[slot].equal }
            guard ends[guess.end].rank >= below, ends[guess.end].rank < below + equal else { continue }
            ends[guess.end].key = guess.key
            ends[guess.end].below = below
            ends[guess.end].equalPerChunk = perChunk.map { $0[slot].equal }
            confirmed.insert(guess.end)
        }
        return confirmed
    }

    /// How many of `keys[0..<count]` are below `key` and how many equal it, eight lanes at a time.
    static func countBelowAndEqual(_ keys: UnsafePointer<UInt32>, _ count: Int, _ key: UInt32) -> (below: Int, equal: Int) {
        let raw = UnsafeRawPointer(keys)
        let target = SIMD8<UInt32>(repeating: key), one = SIMD8<UInt32>(repeating: 1)
        var below = SIMD8<UInt32>(repeating: 0), equal = SIMD8<UInt32>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let block = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<UInt32>.self)
            below = below.replacing(with: below &+ one, where: block .< target)
            equal = equal.replacing(with: equal &+ one, where: block .== target)
            i += 8
        }
        var b = Int(below.wrappedSum()), e = Int(equal.wrappedSum())
        while i < count {
            if keys[i] < key { b += 1 } else if keys[i] == key { e += 1 }
            i += 1
        }
        return (b, e)
    }

    /// Pass 2: per end, a histogram of the low 16 bits of the keys in its bin. The bin's keys are
    /// first compacted (branch-free), then counted into four interleaved banks, because keys of
    /// quantized (BF16) weights repeat a lot and a single counter per value would serialize.
    /// Also counts, per end, the keys below its bin; returns the ends whose rank is not in the bin.
    static func locateKeys(_ ends: inout [End], context: MergeContext, loading: [Int], extra: Int, keyBuffer: Int, keys: @escaping Keys) -> [Int] {
        let bins = Self.bins
        let targets = ends
        let belowSlot = targets.count * 4 * bins
        // Per chunk and end, matched keys by their low 16 bits' top 8 (256 sub-buckets): when the
        // boundary key turns out to be alone in its sub-bucket, these are its per-chunk counts and
        // pass 3 is not needed (the usual case for BF16 weights, whose deltas have few distinct values).
        let subBuckets = 256
        let chunkCounts = UnsafeMutablePointer<UInt32>.allocate(capacity: context.chunkCount * targets.count * subBuckets)
        chunkCounts.initialize(repeating: 0, count: context.chunkCount * targets.count * subBuckets)
        defer { chunkCounts.deallocate() }
        // Each chunk writes only its own row of counts.
        nonisolated(unsafe) let perChunk = chunkCounts
        let scratches = context.forEachChunk(loading: loading, extra: extra + 1) { chunk, range, scratch in
            let counters = scratch.counters(belowSlot + targets.count)
            let k = scratch.keys(keyBuffer)
            let matched = scratch.keys(extra)
            let count = range.count
            var computed = -1
            for (e, end) in targets.enumerated() {
                if computed != end.request { keys(end.request, range, scratch, k); computed = end.request }
                let bin = UInt32(end.bin)
                var m = 0, below = 0
                for i in 0..<count {
                    matched[m] = k[i]
                    // Branch-free 0/1: (d − 1) >> 31 is 1 only for d = 0 when d < 2¹⁶; (h − bin) >> 31
                    // is 1 only for h < bin (both below 2¹⁶).
                    m &+= Int((((k[i] >> 16) ^ bin) &- 1) >> 31)
                    below &+= Int(((k[i] >> 16) &- bin) >> 31)
                }
                counters[belowSlot + e] &+= UInt32(below)
                let histogram = counters + e * 4 * bins
                var i = 0
                while i + 4 <= m {
                    histogram[Int(matched[i] & 0xFFFF)] &+= 1
                    histogram[bins + Int(matched[i + 1] & 0xFFFF)] &+= 1
                    histogram[2 * bins + Int(matched[i + 2] & 0xFFFF)] &+= 1
                    histogram[3 * bins + Int(matched[i + 3] & 0xFFFF)] &+= 1
                    i += 4
                }
                while i < m { histogram[Int(matched[i] & 0xFFFF)] &+= 1; i += 1 }
                let buckets = perChunk + (chunk * targets.count + e) * subBuckets
                for j in 0..<m { buckets[Int((matched[j] & 0xFFFF) >> 8)] &+= 1 }
            }
        }
        let totals = MergeContext.summedCounters(scratches, count: belowSlot + ends.count)
        var missed: [Int] = []
        for e in ends.indices {
            var histogram = [Int](repeating: 0, count: bins)
            let belowBin = totals[belowSlot + e]
            for bank in 0..<4 {
                let offset = (e * 4 + bank) * bins
                for b in 0..<bins { histogram[b] += totals[offset + b] }
            }
            let inBin = histogram.reduce(0, +)
            guard ends[e].rank >= belowBin, ends[e].rank < belowBin + inBin else {
                missed.append(e)
                continue
            }
            let (bits, below) = locate(ends[e].rank - belowBin, in: histogram[0...])
            ends[e].key = UInt32(ends[e].bin) << 16 | UInt32(bits)
            ends[e].below = belowBin + below  // keys strictly below `key`
            let bucket = bits >> 8
            if histogram[(bucket << 8)..<((bucket + 1) << 8)].reduce(0, +) == histogram[bits] {
                ends[e].equalPerChunk = (0..<context.chunkCount).map { Int(chunkCounts[($0 * ends.count + e) * subBuckets + bucket]) }
            } else {
                ends[e].equalPerChunk = nil
            }
        }
        return missed
    }

    /// Pass 3 (only for runs of equal keys): equal keys per chunk, then one chunk rescanned to find
    /// the index of the `rank − below`-th element with that key.
    static func locateIndices(_ ends: inout [End], context: MergeContext, loading: [Int], extra: Int, keyBuffer: Int, keys: @escaping Keys) {
        let targets = ends.enumerated().filter { $0.element.equalPerChunk == nil }
        if !targets.isEmpty {
            let perChunk = context.mapChunks(loading: loading, extra: extra) { _, range, scratch -> [Int] in
                let k = scratch.keys(keyBuffer)
                var computed = -1
                return targets.map { _, end in
                    if computed != end.request { keys(end.request, range, scratch, k); computed = end.request }
                    return countBelowAndEqual(k, range.count, end.key).equal
                }
            }
            for (slot, target) in targets.enumerated() { ends[target.offset].equalPerChunk = perChunk.map { $0[slot] } }
        }
        for e in ends.indices {
            let skip = ends[e].rank - ends[e].below
            var seen = 0
            for (chunk, equal) in (ends[e].equalPerChunk ?? []).enumerated() {
                if skip < seen + equal {
                    let range = context.range(ofChunk: chunk)
                    let scratch = MergeContext.Scratch(inputs: context.inputCount, extra: extra, length: context.chunkLength)
                    for j in loading { context.load(j, range, into: scratch.inputs[j]) }
                    let k = scratch.keys(keyBuffer)
                    keys(ends[e].request, range, scratch, k)
                    var count = seen
                    for i in 0..<range.count where k[i] == ends[e].key {
                        if count == skip { ends[e].index = range.lowerBound + i; break }
                        count += 1
                    }
                    break
                }
                seen += equal
            }
        }
    }

    static func locate(_ rank: Int, in histogram: ArraySlice<Int>) -> (bin: Int, below: Int) {
        var below = 0
        for (offset, n) in histogram.enumerated() {
            if rank < below + n { return (offset, below) }
            below += n
        }
        return (histogram.count - 1, below)
    }
}
