import FuzzSupport
import Inference
import Tensors

/// Fixed texts every tokenizer that loads must encode and decode without trapping: ASCII,
/// whitespace runs, digits, accents in both normal forms, CJK, emoji, a control character and
/// the special tokens of the fixture styles.
let texts = [
    "", " ", "Hello, world!", "  two  spaces\tand\ttabs\n\nnew lines  ", "12345 67 8.9",
    "café cafe\u{301} naïve", "日本語のテキスト", "🙂👍🏽 family 👨‍👩‍👧", "a\u{0}b\u{7}c",
    "<|endoftext|><s></s><|begin_of_text|>", "'s 't 're 've 'm 'll 'd",
]

/// A tokenizer.json: parsed, loaded, and when it loads, used on the fixed texts; the ids of
/// each text are decoded again (with and without special tokens), and so are a few ids out of
/// range.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = fuzzBytes(start, count)
    let tokenizer: Tokenizer
    do {
        let root = try JSONParser().parse(bytes)
        tokenizer = try Tokenizer(json: root, file: "tokenizer.json")
    } catch {
        _ = String(describing: error)
        return 0
    }
    for text in texts {
        for addSpecialTokens in [true, false] {
            let ids = tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
            _ = tokenizer.decode(ids)
            _ = tokenizer.decode(ids, skipSpecialTokens: true)
        }
        _ = tokenizer.id(of: text)
    }
    _ = tokenizer.decode([-1, 0, 1, 2, tokenizer.vocabularySize - 1, tokenizer.vocabularySize, Int.max, Int.min])
    return 0
}
