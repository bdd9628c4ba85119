import Archive
import Fitness
import Foundation
import Search

/// The search loop (DESIGN.md §1, §4): the optimizer proposes, the codec decodes, the worker
/// pool merges and scores, the archive records, and results are told back in candidate order.
///
/// Determinism: the coordinator tells results strictly in proposal order and, after each tell,
/// asks for as many proposals as the look-ahead (the space's population, not the worker count)
/// allows. The sequence of asks and tells is therefore a function of the seed alone; workers only
/// change when a result arrives, never what is proposed.
///
/// Resume: the optimizer is checkpointed with every batch of proposals, in the same transaction.
/// On resume the last checkpoint is decoded and the results recorded since are told again in
/// order; candidates left running by a dead process are evaluated again (their result was never
/// committed), and no recorded evaluation runs twice.
public final class SearchEngine {
    public struct Settings: Sendable {
        public var workers: Int
        /// Evaluations (done + failed; duplicates are free) the run stops at.
        public var evaluations: Int
        /// Wall-time budget for this process, in seconds.
        public var time: Double?

        public init(workers: Int, evaluations: Int, time: Double?) {
            self.workers = workers
            self.evaluations = evaluations
            self.time = time
        }
    }

    /// What a progress line shows.
    public struct Progress: Sendable {
        public var evaluations: Int
        public var budget: Int
        public var failed: Int
        public var running: Int
        public var best: Double?
        public var frontSize: Int
        public var elapsed: Double
        public var ratePerHour: Double
        public var etaSeconds: Double?
    }

    /// Where the time of a run went (for `amalgam-bench search`).
    public struct Statistics: Sendable {
        /// Wall time of `run`.
        public var wall = 0.0
        /// Summed time workers spent merging and scoring.
        public var workerBusy = 0.0
        /// Time the coordinator spent outside waiting for results: archive, optimizer, codec.
        public var coordinator = 0.0
        public var workers = 0
        /// Share of worker time spent waiting for work.
        public var idleShare: Double { wall > 0 && workers > 0 ? max(0, 1 - workerBusy / (wall * Double(workers))) : 0 }
        /// Share of wall time the coordinator was busy with the archive and the optimizer.
        public var overheadShare: Double { wall > 0 ? coordinator / wall : 0 }
    }

    public private(set) var statistics = Statistics()

    public enum Ending: String, Sendable {
        case budget = "the evaluation budget is spent"
        case time = "the time budget is spent"
        case stopped = "stopped on request"
        case converged = "the optimizer stopped"
    }

    let context: SearchContext
    let archive: SQLiteArchive
    let settings: Settings
    var optimizer: any Optimizer
    let lookAhead: Int
    var asked = 0
    var told = 0
    /// Minimized objective vectors of recorded results waiting for earlier ones to be told, by seq.
    var ready: [Int: Evaluation] = [:]
    var genomes: [Int: Genome] = [:]
    /// Candidate ids by seq, and duplicates waiting for their original's result.
    var ids: [Int: Int] = [:]
    var waitingDuplicates: [Int: [Int]] = [:]
    /// The Pareto front of the candidates told so far (minimized objectives, candidate ids).
    var front = ParetoFront<Int>()
    var holdoutScored: Set<Int> = []
    /// Told candidates that entered the front and still need their holdout scores. Rebuilt on
    /// resume too: a crash between a tell and its holdout result must not lose the scoring.
    var holdoutQueue: [Int] = []
    var evaluations = 0
    var failures = 0
    var started = 0
    var best: Double?

    public init(context: SearchContext, archive: SQLiteArchive, settings: Settings) throws {
        self.context = context
        self.archive = archive
        self.settings = settings
        let space = context.space
        lookAhead = max(1, SearchOptimizer.population(space, genes: context.codec.genes))
        if let checkpoint = try archive.latestCheckpoint() {
            optimizer = try SearchOptimizer.decode(checkpoint.state, name: space.optimizer.name, file: archive.path)
            told = checkpoint.told
        } else {
            optimizer = try SearchOptimizer.make(space: space, genes: context.codec.genes)
        }
        _ = try archive.requeueRunning()
        try restore()
    }

