import Archive
import Fitness
import Foundation
import Inference
import Merging
import Search

/// What `status` and `front` read from a run's archive, through a reader connection that never
/// blocks (nor is blocked by) a search writing in another process.
public enum RunStatus {
    public struct Status: Sendable {
        public var evaluations: Int
        public var budget: Int?
        public var failed: Int
        /// Candidates racing stopped after a stage (counted in `evaluations`).
        public var pruned: Int
        public var running: Int
        public var frontSize: Int
        /// The best searched candidate per objective (baselines left out).
        public var best: [(objective: String, id: Int, value: Double)]
        /// The best finished baseline on the first objective (`Baselines`), if any.
        public var bestBaseline: (name: String, id: Int, value: Double)?
        /// The best searched candidate (first objective) against the best baseline on the holdout
        /// split, once both are scored there (`PairedBootstrap`).
        public var bestVersusBaseline: PairedBootstrap.Comparison?
        /// Baselines finished, and recorded.
        public var baselinesFinished = 0
        public var baselines = 0
        /// The first objective's name and whether it is maximized.
        public var firstObjective = ""
        public var firstMaximized = true
        public var ratePerHour: Double
        public var etaSeconds: Double?
        public var workers: Int?
        /// A PostgreSQL run's remote workers: those seen within a lease, and the leases that ran
        /// out over the run (a worker died or stalled mid-job; its job went back to the queue).
        public var remote: (liveWorkers: Int, expiredLeases: Int)?
    }

    public struct FrontEntry: Sendable {
        public var id: Int
        /// The baseline's name when the member is one (`Baselines`), nil for a searched candidate.
        public var baseline: String?
        public var method: String
        public var objectives: [(String, Double)]
        public var calibration: [(String, Double)]
        public var holdout: [(String, Double)]
        /// The candidate's costs as recorded with its objectives (an older archive: from its plan, nil when its models cannot be opened any more).
        public var costs: CandidateCosts?
        /// The paired bootstrap of its first objective against the best baseline's on the holdout
        /// split (`PairedBootstrap`); nil for the best baseline itself, before both have holdout
        /// scores, or when the first objective is a cost.
        public var vsBaseline: PairedBootstrap.Comparison?

        /// Holdout minus calibration, per task metric scored on both.
        public var gap: [(String, Double)] {
            holdout.compactMap { key, value in calibration.first { $0.0 == key }.map { (key, value - $0.1) } }
        }
    }

    /// The objective names in space order, with whether each is maximized.
    static func objectiveOrder(folder: RunFolder) throws -> [(String, Bool)] {
        try folder.settings().objectives.map { ($0.name, $0.maximize) }
    }

    /// A recipe's merge method, as its parser reads it ("?" when it does not parse).
    static func method(of recipe: String) -> String {
        (try? Recipe(yaml: recipe, file: "recipe"))?.mergeMethod.rawValue ?? "?"
    }

    /// The status `resume` continues from, or nil when the search was killed after writing
    /// space.yaml but before its archive was set up: nothing was recorded, so resuming starts it.
    public static func readForResume(folder: RunFolder) throws -> Status? {
        try folder.archiveIsUnstarted() ? nil : try read(folder: folder)
    }

    public static func read(folder: RunFolder) throws -> Status {
        let archive = try folder.openArchive(reader: true)
        let candidates = try archive.candidates()
        let info = try archive.runInfo()
        let finished = candidates.filter(\.status.isFinished)
        let order = try objectiveOrder(folder: folder)
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        func best(_ name: String, maximize: Bool, among pool: [CandidateRecord]) -> (Int, Double)? {
            var choice: (Int, Double)?
            for candidate in pool where candidate.status == .done {
                guard let value = objectives[candidate.id]?.first(where: { $0.name == name })?.value, value.isFinite else { continue }
                if choice == nil || (maximize ? value > choice!.1 : value < choice!.1) { choice = (candidate.id, value) }
            }
            return choice
        }
        let searched = finished.filter { $0.baseline == nil }
        let baselines = candidates.filter { $0.baseline != nil }
        let bests: [(String, Int, Double)] = order.compactMap { name, maximize in best(name, maximize: maximize, among: searched).map { (name, $0.0, $0.1) } }
        let bestBaseline = order.first.flatMap { name, maximize in best(name, maximize: maximize, among: baselines) }.flatMap { choice in
            baselines.first { $0.id == choice.0 }?.baseline.map { (name: $0, id: choice.0, value: choice.1) }
        }
        let times = finished.compactMap(\.finished).sorted()
        var rate = 0.0
        if let first = finished.compactMap(\.started).min(), let last = times.last, last > first {
            rate = Double(finished.count) / (last - first) * 3600
        }
        let budget = info["budget"].flatMap(Int.init)
        let eta = budget.flatMap { rate > 0 ? Double(max(0, $0 - finished.count)) / rate * 3600 : nil }
        var versus: PairedBootstrap.Comparison?
        if let first = bests.first, first.0 == order.first?.0, let baseline = bestBaseline, let frozen = frozen(folder: folder) {
            versus = try compare(archive: archive, frozen: frozen, candidate: first.1, baseline: (name: baseline.name, id: baseline.id))
        }
        let remote = try (archive as? PostgresArchive).map { (liveWorkers: try $0.liveWorkers(within: RemoteDispatcher.lease), expiredLeases: try $0.expiredLeases()) }
        return Status(evaluations: finished.count, budget: budget, failed: finished.filter { $0.status == .failed }.count,
                      pruned: finished.filter { $0.status == .pruned }.count,
                      running: candidates.filter { $0.status == .running }.count, frontSize: try front(folder: folder, archive: archive, withCosts: false).count,
                      best: bests, bestBaseline: bestBaseline, bestVersusBaseline: versus, baselinesFinished: baselines.filter(\.status.isFinished).count,
                      baselines: baselines.count, firstObjective: order.first?.0 ?? "", firstMaximized: order.first?.1 ?? true, ratePerHour: rate, etaSeconds: eta, workers: info["workers"].flatMap(Int.init),
                      remote: remote)
    }

