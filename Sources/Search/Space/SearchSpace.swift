import Foundation
import Merging
import Tensors

/// A search space (DESIGN.md §3): which models to merge and how, which genes the optimizer
/// searches, what it optimizes, with what optimizer and budget. Read strictly from YAML: an
/// unknown key, a wrong type or a value out of range is a `SearchSpaceError` naming its field.
/// Paths are relative to the file and stored absolute.
public struct SearchSpace: Sendable, Equatable {
    /// An objective: a quantity and its direction.
    public struct Objective: Sendable, Equatable, Codable {
        public enum Quantity: Sendable, Equatable, Codable {
            /// The weighted mean of the tasks' primary metrics on the calibration split.
            case accuracy
            /// One task's score: its primary metric, or the metric named.
            case task(name: String, metric: String?)
            /// Parameters of the materialized model.
            case params
            /// Layers kept.
            case layers
            /// Fraction of task-vector entries kept (1 for dense methods).
            case density
            /// Multiply-adds per token, from the shapes.
            case flops
        }

        public var quantity: Quantity
        public var maximize: Bool

        public init(_ quantity: Quantity, maximize: Bool) {
            self.quantity = quantity
            self.maximize = maximize
        }

        /// The objective as written in the space (`accuracy`, `task:add`, `task:add:acc_norm`, `params`).
        public var name: String {
            switch quantity {
            case .accuracy: "accuracy"
            case .task(let name, let metric): "task:" + name + (metric.map { ":" + $0 } ?? "")
            case .params: "params"
            case .layers: "layers"
            case .density: "density"
            case .flops: "flops"
            }
        }
    }

    /// Which optimizer proposes genomes, with its settings (defaults resolved in the engine).
    public struct OptimizerSettings: Sendable, Equatable, Codable {
        public enum Name: String, Sendable, Codable, CaseIterable { case cmaes, nsga2, random }
        public enum Restarts: String, Sendable, Codable, CaseIterable { case none, ipop, bipop }

        public var name: Name = .cmaes
        public var population: Int?
        public var sigma: Double?
        public var restarts: Restarts = .ipop
        public var seed: UInt64 = 1
        /// NSGA-II: hand out one offspring at a time instead of whole generations.
        public var steadyState = true
        /// Random search: Sobol points instead of uniform draws.
        public var sobol = false

        public init() {}
    }

    /// Staged scoring of the calibration split (`racing:`; DESIGN.md §5b, the engine's
    /// `RacingSchedule` and `RacingRule` say how it is used). Off when the space has no `racing:`.
    public struct Racing: Sendable, Equatable {
        /// Fractions of each task's calibration examples scored by the end of each stage:
        /// increasing, in (0, 1], the last 1.
        public var stages: [Double] = [0.25, 0.5, 1]
        /// The probability with which each confidence bound holds, in [0.5, 1).
        public var confidence = 0.95
        /// The seed of the example order; nil takes the optimizer's seed.
        public var seed: UInt64?

        public init() {}
    }

    public var file: String
    public var name: String
    public var baseModel: String
    /// The fine-tunes: model folders, or PEFT LoRA adapter folders of the base.
    public var models: [String]

