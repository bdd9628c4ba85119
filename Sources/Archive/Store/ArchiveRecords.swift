import Foundation

/// Where a candidate is in its life (DESIGN.md §3). `duplicate`: its recipe was proposed before,
/// so it shares that candidate's results and costs no evaluation. `pruned`: racing stopped it
/// after a stage (DESIGN.md §5b); its scores cover the examples scored by then (their `n`), its
/// objectives are estimates, and it is final, never on the front nor scored on the holdout split.
public enum CandidateStatus: String, Codable, Sendable, CaseIterable {
    case pending, running, done, failed, duplicate, pruned

    /// Whether the candidate's evaluation is over (it costs one evaluation of the budget).
    public var isFinished: Bool {
        switch self {
        case .done, .failed, .pruned: true
        case .pending, .running, .duplicate: false
        }
    }
}

/// One proposed recipe: a `candidate` row.
public struct CandidateRecord: Sendable, Equatable {
    public var id: Int
    /// Proposal order: the order results are told to the optimizer.
    public var seq: Int
    public var genome: [Double]
    public var recipeHash: String
    public var recipe: String
    public var status: CandidateStatus
    public var error: String?
    /// For a duplicate, the candidate whose results it shares.
    public var duplicateOf: Int?
    public var worker: Int?
    public var created: Double?
    public var started: Double?
    public var finished: Double?
    /// A baseline's name (`base`, a source's folder name, a method's name: `Baselines`), or nil
    /// for a candidate the optimizer proposed. Baselines come first, with negative seqs, and are
    /// never told to the optimizer.
    public var baseline: String?

    public init(id: Int, seq: Int, genome: [Double], recipeHash: String, recipe: String, status: CandidateStatus = .pending,
                error: String? = nil, duplicateOf: Int? = nil, worker: Int? = nil, created: Double? = nil, started: Double? = nil, finished: Double? = nil,
                baseline: String? = nil) {
        self.id = id
        self.seq = seq
        self.genome = genome
        self.recipeHash = recipeHash
        self.recipe = recipe
        self.status = status
        self.error = error
        self.duplicateOf = duplicateOf
        self.worker = worker
        self.created = created
        self.started = started
        self.finished = finished
        self.baseline = baseline
    }
}

/// Which data a score was measured on.
public enum ScoreSplit: String, Codable, Sendable, CaseIterable {
    case calibration, holdout
}

/// One task's score on one split: a `score` row.
public struct ScoreRecord: Sendable, Equatable {
    public var candidate: Int
    public var task: String
    public var split: ScoreSplit
    public var metric: String
    public var value: Double
    public var stderr: Double?
    public var n: Int

    public init(candidate: Int, task: String, split: ScoreSplit, metric: String, value: Double, stderr: Double?, n: Int) {
        self.candidate = candidate
        self.task = task
        self.split = split
        self.metric = metric
        self.value = value
        self.stderr = stderr
        self.n = n
    }
}

/// A racing candidate's calibration scores through one stage (a `stageScore` row): cumulative
/// over the examples of every stage up to `stage`, `n` of them.
public struct StageScoreRecord: Sendable, Equatable {
    public var candidate: Int
    public var stage: Int
    public var task: String
    public var metric: String
    public var value: Double
    public var stderr: Double?
    public var n: Int

    public init(candidate: Int, stage: Int, task: String, metric: String, value: Double, stderr: Double?, n: Int) {
        self.candidate = candidate
        self.stage = stage
        self.task = task
        self.metric = metric
        self.value = value
        self.stderr = stderr
        self.n = n
    }
}

/// One task's per-example values on one split (an `exampleScore` row set): `values[i]` is example
/// i's (0/1 for acc, in the file's order), their mean the task's score. Kept for the holdout split,
/// where the paired bootstrap against the best baseline resamples them (`RunStatus`).
public struct ExampleScoresRecord: Sendable, Equatable {
    public var candidate: Int
    public var task: String
    public var split: ScoreSplit
    public var metric: String
    public var values: [Double]

    public init(candidate: Int, task: String, split: ScoreSplit, metric: String, values: [Double]) {
        self.candidate = candidate
        self.task = task
        self.split = split
        self.metric = metric
        self.values = values
    }
}

/// One objective's value for a candidate, as the space states it (maximized or minimized).
public struct ObjectiveRecord: Sendable, Equatable {
    public var candidate: Int
    public var name: String
    public var value: Double

    public init(candidate: Int, name: String, value: Double) {
        self.candidate = candidate
        self.name = name
        self.value = value
    }
}

/// The optimizer's state as it was right after proposing candidates up to `asked` (exclusive),
/// having been told the results of candidates up to `told` (exclusive).
public struct CheckpointRecord: Sendable, Equatable {
    public var asked: Int
    public var told: Int
    /// Versioned JSON (DESIGN.md §3), non-finite numbers as strings.
    public var state: String

    public init(asked: Int, told: Int, state: String) {
        self.asked = asked
        self.told = told
        self.state = state
    }
}

/// A line of the run's log: `event` rows (start, stop, resume, warnings).
public struct EventRecord: Sendable, Equatable {
    public var time: Double
    public var kind: String
    public var message: String

    public init(time: Double, kind: String, message: String) {
        self.time = time
        self.kind = kind
        self.message = message
    }
}

/// A failure of the archive: the file and what went wrong.
public struct ArchiveError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
