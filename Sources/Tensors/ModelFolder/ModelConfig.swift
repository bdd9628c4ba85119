import Foundation

/// A model's config.json: the whole document kept (so it can be written back with one field
/// changed and nothing else), plus typed accessors that name the field when its type is wrong.
public struct ModelConfig: Sendable, Equatable {
    public let path: String
    public private(set) var json: JSONObject

    /// Reads and parses `path`. Python's `NaN`/`Infinity` are accepted, as `json.dump` writes them.
    public init(contentsOf path: String) throws(ModelFolderError) {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFolderError(file: path, "cannot be read")
        }
        let root: JSONValue
        do {
            root = try JSONParser(allowNonFinite: true).parse(data)
        } catch {
            throw ModelFolderError(file: path, "is not valid JSON: \(error)")
        }
        guard let object = root.object else {
            throw ModelFolderError(file: path, "is \(root.kindDescription), not a JSON object")
        }
        json = object
    }

    public init(path: String, json: JSONObject) {
        self.path = path
        self.json = json
    }

    /// An integer field; nil when absent, an error when present but not an integer.
    public func int(_ key: String) throws(ModelFolderError) -> Int? {
        guard let value = json[key], value != .null else { return nil }
        guard let int = value.number?.int else {
            throw ModelFolderError(file: path, field: key, "expected an integer, found \(value.serialized())")
        }
        return int
    }

    /// A string field; nil when absent, an error when present but not a string.
    public func string(_ key: String) throws(ModelFolderError) -> String? {
        guard let value = json[key], value != .null else { return nil }
        guard let string = value.string else {
            throw ModelFolderError(file: path, field: key, "expected a string, found \(value.kindDescription)")
        }
        return string
    }

    /// A Boolean field; nil when absent, an error when present but not a Boolean.
    public func bool(_ key: String) throws(ModelFolderError) -> Bool? {
        guard let value = json[key], value != .null else { return nil }
        guard let bool = value.bool else {
            throw ModelFolderError(file: path, field: key, "expected true or false, found \(value.serialized())")
        }
        return bool
    }

    public var modelType: String? { get throws(ModelFolderError) { try string("model_type") } }

    /// The first entry of `architectures` (e.g. `LlamaForCausalLM`).
    public var architecture: String? {
        get throws(ModelFolderError) {
            guard let value = json["architectures"], value != .null else { return nil }
            guard let list = value.array, list.allSatisfy({ $0.string != nil }) else {
                throw ModelFolderError(file: path, field: "architectures", "expected a list of strings")
            }
            return list.first?.string
        }
    }

    public var layerCount: Int? { get throws(ModelFolderError) { try int("num_hidden_layers") } }
    public var hiddenSize: Int? { get throws(ModelFolderError) { try int("hidden_size") } }
    public var vocabularySize: Int? { get throws(ModelFolderError) { try int("vocab_size") } }
    /// `tie_word_embeddings`; transformers' default is true when the key is absent.
    public var tiesWordEmbeddings: Bool { get throws(ModelFolderError) { try bool("tie_word_embeddings") ?? true } }

    /// Sets a field, keeping its position (or appending a new one).
    public mutating func set(_ key: String, _ value: JSONValue) { json[key] = value }

    /// The document as transformers writes it: two-space indentation and a final newline.
    public var serialized: String { JSONValue.object(json).serialized(indent: 2) + "\n" }
}
