import Foundation

/// A Hugging Face model folder opened for reading: config.json, the safetensors shards (through
/// `model.safetensors.index.json` when present, else every `model*.safetensors`), and the
/// tokenizer files beside them. A path to a single `.safetensors` file opens as a folder of one
/// shard without config.
///
/// Every shard is memory-mapped and validated on open; tensor data is read lazily. The index is
/// distrusted like any header: a tensor it lists that its shard lacks, a shard tensor it does not
/// list, a tensor in two shards, or a shard name that leaves the folder is an error.
public struct ModelFolder: Sendable {
    public static let tokenizerFileNames = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
        "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json",
    ]

    public let path: String
    public let config: ModelConfig?
    public let shards: [SafetensorsFile]
    /// The index file, when the weights are sharded through one.
    public let indexPath: String?
    /// Every tensor name, in shard order and then header order.
    public let tensorNames: [String]
    /// Tokenizer and generation files present in the folder.
    public let tokenizerFiles: [String]
    private let locations: [String: Location]

    private struct Location: Sendable {
        let shard: Int
        let info: TensorInfo
    }

    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFolderError(file: path, "does not exist")
        }
        guard isDirectory.boolValue else {
            let file = try SafetensorsFile(path: path)
            config = nil
            shards = [file]
            indexPath = nil
            tokenizerFiles = []
            tensorNames = file.tensors.map(\.name)
            locations = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, Location(shard: 0, info: $0)) })
            return
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
        } catch {
            throw ModelFolderError(file: path, "cannot be listed (\(error.localizedDescription))")
        }
        let configPath = path + "/config.json"
        config = entries.contains("config.json") ? try ModelConfig(contentsOf: configPath) : nil
        tokenizerFiles = Self.tokenizerFileNames.filter(entries.contains)

        let indexName = SafetensorsLayout.indexFileName
        if entries.contains(indexName) {
            indexPath = path + "/" + indexName
            (shards, locations, tensorNames) = try Self.openIndexed(folder: path, index: path + "/" + indexName)
        } else {
            indexPath = nil
            let files = entries.filter { $0.hasPrefix("model") && $0.hasSuffix(".safetensors") }
            guard !files.isEmpty else {
                let hint = entries.contains { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") }
                    ? " (only PyTorch pickles found; convert them to safetensors)" : ""
                throw ModelFolderError(file: path, "has no model.safetensors, \(indexName) or model*.safetensors\(hint)")
            }
            (shards, locations, tensorNames) = try Self.openUnindexed(folder: path, files: files)
        }
    }

    /// The `weight_map` of a `model.safetensors.index.json` (its bytes; `file` names it in errors):
    /// each tensor and the shard the index puts it in, in file order. Every shard name must be a
    /// plain file name in the folder; whether the shards agree is checked when the folder opens.
    public static func weightMap(json bytes: some Collection<UInt8>, file index: String) throws(ModelFolderError) -> [(tensor: String, shard: String)] {
        let root: JSONValue
        do {
            root = try JSONParser().parse(bytes)
        } catch {
            throw ModelFolderError(file: index, "is not valid JSON: \(error)")
        }
        guard let weightMap = root.object?["weight_map"] else {
            throw ModelFolderError(file: index, field: "weight_map", "is missing")
        }
        guard let map = weightMap.object else {
            throw ModelFolderError(file: index, field: "weight_map", "is \(weightMap.kindDescription), not an object")
        }
        var entries: [(tensor: String, shard: String)] = []
        for member in map.members {
            guard let file = member.value.string else {
                throw ModelFolderError(file: index, field: "weight_map.\(member.key)", "is \(member.value.kindDescription), not a file name")
            }
            guard !file.isEmpty, !file.contains("/"), file != "..", file != "." else {
                throw ModelFolderError(file: index, field: "weight_map.\(member.key)", "names \"\(file)\", which is not a file in the folder")
            }
            entries.append((member.key, file))
        }
        return entries
    }

    private static func openIndexed(folder: String, index: String) throws -> ([SafetensorsFile], [String: Location], [String]) {
        guard let data = FileManager.default.contents(atPath: index) else {
            throw ModelFolderError(file: index, "cannot be read")
        }
        let map = try weightMap(json: data, file: index)
        var shardNames: [String] = []
        var listed: [String: String] = [:]
        for (tensor, file) in map {
            if !shardNames.contains(file) { shardNames.append(file) }
            listed[tensor] = file
        }
        var shards: [SafetensorsFile] = []
        var locations: [String: Location] = [:]
        var names: [String] = []
        for (shardIndex, name) in shardNames.sorted().enumerated() {
            let shardPath = folder + "/" + name
            guard FileManager.default.fileExists(atPath: shardPath) else {
                throw ModelFolderError(file: index, field: "weight_map", "names shard \(name), which does not exist")
            }
            let file = try SafetensorsFile(path: shardPath)
            for tensor in file.tensors {
                guard let listedShard = listed[tensor.name] else {
                    throw ModelFolderError(file: index, field: "weight_map", "does not list tensor '\(tensor.name)' of \(name)")
                }
                guard listedShard == name else {
                    throw ModelFolderError(
                        file: index, field: "weight_map.\(tensor.name)",
                        "names \(listedShard), but the tensor is also in \(name)")
                }
                locations[tensor.name] = Location(shard: shardIndex, info: tensor)
                names.append(tensor.name)
            }
            shards.append(file)
        }
        for (tensor, file) in map where locations[tensor] == nil {
            throw ModelFolderError(
                file: folder + "/" + file, field: nil,
                "has no tensor '\(tensor)', which \(SafetensorsLayout.indexFileName) lists in it")
        }
        return (shards, locations, names)
    }

    private static func openUnindexed(folder: String, files: [String]) throws -> ([SafetensorsFile], [String: Location], [String]) {
        var shards: [SafetensorsFile] = []
        var locations: [String: Location] = [:]
        var names: [String] = []
        for (shardIndex, name) in files.enumerated() {
            let file = try SafetensorsFile(path: folder + "/" + name)
            for tensor in file.tensors {
                if let earlier = locations[tensor.name] {
                    throw ModelFolderError(
                        file: file.path, "tensor '\(tensor.name)' is also in \(files[earlier.shard]); add a \(SafetensorsLayout.indexFileName) to say which counts")
                }
                locations[tensor.name] = Location(shard: shardIndex, info: tensor)
                names.append(tensor.name)
            }
            shards.append(file)
        }
        return (shards, locations, names)
    }

    /// The shard holding `name` and its header entry, or nil when the model has no such tensor.
    public func tensor(_ name: String) -> (file: SafetensorsFile, info: TensorInfo)? {
        locations[name].map { (shards[$0.shard], $0.info) }
    }

    /// Every tensor's header entry, in `tensorNames` order.
    public var tensors: [TensorInfo] { tensorNames.compactMap { locations[$0]?.info } }

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
    public var tensorBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }
    /// Bytes of the shard files (headers included), not counting config or tokenizer files.
    public var bytesOnDisk: Int { shards.reduce(0) { $0 + $1.fileSize } }

    /// How many tensors have each dtype, most common first.
    public var dtypeCounts: [(dtype: DType, count: Int)] {
        var counts: [DType: Int] = [:]
        for tensor in tensors { counts[tensor.dtype, default: 0] += 1 }
        return counts.map { ($0.key, $0.value) }.sorted { ($0.count, $1.dtype.rawValue) > ($1.count, $0.dtype.rawValue) }
    }

    /// The number of transformer layers seen in tensor names (`….layers.N.…`), or nil if none.
    public var layersInTensorNames: Int? {
        var highest = -1
        for name in tensorNames {
            let parts = name.split(separator: ".")
            for (i, part) in parts.enumerated() where part == "layers" && i + 1 < parts.count {
                if let n = Int(parts[i + 1]) { highest = max(highest, n) }
            }
        }
        return highest >= 0 ? highest + 1 : nil
    }
}
