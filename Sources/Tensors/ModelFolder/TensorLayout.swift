/// Which tensors a decoder checkpoint holds, in three groups, as mergekit's architecture files
/// describe them (`mergekit/_data/architectures/*.json`): weights before the layers (the
/// embedding), per-layer weights named after `layerPrefix` + `N.`, and weights after (the final
/// norm, the output head). Merging uses it to decide which tensors a merge writes and how slices
/// renumber layers; costs use it to count what a candidate keeps.
///
/// Two sources, one value: `inferred(from:)` reads it off the tensor names of any decoder that
/// follows the Hugging Face convention (Merging's default), and a model family in Inference
/// states its own (`ModelFamily.layout`), which may mark weights optional (an untied head some
/// fine-tunes lack). The two agree on every family Amalgam evaluates; a test holds them to it.
public struct TensorLayout: Sendable, Equatable {
    public struct Weight: Sendable, Equatable {
        public let name: String
        /// Absent from some models (an untied `lm_head.weight`): merged from the models that have it.
        public let optional: Bool

        public init(name: String, optional: Bool = false) {
            self.name = name
            self.optional = optional
        }
    }

    /// config.json's `model_type`, or the family the names were read from.
    public let modelType: String
    /// What precedes a layer's index in its tensor names: `model.layers.`.
    public let layerPrefix: String
    public let preWeights: [Weight]
    /// Names after `layerPrefix` + `N.`, the same for every layer.
    public let layerWeights: [String]
    public let postWeights: [Weight]
    /// Each layer's attention as transformers names it (`sliding_attention`, `full_attention`)
    /// when the family knows it and its layers differ (Gemma 2/3, Qwen with sliding layers), so
    /// that a merge dropping layers can write the kept layers' types into config.json even when
    /// the source states them by a pattern (`sliding_window_pattern`, `max_window_layers`).
    public let layerTypes: [String]?

    public init(modelType: String, layerPrefix: String = "model.layers.", preWeights: [Weight], layerWeights: [String], postWeights: [Weight],
                layerTypes: [String]? = nil) {
        self.modelType = modelType
        self.layerPrefix = layerPrefix
        self.preWeights = preWeights
        self.layerWeights = layerWeights
        self.postWeights = postWeights
        self.layerTypes = layerTypes
    }

    public func layerTensor(_ index: Int, _ suffix: String) -> String {
        "\(layerPrefix)\(index).\(suffix)"
    }

    /// Every tensor name this layout expects of a model with `layers` layers.
    public func tensorNames(layers: Int) -> [String] {
        preWeights.map(\.name) + (0..<layers).flatMap { i in layerWeights.map { layerTensor(i, $0) } } + postWeights.map(\.name)
    }

    /// Buffers some checkpoints carry that are not weights (recomputed from the config).
    public static func isBuffer(_ name: String) -> Bool { name.hasSuffix("rotary_emb.inv_freq") }

    /// The layout of a checkpoint whose tensors are named the Hugging Face way: tensors under
    /// `….layers.N.` are per-layer (every layer must hold the same names, and layers must run
    /// 0, 1, … without a gap), the others go before the layers when their name says `embed`
    /// (`model.embed_tokens.weight`), after them otherwise (`model.norm.weight`,
    /// `lm_head.weight`). Names are kept in the checkpoint's order. Fails, naming the tensor,
    /// when there are no layer tensors, two layer prefixes, or layers that differ.
    public static func inferred(from names: [String], modelType: String, file: String) throws(ModelFolderError) -> TensorLayout {
        var prefix: String?
        var suffixesByLayer: [Int: [String]] = [:]
        var pre: [Weight] = [], post: [Weight] = []
        for name in names where !isBuffer(name) {
            guard let (layerPrefix, index, suffix) = layerParts(name) else {
                if name.contains("embed") { pre.append(Weight(name: name)) } else { post.append(Weight(name: name)) }
                continue
            }
            if let prefix, prefix != layerPrefix {
                throw ModelFolderError(file: file, "tensor '\(name)' puts layers under '\(layerPrefix)' but others are under '\(prefix)'; Amalgam cannot tell the layout")
            }
            prefix = layerPrefix
            suffixesByLayer[index, default: []].append(suffix)
        }
        guard let prefix, let first = suffixesByLayer[0] else {
            let example = names.first.map { " (its first tensor is '\($0)')" } ?? ""
            throw ModelFolderError(file: file, "has no per-layer tensors named '….layers.0.…'\(example); Amalgam merges decoders whose tensors follow the Hugging Face naming")
        }
        let reference = first.sorted()
        for index in 0..<suffixesByLayer.count {
            guard let suffixes = suffixesByLayer[index] else {
                throw ModelFolderError(file: file, "has tensors for layer \(suffixesByLayer.keys.max() ?? 0) but none named '\(prefix)\(index).…'")
            }
            let sorted = suffixes.sorted()
            if sorted != reference {
                let odd = sorted.first { !reference.contains($0) }.map { "\(prefix)\(index).\($0)" }
                    ?? reference.first { !sorted.contains($0) }.map { "\(prefix)\(index).\($0) (missing; layer 0 has it)" } ?? "\(prefix)\(index)"
                throw ModelFolderError(file: file, "layer \(index) holds other tensors than layer 0, first '\(odd)'")
            }
        }
        return TensorLayout(modelType: modelType, layerPrefix: prefix, preWeights: pre, layerWeights: first, postWeights: post)
    }

    /// (`model.layers.`, 3, `mlp.up_proj.weight`) for `model.layers.3.mlp.up_proj.weight`.
    static func layerParts(_ name: String) -> (String, Int, String)? {
        var searchStart = name.startIndex
        while let range = name.range(of: "layers.", range: searchStart..<name.endIndex) {
            let atBoundary = range.lowerBound == name.startIndex || name[name.index(before: range.lowerBound)] == "."
            let rest = name[range.upperBound...]
            if atBoundary, let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0, rest[..<dot].allSatisfy(\.isNumber) {
                let suffix = String(rest[rest.index(after: dot)...])
                if !suffix.isEmpty { return (String(name[..<range.upperBound]), index, suffix) }
            }
            searchStart = range.upperBound
        }
        return nil
    }
}
