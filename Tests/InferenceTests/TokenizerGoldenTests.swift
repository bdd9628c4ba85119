import Foundation
import Testing
@testable import Inference

/// Token ids and decoded text against the tokenizers library (tools/make_tokenizer_goldens.py):
/// 2 024 shared lines per style — Unicode, digits, whitespace runs, emoji, code, special-token
/// text — and for the model families' styles (gemma, qwen3, phi4) 261 more of their own: their
/// added tokens inside text, space/tab/newline runs, scalars outside the training corpus.
@Suite struct TokenizerGoldenTests {
    static let styles = ["gpt2", "llama3", "qwen2", "sentencepiece", "gemma", "qwen3", "phi4"]

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizers").path

    struct Line: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String
    }

    static func lines(_ style: String) throws -> [Line] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/\(style)/golden.jsonl"))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Line.self, from: Data($0)) }
    }

    @Test(arguments: styles)
    func idsEqualTheLibrary(style: String) throws {
        let tokenizer = try Tokenizer(contentsOf: Self.fixtures + "/\(style)/tokenizer.json")
        let lines = try Self.lines(style)
        #expect(lines.count >= 2000)
        var wrong: [String] = []
        for line in lines where tokenizer.encode(line.text) != line.ids {
            wrong.append(line.text)
        }
        #expect(wrong.isEmpty, "\(style): \(wrong.count) of \(lines.count) lines differ, first: \(wrong.prefix(3).map { $0.debugDescription })")
    }

    @Test(arguments: styles)
    func decodingEqualsTheLibrary(style: String) throws {
        let tokenizer = try Tokenizer(contentsOf: Self.fixtures + "/\(style)/tokenizer.json")
        var wrong: [String] = []
        for line in try Self.lines(style) where tokenizer.decode(line.ids) != line.decoded {
            wrong.append(line.text)
        }
        #expect(wrong.isEmpty, "\(style): \(wrong.count) lines decode differently, first: \(wrong.prefix(3).map { $0.debugDescription })")
    }
}
