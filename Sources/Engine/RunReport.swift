import Archive
import Fitness
import Foundation
import Inference
import Merging
import Search

/// What `amalgam report` draws, read from a run's folder through a reader connection (so it works
/// while the search writes): every finished candidate's objectives, the front with its holdout
/// scores and confidence against the best baseline, the convergence of the search, the best
/// recipe's per-layer parameters, and the run's counts and settings.
public struct RunReport: Sendable {
    /// A finished candidate (done; pruned ones are counted, not drawn).
    public struct Point: Sendable {
        public var id: Int
        public var seq: Int
        public var baseline: String?
        public var method: String
        /// The space's objectives, in order, as the space states them.
        public var objectives: [Double]
        /// The first objective on the holdout split, when scored there.
        public var holdout: Double?
        public var onFront: Bool
    }

    /// One parameter of the best recipe per layer: rows are model × filter group, columns the
    /// output layers; nil where the merge does not use the parameter.
    public struct Heatmap: Sendable {
        public var parameter: String
        public var rows: [String]
        public var values: [[Double?]]
    }

    public var name: String
    public var objectives: [(name: String, maximize: Bool)]
    public var points: [Point]
    public var front: [RunStatus.FrontEntry]
    public var status: RunStatus.Status
    /// After each finished searched candidate (in proposal order): the evaluations spent so far
    /// (baselines included) and the best first objective among searched candidates.
    public var convergence: [(evaluations: Int, best: Double)]
    /// The best searched candidate on the first objective, its recipe and its heatmaps.
    public var bestCandidate: (id: Int, recipe: String)?
    public var heatmaps: [Heatmap]
    /// Why there is no heatmap (the recipe's models cannot be opened, …), when there is none.
    public var heatmapNote: String?
    public var counts: [CandidateStatus: Int]
    /// Failed candidates' errors, by id (the first 20).
    public var failures: [(id: Int, error: String)]
    public var spaceText: String
    public var runInfo: [String: String]
    public var optimizer: String

    public static func read(folder: RunFolder) throws -> RunReport {
        let archive = try folder.openArchive(reader: true)
        let status = try RunStatus.read(folder: folder)
        let front = try RunStatus.front(folder: folder, archive: archive)
        let order = try RunStatus.objectiveOrder(folder: folder)
        let spaceText = (try? String(contentsOfFile: folder.spacePath, encoding: .utf8)) ?? ""
        let frozen = RunStatus.frozen(folder: folder)
        let space = frozen?.0
        let candidates = try archive.candidates()
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        let scores = Dictionary(grouping: try archive.scores(candidate: nil), by: \.candidate)
        let frontIDs = Set(front.map(\.id))
        var points: [Point] = []
        for candidate in candidates where candidate.status == .done {
            let values = order.map { name, _ in objectives[candidate.id]?.first { $0.name == name }?.value ?? .nan }
            guard values.allSatisfy(\.isFinite) else { continue }
            let holdout = frozen.flatMap { Self.holdoutFirst(scores[candidate.id] ?? [], space: $0.0, fitness: $0.1) }
            points.append(Point(id: candidate.id, seq: candidate.seq, baseline: candidate.baseline, method: RunStatus.method(of: candidate.recipe),
                                objectives: values, holdout: holdout, onFront: frontIDs.contains(candidate.id)))
        }
        // Convergence: evaluations counted in proposal order (baselines first, as they ran).
        var convergence: [(Int, Double)] = []
        var spent = 0
        var best: Double?
        let maximize = order.first?.1 ?? true
        for candidate in candidates where candidate.status.isFinished {
            spent += 1
            guard candidate.baseline == nil else { continue }
            if candidate.status == .done, let value = objectives[candidate.id]?.first(where: { $0.name == order.first?.0 })?.value, value.isFinite {
                best = best.map { maximize ? max($0, value) : min($0, value) } ?? value
            }
            if let best { convergence.append((spent, best)) }
        }
        var report = RunReport(
            name: space?.name ?? URL(fileURLWithPath: folder.path).lastPathComponent, objectives: order.map { (name: $0.0, maximize: $0.1) },
            points: points, front: front, status: status, convergence: convergence, bestCandidate: nil, heatmaps: [], heatmapNote: nil,
            counts: try archive.statusCounts(),
            failures: candidates.filter { $0.status == .failed }.prefix(20).map { ($0.id, $0.error ?? "?") },
            spaceText: spaceText, runInfo: try archive.runInfo(), optimizer: space?.optimizer.name.rawValue ?? "?")
        if let first = status.best.first, first.objective == status.firstObjective, let record = candidates.first(where: { $0.id == first.id }) {
            report.bestCandidate = (record.id, record.recipe)
            do {
                report.heatmaps = try Self.heatmaps(recipe: Recipe(yaml: record.recipe, file: folder.spacePath), file: folder.spacePath, filters: space?.filters ?? [])
            } catch {
                report.heatmapNote = "the best recipe cannot be planned here: \(error)"
            }
        }
        return report
    }

