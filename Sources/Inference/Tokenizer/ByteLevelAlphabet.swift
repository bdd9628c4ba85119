/// GPT-2's reversible map from the 256 byte values to printable Unicode characters
/// (openai/gpt-2 `bytes_to_unicode`, as the tokenizers library's ByteLevel uses it): printable
/// Latin-1 bytes map to themselves, the other 68 to U+0100 onwards, in byte order.
enum ByteLevelAlphabet {
    static let characters: [Unicode.Scalar] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var mapped = printable
        var next = 0
        for byte in 0...255 where !printable.contains(byte) {
            printable.append(byte)
            mapped.append(256 + next)
            next += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (byte, code) in zip(printable, mapped) {
            table[byte] = Unicode.Scalar(UInt32(code)) ?? " "
        }
        return table
    }()

    static let bytes: [Unicode.Scalar: UInt8] = {
        var inverse: [Unicode.Scalar: UInt8] = [:]
        for (byte, character) in characters.enumerated() { inverse[character] = UInt8(byte) }
        return inverse
    }()

    /// The text's UTF-8 bytes spelled in the alphabet.
    static func encode(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for byte in text.utf8 { out.append(characters[Int(byte)]) }
        return String(out)
    }
}
