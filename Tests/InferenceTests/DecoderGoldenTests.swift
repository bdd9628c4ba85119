import Foundation
import Testing
@testable import Inference
@testable import Tensors

/// Every position's logits against transformers 5.23 (tools/make_model_goldens.py) on tiny
/// random-weight models of every family: llama (llama3 rope scaling, top-level rope_theta),
/// mistral (sliding window 6 and a 20-token prompt), qwen2 (q/k/v biases, tied embeddings,
/// rope_parameters), qwen3 (per-head q/k norms, a sliding layer), gemma2 (scaled embedding,
/// (1 + w) sandwich norms, soft-capping, alternating windows), gemma3_text (q/k norms, local and
/// linearly scaled global rope, the Hub's config layout), olmo2 (post-norms, whole-projection
/// q/k norms), phi3 (fused projections, partial rotary) and phi3 with longrope (the 20-token
/// prompt past the original context of 16 takes the long factors).
@Suite struct DecoderGoldenTests {
    /// Every golden model folder: a family's golden added by tools/make_model_goldens.py is tested
    /// here without another edit (`ModelFamilyTests` checks every registered family has one).
    static let families: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter {
        FileManager.default.fileExists(atPath: fixtures + "/" + $0 + "/golden.json")
    }.sorted()
    /// Longrope switches factors by how many positions one call sees (as transformers does), so
    /// a prompt fed step by step past the original context is not the prompt fed at once.
    static let cacheable = families.filter { $0 != "phi3-longrope" }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/models").path

    struct Golden: Decodable {
        let tokens: [Int]
        let logits: [[Float]]
    }

    static func golden(_ name: String) throws -> [Golden] {
        try JSONDecoder().decode([Golden].self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/\(name)/golden.json")))
    }

    /// Within 1e-5 of transformers relative to each row's largest logit (and 1e-4 absolute).
    @Test(arguments: families)
    func logitsEqualTransformers(name: String) throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/\(name)"))
        var worst: Float = 0, worstRelative: Float = 0
        for case_ in try Self.golden(name) {
            let session = model.session(capacity: 64)
            let logits = try session.forward(case_.tokens)
            let expected = case_.logits.flatMap { $0 }
            #expect(logits.count == expected.count)
            let vocabulary = model.configuration.vocabularySize
            for row in 0..<case_.tokens.count {
                let range = (row * vocabulary)..<((row + 1) * vocabulary)
                let error = zip(logits[range], expected[range]).map { ($0 - $1).magnitude }.max() ?? 0
                let scale = max(1, expected[range].map(\.magnitude).max() ?? 1)
                worst = max(worst, error)
                worstRelative = max(worstRelative, error / scale)
            }
        }
        print("\(name): max |logit − transformers| = \(worst), relative \(worstRelative)")
        #expect(worst <= 1e-4)
        #expect(worstRelative <= 1e-5)
    }

    /// Feeding a prompt token by token through the cache gives the same logits as all at once.
    @Test(arguments: cacheable)
    func cachedStepsEqualOnePass(name: String) throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/\(name)"))
        let tokens = try Self.golden(name)[2].tokens
        let whole = try model.session(capacity: 32).forward(tokens)
        let session = model.session(capacity: 32)
        var stepped: [Float] = []
        for token in tokens { stepped += try session.forward([token]) }
        let worst = zip(whole, stepped).map { ($0 - $1).magnitude }.max() ?? 0
        #expect(worst <= 1e-4)
    }

    /// Branches scored together see the context and their own tokens only: each equals a
    /// separate context + branch run (sliding windows included).
    @Test(arguments: cacheable)
    func branchesEqualSeparateRuns(name: String) throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/\(name)"))
        let context = Array(10..<20), branches = [[3, 4, 5], [60], [7, 8, 9, 10, 11]]
        let session = model.session(capacity: 40)
        _ = try session.forward(context)
        let together = try session.forwardBranches(branches)
        #expect(session.length == context.count)
        for (branch, logits) in zip(branches, together) {
            let alone = model.session(capacity: 40)
            _ = try alone.forward(context)
            let expected = try alone.forward(branch)
            #expect((zip(logits, expected).map { ($0 - $1).magnitude }.max() ?? 1) <= 1e-4, "\(name) \(branch)")
        }
    }

    /// Only the last row's logits, for a context scored against continuations: the last row of
    /// the full pass within float rounding (a one-row product takes other BLAS kernels, so the
    /// last bits may differ), and exactly the same cache after it.
    @Test(arguments: cacheable)
    func lastRowOnlyEqualsTheFullPass(name: String) throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/\(name)"))
        let tokens = try Self.golden(name)[2].tokens, v = model.configuration.vocabularySize
        let full = model.session(capacity: 32), last = model.session(capacity: 32)
        let all = try full.forward(tokens)
        let one = try last.forward(tokens, lastOnly: true)
        let worst = zip(one, all[(all.count - v)...]).map { ($0 - $1).magnitude }.max() ?? 1
        #expect(one.count == v && worst <= 1e-5, "\(name): \(worst)")
        #expect(try full.forward([5]) == last.forward([5]))
    }

    /// Requests scored together in one pass (each in its own stretch of the cache) against
    /// each scored alone the other way — its context run, its continuations as branches, the
    /// log-softmax of every logits row — within float rounding; sliding windows included (the
    /// 20-token contexts are longer than the fixtures' windows). Longrope picks its factors by
    /// the positions one call sees, so it is tested for the other half only: a request's scores
    /// do not depend on the requests that share its pass.
    @Test(arguments: families)
    func batchedRequestsEqualSeparateRuns(name: String) throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/\(name)"))
        let v = model.configuration.vocabularySize
        let requests = [
            ScoringRequest(context: Array(10..<30), continuations: [[3, 4, 5], [60], [7, 8, 9, 10, 11], []]),
            ScoringRequest(context: [42], continuations: [[1, 2]]),
            ScoringRequest(context: Array(stride(from: 50, to: 90, by: 3)), continuations: [[20, 21, 22, 23], [24, 25]]),
        ]
        let together = try model.logLikelihoods(requests[...])
        #expect(together.map(\.count) == requests.map(\.continuations.count))
        for (request, scores) in zip(requests, together) {
            let own = try model.logLikelihoods([request][...])[0]
            #expect(zip(own, scores).allSatisfy { abs($0 - $1) <= 1e-4 }, "\(name): \(scores) together, \(own) in a pass of its own")
            guard Self.cacheable.contains(name) else { continue }
            let session = model.session(capacity: 64)
            let last = try session.forward(request.context, lastOnly: true)
            let branches = try session.forwardBranches(request.continuations.map { Array($0.dropLast()) })
            for (continuation, (rows, score)) in zip(request.continuations, zip(branches, scores)) {
                var alone = 0.0
                for (i, token) in continuation.enumerated() {
                    alone += DecoderModel.logProbability(i == 0 ? last[...] : rows[((i - 1) * v)..<(i * v)], token)
                }
                #expect(abs(alone - score) <= 1e-4, "\(name) \(continuation): \(score) together, \(alone) alone")
            }
        }
        #expect(DecoderModel.passes(requests) == [0..<3])
    }

    @Test func badInputsAreErrors() throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/llama"))
        #expect(throws: ModelError.self) { try model.session(capacity: 4).forward([1, 2, 3, 4, 5]) }
        #expect(throws: ModelError.self) { try model.session(capacity: 4).forward([96]) }
    }
}
