import Foundation
import Testing
@testable import Fitness
@testable import Inference
@testable import Tensors

/// Log-likelihoods and picks against transformers + lm-eval's tokenization rule
/// (tools/make_scoring_goldens.py) on zoo/tiny-llama.
@Suite struct ScoringGoldenTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let zoo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/zoo/tiny-llama"

    struct ChoiceGolden: Decodable {
        struct Example: Decodable {
            struct Choice: Decodable {
                let context_ids: [Int]
                let continuation_ids: [Int]
                let loglikelihood: Double
            }
            let choices: [Choice]
            let pick: Int
            let pick_norm: Int
        }
        let examples: [Example]
        let acc: Double
        let acc_norm: Double
    }

    struct TextGolden: Decodable {
        let loglikelihood: Double
        let tokens: Int
        let words: Int
        let bytes: Int
    }

    func evaluator() throws -> Evaluator {
        let model = try DecoderModel(folder: ModelFolder(path: Self.zoo))
        return Evaluator(model: model, tokenizer: try Tokenizer(folder: Self.zoo), prefixToken: 1)
    }

    func task(_ kind: FitnessFile.Kind, _ file: String, metric: String) -> FitnessFile.Task {
        FitnessFile.Task(name: file, kind: kind, calibration: Self.fixtures + "/" + file, holdout: nil, metric: metric, weight: 1, maxTokens: 8, stop: [])
    }

    @Test func choiceLogLikelihoodsAndPicksEqualTheReference() throws {
        let golden = try JSONDecoder().decode(ChoiceGolden.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/choice.golden.json")))
        let evaluator = try evaluator()
        let data = try TaskData(file: Self.fixtures + "/choice.jsonl")
        for (row, example) in zip(data.rows, golden.examples) {
            let context = try data.string(row, "context")
            let choices = row.object["choices"]?.array?.compactMap(\.string) ?? []
            for (choice, expected) in zip(choices, example.choices) {
                let pair = evaluator.encodePair(context: context, continuation: choice)
                #expect(pair.continuation == expected.continuation_ids)
                #expect(pair.context == expected.context_ids || (pair.context.isEmpty && expected.context_ids == [1]))
                let ll = try evaluator.logLikelihoods(context: pair.context, continuations: [pair.continuation])[0]
                #expect(abs(ll - expected.loglikelihood) <= 1e-3, "\(context)|\(choice): \(ll) vs \(expected.loglikelihood)")
            }
        }
        let acc = try evaluator.score(task(.choice, "choice.jsonl", metric: "acc"), split: .calibration)
        let accNorm = try evaluator.score(task(.choice, "choice.jsonl", metric: "acc_norm"), split: .calibration)
        #expect(abs(acc.value - golden.acc) < 1e-9 && abs(accNorm.value - golden.acc_norm) < 1e-9)
        #expect(acc.n == 6 && acc.stderr != nil)
    }

    @Test func perplexityEqualsTheReference() throws {
        let golden = try JSONDecoder().decode([TextGolden].self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/text.golden.json")))
        let evaluator = try evaluator()
        let total = golden.reduce(0) { $0 + $1.loglikelihood }
        for (metric, count) in [("token_perplexity", golden.reduce(0) { $0 + $1.tokens }), ("word_perplexity", golden.reduce(0) { $0 + $1.words }),
                                ("byte_perplexity", golden.reduce(0) { $0 + $1.bytes })] {
            let score = try evaluator.score(task(.perplexity, "text.jsonl", metric: metric), split: .calibration)
            let expected = exp(-total / Double(count))
            #expect(abs(score.value - expected) / expected < 1e-4, "\(metric): \(score.value) vs \(expected)")
        }
    }

    struct GenerateGolden: Decodable {
        let prompt: String
        let ids: [Int]
        let text: String
    }

    /// Greedy generation on zoo/rev equals transformers' `generate(do_sample=False)`, token for token.
    @Test func greedyGenerationEqualsTheReference() throws {
        let golden = try JSONDecoder().decode([GenerateGolden].self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/generate.golden.json")))
        let rev = URL(fileURLWithPath: Self.zoo).deletingLastPathComponent().path + "/rev"
        let evaluator = Evaluator(model: try DecoderModel(folder: ModelFolder(path: rev)), tokenizer: try Tokenizer(folder: rev), prefixToken: 1)
        #expect(golden.count == 5)
        for example in golden {
            let output = try evaluator.greedy(prompt: example.prompt, maxTokens: 8)
            #expect(output.ids == example.ids, "\(example.prompt)")
            #expect(output.text == example.text, "\(example.prompt)")
        }
        // A generate task: the output is cut at the first stop string and compared after trimming.
        let first = try #require(golden.first)
        let answer = String(first.text.prefix { $0 != "\n" })
        let directory = NSTemporaryDirectory() + "amalgam-generate-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = [["prompt": first.prompt, "answer": answer], ["prompt": first.prompt, "answer": answer + "x"]]
        try Data(lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }.joined(separator: "\n").utf8)
            .write(to: URL(fileURLWithPath: directory + "/gen.jsonl"))
        let task = FitnessFile.Task(name: "gen", kind: .generate, calibration: directory + "/gen.jsonl", holdout: nil, metric: "exact_match", weight: 1, maxTokens: 8, stop: ["\n"])
        let score = try evaluator.score(task, split: .calibration)
        #expect(score.value == 0.5 && score.n == 2)
        // Without the stop string the whole 8-token output is compared, and matches neither.
        let unstopped = FitnessFile.Task(name: "gen", kind: .generate, calibration: directory + "/gen.jsonl", holdout: nil, metric: "exact_match", weight: 1, maxTokens: 8, stop: [])
        #expect(try evaluator.score(unstopped, split: .calibration).value == 0)
        // An EOS budget of one token stops after the first token.
        #expect(try evaluator.greedy(prompt: first.prompt, maxTokens: 1).ids == Array(first.ids.prefix(1)))
    }

    @Test func badTaskDataNamesTheLine() throws {
        let directory = NSTemporaryDirectory() + "amalgam-fitness-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"answer\": 0}\n{\"context\": \"a\", \"choices\": [\"b\"], \"answer\": 0}\n".utf8)
            .write(to: URL(fileURLWithPath: directory + "/bad.jsonl"))
        let evaluator = try evaluator()
        let bad = FitnessFile.Task(name: "bad", kind: .choice, calibration: directory + "/bad.jsonl", holdout: nil, metric: "acc", weight: 1, maxTokens: 8, stop: [])
        #expect { try evaluator.score(bad, split: .calibration) } throws: {
            ($0 as? FitnessError) == FitnessError(file: directory + "/bad.jsonl:2", field: "choices", "expected a list of at least two strings")
        }
    }
}
