import Foundation

/// A context and the continuations scored after it: lm-evaluation-harness's loglikelihood
/// requests that share a context, as the evaluator's choice and perplexity tasks make them.
public struct ScoringRequest: Sendable, Equatable {
    public var context: [Int]
    public var continuations: [[Int]]

    public init(context: [Int], continuations: [[Int]]) {
        self.context = context
        self.continuations = continuations
    }

    /// Rows it takes in a pass: the context, then every continuation but its last token (whose
    /// logits no one reads).
    public var rows: Int { context.count + continuations.reduce(0) { $0 + max(0, $1.count - 1) } }
}

extension DecoderModel {
    /// Rows a scoring pass gathers from consecutive requests. A pass reads every weight once
    /// whatever its row count, so few rows leave the products bound by memory and by packing
    /// the weights, not by arithmetic: one example (76 rows) per pass reached a third of the
    /// sgemm peak on Qwen2-0.5B shapes, 1 024-row passes more than half (`amalgam-bench eval`).
    /// A constant, not a function of the threads or the machine, so which requests share a
    /// pass is the same everywhere; a request's scores do not depend on the others in its pass
    /// beyond float rounding (products of other row counts can take other BLAS kernels).
    public static let rowsPerPass = 1024

    /// The passes `requests` are scored in: consecutive requests while their rows fit
    /// `rowsPerPass`; a request longer than that alone.
    public static func passes(_ requests: [ScoringRequest]) -> [Range<Int>] {
        var passes: [Range<Int>] = []
        var start = 0, rows = 0
        for (index, request) in requests.enumerated() {
            if index > start, rows + request.rows > rowsPerPass {
                passes.append(start..<index)
                start = index
                rows = 0
            }
            rows += request.rows
        }
        if start < requests.count { passes.append(start..<requests.count) }
        return passes
    }

    /// Summed log-likelihood of each request's continuations after its context, all requests in
    /// one pass through a fresh cache: each request in its own stretch of it, attending only to
    /// itself; its context run once and every continuation a branch of it (`forwardBranches`).
    /// Equal to scoring each request alone within float rounding (products of other row counts
    /// can take other BLAS kernels). Contexts must not be empty.
    public func logLikelihoods(_ requests: ArraySlice<ScoringRequest>) throws(ModelError) -> [[Double]] {
        guard !requests.isEmpty else { return [] }
        return try session(capacity: requests.reduce(0) { $0 + $1.rows }).score(requests)
    }

    /// Log-softmax of one logits row at `token`, accumulated in Double.
    public static func logProbability(_ logits: ArraySlice<Float>, _ token: Int) -> Double {
        LogSoftmax(logits)(token)
    }
}

/// The log-softmax of one logits row, its normalizer computed once for any number of tokens:
/// logit − max − log Σ exp(logit − max), the sum in Double.
struct LogSoftmax<Logits: RandomAccessCollection> where Logits.Element == Float, Logits.Index == Int {
    let logits: Logits
    let maximum: Float
    let logSum: Double

    init(_ logits: Logits) {
        self.logits = logits
        maximum = logits.max() ?? 0
        var sum = 0.0
        for value in logits { sum += exp(Double(value - maximum)) }
        logSum = log(sum)
    }

    func callAsFunction(_ token: Int) -> Double { Double(logits[logits.startIndex + token] - maximum) - logSum }
}