    /// Rebuilds the coordinator's books from the archive: proposals, results not yet told, the
    /// front of what was told.
    func restore() throws {
        let candidates = try archive.candidates()
        asked = candidates.count
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        let holdouts = Set(try archive.scores(candidate: nil).filter { $0.split == .holdout }.map(\.candidate))
        holdoutScored = holdouts
        let byId = Dictionary(uniqueKeysWithValues: candidates.map { ($0.id, $0) })
        for candidate in candidates {
            ids[candidate.seq] = candidate.id
            genomes[candidate.seq] = candidate.genome
            if candidate.status == .done || candidate.status == .failed { evaluations += 1 }
            if candidate.status == .failed { failures += 1 }
            let resolved = candidate.status == .duplicate ? candidate.duplicateOf.flatMap { byId[$0] } : candidate
            guard let resolved, resolved.status == .done || resolved.status == .failed else {
                if candidate.status == .duplicate, let original = candidate.duplicateOf { waitingDuplicates[original, default: []].append(candidate.seq) }
                continue
            }
            let values = resolved.status == .done ? objectives[resolved.id].map { records in
                context.space.objectives.map { objective in records.first { $0.name == objective.name }?.value ?? .nan }
            } : nil
            if candidate.seq < told {
                if let values, candidate.status != .duplicate, enteredFront(id: candidate.id, minimized: ObjectiveValues.minimized(values, space: context.space)),
                   !holdouts.contains(candidate.id) {
                    holdoutQueue.append(candidate.id)
                }
            } else {
                ready[candidate.seq] = Evaluation(genome: candidate.genome, objectives: values.map { ObjectiveValues.minimized($0, space: context.space) })
            }
            noteBest(values)
        }
        started = evaluations
    }

    /// Runs until the budget is spent, time runs out, `shouldStop` says so, or the optimizer ends.
    public func run(shouldStop: @escaping @Sendable () -> Bool, progress: (Progress) -> Void) throws -> Ending {
        let pool = WorkerPool(context: context, workers: settings.workers)
        defer { pool.close() }
        let start = Date()
        let startEvaluations = evaluations
        var ending: Ending?
        var lastProgress = Date.distantPast
        var waiting = 0.0
        statistics.workers = settings.workers
        defer {
            statistics.wall = Date().timeIntervalSince(start)
            statistics.coordinator = statistics.wall - waiting
        }
        while true {
            // Tell in order; after each tell, propose as far as the look-ahead allows.
            try proposeWhilePossible()
            while let evaluation = ready.removeValue(forKey: told) {
                try optimizer.tell([evaluation])
                if let values = evaluation.objectives, let id = ids[told], try archive.candidate(id: id)?.status == .done,
                   enteredFront(id: id, minimized: values), !holdoutScored.contains(id) {
                    holdoutQueue.append(id)
                }
                told += 1
                try proposeWhilePossible()
            }
            let elapsed = Date().timeIntervalSince(start)
            if ending == nil {
                if shouldStop() { ending = .stopped }
                else if let time = settings.time, elapsed >= time { ending = .time }
            }
            // Dispatch: holdout scoring of new front members first, then pending candidates.
            while ending == nil, pool.idle > 0 {
                if !holdoutQueue.isEmpty {
                    let id = holdoutQueue.removeFirst()
                    guard let record = try archive.candidate(id: id) else { continue }
                    let decoded = try context.codec.decode(record.genome)
                    holdoutScored.insert(id)
                    pool.submit(WorkerPool.Job(candidate: id, seq: record.seq, decoded: decoded, split: .holdout))
                    continue
                }
                guard started < settings.evaluations, let record = try archive.claim(worker: 0, now: Date().timeIntervalSince1970) else { break }
                started += 1
                do {
                    pool.submit(WorkerPool.Job(candidate: record.id, seq: record.seq, decoded: try context.codec.decode(record.genome), split: .calibration))
                } catch {
                    try store(id: record.id, seq: record.seq, outcome: EvaluationOutcome(error: "\(error)"))
                }
            }
            if pool.inFlight == 0 && holdoutQueue.isEmpty {
                if ending != nil { break }
                if started >= settings.evaluations && ready[told] == nil { ending = .budget; break }
                if optimizer.termination != nil && asked == told { ending = .converged; break }
                if ready[told] == nil && asked == told { ending = .converged; break }
            }
            let waitStart = Date()
            let finished = pool.results(waiting: 0.2)
            waiting += Date().timeIntervalSince(waitStart)
            for done in finished {
                statistics.workerBusy += done.outcome.seconds
                if done.job.split == .holdout {
                    try archive.addScores(done.outcome.scores.map { score($0, candidate: done.job.candidate) })
                } else {
                    try store(id: done.job.candidate, seq: done.job.seq, outcome: done.outcome)
                }
            }
            if Date().timeIntervalSince(lastProgress) >= 1 {
                lastProgress = Date()
                let done = evaluations - startEvaluations
                let rate = elapsed > 0 ? Double(done) / elapsed * 3600 : 0
                let remaining = max(0, settings.evaluations - evaluations)
                progress(Progress(evaluations: evaluations, budget: settings.evaluations, failed: failures, running: pool.inFlight,
                                  best: best, frontSize: front.count, elapsed: elapsed, ratePerHour: rate,
                                  etaSeconds: rate > 0 ? Double(remaining) / rate * 3600 : nil))
            }
        }
        return ending ?? .budget
    }

