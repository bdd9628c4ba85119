import Foundation
import Testing
@testable import Inference
@testable import Tensors

/// Every position's logits against transformers 5.23 (tools/make_model_goldens.py) on tiny
/// random-weight llama (llama3 rope scaling, top-level rope_theta), mistral (sliding window 6 and
/// a 20-token prompt) and qwen2 (q/k/v biases, tied embeddings, rope_parameters).
@Suite struct DecoderGoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/models").path

    struct Golden: Decodable {
        let tokens: [Int]
        let logits: [[Float]]
    }

    static func golden(_ name: String) throws -> [Golden] {
        try JSONDecoder().decode([Golden].self, from: Data(contentsOf: URL(fileURLWithPath: fixtures + "/\(name)/golden.json")))
    }

    @Test(arguments: ["llama", "mistral", "qwen2"])
    func logitsEqualTransformers(name: String) throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/\(name)"))
        var worst: Float = 0
        for case_ in try Self.golden(name) {
            let session = model.session(capacity: 64)
            let logits = try session.forward(case_.tokens)
            let expected = case_.logits.flatMap { $0 }
            #expect(logits.count == expected.count)
            worst = max(worst, zip(logits, expected).map { ($0 - $1).magnitude }.max() ?? 0)
        }
        print("\(name): max |logit − transformers| = \(worst)")
        #expect(worst <= 1e-4)
    }

    /// Feeding a prompt token by token through the cache gives the same logits as all at once.
    @Test(arguments: ["llama", "mistral", "qwen2"])
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
    /// separate context + branch run (mistral's window included).
    @Test(arguments: ["llama", "mistral", "qwen2"])
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

    @Test func badInputsAreErrors() throws {
        let model = try DecoderModel(folder: ModelFolder(path: Self.fixtures + "/llama"))
        #expect(throws: ModelError.self) { try model.session(capacity: 4).forward([1, 2, 3, 4, 5]) }
        #expect(throws: ModelError.self) { try model.session(capacity: 4).forward([96]) }
    }
}
