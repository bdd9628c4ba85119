import Foundation
import Merging
import Tensors
import Yams

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
    /// Layers of the base model (from its config.json).
    public var layerCount: Int

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

    public init(contentsOf path: String) throws(SearchSpaceError) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard let data = FileManager.default.contents(atPath: absolute), let text = String(data: data, encoding: .utf8) else {
            throw SearchSpaceError(file: path, "cannot be read")
        }
        try self.init(yaml: text, file: URL(fileURLWithPath: absolute).standardizedFileURL.path)
    }

    public init(yaml text: String, file: String) throws(SearchSpaceError) {
        self.file = file
        func fail(_ field: String?, _ message: String) -> SearchSpaceError { SearchSpaceError(file: file, field: field, message) }
        let root: Node.Mapping
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail(nil, "is empty") }
            guard let mapping = node.mapping else { throw fail(nil, "expected a mapping of settings (name, base_model, models, …)") }
            root = mapping
        } catch let error as SearchSpaceError {
            throw error
        } catch {
            throw fail(nil, "is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        let allowed: Set<String> = ["name", "base_model", "models", "methods", "layer_granularity", "filters", "genes", "layers",
                                    "fitness", "fitness_inline", "objectives", "optimizer", "budget", "workers", "arena", "racing", "baselines", "smooth", "store"]
        for key in root.keys {
            guard let name = key.string else { throw fail(nil, "a key is not a string") }
            if !allowed.contains(name) { throw fail(name, "unknown key (expected one of \(allowed.sorted().joined(separator: ", ")))") }
        }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        func resolve(_ relative: String) -> String {
            URL(fileURLWithPath: relative.hasPrefix("/") ? relative : folder + "/" + relative).standardizedFileURL.path
        }
        func string(_ node: Node?, _ field: String) throws(SearchSpaceError) -> String {
            guard let value = node?.scalar?.string, !value.isEmpty else { throw fail(field, node == nil ? "is missing" : "expected a string") }
            return value
        }
        func integer(_ node: Node, _ field: String, minimum: Int) throws(SearchSpaceError) -> Int {
            guard let value = node.int, value >= minimum else { throw fail(field, "expected an integer ≥ \(minimum)") }
            return value
        }
        func number(_ node: Node, _ field: String) throws(SearchSpaceError) -> Double {
            guard let value = node.float ?? node.int.map(Double.init), value.isFinite else { throw fail(field, "expected a number") }
            return value
        }

        name = try root["name"].map { node throws(SearchSpaceError) in try string(node, "name") }
            ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw fail("name", "\"\(name)\" must be letters, digits, '-', '_' or '.' (it names the run folder)")
        }
        baseModel = resolve(try string(root["base_model"], "base_model"))
        guard let modelList = root["models"]?.sequence, !modelList.isEmpty else { throw fail("models", "expected a list of at least one fine-tuned model") }
        var models: [String] = []
        for (i, node) in modelList.enumerated() {
            let model = resolve(try string(node, "models[\(i)]"))
            if models.contains(model) || model == baseModel { throw fail("models[\(i)]", "\(model) is listed twice (or is the base model)") }
            models.append(model)
        }
        self.models = models

        // Methods: one (fixed) or several (a categorical gene).
        let methodNodes: [Node] = root["methods"].map { $0.sequence.map(Array.init) ?? [$0] } ?? [Node("ties")]
        guard !methodNodes.isEmpty else { throw fail("methods", "expected a method or a list of methods") }
        var methods: [MergeMethod] = []
        for (i, node) in methodNodes.enumerated() {
            let field = methodNodes.count == 1 && root["methods"]?.sequence == nil ? "methods" : "methods[\(i)]"
            guard let text = node.string, let method = MergeMethod(rawValue: text) else {
                throw fail(field, "\"\(node.string ?? "?")\" is not a merge method (\(MergeMethod.allCases.filter { $0 != .passthrough }.map(\.rawValue).joined(separator: ", ")))")
            }
            switch method {
            case .passthrough:
                throw fail(field, "passthrough stacks layers and has nothing to search; use layers: {drop: true} with another method")
            case .slerp where models.count != 1, .nuslerp where models.count != 1, .nearswap where models.count != 1,
                 .arceeFusion where models.count != 1:
                throw fail(field, "\(method.rawValue) merges exactly one model with the base; this space lists \(models.count)")
            case .modelStock where models.count < 2, .karcher where models.count < 2:
                throw fail(field, "\(method.rawValue) needs at least two models beside the base")
            default: break
            }
            if methods.contains(method) { throw fail(field, "\(method.rawValue) is listed twice") }
            methods.append(method)
        }
        self.methods = methods

        layerGranularity = try root["layer_granularity"].map { node throws(SearchSpaceError) in try integer(node, "layer_granularity", minimum: 0) } ?? 0
        if let node = root["filters"] {
            guard let list = node.sequence else { throw fail("filters", "expected a list of tensor-name substrings such as [self_attn, mlp]") }
            var filters: [String] = []
            for (i, item) in list.enumerated() {
                let filter = try string(item, "filters[\(i)]")
                if filters.contains(filter) { throw fail("filters[\(i)]", "\"\(filter)\" is listed twice") }
                filters.append(filter)
            }
            self.filters = filters
        } else {
            filters = []
        }

        // Gene ranges: only for parameters the methods use (lambda: any task-arithmetic method).
        var used = Set(methods.flatMap { Self.geneParameters(of: $0).perModel + Self.geneParameters(of: $0).shared })
        if methods.contains(where: { $0.taskArithmetic != nil }) { used.insert("lambda") }
        var ranges: [String: ClosedRange<Double>] = [:]
        if let node = root["genes"] {
            guard let mapping = node.mapping else { throw fail("genes", "expected a mapping such as {weight: [0, 1], density: [0.1, 1]}") }
            for (keyNode, value) in mapping {
                guard let key = keyNode.string, let (bounds, text) = Self.allowedRanges[key] else {
                    throw fail("genes.\(keyNode.string ?? "?")", "unknown gene (expected \(Self.allowedRanges.keys.sorted().joined(separator: ", ")))")
                }
                guard used.contains(key) else {
                    throw fail("genes.\(key)", "no method of this space uses \(key) (methods: \(methods.map(\.rawValue).joined(separator: ", ")))")
                }
                guard let pair = value.sequence, pair.count == 2 else { throw fail("genes.\(key)", "expected a range [low, high]") }
                let low = try number(pair[0], "genes.\(key)[0]"), high = try number(pair[1], "genes.\(key)[1]")
                guard low <= high, bounds.contains(low), bounds.contains(high) else {
                    throw fail("genes.\(key)", "expected low ≤ high, both in \(text)")
                }
                ranges[key] = low...high
            }
        }
        for parameter in used where ranges[parameter] == nil && parameter != "lambda" {
            ranges[parameter] = Self.defaultRanges[parameter]
        }
        geneRanges = ranges

        if let node = root["layers"] {
            guard let mapping = node.mapping else { throw fail("layers", "expected {drop: true} or {drop: false}") }
            for key in mapping.keys where key.string != "drop" { throw fail("layers.\(key.string ?? "?")", "unknown key (expected drop)") }
            guard let drop = mapping["drop"]?.bool else { throw fail("layers.drop", "expected true or false") }
            dropLayers = drop
        } else {
            dropLayers = false
        }

        fitness = resolve(try string(root["fitness"], "fitness"))
        if let node = root["fitness_inline"] {
            guard let text = node.string, !text.isEmpty else { throw fail("fitness_inline", "expected the fitness file's text as a block (|)") }
            fitnessInline = text
        } else {
            guard FileManager.default.fileExists(atPath: fitness) else { throw fail("fitness", "\(fitness) does not exist") }
        }

        // Objectives.
        if let node = root["objectives"] {
            guard let list = node.sequence, !list.isEmpty else { throw fail("objectives", "expected a list such as [{maximize: accuracy}, {minimize: params}]") }
            var objectives: [Objective] = []
            for (i, item) in list.enumerated() {
                let field = "objectives[\(i)]"
                guard let mapping = item.mapping, mapping.count == 1, let key = mapping.keys.first?.string, key == "maximize" || key == "minimize" else {
                    throw fail(field, "expected {maximize: QUANTITY} or {minimize: QUANTITY}")
                }
                let text = try string(mapping.values.first, "\(field).\(key)")
                let quantity: Objective.Quantity
                switch text {
                case "accuracy": quantity = .accuracy
                case "params": quantity = .params
                case "layers": quantity = .layers
                case "density": quantity = .density
                case "flops": quantity = .flops
                default:
                    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                    guard parts.count == 2 || parts.count == 3, parts[0] == "task", !parts[1].isEmpty, parts.count == 2 || !parts[2].isEmpty else {
                        throw fail("\(field).\(key)", "\"\(text)\" is not accuracy, params, layers, density, flops or task:NAME[:metric]")
                    }
                    quantity = .task(name: parts[1], metric: parts.count == 3 ? parts[2] : nil)
                }
                let objective = Objective(quantity, maximize: key == "maximize")
                if objectives.contains(where: { $0.name == objective.name }) { throw fail("\(field).\(key)", "\(objective.name) is listed twice") }
                objectives.append(objective)
            }
            self.objectives = objectives
        } else {
            objectives = [Objective(.accuracy, maximize: true)]
        }

        // Optimizer.
        var optimizer = OptimizerSettings()
        if let node = root["optimizer"] {
            guard let mapping = node.mapping else { throw fail("optimizer", "expected a mapping such as {name: cmaes, population: 8, seed: 1}") }
            for (keyNode, value) in mapping {
                let key = keyNode.string ?? "?"
                let field = "optimizer.\(key)"
                switch key {
                case "name":
                    guard let name = value.string.flatMap(OptimizerSettings.Name.init(rawValue:)) else { throw fail(field, "expected cmaes, nsga2 or random") }
                    optimizer.name = name
                case "population": optimizer.population = try integer(value, field, minimum: 2)
                case "sigma":
                    let sigma = try number(value, field)
                    guard sigma > 0 && sigma <= 1 else { throw fail(field, "expected a step size in (0, 1] (genes are scaled to [0, 1])") }
                    optimizer.sigma = sigma
                case "restarts":
                    guard let restarts = value.string.flatMap(OptimizerSettings.Restarts.init(rawValue:)) else { throw fail(field, "expected none, ipop or bipop") }
                    optimizer.restarts = restarts
                case "seed": optimizer.seed = UInt64(try integer(value, field, minimum: 0))
                case "steady_state":
                    guard let flag = value.bool else { throw fail(field, "expected true or false") }
                    optimizer.steadyState = flag
                case "sampling":
                    guard let text = value.string, text == "uniform" || text == "sobol" else { throw fail(field, "expected uniform or sobol") }
                    optimizer.sobol = text == "sobol"
                default:
                    throw fail(field, "unknown key (expected name, population, sigma, restarts, seed, steady_state or sampling)")
                }
            }
        }
        self.optimizer = optimizer

        var evaluations = 100
        var time: Double?
        if let node = root["budget"] {
            guard let mapping = node.mapping else { throw fail("budget", "expected {evaluations: N, time: 8h}") }
            for (keyNode, value) in mapping {
                switch keyNode.string {
                case "evaluations": evaluations = try integer(value, "budget.evaluations", minimum: 1)
                case "time":
                    let text = value.string ?? value.int.map(String.init) ?? ""
                    guard let seconds = parseDuration(text) else { throw fail("budget.time", "\"\(text)\" is not a duration such as 90s, 30m or 8h") }
                    time = seconds
                default: throw fail("budget.\(keyNode.string ?? "?")", "unknown key (expected evaluations or time)")
                }
            }
        }
        self.evaluations = evaluations
        self.time = time
        // 0: no local workers, `amalgam worker` processes run the jobs (a PostgreSQL store's run).
        workers = try root["workers"].map { node throws(SearchSpaceError) in try integer(node, "workers", minimum: 0) }
        if let node = root["store"] {
            let text = try string(node, "store")
            guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
                throw fail("store", "is not a PostgreSQL store URL (postgres://user@host/db?run=NAME)")
            }
            store = text
        }
        if let node = root["arena"] {
            guard let text = node.string, let setting = ArenaSetting(rawValue: text) else {
                throw fail("arena", "\"\(node.string ?? "?")\" is not an arena dtype (expected \(ArenaSetting.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            arena = setting
        }
        racing = try root["racing"].map { node throws(SearchSpaceError) in try Self.racing(node, fail: fail) } ?? nil
        if let node = root["baselines"] {
            guard let flag = node.bool else { throw fail("baselines", "expected true or false") }
            baselines = flag
        }

        // The models: each a folder with config.json, all with the base's layer count and type.
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
        layerCount = base.layers
        // An adapter is the base's shape by construction; whether it fits is checked when it opens.
        for (i, model) in models.enumerated() where !LoRAAdapter.isAdapter(model) {
            let other = try config(model, "models[\(i)]")
            guard other.layers == base.layers, other.type == base.type else {
                throw fail("models[\(i)]", "\(model) is a \(other.type) with \(other.layers) layers; the base is a \(base.type) with \(base.layers)")
            }
        }
        if layerGranularity > layerCount { throw fail("layer_granularity", "\(layerGranularity) is more than the model's \(layerCount) layers") }
        if let node = root["smooth"] {
            guard let flag = node.bool else { throw fail("smooth", "expected true or false") }
            smooth = flag
        }
        if smooth {
            let groups = layerGranularity == 0 ? 1 : (layerCount + layerGranularity - 1) / layerGranularity
            guard groups >= 2 else {
                throw fail("smooth", "needs at least two layer groups to interpolate between (layer_granularity \(layerGranularity) on \(layerCount) layers gives \(groups))")
            }
            if dropLayers { throw fail("smooth", "cannot go with layers: {drop: true} (a gradient runs over every layer)") }
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

extension SearchSpace {
    /// `racing:` — `{stages: [0.25, 0.5, 1], confidence: 0.95, seed: 7}` (every key optional),
    /// `true` for those defaults, `false` for none.
    static func racing(_ node: Node, fail: (String?, String) -> SearchSpaceError) throws(SearchSpaceError) -> Racing? {
        if let flag = node.bool { return flag ? Racing() : nil }
        guard let mapping = node.mapping else {
            throw fail("racing", "expected true, false or a mapping such as {stages: [0.25, 0.5, 1], confidence: 0.95}")
        }
        var racing = Racing()
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            let field = "racing.\(key)"
            switch key {
            case "stages":
                guard let list = value.sequence, list.count >= 2 else {
                    throw fail(field, "expected at least two increasing fractions ending in 1, such as [0.25, 0.5, 1]")
                }
                var stages: [Double] = []
                for (i, item) in list.enumerated() {
                    guard let fraction = item.float ?? item.int.map(Double.init), fraction.isFinite, fraction > 0, fraction <= 1 else {
                        throw fail("\(field)[\(i)]", "expected a fraction of the examples in (0, 1]")
                    }
                    if let last = stages.last, fraction <= last { throw fail("\(field)[\(i)]", "\(fraction) does not increase on \(last)") }
                    stages.append(fraction)
                }
                guard stages.last == 1 else { throw fail(field, "the last stage must be 1: a candidate that is not pruned is scored on every example") }
                racing.stages = stages
            case "confidence":
                guard let confidence = value.float ?? value.int.map(Double.init), confidence >= 0.5, confidence < 1 else {
                    throw fail(field, "expected a probability in [0.5, 1), such as 0.95")
                }
                racing.confidence = confidence
            case "seed":
                guard let seed = value.int, seed >= 0 else { throw fail(field, "expected an integer ≥ 0") }
                racing.seed = UInt64(seed)
            default:
                throw fail(field, "unknown key (expected stages, confidence or seed)")
            }
        }
        return racing
    }
}