    func proposeWhilePossible() throws {
        while asked - told < lookAhead && optimizer.termination == nil {
            let batch = optimizer.ask()
            if batch.isEmpty { return }
            var records: [CandidateRecord] = []
            var hashes: [String: Int] = [:]
            for genome in batch {
                let seq = asked + records.count
                let id = seq + 1
                let decoded = try? context.codec.decode(genome)
                let hash = decoded?.hash ?? "invalid:" + GenomeCodec.hash("\(genome)")
                var record = CandidateRecord(id: id, seq: seq, genome: genome, recipeHash: hash, recipe: decoded?.yaml ?? "",
                                             created: Date().timeIntervalSince1970)
                if let original = try hashes[hash] ?? archive.original(recipeHash: hash)?.id {
                    record.status = .duplicate
                    record.duplicateOf = original
                } else {
                    hashes[hash] = id
                }
                records.append(record)
            }
            let state = try SearchOptimizer.encode(optimizer, name: context.space.optimizer.name)
            try archive.propose(records, checkpoint: CheckpointRecord(asked: asked + records.count, told: told, state: state))
            for record in records {
                ids[record.seq] = record.id
                genomes[record.seq] = record.genome
                if let original = record.duplicateOf {
                    if let result = try resolvedResult(of: original) {
                        ready[record.seq] = Evaluation(genome: record.genome, objectives: result)
                    } else {
                        waitingDuplicates[original, default: []].append(record.seq)
                    }
                }
            }
            asked += records.count
        }
    }

    /// A finished candidate's minimized objectives (nil inside: it failed); nil when it has not finished.
    func resolvedResult(of id: Int) throws -> [Double]?? {
        guard let record = try archive.candidate(id: id), record.status == .done || record.status == .failed else { return nil }
        guard record.status == .done else { return .some(nil) }
        let objectives = try archive.objectives(candidate: id)
        let values = context.space.objectives.map { objective in objectives.first { $0.name == objective.name }?.value ?? .nan }
        return .some(ObjectiveValues.minimized(values, space: context.space))
    }

    func score(_ score: TaskScore, candidate: Int) -> ScoreRecord {
        ScoreRecord(candidate: candidate, task: score.task, split: score.split == .calibration ? .calibration : .holdout,
                    metric: score.metric, value: score.value, stderr: score.stderr, n: score.n)
    }

    func store(id: Int, seq: Int, outcome: EvaluationOutcome) throws {
        var values: [Double]?
        var error = outcome.error
        if error == nil, let costs = outcome.costs {
            values = ObjectiveValues.compute(context: context, scores: outcome.scores, costs: costs)
            if values == nil { error = "a score an objective needs is missing" }
        }
        let objectives = values.map { zip(context.space.objectives, $0).map { ObjectiveRecord(candidate: id, name: $0.name, value: $1) } } ?? []
        try archive.record(candidate: id, status: error == nil ? .done : .failed, error: error,
                           scores: error == nil ? outcome.scores.map { score($0, candidate: id) } : [], objectives: objectives,
                           now: Date().timeIntervalSince1970)
        evaluations += 1
        if error != nil { failures += 1 }
        noteBest(values)
        let minimized = values.map { ObjectiveValues.minimized($0, space: context.space) }
        ready[seq] = Evaluation(genome: genomes[seq] ?? [], objectives: minimized)
        for duplicate in waitingDuplicates.removeValue(forKey: id) ?? [] {
            ready[duplicate] = Evaluation(genome: genomes[duplicate] ?? [], objectives: minimized)
        }
    }

    /// Whether a told candidate is on the front of everything told so far: no earlier candidate
    /// dominates it or has the same objectives (whatever dominates it is on the front, or is
    /// dominated by a member of it).
    func enteredFront(id: Int, minimized: [Double]) -> Bool {
        if front.objectives.contains(minimized) { return false }
        return front.insert(id, objectives: minimized)
    }

    /// Keeps `best`, the best value of the first objective seen.
    func noteBest(_ values: [Double]?) {
        guard let first = values?.first else { return }
        best = best.map { context.space.objectives[0].maximize ? max($0, first) : min($0, first) } ?? first
    }
}
