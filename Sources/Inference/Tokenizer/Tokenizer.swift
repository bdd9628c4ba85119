import Foundation
import Tensors

/// A Hugging Face `tokenizer.json` tokenizer: added tokens, normalizer, pre-tokenizer, BPE model,
/// post-processor and decoder, each the library's semantics for the components the supported
/// model families use (GPT-2 byte-level BPE; Llama-3/Qwen2/Qwen3 and Phi-4-mini's o200k
/// split-regex + byte-level BPE; Llama-2/Mistral/Phi-3 Metaspace + byte-fallback BPE; Gemma 2/3's
/// Replace-normalized byte-fallback BPE with no pre-tokenizer). An unsupported component is a
/// `TokenizerError` naming it.
public struct Tokenizer: Sendable {
    let added: AddedVocabulary
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    var postProcessor: PostProcessor?
    let decoder: Decoder?
    let idToToken: [Int: String]
    let specialIds: Set<Int>

    /// Reads a tokenizer.json file.
    public init(contentsOf path: String) throws(TokenizerError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError(file: path, "cannot be read") }
        let root: JSONValue
        do {
            root = try JSONParser().parse(data)
        } catch {
            throw TokenizerError(file: path, "is not valid JSON: \(error)")
        }
        try self.init(json: root, file: path)
    }

    public init(json root: JSONValue, file: String) throws(TokenizerError) {
        let json = TokenizerJSON(file: file)
        let object = try json.object(root, "(root)")
        added = try AddedVocabulary(object["added_tokens"], json)
        normalizer = try object["normalizer"].flatMap { $0 == .null ? nil : $0 }.map { value throws(TokenizerError) in try Normalizer(value, json, field: "normalizer") }
        preTokenizer = try object["pre_tokenizer"].flatMap { $0 == .null ? nil : $0 }.map { value throws(TokenizerError) in try PreTokenizer(value, json, field: "pre_tokenizer") }
        model = try BPEModel(object["model"] ?? .null, json, field: "model")
        postProcessor = try object["post_processor"].flatMap { $0 == .null ? nil : $0 }.map { value throws(TokenizerError) in try PostProcessor(value, json, field: "post_processor") }
        decoder = try object["decoder"].flatMap { $0 == .null ? nil : $0 }.map { value throws(TokenizerError) in try Decoder(value, json, field: "decoder") }
        var idToToken: [Int: String] = [:]
        for (token, id) in model.vocabulary { idToToken[id] = token.value }
        for token in added.tokens { idToToken[token.id] = String(String.UnicodeScalarView(token.content)) }
        self.idToToken = idToToken
        specialIds = Set(added.tokens.filter(\.special).map(\.id))
    }

    /// Token ids of `text`, with the post-processor's special tokens (BOS) when `addSpecialTokens`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var segments = added.split([AddedVocabulary.Segment(text: text, token: nil, isFirst: true)], normalized: false)
        if let normalizer {
            segments = segments.map { segment in
                var segment = segment
                if segment.token == nil { segment.text = normalizer.apply(segment.text) }
                return segment
            }
        }
        segments = added.split(segments, normalized: true)
        var ids: [Int] = []
        for segment in segments {
            if let token = segment.token { ids.append(token); continue }
            guard !segment.text.isEmpty else { continue }
            let pieces = preTokenizer?.apply([Piece(text: segment.text, isFirst: segment.isFirst)]) ?? [Piece(text: segment.text, isFirst: segment.isFirst)]
            for piece in pieces { model.tokenize(piece.text, into: &ids) }
        }
        guard addSpecialTokens, let postProcessor else { return ids }
        return postProcessor.apply(ids)
    }

    /// The text of `ids` through the decoder; unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens, specialIds.contains(id) { return nil }
            return idToToken[id]
        }
        return (decoder?.apply(tokens) ?? tokens).joined()
    }

    public var vocabularySize: Int { (idToToken.keys.max() ?? -1) + 1 }

    public func id(of token: String) -> Int? {
        added.tokens.first { $0.content.elementsEqual(token.unicodeScalars) }?.id ?? model.vocabulary[TokenText(token)]
    }

    public func token(of id: Int) -> String? { idToToken[id] }
}

extension Tokenizer {
    /// Families whose transformers tokenizer class rebuilds the post-processor from
    /// tokenizer_config.json's `add_bos_token` / `add_eos_token` (Llama's `update_post_processor`).
    static let configuredSpecialTokenClasses: Set<String> = [
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast",
    ]

    /// The tokenizer of a model folder: tokenizer.json, with BOS/EOS as tokenizer_config.json says
    /// for the classes that honour `add_bos_token` (as transformers' AutoTokenizer does); other
    /// classes keep tokenizer.json's own post-processor.
    public init(folder: String) throws(TokenizerError) {
        try self.init(contentsOf: folder + "/tokenizer.json")
        let configPath = folder + "/tokenizer_config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else { return }
        let config: JSONObject
        do {
            guard let object = try JSONParser(allowNonFinite: true).parse(data).object else {
                throw TokenizerError(file: configPath, "is not a JSON object")
            }
            config = object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError(file: configPath, "is not valid JSON: \(error)")
        }
        guard let type = config["tokenizer_class"]?.string, Self.configuredSpecialTokenClasses.contains(type) else { return }
        func tokenID(_ key: String) throws(TokenizerError) -> Int? {
            guard let value = config[key], value != .null else { return nil }
            guard let content = value.string ?? value.object?["content"]?.string else {
                throw TokenizerError(file: configPath, field: key, "expected a token string or {\"content\": …}")
            }
            guard let id = id(of: content) else { throw TokenizerError(file: configPath, field: key, "\"\(content)\" is not a token of tokenizer.json") }
            return id
        }
        var items: [PostProcessor.Item] = []
        if config["add_bos_token"]?.bool ?? true, let bos = try tokenID("bos_token") { items.append(.special([bos])) }
        items.append(.sequence)
        if config["add_eos_token"]?.bool ?? false, let eos = try tokenID("eos_token") { items.append(.special([eos])) }
        postProcessor = .template(items)
    }
}
