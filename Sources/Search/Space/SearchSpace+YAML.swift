import Foundation
import Merging
import Tensors
import Yams

extension SearchSpace {
    /// The keys of a space file, in the order they are read (a key's checks may use the keys read
    /// before it) and written. The one list of them: the reader (`SearchSpaceReader`) and the
    /// emitter (`yaml`) switch over it exhaustively, so a key added here is read, written into a
    /// run's frozen space and kept on resume, or the code does not compile.
    public enum Key: String, CaseIterable, Sendable {
        case name
        case baseModel = "base_model"
        case models, methods
        case layerGranularity = "layer_granularity"
        case filters, genes, layers, smooth, baselines, fitness
        /// A run's frozen space: the fitness file's text as the run began.
        case fitnessInline = "fitness_inline"
        case objectives, optimizer, budget, workers, store, arena, racing
        /// A run's frozen space: the base model's layer count, so the settings read back without
        /// opening a model folder (`Reading.settingsOnly`); checked against config.json otherwise.
        case layerCount = "layer_count"
        /// A run's frozen space: a hash of every model folder and task file as the run began.
        case fingerprints
    }

    /// A model folder or task file and a hash of its contents when the run began (`RunFolder`
    /// computes them; resume refuses when one changed).
    public struct Fingerprint: Sendable, Equatable {
        public var path: String
        public var hash: String

        public init(path: String, hash: String) {
            self.path = path
            self.hash = hash
        }
    }

    /// How much of what a space names reading it checks.
    public enum Reading: Sendable {
        /// The fitness file exists and every model folder has a config.json of the base's type and
        /// layer count (which sets `layerCount`): what a search, a resume and a worker run on.
        case checkingInputs
        /// The settings alone, opening no file (`layerCount` from `layer_count`, 0 when the file
        /// does not record it): what `status`, `front` and `report` read a run's frozen space with,
        /// so they work after the models moved.
        case settingsOnly
    }

