/// How a method groups a tensor's elements into vectors for its norms and angles.
enum VectorGrouping {
    /// The whole flattened tensor is one vector.
    case whole
    /// Each row (the last dimension) is a vector; 0-D and 1-D tensors are one row.
    case rows
    /// Each column (vectors along the first dimension, mergekit's `dim=0`) of a 2-D tensor.
    case columns
}

/// Sums of products of pairs of per-element series, per vector: K series give K(K+1)/2 sums
/// (squares and cross products), accumulated in Double per chunk and added in chunk order.
struct VectorStatistics {
    let grouping: VectorGrouping
    let series: Int
    let vectors: Int
    /// `sums[v * pairs + p]` for vector v and pair p (i ≤ j, row-major over the upper triangle).
    private(set) var sums: [Double]

    var pairs: Int { series * (series + 1) / 2 }

    static func pairIndex(_ i: Int, _ j: Int, series: Int) -> Int {
        let (a, b) = i <= j ? (i, j) : (j, i)
        return a * series - a * (a - 1) / 2 + (b - a)
    }

    func sum(vector: Int, _ i: Int, _ j: Int) -> Double {
        sums[vector * pairs + Self.pairIndex(i, j, series: series)]
    }

    /// Accumulates over the whole tensor; `values` fills `series` buffers for a chunk.
    init(context: MergeContext, grouping: VectorGrouping, series: Int, extra: Int,
         values: @escaping (Range<Int>, MergeContext.Scratch) -> [UnsafeMutablePointer<Float>]) {
        let rows = context.count / context.rowLength
        let effective: VectorGrouping = context.tensor.shape.count < 2 && grouping != .whole ? .whole : grouping
        self.grouping = effective
        self.series = series
        vectors = switch effective {
        case .whole: 1
        case .rows: rows
        case .columns: context.rowLength
        }
        let pairs = series * (series + 1) / 2
        let rowLength = context.rowLength
        let vectorCount = vectors
        let width = vectorCount * pairs
        let blocks = context.mapBlocks(extra: extra, initial: { [Double](repeating: 0, count: width) }) { sums, _, range, scratch in
            let buffers = values(range, scratch)
            for i in 0..<range.count {
                let element = range.lowerBound + i
                var p = Self.vector(of: element, grouping: effective, rowLength: rowLength) * pairs
                for a in 0..<series {
                    let x = Double(buffers[a][i])
                    for b in a..<series {
                        sums[p] += x * Double(buffers[b][i])
                        p += 1
                    }
                }
            }
        }
        var total = [Double](repeating: 0, count: width)
        for block in blocks {
            for k in 0..<width { total[k] += block[k] }
        }
        sums = total
    }

    func vector(of element: Int, rowLength: Int) -> Int {
        Self.vector(of: element, grouping: grouping, rowLength: rowLength)
    }

    static func vector(of element: Int, grouping: VectorGrouping, rowLength: Int) -> Int {
        switch grouping {
        case .whole: 0
        case .rows: element / rowLength
        case .columns: element % rowLength
        }
    }
}