    /// How recipes name each model: its folder, or `BASE+ADAPTER` for an adapter (mergekit's form,
    /// so exported recipes run in mergekit as they are).
    public var modelReferences: [String] {
        models.map { LoRAAdapter.isAdapter($0) ? baseModel + "+" + $0 : $0 }
    }
    public var methods: [MergeMethod]
    /// Layers per gene group; 0 puts every layer in one group.
    public var layerGranularity: Int
    /// Tensor-name substrings with genes of their own (the rest share a default group).
    public var filters: [String]
    /// The value range of each gene parameter the space's methods use.
    public var geneRanges: [String: ClosedRange<Double>]
    /// One keep/drop gene per layer.
    public var dropLayers: Bool
    /// mergekit-evolve's `smooth`: each parameter's per-group genes become the points of a
    /// gradient across all layers (mergekit's list interpolation) instead of one constant per group.
    public var smooth = false
    public var fitness: String
    /// The fitness file's text as the run began, when the space is a run's frozen copy
    /// (`fitness_inline`); read instead of the file, its task paths relative to `fitness`.
    public var fitnessInline: String?
    public var objectives: [Objective]
    public var optimizer: OptimizerSettings
    public var evaluations: Int
    /// Wall-time budget in seconds, if any.
    public var time: Double?
    /// Parallel workers; nil: as many as the machine's memory holds, at most one per core
    /// (`MemoryPlan`).
    public var workers: Int?
    /// Where the run's archive lives when not in the run folder: a PostgreSQL store URL
    /// (`postgres://user@host/db?run=NAME`); `search --store` overrides it.
    public var store: String?
    /// How each worker's arena stores a candidate's merged weights.
    public var arena: ArenaSetting = .auto
    /// Staged scoring with pruning, or nil (scoring every calibration example of every candidate).
    public var racing: Racing?
    /// Whether the run scores its baselines first (`baselines:`, default true; DESIGN.md §4): the
    /// base, each source alone, each method's equal-weight merge.
    public var baselines = true
    /// The seed of the racing example order: `racing.seed`, else the optimizer's.
    public var racingSeed: UInt64 { racing?.seed ?? optimizer.seed }
    /// Layers of the base model (from its config.json; in a frozen space read with
    /// `Reading.settingsOnly`, from `layer_count`).
    public var layerCount: Int
    /// A run's frozen space: its inputs' hashes as the run began (`fingerprints`).
    public var fingerprints: [Fingerprint] = []

    /// The gene parameters each method takes from the genome (mergekit's parameter names, but
    /// `threshold`: nearswap's `t`, a distance, kept apart from slerp's interpolation factor).
    /// sce's weights, karcher's and arcee_fusion's merges have nothing to search; ram's epsilon is
    /// a noise floor, left at mergekit's default.
    public static func geneParameters(of method: MergeMethod) -> (perModel: [String], shared: [String]) {
        switch method {
        case .linear, .taskArithmetic, .multislerp: (["weight"], [])
        case .ties, .dareTies, .dareLinear: (["weight", "density"], [])
        case .breadcrumbs, .breadcrumbsTies: (["weight", "density", "gamma"], [])
        case .della, .dellaLinear: (["weight", "density", "epsilon"], [])
        case .slerp, .nuslerp: ([], ["t"])
        case .sce: ([], ["select_topk"])
        case .nearswap: ([], ["threshold"])
        case .ramplusTL: ([], ["r", "alpha"])
        case .modelStock, .passthrough, .karcher, .arceeFusion, .ram: ([], [])
        }
    }

    /// Ranges used when `genes:` does not give one, and the values a range must stay within.
    public static let defaultRanges: [String: ClosedRange<Double>] = [
        "weight": 0...1, "density": 0.1...1, "t": 0...1, "epsilon": 0...0.1, "gamma": 0...0.05, "lambda": 0.5...1.5,
        "select_topk": 0.1...1, "threshold": 0...0.01, "r": 0...0.5, "alpha": 0...0.5,
    ]
    static let allowedRanges: [String: (ClosedRange<Double>, String)] = [
        "weight": (-10...10, "[-10, 10]"), "density": (Double.leastNonzeroMagnitude...1, "(0, 1]"), "t": (0...1, "[0, 1]"),
        "epsilon": (0...0.5, "[0, 0.5]"), "gamma": (0...0.5, "[0, 0.5]"), "lambda": (0...10, "[0, 10]"),
        "select_topk": (0...1, "[0, 1]"), "threshold": (0...1, "[0, 1]"), "r": (0...10, "[0, 10]"), "alpha": (0...10, "[0, 10]"),
    ]

