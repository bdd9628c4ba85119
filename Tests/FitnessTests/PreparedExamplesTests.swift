import Foundation
import Testing
@testable import Fitness
@testable import Inference
@testable import Tensors

/// Evaluators sharing a `PreparedExamples` read and tokenize each task file once: the second
/// evaluator scores what the first prepared (the file is gone by then) and the scores are those
/// of an evaluator preparing its own.
@Suite struct PreparedExamplesTests {
    @Test func sharedExamplesArePreparedOnceAndScoreTheSame() throws {
        let directory = NSTemporaryDirectory() + "amalgam-prepared-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in ["choice.jsonl", "text.jsonl"] {
            try FileManager.default.copyItem(atPath: ScoringGoldenTests.fixtures + "/" + file, toPath: directory + "/" + file)
        }
        func task(_ kind: FitnessFile.Kind, _ file: String, _ metric: String) -> FitnessFile.Task {
            FitnessFile.Task(name: file, kind: kind, calibration: directory + "/" + file, holdout: nil, metric: metric, weight: 1, maxTokens: 8, stop: [])
        }
        let tasks = [task(.choice, "choice.jsonl", "acc"), task(.perplexity, "text.jsonl", "token_perplexity")]
        let own = try tasks.map { try ScoringGoldenTests().evaluator().score($0, split: .calibration) }

        let shared = PreparedExamples()
        var first = try ScoringGoldenTests().evaluator()
        first.prepared = shared
        let firstScores = try tasks.map { try first.score($0, split: .calibration) }
        #expect(shared.count == 2)
        for file in ["choice.jsonl", "text.jsonl"] { try FileManager.default.removeItem(atPath: directory + "/" + file) }
        var second = try ScoringGoldenTests().evaluator()
        second.prepared = shared
        let secondScores = try tasks.map { try second.score($0, split: .calibration) }
        #expect(shared.count == 2)
        for (a, (b, c)) in zip(own, zip(firstScores, secondScores)) {
            #expect(a.value == b.value && b.value == c.value && a.n == c.n, "\(a.task)")
            #expect(a.samples == c.samples)
        }
        // A different limit is a different set of examples, prepared afresh (and the file is gone).
        #expect(throws: FitnessError.self) { try second.score(tasks[0], split: .calibration, limit: 2) }
    }
}
