import Foundation
import Tensors

/// Writes a merged model as a Hugging Face folder, atomically: safetensors (sharded with an index
/// past `maxShardSize`), config.json from the base (or the first model) with `num_hidden_layers`
/// and the dtype updated, the tokenizer files of `tokenizer_source` (else the base's), the recipe
/// as `mergekit_config.yml` (mergekit's name for it) and a README.md model card.
public struct MergedModelWriter {
    public let materializer: Materializer
    public var maxShardSize = SafetensorsLayout.defaultMaxShardSize

    public init(materializer: Materializer, maxShardSize: Int = SafetensorsLayout.defaultMaxShardSize) {
        self.materializer = materializer
        self.maxShardSize = maxShardSize
    }

    /// Writes the folder; when `cancellation` is cancelled between tensors, nothing is left behind
    /// and `CancellationError` is thrown.
    public func write(to destination: String, replacing: Bool = false, cancellation: Cancellation? = nil,
                      progress: ((Int, Int) -> Void)? = nil) throws {
        let plan = materializer.plan
        if FileManager.default.fileExists(atPath: destination), !replacing {
            throw ModelFolderError(file: destination, "already exists; choose another folder or remove it")
        }
        let staging = try StagingDirectory(destination: destination)
        let writer = try SafetensorsWriter(directory: staging.path, layout: materializer.layout(maxShardSize: maxShardSize))
        try materializer.write(to: writer, cancellation: cancellation, progress: progress)

        let source = plan.models[plan.configModel]
        guard var config = source.folder.config else {
            throw ModelFolderError(file: source.reference, "has no config.json")
        }
        config.set("num_hidden_layers", .number(JSONNumber(plan.layerCount)))
        if let dtype = plan.recipe.outDType ?? plan.recipe.dtype {
            let key = config.json["dtype"] != nil ? "dtype" : "torch_dtype"
            config.set(key, .string(dtype.torchName))
        }
        try write(config.serialized, to: staging.path + "/config.json")

        let tokenizerModel: MergePlan.Model = switch plan.recipe.tokenizerSource {
        case .model(let path)?: plan.models.first { $0.reference == path } ?? source
        default: source
        }
        for name in tokenizerModel.folder.tokenizerFiles {
            do {
                try FileManager.default.copyItem(atPath: tokenizerModel.path + "/" + name, toPath: staging.path + "/" + name)
            } catch {
                throw ModelFolderError(file: tokenizerModel.path + "/" + name, "cannot be copied (\(error.localizedDescription))")
            }
        }
        var recipe = plan.recipe
        recipe.randomSeed = materializer.seed == 0 && recipe.randomSeed == nil ? nil : materializer.seed
        try write(recipe.yaml, to: staging.path + "/mergekit_config.yml")
        try write(modelCard(recipe), to: staging.path + "/README.md")
        try staging.commit(replacing: replacing)
    }

    func modelCard(_ recipe: Recipe) -> String {
        let plan = materializer.plan
        let sources = plan.models.map { "- `\($0.reference)`" + ($0.reference == recipe.baseModel ? " (base)" : "") }
        return """
            ---
            tags:
            - merge
            - amalgam
            - mergekit
            ---
            # Merged model

            Made by Amalgam with the `\(recipe.mergeMethod.rawValue)` method: \
            \(plan.layerCount) layers, \(plan.tensors.count) tensors.

            ## Sources

            \(sources.joined(separator: "\n"))

            ## Recipe

            Merge it again with `amalgam merge mergekit_config.yml --out DIR` or `mergekit-yaml mergekit_config.yml DIR`\
            \(recipe.randomSeed.map { " --random-seed \($0)" } ?? "").

            ```yaml
            \(recipe.yaml)```

            """
    }

    private func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw ModelFolderError(file: path, "cannot be written (\(error.localizedDescription))")
        }
    }
}