    /// The space as YAML that `init(yaml:)` reads back equal, every key written out with the value
    /// the run uses (defaults included, paths absolute, the racing seed resolved) — a run's frozen
    /// space once `fitnessInline` and `fingerprints` are set. `store` is never written: it may hold
    /// a password, and a run folder names its store in store.url.
    public var yaml: String {
        var lines: [String] = []
        for key in Key.allCases {
            let k = key.rawValue
            switch key {
            case .name: lines.append("\(k): \(Self.quoted(name))")
            case .baseModel: lines.append("\(k): \(Self.quoted(baseModel))")
            case .models: lines.append("\(k): [\(models.map(Self.quoted).joined(separator: ", "))]")
            case .methods: lines.append("\(k): [\(methods.map(\.rawValue).joined(separator: ", "))]")
            case .layerGranularity: lines.append("\(k): \(layerGranularity)")
            case .filters: lines.append("\(k): [\(filters.map(Self.quoted).joined(separator: ", "))]")
            case .genes:
                lines.append("\(k): {" + geneRanges.sorted { $0.key < $1.key }.map { "\($0.key): [\(Self.number($0.value.lowerBound)), \(Self.number($0.value.upperBound))]" }
                    .joined(separator: ", ") + "}")
            case .layers: lines.append("\(k): {drop: \(dropLayers)}")
            case .smooth: lines.append("\(k): \(smooth)")
            case .baselines: lines.append("\(k): \(baselines)")
            case .fitness: lines.append("\(k): \(Self.quoted(fitness))")
            case .fitnessInline: if let fitnessInline { lines.append("\(k): " + Self.block(fitnessInline)) }
            case .objectives:
                lines.append("\(k):")
                for objective in objectives { lines.append("  - \(objective.maximize ? "maximize" : "minimize"): \(Self.quoted(objective.name))") }
            case .optimizer:
                let o = optimizer
                var settings = ["name: \(o.name.rawValue)", "restarts: \(o.restarts.rawValue)", "seed: \(o.seed)", "steady_state: \(o.steadyState)",
                                "sampling: \(o.sobol ? "sobol" : "uniform")"]
                if let population = o.population { settings.append("population: \(population)") }
                if let sigma = o.sigma { settings.append("sigma: \(Self.number(sigma))") }
                lines.append("\(k): {\(settings.joined(separator: ", "))}")
            case .budget: lines.append("\(k): {evaluations: \(evaluations)\(time.map { ", time: \(formatDuration($0))" } ?? "")}")
            case .workers: if let workers { lines.append("\(k): \(workers)") }
            case .store: break
            case .arena: lines.append("\(k): \(arena.rawValue)")
            case .racing:
                // The seed written out: the example order must not follow a later --seed.
                if let racing {
                    lines.append("\(k): {stages: [\(racing.stages.map(Self.number).joined(separator: ", "))], confidence: \(Self.number(racing.confidence)), seed: \(racingSeed)}")
                }
            case .layerCount: if layerCount > 0 { lines.append("\(k): \(layerCount)") }
            case .fingerprints:
                if !fingerprints.isEmpty {
                    lines.append("\(k):")
                    for print in fingerprints { lines.append("  \(Self.quoted(print.path)): \(Self.quoted(print.hash))") }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A double-quoted scalar that reads back as `text` exactly: JSON's escapes (which YAML reads
    /// too), plus `\uXXXX` for what JSON leaves raw but YAML would not keep — DEL and the C1
    /// controls, the line breaks U+0085, U+2028 and U+2029 (folded to spaces inside quotes), the
    /// byte-order mark and the noncharacters U+FFFE/U+FFFF.
    static func quoted(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in JSONValue.string(text).serialized().unicodeScalars {
            switch scalar.value {
            case 0x7f...0x9f, 0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff:
                let hex = String(scalar.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// The shortest text that reads back as the same double, with a point so YAML reads a float.
    static func number(_ value: Double) -> String {
        let text = "\(value)"
        return text.contains(".") || text.contains("e") || !value.isFinite ? text : text + ".0"
    }

    /// A text as a literal block (`|2`, indented two spaces, its trailing newlines kept exactly)
    /// when it reads back unchanged that way, else as a quoted scalar.
    static func block(_ text: String) -> String {
        // Only what a literal block keeps as it is (YAML also breaks lines at U+0085, U+2028 and
        // U+2029); anything else is quoted.
        let plain = !text.isEmpty && text.unicodeScalars.allSatisfy {
            $0 == "\n" || $0 == "\t" || ($0.value >= 0x20 && !(0x7f...0x9f).contains($0.value) && ![0xfeff, 0x2028, 0x2029, 0xfffe, 0xffff].contains($0.value))
        }
        guard plain else { return quoted(text) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let trailing = lines.reversed().prefix { $0.isEmpty }.count  // newlines at the end, counting the last line's own
        let chomp = trailing == 0 ? "-" : trailing == 1 ? "" : "+"
        // A last line of spaces only would be taken for indentation: quote such text.
        if let last = lines.dropLast(trailing).last, last.allSatisfy({ $0 == " " }) { return quoted(text) }
        let body = lines.dropLast(trailing == 0 ? 0 : 1).map { $0.isEmpty ? "" : "  " + $0 }
        return "|2" + chomp + "\n" + body.joined(separator: "\n")
    }
}

/// Reads a space file's YAML into a `SearchSpace`, one function per key (`SearchSpace.Key`), each
/// error naming its field (mergekit-style strictness: an unknown key, a wrong type or a value out of
/// range is refused). Opens no file: `SearchSpace.checkInputs` looks at what the space names.
struct SearchSpaceReader {
    let file: String
    let folder: String
    let root: Node.Mapping

    init(yaml text: String, file: String) throws(SearchSpaceError) {
        self.file = file
        folder = URL(fileURLWithPath: file).deletingLastPathComponent().path
        func fail(_ message: String) -> SearchSpaceError { SearchSpaceError(file: file, message) }
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail("is empty") }
            guard let mapping = node.mapping else { throw fail("expected a mapping of settings (name, base_model, models, …)") }
            root = mapping
        } catch let error as SearchSpaceError {
            throw error
        } catch {
            throw fail("is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        let allowed = Set(SearchSpace.Key.allCases.map(\.rawValue))
        for key in root.keys {
            guard let name = key.string else { throw fail("a key is not a string") }
            if !allowed.contains(name) { throw self.fail(name, "unknown key (expected one of \(allowed.sorted().joined(separator: ", ")))") }
        }
    }

    func read() throws(SearchSpaceError) -> SearchSpace {
        var space = SearchSpace(file: file)
        for key in SearchSpace.Key.allCases { try read(key, root[key.rawValue], into: &space) }
        return space
    }

    private func read(_ key: SearchSpace.Key, _ node: Node?, into space: inout SearchSpace) throws(SearchSpaceError) {
        let field = key.rawValue
        switch key {
        case .name:
            space.name = try node.map { node throws(SearchSpaceError) in try string(node, field) } ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
            guard space.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw fail(field, "\"\(space.name)\" must be letters, digits, '-', '_' or '.' (it names the run folder)")
            }
        case .baseModel: space.baseModel = resolve(try string(node, field))
        case .models: space.models = try models(node, base: space.baseModel)
        case .methods: space.methods = try methods(node, models: space.models.count)
        case .layerGranularity: space.layerGranularity = try node.map { node throws(SearchSpaceError) in try integer(node, field, minimum: 0) } ?? 0
        case .filters: space.filters = try filters(node)
        case .genes: space.geneRanges = try geneRanges(node, methods: space.methods)
        case .layers:
            guard let node else { return }
            guard let mapping = node.mapping else { throw fail(field, "expected {drop: true} or {drop: false}") }
            for key in mapping.keys where key.string != "drop" { throw fail("layers.\(key.string ?? "?")", "unknown key (expected drop)") }
            guard let drop = mapping["drop"]?.bool else { throw fail("layers.drop", "expected true or false") }
            space.dropLayers = drop
        case .smooth:
            space.smooth = try flag(node, field) ?? false
            if space.smooth && space.dropLayers { throw fail(field, "cannot go with layers: {drop: true} (a gradient runs over every layer)") }
        case .baselines: space.baselines = try flag(node, field) ?? true
        case .fitness: space.fitness = resolve(try string(node, field))
        case .fitnessInline:
            guard let node else { return }
            guard let text = node.string, !text.isEmpty else { throw fail(field, "expected the fitness file's text as a block (|)") }
            space.fitnessInline = text
        case .objectives: space.objectives = try objectives(node)
        case .optimizer: space.optimizer = try optimizer(node)
        case .budget: (space.evaluations, space.time) = try budget(node)
        case .workers:
            // 0: no local workers, `amalgam worker` processes run the jobs (a PostgreSQL store's run).
            space.workers = try node.map { node throws(SearchSpaceError) in try integer(node, field, minimum: 0) }
        case .store:
            guard let node else { return }
            let text = try string(node, field)
            guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
                throw fail(field, "is not a PostgreSQL store URL (postgres://user@host/db?run=NAME)")
            }
            space.store = text
        case .arena:
            guard let node else { return }
            guard let text = node.string, let setting = ArenaSetting(rawValue: text) else {
                throw fail(field, "\"\(node.string ?? "?")\" is not an arena dtype (expected \(ArenaSetting.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            space.arena = setting
        case .racing: space.racing = try node.map { node throws(SearchSpaceError) in try racing(node) } ?? nil
        case .layerCount: space.layerCount = try node.map { node throws(SearchSpaceError) in try integer(node, field, minimum: 1) } ?? 0
        case .fingerprints:
            guard let node else { return }
            guard let mapping = node.mapping else { throw fail(field, "expected a mapping of paths to hashes") }
            space.fingerprints = try mapping.map { path, hash throws(SearchSpaceError) in
                SearchSpace.Fingerprint(path: try string(path, field), hash: try string(hash, "\(field).\(path.string ?? "?")"))
            }
        }
    }

    // MARK: Sections

    private func models(_ node: Node?, base: String) throws(SearchSpaceError) -> [String] {
        guard let list = node?.sequence, !list.isEmpty else { throw fail("models", "expected a list of at least one fine-tuned model") }
        var models: [String] = []
        for (i, node) in list.enumerated() {
            let model = resolve(try string(node, "models[\(i)]"))
            if models.contains(model) || model == base { throw fail("models[\(i)]", "\(model) is listed twice (or is the base model)") }
            models.append(model)
        }
        return models
    }

    /// One method (fixed) or several (a categorical gene).
    private func methods(_ node: Node?, models: Int) throws(SearchSpaceError) -> [MergeMethod] {
        let nodes: [Node] = node.map { $0.sequence.map(Array.init) ?? [$0] } ?? [Node("ties")]
        guard !nodes.isEmpty else { throw fail("methods", "expected a method or a list of methods") }
        var methods: [MergeMethod] = []
        for (i, item) in nodes.enumerated() {
            let field = nodes.count == 1 && node?.sequence == nil ? "methods" : "methods[\(i)]"
            guard let text = item.string, let method = MergeMethod(rawValue: text) else {
                throw fail(field, "\"\(item.string ?? "?")\" is not a merge method (\(MergeMethod.allCases.filter { $0 != .passthrough }.map(\.rawValue).joined(separator: ", ")))")
            }
            switch method {
            case .passthrough:
                throw fail(field, "passthrough stacks layers and has nothing to search; use layers: {drop: true} with another method")
            case .slerp, .nuslerp, .nearswap, .arceeFusion:
                if models != 1 { throw fail(field, "\(method.rawValue) merges exactly one model with the base; this space lists \(models)") }
            case .modelStock, .karcher:
                if models < 2 { throw fail(field, "\(method.rawValue) needs at least two models beside the base") }
            case .linear, .taskArithmetic, .ties, .dareTies, .dareLinear, .breadcrumbs, .breadcrumbsTies, .della, .dellaLinear,
                 .multislerp, .sce, .ramplusTL, .ram:
                break
            }
            if methods.contains(method) { throw fail(field, "\(method.rawValue) is listed twice") }
            methods.append(method)
        }
        return methods
    }

    private func filters(_ node: Node?) throws(SearchSpaceError) -> [String] {
        guard let node else { return [] }
        guard let list = node.sequence else { throw fail("filters", "expected a list of tensor-name substrings such as [self_attn, mlp]") }
        var filters: [String] = []
        for (i, item) in list.enumerated() {
            let filter = try string(item, "filters[\(i)]")
            if filters.contains(filter) { throw fail("filters[\(i)]", "\"\(filter)\" is listed twice") }
            filters.append(filter)
        }
        return filters
    }

    /// Ranges only for parameters the methods use (lambda: any task-arithmetic method), the
    /// defaults for the rest.
    private func geneRanges(_ node: Node?, methods: [MergeMethod]) throws(SearchSpaceError) -> [String: ClosedRange<Double>] {
        var used = Set(methods.flatMap { SearchSpace.geneParameters(of: $0).perModel + SearchSpace.geneParameters(of: $0).shared })
        if methods.contains(where: { $0.taskArithmetic != nil }) { used.insert("lambda") }
        var ranges: [String: ClosedRange<Double>] = [:]
        if let node {
            guard let mapping = node.mapping else { throw fail("genes", "expected a mapping such as {weight: [0, 1], density: [0.1, 1]}") }
            for (keyNode, value) in mapping {
                guard let key = keyNode.string, let (bounds, text) = SearchSpace.allowedRanges[key] else {
                    throw fail("genes.\(keyNode.string ?? "?")", "unknown gene (expected \(SearchSpace.allowedRanges.keys.sorted().joined(separator: ", ")))")
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
            ranges[parameter] = SearchSpace.defaultRanges[parameter]
        }
        return ranges
    }

    private func objectives(_ node: Node?) throws(SearchSpaceError) -> [SearchSpace.Objective] {
        guard let node else { return [SearchSpace.Objective(.accuracy, maximize: true)] }
        guard let list = node.sequence, !list.isEmpty else { throw fail("objectives", "expected a list such as [{maximize: accuracy}, {minimize: params}]") }
        var objectives: [SearchSpace.Objective] = []
        for (i, item) in list.enumerated() {
            let field = "objectives[\(i)]"
            guard let mapping = item.mapping, mapping.count == 1, let key = mapping.keys.first?.string, key == "maximize" || key == "minimize" else {
                throw fail(field, "expected {maximize: QUANTITY} or {minimize: QUANTITY}")
            }
            let text = try string(mapping.values.first, "\(field).\(key)")
            let quantity: SearchSpace.Objective.Quantity
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
            let objective = SearchSpace.Objective(quantity, maximize: key == "maximize")
            if objectives.contains(where: { $0.name == objective.name }) { throw fail("\(field).\(key)", "\(objective.name) is listed twice") }
            objectives.append(objective)
        }
        return objectives
    }

    private func optimizer(_ node: Node?) throws(SearchSpaceError) -> SearchSpace.OptimizerSettings {
        var optimizer = SearchSpace.OptimizerSettings()
        guard let node else { return optimizer }
        guard let mapping = node.mapping else { throw fail("optimizer", "expected a mapping such as {name: cmaes, population: 8, seed: 1}") }
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            let field = "optimizer.\(key)"
            switch key {
            case "name":
                guard let name = value.string.flatMap(SearchSpace.OptimizerSettings.Name.init(rawValue:)) else { throw fail(field, "expected cmaes, nsga2 or random") }
                optimizer.name = name
            case "population": optimizer.population = try integer(value, field, minimum: 2)
            case "sigma":
                let sigma = try number(value, field)
                guard sigma > 0 && sigma <= 1 else { throw fail(field, "expected a step size in (0, 1] (genes are scaled to [0, 1])") }
                optimizer.sigma = sigma
            case "restarts":
                guard let restarts = value.string.flatMap(SearchSpace.OptimizerSettings.Restarts.init(rawValue:)) else { throw fail(field, "expected none, ipop or bipop") }
                optimizer.restarts = restarts
            case "seed": optimizer.seed = try seed(value, field)
            case "steady_state": optimizer.steadyState = try flag(value, field) ?? true
            case "sampling":
                guard let text = value.string, text == "uniform" || text == "sobol" else { throw fail(field, "expected uniform or sobol") }
                optimizer.sobol = text == "sobol"
            default:
                throw fail(field, "unknown key (expected name, population, sigma, restarts, seed, steady_state or sampling)")
            }
        }
        return optimizer
    }

    private func budget(_ node: Node?) throws(SearchSpaceError) -> (evaluations: Int, time: Double?) {
        var budget: (evaluations: Int, time: Double?) = (100, nil)
        guard let node else { return budget }
        guard let mapping = node.mapping else { throw fail("budget", "expected {evaluations: N, time: 8h}") }
        for (keyNode, value) in mapping {
            switch keyNode.string {
            case "evaluations": budget.evaluations = try integer(value, "budget.evaluations", minimum: 1)
            case "time":
                let text = value.string ?? value.int.map(String.init) ?? ""
                guard let seconds = parseDuration(text) else { throw fail("budget.time", "\"\(text)\" is not a duration such as 90s, 30m or 8h") }
                budget.time = seconds
            default: throw fail("budget.\(keyNode.string ?? "?")", "unknown key (expected evaluations or time)")
            }
        }
        return budget
    }

    /// `racing:` — `{stages: [0.25, 0.5, 1], confidence: 0.95, seed: 7}` (every key optional),
    /// `true` for those defaults, `false` for none.
    private func racing(_ node: Node) throws(SearchSpaceError) -> SearchSpace.Racing? {
        if let flag = node.bool { return flag ? SearchSpace.Racing() : nil }
        guard let mapping = node.mapping else {
            throw fail("racing", "expected true, false or a mapping such as {stages: [0.25, 0.5, 1], confidence: 0.95}")
        }
        var racing = SearchSpace.Racing()
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
            case "seed": racing.seed = try seed(value, field)
            default:
                throw fail(field, "unknown key (expected stages, confidence or seed)")
            }
        }
        return racing
    }

    // MARK: Values

    private func fail(_ field: String?, _ message: String) -> SearchSpaceError { SearchSpaceError(file: file, field: field, message) }

    /// A path relative to the space file's folder, made absolute.
    private func resolve(_ relative: String) -> String {
        URL(fileURLWithPath: relative.hasPrefix("/") ? relative : folder + "/" + relative).standardizedFileURL.path
    }

    private func string(_ node: Node?, _ field: String) throws(SearchSpaceError) -> String {
        guard let value = node?.scalar?.string, !value.isEmpty else { throw fail(field, node == nil ? "is missing" : "expected a string") }
        return value
    }

    private func integer(_ node: Node, _ field: String, minimum: Int) throws(SearchSpaceError) -> Int {
        guard let value = node.int, value >= minimum else { throw fail(field, "expected an integer ≥ \(minimum)") }
        return value
    }

    /// A seed: any UInt64 (`--seed` takes one, and the frozen space writes it back).
    private func seed(_ node: Node, _ field: String) throws(SearchSpaceError) -> UInt64 {
        if let value = node.int, value >= 0 { return UInt64(value) }
        if let text = node.scalar?.string, let value = UInt64(text) { return value }
        throw fail(field, "expected an integer ≥ 0")
    }

    private func number(_ node: Node, _ field: String) throws(SearchSpaceError) -> Double {
        guard let value = node.float ?? node.int.map(Double.init), value.isFinite else { throw fail(field, "expected a number") }
        return value
    }

    private func flag(_ node: Node?, _ field: String) throws(SearchSpaceError) -> Bool? {
        guard let node else { return nil }
        guard let flag = node.bool else { throw fail(field, "expected true or false") }
        return flag
    }
}