    public init(contentsOf path: String, reading: Reading = .checkingInputs) throws(SearchSpaceError) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard let data = FileManager.default.contents(atPath: absolute), let text = String(data: data, encoding: .utf8) else {
            throw SearchSpaceError(file: path, "cannot be read")
        }
        try self.init(yaml: text, file: URL(fileURLWithPath: absolute).standardizedFileURL.path, reading: reading)
    }

    /// Reads a space from YAML as if from `file` (paths are relative to its folder); `reading`
    /// says whether the models and the fitness file it names are checked too.
    public init(yaml text: String, file: String, reading: Reading = .checkingInputs) throws(SearchSpaceError) {
        self = try SearchSpaceReader(yaml: text, file: file).read()
        if reading == .checkingInputs { try checkInputs() }
    }

    /// Every setting at its default, to be read into (`SearchSpaceReader`).
    init(file: String) {
        self.file = file
        name = ""
        baseModel = ""
        models = []
        methods = []
        layerGranularity = 0
        filters = []
        geneRanges = [:]
        dropLayers = false
        fitness = ""
        objectives = []
        optimizer = OptimizerSettings()
        evaluations = 100
        layerCount = 0
    }

    /// What the settings name, looked at: the fitness file exists (unless inline); the base and
    /// each fine-tune is a folder with config.json, all of one type and layer count (adapters are
    /// checked when they open), which sets `layerCount` (a recorded `layer_count` must agree);
    /// then the settings that depend on the layer count.
    mutating func checkInputs() throws(SearchSpaceError) {
        func fail(_ field: String?, _ message: String) -> SearchSpaceError { SearchSpaceError(file: file, field: field, message) }
        if fitnessInline == nil && !FileManager.default.fileExists(atPath: fitness) {
            throw fail("fitness", "\(fitness) does not exist")
        }
        func config(_ path: String, _ field: String) throws(SearchSpaceError) -> (layers: Int, type: String) {
            guard FileManager.default.fileExists(atPath: path + "/config.json") else {
                throw fail(field, "\(path) has no config.json (is it a Hugging Face model folder?)")
            }
            do {
                let config = try ModelConfig(contentsOf: path + "/config.json")
                guard let layers = try config.layerCount, layers > 0 else { throw fail(field, "\(path)/config.json has no positive num_hidden_layers") }
                return (layers, try config.modelType ?? "")
            } catch let error as SearchSpaceError {
                throw error
            } catch {
                throw fail(field, "\(error)")
            }
        }
        let base = try config(baseModel, "base_model")
        if layerCount != 0 && layerCount != base.layers {
            throw fail("layer_count", "\(layerCount) is not the base model's \(base.layers) layers (\(baseModel) changed since the space was frozen)")
        }
        layerCount = base.layers
        for (i, model) in models.enumerated() where !LoRAAdapter.isAdapter(model) {
            let other = try config(model, "models[\(i)]")
            guard other.layers == base.layers, other.type == base.type else {
                throw fail("models[\(i)]", "\(model) is a \(other.type) with \(other.layers) layers; the base is a \(base.type) with \(base.layers)")
            }
        }
        if layerGranularity > layerCount { throw fail("layer_granularity", "\(layerGranularity) is more than the model's \(layerCount) layers") }
        if smooth {
            let groups = layerGranularity == 0 ? 1 : (layerCount + layerGranularity - 1) / layerGranularity
            guard groups >= 2 else {
                throw fail("smooth", "needs at least two layer groups to interpolate between (layer_granularity \(layerGranularity) on \(layerCount) layers gives \(groups))")
            }
        }
    }
}

/// The dtype a worker's arena stores merged weights in (`arena:` in a space). Merges are always
/// computed in Float32, chunk by chunk, and stored narrow.
/// - `auto` (the default): the recipes' output dtype, which is the base checkpoint's stored dtype
///   — BF16 for a BF16 model (2 bytes per parameter), F32 for an F32 one. Scores are those of
///   the model `export` writes, read back from disk.
/// - `bfloat16`, `float16`: every candidate's recipe gets that `out_dtype`, so the arena is again
///   exactly what `export` writes (for an F32 base, this rounds its weights).
/// - `float32`: the output dtype's values, widened and stored as Float32 (4 bytes per
///   parameter): the same scores as `auto`, for comparison.
public enum ArenaSetting: String, Sendable, CaseIterable {
    case auto, bfloat16, float16, float32
}
