import Foundation

/// A model as merging and evaluation read it: a model folder, or a LoRA adapter applied to its
/// base folder — the model PEFT's `merge_and_unload` would make, without ever making it. It has
/// the base's config, tensor names and tokenizer files; each tensor comes with the edit the
/// adapter makes to it, applied chunk by chunk by whoever reads it.
///
/// References follow mergekit: `BASE+ADAPTER` names an adapter and its base; a bare adapter
/// folder takes the base it is merged with (a recipe's `base_model`), else the local folder its
/// `base_model_name_or_path` names (relative paths from the adapter folder).
public struct SourceModel: Sendable {
    /// The model, or the adapter's base.
    public let folder: ModelFolder
    public let adapter: LoRAAdapter?
    private let edits: [String: LoRAAdapter.Edit]

    public init(folder: ModelFolder) {
        self.folder = folder
        adapter = nil
        edits = [:]
    }

    /// `adapter` on `base`, checked against it: every edited tensor fits the base's, and when the
    /// adapter names a local base folder, that folder's config has the base's shapes.
    public init(base: ModelFolder, baseReference: String, adapter: LoRAAdapter) throws {
        folder = base
        self.adapter = adapter
        if let named = adapter.localBase, let other = try? ModelConfig(contentsOf: named + "/config.json"), let config = base.config {
            for key in ["model_type", "hidden_size", "num_hidden_layers", "intermediate_size", "num_attention_heads", "num_key_value_heads", "vocab_size"]
            where other.json[key] != config.json[key] {
                throw ModelFolderError(
                    file: adapter.configPath, field: "base_model_name_or_path",
                    "names \(adapter.baseModelNameOrPath ?? named), whose \(key) is \(other.json[key]?.serialized() ?? "missing"), but it is applied to \(baseReference), whose \(key) is \(config.json[key]?.serialized() ?? "missing"): the adapter was trained on another model")
            }
        }
        edits = try adapter.edits(for: base, reference: baseReference)
    }

    /// Opens `reference` (resolved to a path by `resolve`). `defaultBase` is the base a bare
    /// adapter is applied to; `opened` holds sources already open, by resolved reference.
    public static func open(_ reference: String, resolve: (String) -> String, defaultBase: String? = nil,
                            opened: [String: SourceModel] = [:]) throws -> SourceModel {
        func folder(_ path: String) throws -> ModelFolder {
            if let source = opened[path], source.adapter == nil { return source.folder }
            return try ModelFolder(path: path)
        }
        let whole = resolve(reference)
        if let source = opened[whole] { return source }
        let parts = reference.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        if !FileManager.default.fileExists(atPath: whole), parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty {
            let basePath = resolve(parts[0]), adapterPath = resolve(parts[1])
            guard FileManager.default.fileExists(atPath: adapterPath) else {
                throw ModelFolderError(file: adapterPath, "does not exist (the adapter of \(reference))")
            }
            guard LoRAAdapter.isAdapter(adapterPath) else {
                throw ModelFolderError(file: adapterPath, "has no \(LoRAAdapter.configFileName); in \(reference), the part after + must be a PEFT LoRA adapter folder")
            }
            let adapter = try LoRAAdapter(path: adapterPath)
            return try SourceModel(base: try folder(basePath), baseReference: parts[0], adapter: adapter)
        }
        guard LoRAAdapter.isAdapter(whole) else {
            guard FileManager.default.fileExists(atPath: whole) else { throw ModelFolderError(file: whole, "does not exist") }
            return SourceModel(folder: try folder(whole))
        }
        let adapter = try LoRAAdapter(path: whole)
        if let defaultBase {
            return try SourceModel(base: try folder(resolve(defaultBase)), baseReference: defaultBase, adapter: adapter)
        }
        guard let local = adapter.localBase else {
            throw ModelFolderError(
                file: adapter.configPath, field: "base_model_name_or_path",
                "\(adapter.baseModelNameOrPath.map { "names \($0), which is not a local folder" } ?? "is missing"); name the base with BASE+\(reference)")
        }
        return try SourceModel(base: try folder(local), baseReference: adapter.baseModelNameOrPath ?? local, adapter: adapter)
    }

