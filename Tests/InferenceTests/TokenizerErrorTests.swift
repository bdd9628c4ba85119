import Testing
@testable import Inference
@testable import Tensors

/// tokenizer.json files that used to trap (found reading the loader for tools/fuzz, confirmed by
/// the fuzz-tokenizer binary): each is now a TokenizerError naming the field.
@Suite struct TokenizerErrorTests {
    /// A BPE tokenizer over "a" and "b" with the merge "a b", its ids as given.
    static func tokenizer(a: String = "0", b: String = "1", ab: String = "2", addedID: String? = nil) throws -> Tokenizer {
        let added = addedID.map { #"[{"id": \#($0), "content": "<s>", "special": true}]"# } ?? "[]"
        let text = #"{"added_tokens": \#(added), "model": {"type": "BPE", "vocab": {"a": \#(a), "b": \#(b), "ab": \#(ab)}, "merges": ["a b"]}}"#
        return try Tokenizer(json: try JSONParser().parse(Array(text.utf8)), file: "tokenizer.json")
    }

    @Test func inRangeIdsLoad() throws {
        let tokenizer = try Self.tokenizer(ab: "4294967295")
        #expect(tokenizer.encode("ab") == [4_294_967_295] && tokenizer.vocabularySize == 4_294_967_296)
    }

    /// A negative id trapped converting it to the 32-bit half of a merge key.
    @Test func negativeVocabularyIdIsNamed() {
        #expect { try Self.tokenizer(a: "-1") } throws: {
            $0 as? TokenizerError == TokenizerError(file: "tokenizer.json", field: "model.vocab.a", "expected a token id from 0 to 4294967295, found -1")
        }
    }

    /// Int.max trapped in `vocabularySize` (largest id + 1).
    @Test func idPastU32IsNamed() {
        #expect { try Self.tokenizer(ab: "9223372036854775807") } throws: {
            $0 as? TokenizerError == TokenizerError(
                file: "tokenizer.json", field: "model.vocab.ab", "expected a token id from 0 to 4294967295, found 9223372036854775807")
        }
        #expect { try Self.tokenizer(addedID: "9223372036854775807") } throws: {
            $0 as? TokenizerError == TokenizerError(
                file: "tokenizer.json", field: "added_tokens[0].id", "expected a token id from 0 to 4294967295, found 9223372036854775807")
        }
    }
}
