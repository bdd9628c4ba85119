import Foundation
import Tensors

/// Writes a merged model as a Hugging Face folder, atomically: safetensors (sharded with an index
/// past `maxShardSize`), config.json from the base (or the first model) with `num_hidden_layers`,
/// `layer_types` (`MergePlan.outputConfig`) and the dtype updated, the tokenizer files of
/// `tokenizer_source` (else the base's), the recipe as `mergekit_config.yml` (mergekit's name for
/// it) and a README.md model card.
///
/// Everything is written into a `StagingDirectory` and flushed before the rename, so a full or
/// read-only disk, or a failing flush or rename, leaves neither the destination nor the staging
/// folder behind; the error names the file by its final path and the system's errno.
public struct MergedModelWriter {
    public let materializer: Materializer
    public var maxShardSize = SafetensorsLayout.defaultMaxShardSize

    public init(materializer: Materializer, maxShardSize: Int = SafetensorsLayout.defaultMaxShardSize) {
        self.materializer = materializer
        self.maxShardSize = maxShardSize
    }

    /// Writes the folder, with `extraFiles` (name → text) beside the model's own files; when
    /// `cancellation` is cancelled between tensors, nothing is left behind and
    /// `CancellationError` is thrown.
    public func write(to destination: String, replacing: Bool = false, extraFiles: [(name: String, text: String)] = [],
                      cancellation: Cancellation? = nil, progress: ((Int, Int) -> Void)? = nil) throws {
        let plan = materializer.plan
        if FileManager.default.fileExists(atPath: destination), !replacing {
            throw ModelFolderError(file: destination, "already exists; choose another folder or remove it")
        }
        let staging = try StagingDirectory(destination: destination)
        let writer = try SafetensorsWriter(directory: staging.path, layout: materializer.layout(maxShardSize: maxShardSize),
                                           reportedDirectory: destination)
        try materializer.write(to: writer, cancellation: cancellation, progress: progress)

        let source = plan.models[plan.configModel]
        guard let sourceConfig = source.source.config else {
            throw ModelFolderError(file: source.reference, "has no config.json")
        }
        var config = plan.outputConfig(sourceConfig)
        // The stored dtype: the recipe's, else the one every output tensor has (an adapter's
        // source is F32, so merging adapters of a BF16 base without a dtype writes F32).
        let stored = Set(plan.tensors.map(\.outDType))
        if let dtype = plan.recipe.outDType ?? plan.recipe.dtype ?? (stored.count == 1 ? stored.first : nil) {
            let key = config.json["dtype"] != nil ? "dtype" : "torch_dtype"
            config.set(key, .string(dtype.torchName))
        }
        try write(config.serialized, named: "config.json", in: staging)

        let tokenizerModel: MergePlan.Model = switch plan.recipe.tokenizerSource {
        case .model(let path)?: plan.models.first { $0.reference == path } ?? source
        default: source
        }
        // An adapter's model has its base's tokenizer.
        for name in tokenizerModel.source.tokenizerFiles {
            let source = tokenizerModel.source.folder.path + "/" + name
            let bytes: Data
            do {
                bytes = try Data(contentsOf: URL(fileURLWithPath: source))
            } catch {
                throw ModelFolderError(file: source, "cannot be read (\(error.localizedDescription))")
            }
            try Disk.writeFile(Array(bytes), to: staging.path + "/" + name, reportedAs: staging.finalPath(name))
        }
        var recipe = plan.recipe
        recipe.randomSeed = materializer.seed == 0 && recipe.randomSeed == nil ? nil : materializer.seed
        try write(recipe.yaml, named: "mergekit_config.yml", in: staging)
        try write(modelCard(recipe), named: "README.md", in: staging)
        for file in extraFiles { try write(file.text, named: file.name, in: staging) }
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

    private func write(_ text: String, named name: String, in staging: StagingDirectory) throws(WriteError) {
        try Disk.writeFile(Array(text.utf8), to: staging.path + "/" + name, reportedAs: staging.finalPath(name))
    }
}
