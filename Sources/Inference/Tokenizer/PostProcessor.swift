import Tensors

/// tokenizer.json's `post_processor`: special tokens wrapped around the encoded ids.
indirect enum PostProcessor: Sendable {
    enum Item: Sendable {
        case special([Int])
        case sequence
    }

    case sequence([PostProcessor])
    /// TemplateProcessing's `single` template (`<s> $A`): the ids of each special token, in order.
    case template([Item])
    /// ByteLevel post-processing only trims offsets: ids are unchanged.
    case byteLevel

    init(_ value: JSONValue, _ json: TokenizerJSON, field: String) throws(TokenizerError) {
        let object = try json.object(value, field)
        let type = try json.string(object, "type", field)
        switch type {
        case "Sequence":
            var parts: [PostProcessor] = []
            for (i, part) in try json.array(object, "processors", field).enumerated() {
                parts.append(try PostProcessor(part, json, field: "\(field).processors[\(i)]"))
            }
            self = .sequence(parts)
        case "ByteLevel":
            self = .byteLevel
        case "TemplateProcessing":
            let specials = try json.object(object["special_tokens"], "\(field).special_tokens")
            var items: [Item] = []
            for (i, entry) in try json.array(object, "single", field).enumerated() {
                let path = "\(field).single[\(i)]"
                let item = try json.object(entry, path)
                if let special = item["SpecialToken"]?.object {
                    let name = try json.string(special, "id", "\(path).SpecialToken")
                    guard let token = specials[name]?.object, let ids = token["ids"]?.array?.compactMap({ $0.number?.int }) else {
                        throw json.fail("\(field).special_tokens", "has no ids for \"\(name)\"")
                    }
                    items.append(.special(ids))
                } else if item["Sequence"] != nil {
                    items.append(.sequence)
                } else {
                    throw json.fail(path, "expected SpecialToken or Sequence")
                }
            }
            self = .template(items)
        default:
            throw json.fail("\(field).type", "\"\(type)\" is not supported (supported: Sequence, ByteLevel, TemplateProcessing)")
        }
    }

    func apply(_ ids: [Int]) -> [Int] {
        switch self {
        case .sequence(let parts): return parts.reduce(ids) { $1.apply($0) }
        case .byteLevel: return ids
        case .template(let items):
            return items.flatMap { item -> [Int] in
                switch item {
                case .special(let special): special
                case .sequence: ids
                }
            }
        }
    }
}
