/// A split or replace pattern of tokenizer.json: a literal string or a regular expression.
///
/// Regular expressions are the Oniguruma patterns the tokenizers library uses (GPT-2, Llama-3,
/// Qwen2/3 and o200k (Phi-4-mini) pre-tokenizer patterns: `\p{L}`, `\p{N}`, `\p{Lu}`…`\p{M}`
/// classes, `(?i:…)`, `(?!\S)`, `{1,3}`), compiled with Swift's Regex and matched on Unicode
/// scalars, as Rust strings match on `char`s.
///
/// `@unchecked Sendable` because `Regex<AnyRegexOutput>` is not declared Sendable: a compiled
/// regex is an immutable value (its program is built once, here, and never changed), and each
/// match keeps its state in the matching call, so one tokenizer's patterns may serve every
/// worker thread at once.
enum TextPattern: @unchecked Sendable {
    case literal(String)
    case regex(Regex<AnyRegexOutput>)

    static func regex(_ source: String, file: String, field: String) throws(TokenizerError) -> TextPattern {
        do {
            return .regex(try Regex(source).matchingSemantics(.unicodeScalar))
        } catch {
            throw TokenizerError(file: file, field: field, "cannot compile the regular expression (\(error))")
        }
    }

    /// The ranges of every non-overlapping match, left to right.
    func matches(in text: String) -> [Range<String.Index>] {
        switch self {
        case .literal(let literal):
            guard !literal.isEmpty else { return [] }
            var ranges: [Range<String.Index>] = []
            var start = text.unicodeScalars.startIndex
            while let found = text.unicodeScalars[start...].firstRange(of: literal.unicodeScalars) {
                ranges.append(found)
                start = found.upperBound
            }
            return ranges
        case .regex(let regex):
            return text.matches(of: regex).map(\.range).filter { !$0.isEmpty }
        }
    }
}
