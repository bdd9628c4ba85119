import Foundation
import Merging
import Tensors

/// The genome ⇄ recipe codec of a search space (DESIGN.md §3).
///
/// Layout, in this order:
/// 1. the method gene (categorical), only when the space lists several methods;
/// 2. per layer group g (layers [g·G, (g+1)·G), G = `layer_granularity`, 0 = all layers), per
///    filter f (each of `filters`, then the default group for tensors matching none), the
///    per-model parameters every listed method uses, in the order weight, density, gamma,
///    epsilon, each for model 1…M; then the shared parameters (slerp's and nuslerp's `t`, the task
///    arithmetic family's `lambda` when `genes:` gives it a range, sce's `select_topk`, nearswap's
///    `threshold` (its recipe `t`), ramplus_tl's `r` and `alpha`);
/// 3. one keep gene per layer (boolean) when `layers: {drop: true}`.
///
/// Continuous genes u ∈ [0, 1] map linearly onto their parameter's range. Genes the chosen method
/// does not use are inactive: they do not appear in the recipe, so two genomes that differ only
/// there decode to the same recipe (and the same hash: the engine stores the second as a duplicate).
///
/// The recipe: one layer group, no dropped layer → mergekit's `models:` form; otherwise `slices:`,
/// one slice per run of consecutive kept layers inside a group, every source over that range
/// (the base first where the method has a base). Filter genes become filter lists
/// (`[{filter: self_attn, value: …}, …, {value: …}]`, first match wins as in mergekit). Compute
/// dtype float32, output in the base model's stored dtype, `random_seed` from the space's seed.
public struct GenomeCodec: Sendable {
    /// What one gene of the genome controls.
    public enum Role: Sendable, Equatable {
        case method
        /// `model` is the index in the space's `models` (nil for shared parameters).
        case parameter(name: String, group: Int, filter: String?, model: Int?)
        case keepLayer(Int)
    }

    public struct Slot: Sendable, Equatable {
        public let role: Role
        public let gene: Gene
        /// A continuous gene's value range (u = 0 → lower bound, u = 1 → upper).
        public let range: ClosedRange<Double>?
        /// The methods that read it.
        public let methods: [MergeMethod]
    }

    /// A decoded genome.
    public struct Candidate: Sendable, Equatable {
        public let method: MergeMethod
        public let recipe: Recipe
        public let keptLayers: [Int]
        /// The recipe as YAML, and a hash of it that identifies the merge.
        public let yaml: String
        public let hash: String

        /// A recipe no genome proposed (a baseline): every layer kept.
        public init(recipe: Recipe, layerCount: Int) {
            self.init(method: recipe.mergeMethod, recipe: recipe, keptLayers: Array(0..<layerCount), yaml: recipe.yaml, hash: GenomeCodec.hash(recipe.yaml))
        }

        init(method: MergeMethod, recipe: Recipe, keptLayers: [Int], yaml: String, hash: String) {
            self.method = method
            self.recipe = recipe
            self.keptLayers = keptLayers
            self.yaml = yaml
            self.hash = hash
        }
    }

    public let space: SearchSpace
    public let slots: [Slot]
    public let outDType: DType
    public let groupSize: Int

    public var genes: [Gene] { slots.map(\.gene) }
    public var dimension: Int { slots.count }
    public var groupCount: Int { (space.layerCount + groupSize - 1) / groupSize }
    static let perModelOrder = ["weight", "density", "gamma", "epsilon"]
    static let sharedOrder = ["t", "lambda", "select_topk", "threshold", "r", "alpha"]

