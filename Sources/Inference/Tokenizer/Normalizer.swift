import Foundation
import Tensors

/// tokenizer.json's `normalizer`: the text transforms applied before pre-tokenization.
indirect enum Normalizer: Sendable {
    case sequence([Normalizer])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case replace(TextPattern, String)
    case prepend(String)
    case strip(left: Bool, right: Bool)

    init(_ value: JSONValue, _ json: TokenizerJSON, field: String) throws(TokenizerError) {
        let object = try json.object(value, field)
        let type = try json.string(object, "type", field)
        switch type {
        case "Sequence":
            var parts: [Normalizer] = []
            for (i, part) in try json.array(object, "normalizers", field).enumerated() {
                parts.append(try Normalizer(part, json, field: "\(field).normalizers[\(i)]"))
            }
            self = .sequence(parts)
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Replace": self = .replace(try json.pattern(object, field), try json.string(object, "content", field))
        case "Prepend": self = .prepend(try json.string(object, "prepend", field))
        case "Strip":
            self = .strip(left: try json.bool(object, "strip_left", field, default: true), right: try json.bool(object, "strip_right", field, default: true))
        default:
            throw json.fail("\(field).type", "\"\(type)\" is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip)")
        }
    }

    func apply(_ text: String) -> String {
        switch self {
        case .sequence(let parts): return parts.reduce(text) { $1.apply($0) }
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return text.lowercased()
        case .replace(let pattern, let content): return pattern.replacing(in: text, with: content)
        case .prepend(let prefix): return text.isEmpty ? text : prefix + text
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars[...]
            if left { scalars = scalars.drop { $0.properties.isWhitespace } }
            if right { while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() } }
            return String(String.UnicodeScalarView(scalars))
        }
    }
}

extension TextPattern {
    /// `text` with every match replaced by `content`.
    func replacing(in text: String, with content: String) -> String {
        var out = ""
        var position = text.startIndex
        for range in matches(in: text) {
            out += text.scalars(position..<range.lowerBound)
            out += content
            position = range.upperBound
        }
        out += text.scalars(position..<text.endIndex)
        return out
    }
}

extension String {
    /// The Unicode scalars in `range` as a string (String's own subscript would round the bounds
    /// to grapheme clusters; tokenizers work on scalars).
    func scalars(_ range: Range<String.Index>) -> String {
        String(String.UnicodeScalarView(unicodeScalars[range]))
    }
}