    public var config: ModelConfig? { folder.config }
    public var tensorNames: [String] { folder.tensorNames }
    public var tokenizerFiles: [String] { folder.tokenizerFiles }
    /// Where the model's own files are: the adapter folder for an adapter.
    public var path: String { adapter?.path ?? folder.path }

    /// One tensor of the source model as it is read. `@unchecked Sendable`: its bytes are a view
    /// of a read-only memory map that the `SourceModel` keeps open for as long as it lives.
    public struct Tensor: @unchecked Sendable {
        /// As the model stores it: an adapted model is folded in Float32 (as mergekit does with
        /// `--lora-merge-dtype float32`), so its tensors are F32 whatever the base's dtype.
        public let info: TensorInfo
        /// The bytes read first (the base's, or the adapter's replacement) and their dtype.
        public let bytes: UnsafeRawBufferPointer
        public let dtype: DType
        public let lowRank: LowRank?
    }

    /// ΔW = scale · B·A (or its transpose) added to the base bytes. `@unchecked Sendable` as
    /// `Tensor`: views of the adapter's read-only map.
    public struct LowRank: @unchecked Sendable {
        public let a: UnsafeRawBufferPointer
        public let aInfo: TensorInfo
        public let b: UnsafeRawBufferPointer
        public let bInfo: TensorInfo
        public let scale: Float
        public let transposed: Bool
        public var rank: Int { aInfo.shape[0] }

        /// A [r, inner] and B [outer, r] as Float32.
        public var floats: (a: [Float], b: [Float]) {
            func decode(_ bytes: UnsafeRawBufferPointer, _ info: TensorInfo) -> [Float] {
                [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
                    FloatConversion.decode(info.dtype, from: bytes, into: buffer)
                    count = info.elementCount
                }
            }
            return (decode(a, aInfo), decode(b, bInfo))
        }
    }

    public func tensor(_ name: String) -> Tensor? {
        guard let (file, info) = folder.tensor(name) else { return nil }
        guard let adapter else { return Tensor(info: info, bytes: file.bytes(of: info), dtype: info.dtype, lowRank: nil) }
        let folded = TensorInfo(name: info.name, dtype: .f32, shape: info.shape, dataRange: 0..<(info.elementCount * 4))
        switch edits[name] {
        case nil:
            return Tensor(info: folded, bytes: file.bytes(of: info), dtype: info.dtype, lowRank: nil)
        case .replacement(let replacement):
            return Tensor(info: folded, bytes: adapter.file.bytes(of: replacement), dtype: replacement.dtype, lowRank: nil)
        case .lowRank(let a, let b, let scale, let transposed):
            let update = LowRank(a: adapter.file.bytes(of: a), aInfo: a, b: adapter.file.bytes(of: b), bInfo: b, scale: scale, transposed: transposed)
            return Tensor(info: folded, bytes: file.bytes(of: info), dtype: info.dtype, lowRank: update)
        }
    }

    /// The edit the adapter makes to `name`, if any.
    public func edit(_ name: String) -> LoRAAdapter.Edit? { edits[name] }
}

extension LoRAAdapter {
    /// The local folder `base_model_name_or_path` names (absolute, or relative to the adapter
    /// folder), when it holds a config.json.
    public var localBase: String? {
        guard let named = baseModelNameOrPath, !named.isEmpty else { return nil }
        let path = Self.normalized(named.hasPrefix("/") ? named : path + "/" + named)
        return FileManager.default.fileExists(atPath: path + "/config.json") ? path : nil
    }

    /// `path` without `.` and `dir/..` components (still relative when it was).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." { parts.removeLast(); continue }
            if part == "..", path.hasPrefix("/"), parts.isEmpty { continue }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : (joined.isEmpty ? "." : joined)
    }
}