    /// The run's frozen space and its fitness file (nil when they cannot be read any more, e.g.
    /// a model folder moved: then no comparison is drawn).
    static func frozen(folder: RunFolder) -> (SearchSpace, FitnessFile)? {
        (try? folder.settings()).flatMap { space in (try? space.fitnessFile()).map { (space, $0) } }
    }

    /// A candidate against a baseline on the holdout split (nil for the baseline itself or
    /// before both are scored there).
    static func compare(archive: any ArchiveStore, frozen: (SearchSpace, FitnessFile), candidate: Int,
                        baseline: (name: String, id: Int)) throws -> PairedBootstrap.Comparison? {
        guard candidate != baseline.id else { return nil }
        return try PairedBootstrap.holdout(archive: archive, space: frozen.0, fitness: frozen.1, candidate: candidate, baseline: baseline.id)
            .map { PairedBootstrap.Comparison(baseline: baseline.name, result: $0) }
    }

    /// The Pareto front of finished candidates, baselines among them, over the space's objectives (duplicates left out),
    /// best first by the first objective, with calibration and holdout scores side by side.
    /// `withCosts` plans each member's recipe (opening its models) for its costs; `status`, which
    /// only counts the members and is polled, leaves it out.
    public static func front(folder: RunFolder, archive given: (any ArchiveStore)? = nil, withCosts: Bool = true) throws -> [FrontEntry] {
        let archive = try given ?? folder.openArchive(reader: true)
        let order = try objectiveOrder(folder: folder)
        guard !order.isEmpty else { throw ArchiveError(file: folder.spacePath, "lists no objectives (is it the file `amalgam search` froze?)") }
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        let scores = Dictionary(grouping: try archive.scores(candidate: nil), by: \.candidate)
        var points: [(CandidateRecord, [Double])] = []
        for candidate in try archive.candidates() where candidate.status == .done {
            let values = order.map { name, _ in objectives[candidate.id]?.first { $0.name == name }?.value ?? .nan }
            if values.allSatisfy(\.isFinite) { points.append((candidate, values)) }
        }
        let signs = order.map { $0.1 ? -1.0 : 1.0 }
        let minimized = points.map { point in zip(signs, point.1).map { $0 * $1 } }
        // Equal objective vectors: keep the earliest.
        var seen: [[Double]] = []
        let members = ParetoFront<Int>.nondominatedIndices(minimized).filter { index in
            if seen.contains(minimized[index]) { return false }
            seen.append(minimized[index])
            return true
        }.sorted { (minimized[$0].first ?? 0, points[$0].0.seq) < (minimized[$1].first ?? 0, points[$1].0.seq) }
        let front = members.map { points[$0] }
        // The best baseline on the calibration split's first objective (the earliest on a tie).
        let bestBaseline = points.filter { $0.0.baseline != nil }.min { a, b in
            (signs[0] * a.1[0], a.0.seq) < (signs[0] * b.1[0], b.0.seq)
        }?.0
        // The frozen space and fitness file, for the bootstrap's tasks and weights (nil when they
        // cannot be read any more: then no comparison).
        let frozen = !withCosts || bestBaseline == nil ? nil : Self.frozen(folder: folder)
        return try front.map { candidate, values in
            let method = Self.method(of: candidate.recipe)
            let own = scores[candidate.id] ?? []
            // As recorded; planned from the recipe (opening its models) only for an archive written
            // before costs were recorded.
            let costs = !withCosts ? nil : CandidateCosts(recorded: objectives[candidate.id] ?? [])
                ?? (try? Recipe(yaml: candidate.recipe, file: folder.spacePath)).flatMap { try? MergePlan(recipe: $0, file: folder.spacePath, layouts: ModelFamilies.layout) }.map(CandidateCosts.init)
            let comparison = try frozen.flatMap { frozen in
                try bestBaseline.flatMap { baseline in
                    try baseline.baseline.flatMap { try compare(archive: archive, frozen: frozen, candidate: candidate.id, baseline: (name: $0, id: baseline.id)) }
                }
            }
            return FrontEntry(id: candidate.id, baseline: candidate.baseline, method: method, objectives: zip(order, values).map { ($0.0, $1) },
                              calibration: own.filter { $0.split == .calibration }.map { ($0.task + ":" + $0.metric, $0.value) },
                              holdout: own.filter { $0.split == .holdout }.map { ($0.task + ":" + $0.metric, $0.value) }, costs: costs,
                              vsBaseline: comparison)
        }
    }
}
