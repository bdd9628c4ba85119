import Tensors

/// tokenizer.json's `added_tokens`: strings matched in the input before any other step and
/// encoded as their own ids (the library's `AddedVocabulary`). Matching is leftmost-longest;
/// `lstrip`/`rstrip` absorb whitespace beside a match, `single_word` requires word boundaries.
/// Tokens with `normalized: false` match the raw text, the others the normalized text.
struct AddedVocabulary: Sendable {
    struct Token: Sendable {
        let id: Int
        let content: [Unicode.Scalar]
        let special: Bool
        let normalized: Bool
        let lstrip: Bool
        let rstrip: Bool
        let singleWord: Bool
    }

    /// A stretch of text: plain (to be normalized and pre-tokenized) or one added token.
    struct Segment: Sendable {
        var text: String
        var token: Int?
        var isFirst: Bool
    }

    let tokens: [Token]

    init(_ value: JSONValue?, _ json: TokenizerJSON) throws(TokenizerError) {
        var tokens: [Token] = []
        for (i, entry) in (value?.array ?? []).enumerated() {
            let field = "added_tokens[\(i)]"
            let object = try json.object(entry, field)
            let content = try json.string(object, "content", field)
            guard !content.isEmpty else { throw json.fail("\(field).content", "is empty") }
            tokens.append(Token(
                id: try json.id(object["id"], "\(field).id"), content: Array(content.unicodeScalars),
                special: try json.bool(object, "special", field, default: false),
                normalized: try json.bool(object, "normalized", field, default: true),
                lstrip: try json.bool(object, "lstrip", field, default: false),
                rstrip: try json.bool(object, "rstrip", field, default: false),
                singleWord: try json.bool(object, "single_word", field, default: false)))
        }
        self.tokens = tokens
    }

    /// Splits `segments` at matches of the tokens whose `normalized` flag equals `normalized`.
    func split(_ segments: [Segment], normalized: Bool) -> [Segment] {
        let candidates = tokens.filter { $0.normalized == normalized }
        guard !candidates.isEmpty else { return segments }
        return segments.flatMap { segment -> [Segment] in
            guard segment.token == nil else { return [segment] }
            return split(segment, candidates)
        }
    }

    private func split(_ segment: Segment, _ candidates: [Token]) -> [Segment] {
        let scalars = Array(segment.text.unicodeScalars)
        var out: [Segment] = []
        var plainStart = 0
        var position = 0
        func isWord(_ s: Unicode.Scalar) -> Bool { s.properties.isAlphabetic || s.properties.numericType != nil || s == "_" }
        while position < scalars.count {
            var best: Token?
            for token in candidates where token.content.count > (best?.content.count ?? 0) && position + token.content.count <= scalars.count {
                if scalars[position..<(position + token.content.count)].elementsEqual(token.content) { best = token }
            }
            guard let token = best else { position += 1; continue }
            var start = position, end = position + token.content.count
            if token.singleWord {
                let before = start > 0 && isWord(scalars[start - 1])
                let after = end < scalars.count && isWord(scalars[end])
                if before || after { position += 1; continue }
            }
            if token.lstrip { while start > plainStart, scalars[start - 1].properties.isWhitespace { start -= 1 } }
            if token.rstrip { while end < scalars.count, scalars[end].properties.isWhitespace { end += 1 } }
            if plainStart < start {
                out.append(Segment(text: String(String.UnicodeScalarView(scalars[plainStart..<start])), token: nil,
                                   isFirst: segment.isFirst && plainStart == 0))
            }
            out.append(Segment(text: String(String.UnicodeScalarView(token.content)), token: token.id, isFirst: false))
            plainStart = end
            position = end
        }
        if plainStart < scalars.count {
            out.append(Segment(text: String(String.UnicodeScalarView(scalars[plainStart...])), token: nil,
                               isFirst: segment.isFirst && plainStart == 0))
        }
        return out
    }
}
