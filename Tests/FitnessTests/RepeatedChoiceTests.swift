import Foundation
import Testing
@testable import Fitness
@testable import Inference
@testable import Tensors

/// A choice listed twice is one request (lm-eval scores identical requests once): its copies tie
/// exactly and the pick is the first copy, whatever their places in the pass. Three rows of the
/// demo's rev task list their answer twice; scored as separate branches, the copies differed in
/// the last bits and lm-eval and Amalgam picked differently.
@Suite struct RepeatedChoiceTests {
    @Test func aRepeatedChoiceTiesExactlyAndThePickIsTheFirstCopy() throws {
        let directory = NSTemporaryDirectory() + "amalgam-repeated-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The demo's rev rows that repeat their answer, and copies of one choice at every place.
        let rows = [
            #"{"context": "reverse abc:", "choices": [" dde", " cba", " dde", " edd"], "answer": 0}"#,
            #"{"context": "reverse xyz:", "choices": [" zyx", " zyx", " zyx", " zyx"], "answer": 0}"#,
            #"{"context": "reverse fcc:", "choices": [" ccf", " cff", " fcc", " cff"], "answer": 1}"#,
        ]
        try Data((rows.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/choice.jsonl"))
        let task = FitnessFile.Task(name: "rev", kind: .choice, calibration: directory + "/choice.jsonl", holdout: nil, metric: "acc", weight: 1, maxTokens: 8, stop: [])
        let score = try ScoringGoldenTests().evaluator().score(task, split: .calibration)
        let choices = score.samples.map { sample in
            (sample.object?["choices"]?.array ?? []).compactMap { $0.object?["loglikelihood"]?.number?.double }
        }
        #expect(choices[0][0] == choices[0][2])
        #expect(Set(choices[1]).count == 1)
        #expect(choices[2][1] == choices[2][3])
        let picks = score.samples.compactMap { $0.object?["pick"]?.number?.int }
        #expect(picks[1] == 0, "four equal choices pick the first")
        #expect(picks[0] != 2 && picks[2] != 3, "a later copy is never picked over the first")
    }
}
