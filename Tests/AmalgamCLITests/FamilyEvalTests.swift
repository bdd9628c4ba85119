import Foundation
import Testing

/// `amalgam eval` runs every model family the evaluator knows (DESIGN.md §2, wave 2) end to end:
/// the tiny random model of each family (Tests/InferenceTests/Fixtures/models, vocabulary 96, no
/// tokenizer of its own) gets a character-level tokenizer written here and scores a choice task.
/// The models are random, so the accuracy itself means nothing; what must hold is that the
/// command succeeds, reports every example, and every choice's log-likelihood is a finite,
/// negative number (NaN log-likelihoods would still pick some choice and give an accuracy).
@Suite struct FamilyEvalTests {
    static let fixtures = CLI.repository + "/Tests/InferenceTests/Fixtures/models"
    /// Every golden model folder (tools/make_model_goldens.py): a family added there is evaluated here.
    static let families: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter {
        FileManager.default.fileExists(atPath: fixtures + "/" + $0 + "/config.json")
    }.sorted()

    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-family-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A BPE tokenizer.json with one token per printable ASCII character and no merges: id 0 is
    /// `<|endoftext|>` (an added special token; the EOS the evaluator falls back on when
    /// config.json has no `eos_token_id`, as qwen2's and qwen3's fixtures do), ids 1–95 are
    /// " " through "~", so every id fits the fixtures' 96-token vocabulary. No normalizer,
    /// pre-tokenizer, post-processor or decoder: nothing is added to the text (no BOS).
    static func characterTokenizer() throws -> Data {
        var vocabulary: [String: Int] = ["<|endoftext|>": 0]
        for code in 0x20...0x7E { vocabulary[String(UnicodeScalar(UInt8(code)))] = code - 0x20 + 1 }
        let tokenizer: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": [["id": 0, "content": "<|endoftext|>", "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": true]],
            "normalizer": NSNull(), "pre_tokenizer": NSNull(), "post_processor": NSNull(), "decoder": NSNull(),
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocabulary, "merges": [String]()],
        ]
        return try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys])
    }

    /// Five examples; the longest context (25 characters, one token each) runs past the sliding
    /// windows of the fixtures (6) and phi3-longrope's original context (16), and stays within
    /// phi3's 64 positions.
    static let examples = [
        #"{"context": "2+3=", "choices": ["5", "6", "23"], "answer": 0}"#,
        #"{"context": "rev abc =", "choices": [" cba", " abc"], "answer": 0}"#,
        #"{"context": "Mira lives in the city of", "choices": [" Oslo.", " Lima.", " Rome.", " Bern."], "answer": 2}"#,
        #"{"context": "The sky is", "choices": [" blue", " green"], "answer": 0}"#,
        #"{"context": "a", "choices": ["b", "~", " "], "answer": 1}"#,
    ]

    /// The listing found the fixtures (an empty one would make the suite pass vacuously).
    @Test func everyFamilyFixtureIsListed() throws {
        #expect(Set(["gemma2", "gemma3_text", "llama", "mistral", "olmo2", "phi3", "qwen2", "qwen3"]).isSubset(of: Self.families), "\(Self.families)")
    }

    @Test(arguments: families)
    func evalScoresAChoiceTask(_ family: String) throws {
        let folder = try Folder()
        let model = folder.path + "/" + family
        try FileManager.default.copyItem(atPath: Self.fixtures + "/" + family, toPath: model)
        try Self.characterTokenizer().write(to: URL(fileURLWithPath: model + "/tokenizer.json"))
        try Data((Self.examples.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder.path + "/pick.jsonl"))
        let fitness = folder.path + "/fitness.yaml"
        try Data("tasks:\n  - {name: pick, kind: choice, calibration: \(folder.path)/pick.jsonl, metric: acc}\n".utf8)
            .write(to: URL(fileURLWithPath: fitness))

        let json = try CLI.run(["eval", model, "--fitness", fitness, "--json", "--samples", folder.path + "/samples.jsonl"], deadline: 60)
        #expect(json.status == 0, "\(family): \(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let pick = (object?["tasks"] as? [String: [String: Any]])?["pick"]
        let value = try #require(pick?["value"] as? Double, "\(family): \(json.stdout)")
        #expect(value >= 0 && value <= 1, "\(family): acc \(value)")
        #expect(pick?["n"] as? Int == Self.examples.count, "\(family): \(json.stdout)")
        #expect(pick?["metric"] as? String == "acc")

        let samples = try String(contentsOfFile: folder.path + "/samples.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(samples.count == Self.examples.count)
        for (line, sample) in samples.enumerated() {
            let choices = try #require((try JSONSerialization.jsonObject(with: Data(sample.utf8)) as? [String: Any])?["choices"] as? [[String: Any]])
            let likelihoods = choices.compactMap { $0["loglikelihood"] as? Double }
            #expect(likelihoods.count == choices.count && likelihoods.allSatisfy { $0.isFinite && $0 < 0 },
                    "\(family), example \(line + 1): log-likelihoods \(likelihoods)")
        }

        // The table for people: one row with the same count.
        let table = try CLI.run(["eval", model, "--fitness", fitness], deadline: 60)
        #expect(table.status == 0, "\(family): \(table.stderr)")
        #expect(table.stdout.hasPrefix("pick") && table.stdout.contains("n=\(Self.examples.count)"), "\(family): \(table.stdout)")
    }
}
