import Tensors

/// Why a tokenizer.json cannot be used, naming the file and the component or field:
/// `zoo/base/tokenizer.json: pre_tokenizer.type: "UnicodeScripts" is not supported`.
public typealias TokenizerError = Located<TokenizerErrorKind>

/// What `TokenizerError` is about (its `Located` kind).
public enum TokenizerErrorKind {}

/// Typed reads of tokenizer.json fields that name the field when it is missing or mistyped.
struct TokenizerJSON {
    let file: String

    func fail(_ field: String, _ message: String) -> TokenizerError {
        TokenizerError(file: file, field: field, message)
    }

    func object(_ value: JSONValue?, _ field: String) throws(TokenizerError) -> JSONObject {
        guard let object = value?.object else { throw fail(field, "expected an object, found \(value?.kindDescription ?? "nothing")") }
        return object
    }

    func string(_ object: JSONObject, _ key: String, _ field: String) throws(TokenizerError) -> String {
        guard let string = object[key]?.string else { throw fail("\(field).\(key)", "expected a string, found \(object[key]?.kindDescription ?? "nothing")") }
        return string
    }

    func bool(_ object: JSONObject, _ key: String, _ field: String, default value: Bool) throws(TokenizerError) -> Bool {
        guard let entry = object[key], entry != .null else { return value }
        guard let bool = entry.bool else { throw fail("\(field).\(key)", "expected true or false, found \(entry.kindDescription)") }
        return bool
    }

    func int(_ object: JSONObject, _ key: String, _ field: String) throws(TokenizerError) -> Int {
        guard let int = object[key]?.number?.int else { throw fail("\(field).\(key)", "expected an integer, found \(object[key]?.kindDescription ?? "nothing")") }
        return int
    }

    /// A token id: an integer from 0 to 4 294 967 295, the tokenizers library's `u32` (the BPE merge
    /// table packs two ids into one 64-bit key, and the vocabulary size is the largest id + 1).
    func id(_ value: JSONValue?, _ field: String) throws(TokenizerError) -> Int {
        guard let id = value?.number?.int, id >= 0, id <= Int(UInt32.max) else {
            throw fail(field, "expected a token id from 0 to \(UInt32.max), found \(value.map { $0.number?.literal ?? $0.kindDescription } ?? "nothing")")
        }
        return id
    }

    func array(_ object: JSONObject, _ key: String, _ field: String) throws(TokenizerError) -> [JSONValue] {
        guard let array = object[key]?.array else { throw fail("\(field).\(key)", "expected a list, found \(object[key]?.kindDescription ?? "nothing")") }
        return array
    }

    /// A `pattern` field: `{"String": "…"}` or `{"Regex": "…"}`.
    func pattern(_ object: JSONObject, _ field: String) throws(TokenizerError) -> TextPattern {
        let pattern = try self.object(object["pattern"], "\(field).pattern")
        if let literal = pattern["String"]?.string { return .literal(literal) }
        if let regex = pattern["Regex"]?.string { return try TextPattern.regex(regex, file: file, field: "\(field).pattern.Regex") }
        throw fail("\(field).pattern", "expected {\"String\": …} or {\"Regex\": …}")
    }
}