    public init(space: SearchSpace, outDType: DType) {
        self.space = space
        self.outDType = outDType
        groupSize = space.layerGranularity == 0 ? space.layerCount : space.layerGranularity
        var slots: [Slot] = []
        if space.methods.count > 1 {
            slots.append(Slot(role: .method, gene: .categorical(count: space.methods.count), range: nil, methods: space.methods))
        }
        func users(_ parameter: String) -> [MergeMethod] {
            space.methods.filter {
                let genes = SearchSpace.geneParameters(of: $0)
                return genes.perModel.contains(parameter) || genes.shared.contains(parameter) || (parameter == "lambda" && $0.taskArithmetic != nil)
            }
        }
        let perModel = Self.perModelOrder.filter { !users($0).isEmpty }
        let shared = Self.sharedOrder.filter { !users($0).isEmpty && space.geneRanges[$0] != nil }
        let groups = (space.layerCount + groupSize - 1) / groupSize
        for group in 0..<groups {
            for filter in space.filters.map(Optional.some) + [nil] {
                for parameter in perModel {
                    for model in space.models.indices {
                        slots.append(Slot(role: .parameter(name: parameter, group: group, filter: filter, model: model), gene: .continuous,
                                          range: space.geneRanges[parameter], methods: users(parameter)))
                    }
                }
                for parameter in shared {
                    slots.append(Slot(role: .parameter(name: parameter, group: group, filter: filter, model: nil), gene: .continuous,
                                      range: space.geneRanges[parameter], methods: users(parameter)))
                }
            }
        }
        if space.dropLayers {
            for layer in 0..<space.layerCount { slots.append(Slot(role: .keepLayer(layer), gene: .boolean, range: nil, methods: space.methods)) }
        }
        self.slots = slots
    }

    /// The genome at the centre of the space: continuous genes at 0.5, the first method, every layer kept.
    public var centre: Genome {
        slots.map { slot in
            switch slot.gene {
            case .continuous: 0.5
            case .categorical: 0
            case .boolean: 1
            }
        }
    }

    /// A short label per gene for tables: `method`, `weight[g0,self_attn,add]`, `keep[3]`.
    public func label(_ slot: Slot) -> String {
        switch slot.role {
        case .method: return "method"
        case .keepLayer(let layer): return "keep[\(layer)]"
        case .parameter(let name, let group, let filter, let model):
            var parts = ["g\(group)"]
            if !space.filters.isEmpty { parts.append(filter ?? "other") }
            if let model { parts.append(URL(fileURLWithPath: space.models[model]).lastPathComponent) }
            return "\(name)[\(parts.joined(separator: ","))]"
        }
    }

    /// Decodes a genome into its recipe. Throws (the candidate then fails, as data) when the genome
    /// has the wrong length or an invalid value, or drops every layer.
    public func decode(_ genome: Genome) throws(SearchSpaceError) -> Candidate {
        guard genome.count == slots.count else {
            throw SearchSpaceError(file: space.file, field: "genome", "has \(genome.count) genes; this space has \(slots.count)")
        }
        var method = space.methods[0]
        var values: [String: Double] = [:]  // "name|group|filter|model"
        var kept: [Int] = []
        for (slot, u) in zip(slots, genome) {
            guard slot.gene.admits(u) else {
                throw SearchSpaceError(file: space.file, field: "genome", "\(label(slot)) = \(u) is not a value of its gene")
            }
            switch slot.role {
            case .method: method = space.methods[Int(u)]
            case .keepLayer(let layer): if u == 1 { kept.append(layer) }
            case .parameter(let name, let group, let filter, let model):
                guard let range = slot.range else { continue }
                values[Self.key(name, group, filter, model)] = range.lowerBound + u * (range.upperBound - range.lowerBound)
            }
        }
        if !space.dropLayers { kept = Array(0..<space.layerCount) }
        guard !kept.isEmpty else { throw SearchSpaceError(file: space.file, field: "genome", "drops every layer") }
        let recipe = makeRecipe(method: method, values: values, kept: kept)
        let yaml = recipe.yaml
        return Candidate(method: method, recipe: recipe, keptLayers: kept, yaml: yaml, hash: Self.hash(yaml))
    }

