import Foundation
import Testing

@Suite struct TokenizeCommandTests {
    static let llama3 = CLI.repository + "/Tests/InferenceTests/Fixtures/tokenizers/llama3"

    struct Line: Decodable {
        let text: String
        let ids: [Int]
    }

    func folder(config: String?) throws -> String {
        let directory = NSTemporaryDirectory() + "amalgam-tokenize-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.llama3 + "/tokenizer.json", toPath: directory + "/tokenizer.json")
        if let config { try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/tokenizer_config.json")) }
        return directory
    }

    @Test func idsMatchTheLibraryAndTheConfigDecidesBOS() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.llama3 + "/golden.jsonl"))
        let lines = try data.split(separator: UInt8(ascii: "\n")).prefix(40).map { try JSONDecoder().decode(Line.self, from: Data($0)) }
        let sample = try #require(lines.first { !$0.text.contains("\n") && !$0.text.contains("\r") && !$0.text.isEmpty })
        let plain = try folder(config: nil)
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let result = try CLI.run(["tokenize", plain, sample.text])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "[" + sample.ids.map(String.init).joined(separator: ",") + "]\n")

        let noBOS = try folder(config: #"{"tokenizer_class": "LlamaTokenizerFast", "add_bos_token": false, "bos_token": {"content": "<|begin_of_text|>"}}"#)
        defer { try? FileManager.default.removeItem(atPath: noBOS) }
        let without = try CLI.run(["tokenize", noBOS, sample.text])
        #expect(without.stdout == "[" + sample.ids.dropFirst().map(String.init).joined(separator: ",") + "]\n")

        let file = plain + "/lines.txt"
        try Data("\(sample.text)\n\(sample.text)\n".utf8).write(to: URL(fileURLWithPath: file))
        let both = try CLI.run(["tokenize", plain, "--file", file, "--no-special-tokens"])
        let expected = "[" + sample.ids.dropFirst().map(String.init).joined(separator: ",") + "]\n"
        #expect(both.stdout == expected + expected)
    }

    @Test func missingTokenizerIsOneLine() throws {
        let result = try CLI.run(["tokenize", "zoo", "x"])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: zoo/tokenizer.json: cannot be read\n")
    }
}
