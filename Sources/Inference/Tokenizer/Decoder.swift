import Foundation
import Tensors

/// tokenizer.json's `decoder`: token strings back to text.
indirect enum Decoder: Sendable {
    case sequence([Decoder])
    case byteLevel
    case metaspace(replacement: String, prepend: Bool)
    case replace(TextPattern, String)
    case byteFallback
    case fuse
    case strip(content: Character, start: Int, stop: Int)

    init(_ value: JSONValue, _ json: TokenizerJSON, field: String) throws(TokenizerError) {
        let object = try json.object(value, field)
        let type = try json.string(object, "type", field)
        switch type {
        case "Sequence":
            var parts: [Decoder] = []
            for (i, part) in try json.array(object, "decoders", field).enumerated() {
                parts.append(try Decoder(part, json, field: "\(field).decoders[\(i)]"))
            }
            self = .sequence(parts)
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let addsPrefix = try json.bool(object, "add_prefix_space", field, default: true)
            let scheme = object["prepend_scheme"]?.string ?? (addsPrefix ? "always" : "never")
            self = .metaspace(replacement: try json.string(object, "replacement", field), prepend: scheme != "never")
        case "Replace": self = .replace(try json.pattern(object, field), try json.string(object, "content", field))
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = try json.string(object, "content", field)
            guard content.count == 1, let character = content.first else { throw json.fail("\(field).content", "expected one character") }
            self = .strip(content: character, start: try json.int(object, "start", field), stop: try json.int(object, "stop", field))
        default:
            throw json.fail("\(field).type", "\"\(type)\" is not supported (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)")
        }
    }

    /// The library's `decode_chain`: each decoder maps the token strings to new token strings.
    func apply(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let parts):
            return parts.reduce(tokens) { $1.apply($0) }
        case .byteLevel:
            // Tokens wholly in the byte alphabet become their bytes, others their UTF-8 bytes.
            var bytes: [UInt8] = []
            for token in tokens {
                let mapped = token.unicodeScalars.map { ByteLevelAlphabet.bytes[$0] }
                if mapped.allSatisfy({ $0 != nil }) { bytes += mapped.compactMap { $0 } } else { bytes += Array(token.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let replacement, let prepend):
            return tokens.enumerated().map { i, token in
                var text = token.replacingOccurrences(of: replacement, with: " ")
                if prepend, i == 0, text.unicodeScalars.first == " " { text.unicodeScalars.removeFirst() }
                return text
            }
        case .replace(let pattern, let content):
            return tokens.map { pattern.replacing(in: $0, with: content) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    out.append(text)
                } else {
                    out += Array(repeating: "\u{FFFD}", count: pending.count)
                }
                pending = []
            }
            for token in tokens {
                let scalars = Array(token.unicodeScalars)
                if scalars.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"),
                   let byte = UInt8(String(String.UnicodeScalarView(scalars[3..<5])), radix: 16) {
                    pending.append(byte)
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var characters = Substring(token)
                var removed = 0
                while removed < start, characters.first == content { characters = characters.dropFirst(); removed += 1 }
                removed = 0
                while removed < stop, characters.last == content { characters = characters.dropLast(); removed += 1 }
                return String(characters)
            }
        }
    }
}