    /// The genome that decodes to `method` with each gene it reads at `value(name, model)` (model nil
    /// for shared parameters) in every layer group and filter, every layer kept, and the genes it
    /// does not read at the centre; nil when the method is not in the space, or a value is missing
    /// or outside its gene's range. Each gene's u is chosen so that the decoded value is exactly
    /// the one asked for (1, not 0.9999999999999999), or the genome is nil.
    public func genome(method: MergeMethod, value: (String, Int?) -> Double?) -> Genome? {
        guard let index = space.methods.firstIndex(of: method) else { return nil }
        var genome: Genome = []
        for slot in slots {
            switch slot.role {
            case .method: genome.append(Double(index))
            case .keepLayer: genome.append(1)
            case .parameter(let name, _, _, let model):
                guard slot.methods.contains(method), let range = slot.range else {
                    genome.append(0.5)
                    continue
                }
                guard let target = value(name, model), range.contains(target) else { return nil }
                let width = range.upperBound - range.lowerBound
                let first = width > 0 ? (target - range.lowerBound) / width : 0
                guard let u = [first, first.nextUp, first.nextDown].first(where: { (0...1).contains($0) && range.lowerBound + $0 * width == target }) else {
                    return nil
                }
                genome.append(u)
            }
        }
        return genome
    }

    /// The recipe of `method` with each parameter in `values` (by mergekit name: `weight`, `t`, …)
    /// the same in every layer group, filter and model, and every other parameter left at
    /// mergekit's default; every layer kept. It is written as a decoded genome would write it,
    /// so a genome that decodes to the same values gives the same recipe (and hash).
    public func uniformRecipe(method: MergeMethod, values: [String: Double]) -> Recipe {
        var keyed: [String: Double] = [:]
        for group in 0..<groupCount {
            for filter in space.filters.map(Optional.some) + [nil] {
                for (name, value) in values {
                    for model in space.models.indices.map(Optional.some) + [nil] { keyed[Self.key(name, group, filter, model)] = value }
                }
            }
        }
        return makeRecipe(method: method, values: keyed, kept: Array(0..<space.layerCount))
    }

    static func key(_ name: String, _ group: Int, _ filter: String?, _ model: Int?) -> String {
        "\(name)|\(group)|\(filter ?? "")|\(model.map(String.init) ?? "")"
    }

    /// A parameter's setting for one group (and model): a scalar, or a filter list when the space has filters.
    func setting(_ name: String, group: Int, model: Int?, values: [String: Double], transform: (Double) -> Double = { $0 }) -> ParameterSetting? {
        guard values[Self.key(name, group, nil, model)] != nil else { return nil }
        let fallback = transform(values[Self.key(name, group, nil, model)] ?? 0)
        if space.filters.isEmpty { return .scalar(.number(fallback)) }
        var entries = space.filters.map { filter in
            ParameterSetting.FilteredValue(filter: filter, value: .scalar(.number(transform(values[Self.key(name, group, filter, model)] ?? 0))))
        }
        entries.append(ParameterSetting.FilteredValue(filter: nil, value: .scalar(.number(fallback))))
        return .filtered(entries)
    }

