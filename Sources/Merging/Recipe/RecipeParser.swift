import Foundation
import Tensors
import Yams

extension Recipe {
    /// Reads a recipe file.
    public init(contentsOf path: String) throws(RecipeError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecipeError(file: path, "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RecipeError(file: path, "is not UTF-8 text")
        }
        try self.init(yaml: text, file: path)
    }

    /// Parses recipe YAML; `file` names the source in errors.
    public init(yaml: String, file: String) throws(RecipeError) {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw RecipeError(file: file, "is empty") }
            root = node
        } catch let error as RecipeError {
            throw error
        } catch {
            throw RecipeError(file: file, "is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        self = try RecipeReader(file: file).recipe(root)
    }
}

/// Walks the YAML node tree with the key path at hand, so every error names where it is.
private struct RecipeReader {
    let file: String

    func fail(_ path: String?, _ message: String) -> RecipeError {
        RecipeError(file: file, path: path, message)
    }

    static let unsupported: [String: String] = [
        "modules": "'modules' (multi-module architectures) is not supported; use models or slices",
        "tokenizer": "'tokenizer' (vocabulary surgery) is not supported; use tokenizer_source: base or a model",
        "chat_template": "'chat_template' is not supported; edit tokenizer_config.json of the output instead",
    ]

    func mapping(_ node: Node, _ path: String?, allowed: [String]) throws(RecipeError) -> [(key: String, value: Node)] {
        guard case .mapping(let mapping) = node else {
            throw fail(path, "expected a mapping of keys, found \(describe(node))")
        }
        var pairs: [(key: String, value: Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw fail(path, "has a key that is not a string") }
            let keyPath = path.map { "\($0).\(key)" } ?? key
            if pairs.contains(where: { $0.key == key }) { throw fail(keyPath, "appears twice") }
            if path == nil, let why = Self.unsupported[key] { throw fail(keyPath, why) }
            guard allowed.contains(key) else {
                throw fail(keyPath, "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            pairs.append((key, value))
        }
        return pairs
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    func string(_ node: Node, _ path: String) throws(RecipeError) -> String {
        guard case .scalar(let scalar) = node, node.null == nil else {
            throw fail(path, "expected a string, found \(describe(node))")
        }
        return scalar.string
    }

    /// A model reference: a folder, or mergekit's `BASE+ADAPTER` (a LoRA adapter on its base),
    /// also as mergekit's mapping `{model: BASE, lora: ADAPTER}` (each a path or `{path: …}`).
    func modelPath(_ node: Node, _ path: String) throws(RecipeError) -> String {
        if case .mapping(let mapping) = node {
            var parts: [String: String] = [:]
            for (key, value) in mapping {
                let name = try string(key, path)
                guard name == "model" || name == "lora" else {
                    throw fail(path + "." + name, "is not supported in a model reference (give model and lora)")
                }
                if case .mapping(let inner) = value {
                    for (innerKey, _) in inner where try string(innerKey, path) != "path" {
                        throw fail("\(path).\(name).\(try string(innerKey, path))", "is not supported (revisions need the hub); give a local path")
                    }
                    guard let location = value["path"] else { throw fail("\(path).\(name)", "has no path") }
                    parts[name] = try string(location, "\(path).\(name).path")
                } else {
                    parts[name] = try string(value, "\(path).\(name)")
                }
            }
            guard let model = parts["model"], !model.isEmpty else { throw fail(path + ".model", "is missing") }
            return parts["lora"].map { model + "+" + $0 } ?? model
        }
        let model = try string(node, path)
        guard !model.isEmpty else { throw fail(path, "is empty") }
        if model.contains("+") && !FileManager.default.fileExists(atPath: model) {
            let parts = model.split(separator: "+", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty }) else {
                throw fail(path, "\"\(model)\" is neither a folder nor BASE+ADAPTER (one + between a model and a LoRA adapter)")
            }
        }
        return model
    }

    func int(_ node: Node, _ path: String) throws(RecipeError) -> Int {
        guard case .scalar = node, let value = node.int else { throw fail(path, "expected an integer, found \(describe(node))") }
        return value
    }

    func scalar(_ node: Node, _ path: String) throws(RecipeError) -> ParameterScalar {
        guard case .scalar(let scalar) = node else { throw fail(path, "expected a number, true/false or a string, found \(describe(node))") }
        if scalar.style == .plain {
            if let bool = node.bool { return .bool(bool) }
            if let int = node.int { return .number(Double(int)) }
            if let double = node.float { return .number(double) }
        }
        return .string(scalar.string)
    }

    func setting(_ node: Node, _ path: String) throws(RecipeError) -> ParameterSetting {
        switch node {
        case .scalar:
            return .scalar(try scalar(node, path))
        case .sequence(let sequence):
            let elements = Array(sequence)
            if !elements.isEmpty, elements.allSatisfy({ if case .mapping = $0 { true } else { false } }) {
                var entries: [ParameterSetting.FilteredValue] = []
                for (i, element) in elements.enumerated() {
                    let elementPath = "\(path)[\(i)]"
                    let pairs = try mapping(element, elementPath, allowed: ["filter", "value"])
                    var filter: String?
                    var value: ParameterSetting?
                    for (key, child) in pairs {
                        if key == "filter" { filter = try string(child, "\(elementPath).filter") }
                        else { value = try plainSetting(child, "\(elementPath).value") }
                    }
                    guard let value else { throw fail(elementPath, "has no value") }
                    entries.append(ParameterSetting.FilteredValue(filter: filter, value: value))
                }
                return .filtered(entries)
            }
            return try plainSetting(node, path)
        case .mapping:
            let pairs = try mapping(node, path, allowed: ["filter", "value"])
            guard let valueNode = pairs.first(where: { $0.key == "value" })?.value else { throw fail(path, "has no value") }
            let filter = try pairs.first(where: { $0.key == "filter" }).map { pair throws(RecipeError) in try string(pair.value, "\(path).filter") }
            return .filtered([ParameterSetting.FilteredValue(filter: filter, value: try plainSetting(valueNode, "\(path).value"))])
        case .alias:
            throw fail(path, "YAML aliases are not supported here")
        }
    }

    /// A scalar or a list of scalars (a gradient): what a filter entry's value may be.
    func plainSetting(_ node: Node, _ path: String) throws(RecipeError) -> ParameterSetting {
        if case .sequence(let sequence) = node {
            var values: [ParameterScalar] = []
            for (i, element) in sequence.enumerated() { values.append(try scalar(element, "\(path)[\(i)]")) }
            guard !values.isEmpty else { throw fail(path, "is an empty list") }
            return .list(values)
        }
        return .scalar(try scalar(node, path))
    }

    func parameters(_ node: Node, _ path: String) throws(RecipeError) -> ParameterSettings {
        guard case .mapping(let mapping) = node else {
            if node.null != nil { return ParameterSettings() }
            throw fail(path, "expected a mapping of parameter names, found \(describe(node))")
        }
        var settings = ParameterSettings()
        for (keyNode, value) in mapping {
            guard let name = keyNode.string else { throw fail(path, "has a parameter name that is not a string") }
            if settings[name] != nil { throw fail("\(path).\(name)", "appears twice") }
            settings[name] = try setting(value, "\(path).\(name)")
        }
        return settings
    }

    func recipe(_ root: Node) throws(RecipeError) -> Recipe {
        let keys = ["merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype",
                    "tokenizer_source", "random_seed"]
        let pairs = try mapping(root, nil, allowed: keys)
        guard let methodNode = pairs.first(where: { $0.key == "merge_method" })?.value else {
            throw fail("merge_method", "is missing")
        }
        let methodName = try string(methodNode, "merge_method")
        guard let method = MergeMethod(rawValue: methodName) else {
            throw fail("merge_method", "unknown method \"\(methodName)\" (supported: \(MergeMethod.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var recipe = Recipe(mergeMethod: method)
        for (key, node) in pairs {
            switch key {
            case "base_model": recipe.baseModel = try modelPath(node, key)
            case "models":
                guard case .sequence(let list) = node else { throw fail(key, "expected a list of models, found \(describe(node))") }
                var models: [Recipe.InputModel] = []
                for (i, element) in list.enumerated() {
                    let path = "models[\(i)]"
                    let fields = try mapping(element, path, allowed: ["model", "parameters"])
                    guard let modelNode = fields.first(where: { $0.key == "model" })?.value else { throw fail(path, "has no model") }
                    var model = Recipe.InputModel(model: try modelPath(modelNode, "\(path).model"))
                    if let parameterNode = fields.first(where: { $0.key == "parameters" })?.value {
                        model.parameters = try parameters(parameterNode, "\(path).parameters")
                    }
                    models.append(model)
                }
                recipe.models = models
            case "slices":
                guard case .sequence(let list) = node else { throw fail(key, "expected a list of slices, found \(describe(node))") }
                var slices: [Recipe.OutputSlice] = []
                for (i, element) in list.enumerated() { slices.append(try slice(element, "slices[\(i)]")) }
                recipe.slices = slices
            case "parameters": recipe.parameters = try parameters(node, key)
            case "dtype", "out_dtype":
                let name = try string(node, key)
                guard let dtype = DType(floatName: name) else {
                    throw fail(key, "unknown dtype \"\(name)\" (float32, float16 or bfloat16)")
                }
                if key == "dtype" { recipe.dtype = dtype } else { recipe.outDType = dtype }
            case "tokenizer_source":
                let source = try string(node, key)
                switch source {
                case "base": recipe.tokenizerSource = .base
                case "union": throw fail(key, "union is not supported; use base or a model")
                default: recipe.tokenizerSource = .model(try modelPath(node, key))
                }
            case "random_seed":
                guard case .scalar = node, let seed = node.int, seed >= 0 else {
                    throw fail(key, "expected a non-negative integer, found \(describe(node))")
                }
                recipe.randomSeed = UInt64(seed)
            default: break  // merge_method, read above
            }
        }
        switch (recipe.models, recipe.slices) {
        case (nil, nil): throw fail(nil, "needs either models or slices")
        case (_?, _?): throw fail("slices", "give either models or slices, not both")
        default: break
        }
        try RecipeValidator(file: file).validate(recipe)
        return recipe
    }

    func slice(_ node: Node, _ path: String) throws(RecipeError) -> Recipe.OutputSlice {
        let fields = try mapping(node, path, allowed: ["sources", "base_model", "parameters", "residual_weight"])
        var output = Recipe.OutputSlice(sources: [])
        for (key, value) in fields {
            switch key {
            case "sources":
                guard case .sequence(let list) = value, list.count > 0 else { throw fail("\(path).sources", "expected a non-empty list of sources") }
                for (i, element) in list.enumerated() {
                    let sourcePath = "\(path).sources[\(i)]"
                    let sourceFields = try mapping(element, sourcePath, allowed: ["model", "layer_range", "parameters"])
                    guard let modelNode = sourceFields.first(where: { $0.key == "model" })?.value else { throw fail(sourcePath, "has no model") }
                    guard let rangeNode = sourceFields.first(where: { $0.key == "layer_range" })?.value else {
                        throw fail(sourcePath, "has no layer_range")
                    }
                    guard case .sequence(let bounds) = rangeNode, bounds.count == 2 else {
                        throw fail("\(sourcePath).layer_range", "expected [start, end]")
                    }
                    let start = try int(bounds[0], "\(sourcePath).layer_range[0]")
                    let end = try int(bounds[1], "\(sourcePath).layer_range[1]")
                    guard start >= 0, end > start else {
                        throw fail("\(sourcePath).layer_range", "[\(start), \(end)] is not a non-empty range of layers")
                    }
                    var source = Recipe.InputSlice(model: try modelPath(modelNode, "\(sourcePath).model"), layerRange: start..<end)
                    if let parameterNode = sourceFields.first(where: { $0.key == "parameters" })?.value {
                        source.parameters = try parameters(parameterNode, "\(sourcePath).parameters")
                    }
                    output.sources.append(source)
                }
            case "base_model": output.baseModel = try modelPath(value, "\(path).base_model")
            case "parameters": output.parameters = try parameters(value, "\(path).parameters")
            default: throw fail("\(path).residual_weight", "residual_weight is not supported")
            }
        }
        guard !output.sources.isEmpty else { throw fail(path, "has no sources") }
        return output
    }
}
