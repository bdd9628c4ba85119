import Tensors

/// A piece of text on its way to the model, with where it started in the input (Metaspace's
/// `prepend_scheme: first` only prepends to the piece at offset 0).
struct Piece: Sendable {
    var text: String
    var isFirst: Bool
}

/// tokenizer.json's `pre_tokenizer`: splits normalized text into the pieces BPE sees.
indirect enum PreTokenizer: Sendable {
    enum Behavior: String, Sendable { case isolated = "Isolated", removed = "Removed", mergedWithPrevious = "MergedWithPrevious", mergedWithNext = "MergedWithNext", contiguous = "Contiguous" }
    enum PrependScheme: String, Sendable { case always, first, never }

    case sequence([PreTokenizer])
    /// GPT-2's byte-level step: optional prefix space, optional GPT-2 regex split, bytes → alphabet.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(TextPattern, Behavior, invert: Bool)
    case metaspace(replacement: String, prepend: PrependScheme, split: Bool)
    case digits(individual: Bool)

    /// GPT-2's pre-tokenization pattern (openai/gpt-2 encoder.py).
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let gpt2: TextPattern = {
        // The pattern is a constant known to compile; a failure would be a toolchain defect.
        (try? TextPattern.regex(gpt2Pattern, file: "", field: "")) ?? .literal(" ")
    }()

    init(_ value: JSONValue, _ json: TokenizerJSON, field: String) throws(TokenizerError) {
        let object = try json.object(value, field)
        let type = try json.string(object, "type", field)
        switch type {
        case "Sequence":
            var parts: [PreTokenizer] = []
            for (i, part) in try json.array(object, "pretokenizers", field).enumerated() {
                parts.append(try PreTokenizer(part, json, field: "\(field).pretokenizers[\(i)]"))
            }
            self = .sequence(parts)
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: try json.bool(object, "add_prefix_space", field, default: true),
                              useRegex: try json.bool(object, "use_regex", field, default: true))
        case "Split":
            let name = try json.string(object, "behavior", field)
            guard let behavior = Behavior(rawValue: name) else { throw json.fail("\(field).behavior", "\"\(name)\" is not a split behavior") }
            self = .split(try json.pattern(object, field), behavior, invert: try json.bool(object, "invert", field, default: false))
        case "Metaspace":
            let scheme: PrependScheme
            if let name = object["prepend_scheme"]?.string {
                guard let parsed = PrependScheme(rawValue: name) else { throw json.fail("\(field).prepend_scheme", "\"\(name)\" is not always, first or never") }
                scheme = parsed
            } else {
                scheme = try json.bool(object, "add_prefix_space", field, default: true) ? .always : .never
            }
            self = .metaspace(replacement: try json.string(object, "replacement", field), prepend: scheme,
                              split: try json.bool(object, "split", field, default: true))
        case "Digits":
            self = .digits(individual: try json.bool(object, "individual_digits", field, default: false))
        default:
            throw json.fail("\(field).type", "\"\(type)\" is not supported (supported: Sequence, ByteLevel, Split, Metaspace, Digits)")
        }
    }

    func apply(_ pieces: [Piece]) -> [Piece] {
        switch self {
        case .sequence(let parts):
            return parts.reduce(pieces) { $1.apply($0) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            return pieces.flatMap { piece -> [Piece] in
                var text = piece.text
                if addPrefixSpace, !text.unicodeScalars.starts(with: " ".unicodeScalars) { text = " " + text }
                let parts = useRegex ? Self.split(text, Self.gpt2, .isolated, invert: false) : [text]
                return parts.map { Piece(text: ByteLevelAlphabet.encode($0), isFirst: piece.isFirst) }
            }
        case .split(let pattern, let behavior, let invert):
            return pieces.flatMap { piece in Self.split(piece.text, pattern, behavior, invert: invert).map { Piece(text: $0, isFirst: piece.isFirst) } }
        case .metaspace(let replacement, let prepend, let split):
            return pieces.flatMap { piece -> [Piece] in
                var text = piece.text.replacingOccurrences(of: " ", with: replacement)
                let wanted = prepend == .always || (prepend == .first && piece.isFirst)
                if wanted, !text.unicodeScalars.starts(with: replacement.unicodeScalars) { text = replacement + text }
                guard split else { return [Piece(text: text, isFirst: piece.isFirst)] }
                return Self.split(text, .literal(replacement), .mergedWithNext, invert: false).map { Piece(text: $0, isFirst: piece.isFirst) }
            }
        case .digits(let individual):
            let pattern: TextPattern = (try? TextPattern.regex(individual ? #"\p{Nd}"# : #"\p{Nd}+"#, file: "", field: "")) ?? .literal("")
            return pieces.flatMap { piece in Self.split(piece.text, pattern, .isolated, invert: false).map { Piece(text: $0, isFirst: piece.isFirst) } }
        }
    }

    /// The tokenizers library's `split` with a delimiter behavior; empty pieces are dropped.
    static func split(_ text: String, _ pattern: TextPattern, _ behavior: Behavior, invert: Bool) -> [String] {
        // (range, isMatch) covering the text in order.
        var spans: [(Range<String.Index>, Bool)] = []
        var position = text.startIndex
        for range in pattern.matches(in: text) {
            if position < range.lowerBound { spans.append((position..<range.lowerBound, false)) }
            spans.append((range, true))
            position = range.upperBound
        }
        if position < text.endIndex { spans.append((position..<text.endIndex, false)) }
        if invert { spans = spans.map { ($0.0, !$0.1) } }

        var out: [String] = []
        var pendingNext = ""
        var previousWasMatch = false
        for (range, isMatch) in spans {
            let piece = text.scalars(range)
            switch behavior {
            case .isolated:
                out.append(piece)
            case .removed:
                if !isMatch { out.append(piece) }
            case .mergedWithPrevious:
                if isMatch, !out.isEmpty { out[out.count - 1] += piece } else { out.append(piece) }
            case .mergedWithNext:
                if isMatch { pendingNext += piece } else { out.append(pendingNext + piece); pendingNext = "" }
            case .contiguous:
                if isMatch, previousWasMatch, !out.isEmpty { out[out.count - 1] += piece } else { out.append(piece) }
            }
            previousWasMatch = isMatch
        }
        if !pendingNext.isEmpty { out.append(pendingNext) }
        return out.filter { !$0.isEmpty }
    }
}
