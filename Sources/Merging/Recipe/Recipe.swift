import Tensors

/// A merge recipe in mergekit's YAML (DESIGN.md §3): the subset Amalgam merges, plus the one
/// extension `random_seed`. Parsed strictly: an unknown key, a wrong type or an out-of-range value
/// is a `RecipeError` naming its key path; mergekit features outside the subset are refused as
/// "not supported" rather than ignored.
public struct Recipe: Sendable, Equatable {
    public struct InputModel: Sendable, Equatable {
        public var model: String
        public var parameters: ParameterSettings

        public init(model: String, parameters: ParameterSettings = ParameterSettings()) {
            self.model = model
            self.parameters = parameters
        }
    }

    public struct InputSlice: Sendable, Equatable {
        public var model: String
        /// Half-open `[start, end)` as in mergekit.
        public var layerRange: Range<Int>
        public var parameters: ParameterSettings

        public init(model: String, layerRange: Range<Int>, parameters: ParameterSettings = ParameterSettings()) {
            self.model = model
            self.layerRange = layerRange
            self.parameters = parameters
        }
    }

    public struct OutputSlice: Sendable, Equatable {
        public var sources: [InputSlice]
        public var baseModel: String?
        public var parameters: ParameterSettings

        public init(sources: [InputSlice], baseModel: String? = nil, parameters: ParameterSettings = ParameterSettings()) {
            self.sources = sources
            self.baseModel = baseModel
            self.parameters = parameters
        }
    }

    /// `tokenizer_source`: the base model's tokenizer or a named model's.
    public enum TokenizerSource: Sendable, Equatable {
        case base
        case model(String)
    }

    public var mergeMethod: MergeMethod
    public var baseModel: String?
    /// The `models:` form; exactly one of `models` and `slices` is set.
    public var models: [InputModel]?
    /// The `slices:` form.
    public var slices: [OutputSlice]?
    public var parameters: ParameterSettings
    /// Compute dtype: inputs are rounded to it before merging (mergekit's `dtype`).
    public var dtype: DType?
    /// Stored dtype of the output; defaults to `dtype`, then to the base model's.
    public var outDType: DType?
    public var tokenizerSource: TokenizerSource?
    /// Seed of the random sparsifiers (DARE, DELLA); an Amalgam extension mergekit ignores.
    public var randomSeed: UInt64?

    public init(
        mergeMethod: MergeMethod, baseModel: String? = nil, models: [InputModel]? = nil, slices: [OutputSlice]? = nil,
        parameters: ParameterSettings = ParameterSettings(), dtype: DType? = nil, outDType: DType? = nil,
        tokenizerSource: TokenizerSource? = nil, randomSeed: UInt64? = nil
    ) {
        self.mergeMethod = mergeMethod
        self.baseModel = baseModel
        self.models = models
        self.slices = slices
        self.parameters = parameters
        self.dtype = dtype
        self.outDType = outDType
        self.tokenizerSource = tokenizerSource
        self.randomSeed = randomSeed
    }

    /// Every model path the recipe names, base first, each once, in order of appearance.
    public var referencedModels: [String] {
        var seen: [String] = []
        func add(_ model: String?) {
            if let model, !seen.contains(model) { seen.append(model) }
        }
        add(baseModel)
        for model in models ?? [] { add(model.model) }
        for slice in slices ?? [] {
            add(slice.baseModel)
            for source in slice.sources { add(source.model) }
        }
        if case .model(let path) = tokenizerSource { add(path) }
        return seen
    }
}