    func makeRecipe(method: MergeMethod, values: [String: Double], kept: [Int]) -> Recipe {
        let genes = SearchSpace.geneParameters(of: method)
        let base = space.baseModel
        let references = space.modelReferences
        // karcher would take a base as one more model to average: its spaces merge the fine-tunes alone.
        let hasBase = switch method.family {
        case .linear, .nuslerp, .karcher: false
        case .taskArithmetic, .slerp, .modelStock, .passthrough, .sce, .multislerp, .nearswap, .arceeFusion, .ram: true
        }
        // The inputs of one group: (model path, its parameters).
        func inputs(group: Int) -> [(String, ParameterSettings)] {
            switch method.family {
            case .slerp:
                return [(base, ParameterSettings()), (references[0], ParameterSettings())]
            case .nuslerp:
                var first = ParameterSettings(), second = ParameterSettings()
                first["weight"] = setting("t", group: group, model: nil, values: values) { 1 - $0 }
                second["weight"] = setting("t", group: group, model: nil, values: values)
                return [(base, first), (references[0], second)]
            case .linear, .taskArithmetic, .modelStock, .passthrough, .sce, .multislerp, .karcher, .nearswap, .arceeFusion, .ram:
                var list: [(String, ParameterSettings)] = []
                for (m, model) in references.enumerated() {
                    var parameters = ParameterSettings()
                    for name in Self.perModelOrder where genes.perModel.contains(name) {
                        parameters[name] = setting(name, group: group, model: m, values: values)
                    }
                    list.append((model, parameters))
                }
                return list
            }
        }
        func sharedParameters(group: Int) -> ParameterSettings {
            var parameters = ParameterSettings()
            if method == .slerp { parameters["t"] = setting("t", group: group, model: nil, values: values) }
            if method == .nearswap { parameters["t"] = setting("threshold", group: group, model: nil, values: values) }
            if method.taskArithmetic != nil { parameters["lambda"] = setting("lambda", group: group, model: nil, values: values) }
            for name in genes.shared where name != "t" && name != "threshold" {
                parameters[name] = setting(name, group: group, model: nil, values: values)
            }
            return parameters
        }
        var recipe = Recipe(mergeMethod: method, baseModel: hasBase ? base : nil, dtype: .f32, outDType: outDType,
                            randomSeed: space.optimizer.seed)
        if space.smooth {
            // mergekit-evolve's smooth genome: one gradient per parameter over every layer, its
            // points the groups' genes (mergekit interpolates linearly between them).
            let groups = (0..<groupCount).map { inputs(group: $0) }
            recipe.models = groups[0].indices.map { index in
                var parameters = ParameterSettings()
                for entry in groups[0][index].1.entries {
                    parameters[entry.name] = Self.gradient(groups.map { $0[index].1[entry.name] })
                }
                return Recipe.InputModel(model: groups[0][index].0, parameters: parameters)
            }
            var shared = ParameterSettings()
            let sharedGroups = (0..<groupCount).map { sharedParameters(group: $0) }
            for entry in sharedGroups[0].entries { shared[entry.name] = Self.gradient(sharedGroups.map { $0[entry.name] }) }
            recipe.parameters = shared
            return recipe
        }
        if groupCount == 1 && kept.count == space.layerCount {
            recipe.models = inputs(group: 0).map { Recipe.InputModel(model: $0.0, parameters: $0.1) }
            recipe.parameters = sharedParameters(group: 0)
            return recipe
        }
        var slices: [Recipe.OutputSlice] = []
        var index = 0
        while index < kept.count {
            // A run of consecutive kept layers inside one group.
            let group = kept[index] / groupSize
            var end = index + 1
            while end < kept.count && kept[end] == kept[end - 1] + 1 && kept[end] / groupSize == group { end += 1 }
            let range = kept[index]..<(kept[end - 1] + 1)
            var sources = inputs(group: group).map { Recipe.InputSlice(model: $0.0, layerRange: range, parameters: $0.1) }
            if hasBase && method != .slerp { sources.insert(Recipe.InputSlice(model: base, layerRange: range), at: 0) }
            slices.append(Recipe.OutputSlice(sources: sources, parameters: sharedParameters(group: group)))
            index = end
        }
        recipe.slices = slices
        return recipe
    }

    /// The gradient through one setting per layer group: a list of their numbers, or with filters
    /// one list per filter entry (every group's setting has the same filters, in the same order).
    static func gradient(_ settings: [ParameterSetting?]) -> ParameterSetting? {
        func number(_ setting: ParameterSetting?) -> ParameterScalar? {
            if case .scalar(let scalar)? = setting { return scalar }
            return nil
        }
        guard let first = settings.first, let first else { return nil }
        switch first {
        case .scalar:
            let points = settings.compactMap(number)
            return points.count == settings.count ? .list(points) : nil
        case .filtered(let entries):
            var lists: [ParameterSetting.FilteredValue] = []
            for (index, entry) in entries.enumerated() {
                let points = settings.compactMap { setting -> ParameterScalar? in
                    guard case .filtered(let others)? = setting, others.indices.contains(index) else { return nil }
                    return number(others[index].value)
                }
                guard points.count == settings.count else { return nil }
                lists.append(ParameterSetting.FilteredValue(filter: entry.filter, value: .list(points)))
            }
            return .filtered(lists)
        case .list:
            return nil
        }
    }

    /// FNV-1a (64 bit) of the recipe text, as 16 hex digits: identifies a merge within a run.
    public static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
