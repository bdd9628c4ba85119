import ArgumentParser
import Foundation
import Inference
import Tensors

extension Amalgam {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe a model folder: architecture, whether Amalgam can merge and evaluate it, layers, parameters, dtypes, shards.",
            discussion: """
                MODEL is a Hugging Face folder (config.json and safetensors weights, sharded \
                through model.safetensors.index.json or not), a single .safetensors file, or a \
                PEFT LoRA adapter folder (alone, or as BASE+ADAPTER to check it against BASE). \
                Every header is validated; a damaged file is named with its problem.
                """
        )

        @Argument(help: "The model folder or .safetensors file to describe.", completion: .directory)
        var model: String

        @Flag(help: "List every tensor with its dtype, shape and shard.")
        var tensors = false

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            let parts = model.split(separator: "+", omittingEmptySubsequences: false)
            let isReference = parts.count == 2 && !FileManager.default.fileExists(atPath: model)
            if LoRAAdapter.isAdapter(model) || isReference {
                let summary = try AdapterSummary(model, adapterPath: isReference ? String(parts[1]) : model)
                print(json ? summary.json() : summary.text())
                return
            }
            let folder = try ModelFolder(path: model)
            let summary = try ModelSummary(folder)
            print(json ? summary.json(listingTensors: tensors) : summary.text(listingTensors: tensors))
        }
    }
}

/// What `inspect` reports, gathered once and printed as text or JSON.
struct ModelSummary {
    let folder: ModelFolder
    let modelType: String?
    let architecture: String?
    let layers: Int?
    let hiddenSize: Int?
    let vocabularySize: Int?
    let tiedEmbeddings: Bool
    /// The layout merging uses (the family's, else read off the tensor names), or why there is none.
    let merging: Result<TensorLayout, ModelFolderError>
    /// The built-in evaluator's reading of config.json, or why it cannot run the model.
    let evaluation: Result<DecoderConfiguration, ModelError>

    init(_ folder: ModelFolder) throws {
        self.folder = folder
        let config = folder.config
        modelType = try config?.modelType
        architecture = try config?.architecture
        layers = try config?.layerCount ?? folder.layersInTensorNames
        hiddenSize = try config?.hiddenSize
        vocabularySize = try config?.vocabularySize
        let hasHead = folder.tensor("lm_head.weight") != nil
        tiedEmbeddings = try !hasHead && (config?.tiesWordEmbeddings ?? false)
        let type = modelType ?? "?"
        if let layout = config.flatMap(ModelFamilies.layout) {
            merging = .success(layout)
        } else {
            merging = Result { () throws(ModelFolderError) in try TensorLayout.inferred(from: folder.tensorNames, modelType: type, file: folder.path) }
        }
        if let config {
            evaluation = Result { () throws(ModelError) in try DecoderConfiguration(config) }
        } else {
            evaluation = .failure(ModelError(file: folder.path, "has no config.json"))
        }
    }

    /// "yes (…)" or "no: why", for the merge and evaluate rows.
    var mergeText: String {
        switch merging {
        case .success(let layout):
            let source = ModelFamilies.canEvaluate(layout.modelType) ? "the \(layout.modelType) family's layout" : "layout read from the tensor names"
            return "yes (\(source): \(layout.preWeights.count) + \(layout.layerWeights.count) per layer + \(layout.postWeights.count) tensors)"
        case .failure(let error): return "no: \(error.message)"
        }
    }

    var evaluateText: String {
        switch evaluation {
        case .success(let configuration): return "yes (built-in \(configuration.modelType) forward pass)"
        case .failure(let error): return "no: \(error.message)"
        }
    }

