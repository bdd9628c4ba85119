/// Where a search keeps everything (DESIGN.md §3, §6): proposals, claims, results, optimizer
/// checkpoints, events. The SQLite store is the one that exists; the protocol is what a PostgreSQL
/// store for many machines would implement. All writes go through one owner (one writer).
public protocol ArchiveStore: AnyObject {
    /// The file or server the store's errors name.
    var location: String { get }

    /// Run metadata (seed, thread layout, space fingerprint…), key by key.
    func setRunInfo(_ info: [String: String]) throws
    func runInfo() throws -> [String: String]

    /// Adds proposed candidates and the optimizer state after proposing them, atomically. A
    /// duplicate of a finished candidate receives its scores, objectives and error at once; one
    /// of a candidate still to be evaluated receives them when that one is recorded.
    func propose(_ candidates: [CandidateRecord], checkpoint: CheckpointRecord?) throws
    /// The pending candidate of lowest seq, now marked running for `worker`; nil when none is pending.
    /// (For workers that pull their work; the single-process coordinator hands out its own with `start`.)
    func claim(worker: Int, now: Double) throws -> CandidateRecord?
    /// Marks a pending candidate running on `worker`; an error when it is not pending.
    func start(candidate: Int, worker: Int, now: Double) throws
    /// A running candidate back to pending: its evaluation was abandoned (a stop), not finished.
    func requeue(candidate: Int) throws
    /// A finished evaluation (status done, failed or pruned) with its scores and objectives, copied to its duplicates.
    func record(candidate: Int, status: CandidateStatus, error: String?, scores: [ScoreRecord], objectives: [ObjectiveRecord], now: Double) throws
    /// A racing candidate's cumulative calibration scores through one stage (DESIGN.md §5b).
    func addStageScores(_ scores: [StageScoreRecord]) throws
    /// More scores for a finished candidate (the holdout split of one that entered the front, or
    /// of a baseline) and, in the same transaction, their per-example values.
    func addScores(_ scores: [ScoreRecord], examples: [ExampleScoresRecord]) throws
    /// Running candidates back to pending (their process died); returns how many.
    func requeueRunning() throws -> Int
    func log(_ event: EventRecord) throws

    func latestCheckpoint() throws -> CheckpointRecord?
    /// Every checkpoint, by asked.
    func checkpoints() throws -> [CheckpointRecord]
    func candidates() throws -> [CandidateRecord]
    func candidate(id: Int) throws -> CandidateRecord?
    /// The earliest non-duplicate candidate with this recipe hash.
    func original(recipeHash: String) throws -> CandidateRecord?
    func scores(candidate: Int?) throws -> [ScoreRecord]
    func objectives(candidate: Int?) throws -> [ObjectiveRecord]
    func stageScores(candidate: Int?) throws -> [StageScoreRecord]
    func exampleScores(candidate: Int, split: ScoreSplit) throws -> [ExampleScoresRecord]
    func checkpointMarks() throws -> [(asked: Int, told: Int)]
    func events() throws -> [EventRecord]
    func statusCounts() throws -> [CandidateStatus: Int]
}
