/// A token's text compared and hashed by its UTF-8 bytes. Swift's `String` equality is Unicode
/// canonical equivalence, under which "é" and "e\u{301}" are equal — but vocabularies hold both as
/// different tokens, as the tokenizers library (Rust strings compare bytes) does.
struct TokenText: Hashable, Sendable {
    let value: String

    init(_ value: String) { self.value = value }

    static func == (a: TokenText, b: TokenText) -> Bool { a.value.utf8.elementsEqual(b.value.utf8) }

    func hash(into hasher: inout Hasher) {
        for byte in value.utf8 { hasher.combine(byte) }
    }
}