    func text(listingTensors: Bool) -> String {
        var rows: [(String, String)] = []
        if let architecture { rows.append(("architecture", architecture + (modelType.map { " (model_type \($0))" } ?? ""))) }
        else if let modelType { rows.append(("model_type", modelType)) }
        if folder.config == nil { rows.append(("config", "none (a bare safetensors file)")) }
        rows.append(("merge", mergeText))
        rows.append(("evaluate", evaluateText))
        if let layers { rows.append(("layers", String(layers))) }
        if let hiddenSize { rows.append(("hidden size", String(hiddenSize))) }
        if let vocabularySize { rows.append(("vocabulary", String(vocabularySize))) }
        rows.append(("parameters", Format.count(folder.parameterCount) + (tiedEmbeddings ? " (tied embeddings)" : "")))
        rows.append(("tensors", String(folder.tensorNames.count)))
        rows.append(("dtypes", folder.dtypeCounts.map { "\($0.dtype.rawValue) ×\($0.count)" }.joined(separator: ", ")))
        let shardText = folder.shards.count == 1 ? "1 file" : "\(folder.shards.count) shards"
        rows.append(("on disk", "\(Format.bytes(folder.bytesOnDisk)) in \(shardText)" + (folder.indexPath != nil ? " with an index" : "")))
        if !folder.tokenizerFiles.isEmpty { rows.append(("tokenizer", folder.tokenizerFiles.joined(separator: ", "))) }

        var lines = [folder.path]
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows { lines.append("  " + key.padding(to: width) + "  " + value) }
        if let configured = layers, let seen = folder.layersInTensorNames, folder.config != nil, configured != seen {
            lines.append("  note: config.json says \(configured) layers but tensor names show \(seen)")
        }
        if listingTensors {
            let nameWidth = folder.tensorNames.map(\.count).max() ?? 0
            lines.append("")
            for name in folder.tensorNames {
                guard let (file, info) = folder.tensor(name) else { continue }
                let shape = "[" + info.shape.map(String.init).joined(separator: ", ") + "]"
                var line = name.padding(to: nameWidth) + "  " + info.dtype.rawValue.padding(to: 5) + "  " + shape
                if folder.shards.count > 1 { line += "  " + Format.fileName(file.path) }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    func json(listingTensors: Bool) -> String {
        func number(_ n: Int?) -> JSONValue { n.map { .number(JSONNumber($0)) } ?? .null }
        var dtypes = JSONObject()
        for (dtype, count) in folder.dtypeCounts { dtypes[dtype.rawValue] = number(count) }
        var object = JSONObject([
            "path": .string(folder.path),
            "model_type": modelType.map(JSONValue.string) ?? .null,
            "architecture": architecture.map(JSONValue.string) ?? .null,
            "layers": number(layers),
            "hidden_size": number(hiddenSize),
            "vocab_size": number(vocabularySize),
            "parameters": number(folder.parameterCount),
            "tied_embeddings": .bool(tiedEmbeddings),
            "can_merge": .bool((try? merging.get()) != nil),
            "can_evaluate": .bool((try? evaluation.get()) != nil),
            "merge": .string(mergeText),
            "evaluate": .string(evaluateText),
            "tensor_count": number(folder.tensorNames.count),
            "dtypes": .object(dtypes),
            "bytes_on_disk": number(folder.bytesOnDisk),
            "shards": .array(folder.shards.map { .string(Format.fileName($0.path)) }),
            "index": folder.indexPath.map { .string(Format.fileName($0)) } ?? .null,
            "tokenizer_files": .array(folder.tokenizerFiles.map(JSONValue.string)),
        ])
        if listingTensors {
            object["tensors"] = .array(folder.tensorNames.compactMap { name in
                folder.tensor(name).map { file, info in
                    .object(JSONObject([
                        "name": .string(name),
                        "dtype": .string(info.dtype.rawValue),
                        "shape": .array(info.shape.map { .number(JSONNumber($0)) }),
                        "shard": .string(Format.fileName(file.path)),
                    ]))
                }
            })
        }
        return JSONValue.object(object).serialized(indent: 2)
    }
}

/// What `inspect` reports for a LoRA adapter: its update, and its base — whether it is there and
/// the adapter fits it, and then what the base's summary says of merging and evaluation.
struct AdapterSummary {
    let reference: String
    let adapter: LoRAAdapter
    /// The adapter on its base, or why it cannot be (no local base, a base it does not fit).
    let source: Result<SourceModel, any Error>
    let base: ModelSummary?

    init(_ reference: String, adapterPath: String) throws {
        self.reference = reference
        adapter = try LoRAAdapter(path: adapterPath)
        source = Result { try SourceModel.open(reference, resolve: { $0 }) }
        base = try (try? source.get()).map { try ModelSummary($0.folder) }
    }

    var lowRank: [(String, LoRAAdapter.Edit)] { adapter.editOrder.compactMap { name in adapter.edits[name].map { (name, $0) } } }
    var updated: Int { lowRank.filter { if case .lowRank = $0.1 { true } else { false } }.count }
    var replaced: Int { lowRank.count - updated }
    var parameterCount: Int { adapter.file.tensors.reduce(0) { $0 + $1.elementCount } }
    var ranks: [Int] {
        Set(lowRank.compactMap { if case .lowRank(let a, _, _, _) = $0.1 { a.shape[0] } else { nil } }).sorted()
    }

    var baseText: String {
        let named = adapter.baseModelNameOrPath ?? "(not named)"
        switch source {
        case .success(let model): return "\(model.folder.path) (the adapter fits it)" + (named == model.folder.path ? "" : "; its config names \(named)")
        case .failure(let error): return "\(named): \(error)"
        }
    }

    var scaleText: String {
        let scale = adapter.rsLoRA ? adapter.alpha / Double(adapter.rank).squareRoot() : adapter.alpha / Double(adapter.rank)
        return "r \(adapter.rank), lora_alpha \(Format.fixed(adapter.alpha, digits: 4)) (scale \(Format.fixed(scale, digits: 4))\(adapter.rsLoRA ? ", rsLoRA" : ""))"
    }

    func text() -> String {
        var rows: [(String, String)] = [
            ("adapter", "PEFT LoRA, " + scaleText + (ranks.count > 1 ? "; ranks \(ranks.map(String.init).joined(separator: ", ")) by rank_pattern" : "")),
            ("updates", "\(updated) tensors by s·B·A" + (replaced > 0 ? ", \(replaced) replaced whole (modules_to_save, biases)" : "")),
            ("base", baseText),
        ]
        if let base {
            rows.append(("architecture", (base.architecture ?? "?") + (base.modelType.map { " (model_type \($0))" } ?? "")))
            rows.append(("merge", base.mergeText.hasPrefix("yes") ? "yes (folded on its base in Float32, chunk by chunk, as PEFT's merge_and_unload)" : base.mergeText))
            rows.append(("evaluate", base.evaluateText))
        } else {
            rows.append(("merge", "as BASE+ADAPTER, or in a recipe or space whose base_model is its base"))
        }
        rows.append(("parameters", Format.count(parameterCount) + " in \(adapter.file.tensors.count) tensors"))
        rows.append(("on disk", Format.bytes(adapter.file.fileSize)))
        var lines = [adapter.path]
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows { lines.append("  " + key.padding(to: width) + "  " + value) }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        let object = JSONObject([
            "path": .string(adapter.path),
            "kind": .string("lora_adapter"),
            "r": .number(JSONNumber(adapter.rank)),
            "lora_alpha": .number(JSONNumber(adapter.alpha)),
            "use_rslora": .bool(adapter.rsLoRA),
            "updated_tensors": .number(JSONNumber(updated)),
            "replaced_tensors": .number(JSONNumber(replaced)),
            "parameters": .number(JSONNumber(parameterCount)),
            "bytes_on_disk": .number(JSONNumber(adapter.file.fileSize)),
            "base_model_name_or_path": adapter.baseModelNameOrPath.map(JSONValue.string) ?? .null,
            "base": .string(baseText),
            "can_merge": .bool(base.map { (try? $0.merging.get()) != nil } ?? false),
            "can_evaluate": .bool(base.map { (try? $0.evaluation.get()) != nil } ?? false),
        ])
        return JSONValue.object(object).serialized(indent: 2)
    }
}