    /// The space's first objective computed from holdout scores (the weighted mean of the tasks,
    /// a perplexity as −ln; or the one task it names); nil when a score is missing or it is a cost.
    public static func holdoutFirst(_ records: [ScoreRecord], space: SearchSpace, fitness: FitnessFile) -> Double? {
        let holdout = records.filter { $0.split == .holdout }
        guard let first = space.objectives.first, !holdout.isEmpty else { return nil }
        switch first.quantity {
        case .accuracy:
            return ObjectiveValues.accuracy(tasks: fitness.tasks) { name, metric in holdout.first { $0.task == name && $0.metric == metric }?.value }
        case .task(let name, let metric):
            let wanted = metric ?? fitness.tasks.first { $0.name == name }?.metric
            return holdout.first { $0.task == name && $0.metric == wanted }?.value
        case .params, .layers, .density, .flops:
            return nil
        }
    }

    /// The weight and density each source gets in each output layer, read from the merge plan
    /// (what the merge uses, gradients and filters resolved): per layer and filter group, the
    /// first tensor of that layer in the group.
    static func heatmaps(recipe: Recipe, file: String, filters: [String]) throws -> [Heatmap] {
        let plan = try MergePlan(recipe: recipe, file: file, layouts: ModelFamilies.layout)
        let groups = filters.map(Optional.some) + [nil]
        let sources = plan.models.indices.filter { index in plan.tensors.contains { $0.inputs.contains { $0.model == index && !$0.isBase } } }
        var maps: [Heatmap] = []
        // Density only where the recipe sets it (the plan resolves mergekit's default 1 for every
        // task-arithmetic-family merge, which would draw as a flat map of ones).
        for parameter in ["weight", "density"] where parameter == "weight" || recipe.yaml.contains("density") {
            var rows: [String] = [], values: [[Double?]] = []
            for source in sources {
                let name = URL(fileURLWithPath: plan.models[source].path).lastPathComponent
                for group in groups {
                    var row: [Double?] = []
                    for layer in 0..<plan.layerCount {
                        let tensor = plan.tensors.first { tensor in
                            tensor.name.contains(".layers.\(layer).")
                                && (group.map { tensor.name.contains($0) } ?? !filters.contains { tensor.name.contains($0) })
                        }
                        let value = tensor?.inputs.first { $0.model == source && !$0.isBase }?.parameters[parameter]
                        if case .number(let number)? = value { row.append(number) } else { row.append(nil) }
                    }
                    rows.append(filters.isEmpty ? name : "\(name) · \(group ?? "other")")
                    values.append(row)
                }
            }
            if values.contains(where: { $0.contains { $0 != nil } }) { maps.append(Heatmap(parameter: parameter, rows: rows, values: values)) }
        }
        return maps
    }
}
