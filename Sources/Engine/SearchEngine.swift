import Archive
import Fitness
import Foundation
import Merging
import Search
import Tensors

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
///
/// The coordinator is a state machine (`Phase`): running → finishing | draining | cancelling →
/// stopped, with one exit condition per phase. Each kind of pending work is either drained or left
/// for `resume`, never waited on by a loop that cannot make progress:
/// - running: holdout scoring of new front members, then pending candidates while the evaluation
///   budget allows. When the budget is spent or the optimizer has nothing more to propose, it
///   finishes; when the time budget is spent, it drains; on a stop request, it cancels.
/// - finishing (budget, converged): no new candidate starts; evaluations in flight complete and
///   are told; the holdout scoring of every front member runs. Stops when nothing is in flight
///   and no holdout scoring is queued: the archive is complete.
/// - draining (time): nothing new starts; what is in flight completes and is recorded. Holdout
///   scoring still queued is left for `resume`, which queues it again.
/// - cancelling (SIGINT, SIGTERM): the rule is *abandon*. Work in flight is cancelled — merges
///   stop between tensors, scoring between examples, command tasks are killed as process groups —
///   so a stop takes seconds even when an evaluation takes hours. An evaluation that completes
///   before its cancellation takes effect is recorded as usual; an abandoned one leaves its
///   candidate pending, to be evaluated by `resume`. Stops when nothing is in flight, or after
///   `abandonAfter` seconds whatever the workers do (their candidates are put back to pending).
/// Everything recorded is already in the archive (each result is committed as it arrives, the
/// optimizer checkpointed with every proposal), so stopping needs no extra checkpoint.
///
/// Racing (the space's `racing:`, DESIGN.md §5b; see `SearchEngine+Racing.swift`): a candidate's
/// calibration scoring is a series of stage jobs, each committed as it ends (`stageScore`), and
/// after each stage `RacingRule` may stop it as `pruned`. Its decisions read only data fixed in
/// candidate order, so the archive is the same for any worker count and after any crash.
/// Baselines (`Baselines`, DESIGN.md §4): a new run first records the base, each source alone and
/// each method's equal-weight merge as candidates with negative seqs, scores them (calibration
/// first, before anything else, then holdout), and proposes nothing until every one is finished:
/// they join the front before any proposal is told, so every later decision (the front, racing's
/// bars) sees the same books on any worker count. They count as evaluations; the optimizer is
/// never told them (a proposal whose recipe equals one is its duplicate, told its values).
/// The loop blocks on the pool (a result, a stop request, or the next progress tick) and only
/// when something is in flight; a phase with nothing in flight and nothing to start is over, and
/// if it somehow were not, the run ends with an error rather than spinning.
public final class SearchEngine {
    public struct Settings: Sendable {
        public var workers: Int
        /// Evaluations (done + failed; duplicates are free) the run stops at.
        public var evaluations: Int
        /// Wall-time budget for this process, in seconds.
        public var time: Double?
        /// How long a stop waits for cancelled work to come back before it leaves it behind.
        public var abandonAfter = 10.0

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
        /// Racing: candidates pruned, and calibration examples of raced tasks scored by the finished
        /// candidates against what scoring them all in full would have cost.
        public var pruned = 0
        public var examplesScored = 0
        public var examplesInFull = 0
        /// Baselines finished and in all, and the best one's first objective.
        public var baselinesFinished = 0
        public var baselines = 0
        public var bestBaseline: Double?
    }

    /// Where the time of a run went (for `amalgam-bench search`).
    public struct Statistics: Sendable {
        /// Wall time of `run`.
        public var wall = 0.0
        /// Summed time workers spent merging and scoring.
        public var workerBusy = 0.0
        /// The part of `workerBusy` spent merging.
        public var workerMerging = 0.0
        /// Evaluations and holdout scorings that finished (the jobs `workerBusy` sums).
        public var jobs = 0
        /// Time the coordinator spent outside waiting for results: archive, optimizer, codec —
        /// wall time, so on a machine whose cores the workers keep busy it includes the waits to
        /// be scheduled again after each round trip.
        public var coordinator = 0.0
        /// CPU time of the coordinator's thread over the run: its own work, whatever the
        /// scheduling (a PostgreSQL store's round trips cost it wall time, not CPU).
        public var coordinatorCPU = 0.0
        public var workers = 0
        /// Share of worker time spent waiting for work.
        public var idleShare: Double { wall > 0 && workers > 0 ? max(0, 1 - workerBusy / (wall * Double(workers))) : 0 }
        /// Share of wall time the coordinator was busy with the archive and the optimizer.
        public var overheadShare: Double { wall > 0 ? coordinator / wall : 0 }
        /// The coordinator thread's CPU time as a share of wall time.
        public var coordinatorCPUShare: Double { wall > 0 ? coordinatorCPU / wall : 0 }
        /// Evaluations and holdout scorings in flight when a stop abandoned them (run again on resume).
        public var abandonedEvaluations = 0
        public var abandonedHoldout = 0
    }

    public internal(set) var statistics = Statistics()

    public enum Ending: String, Sendable {
        case budget = "the evaluation budget is spent"
        case time = "the time budget is spent"
        case stopped = "stopped on request"
        case converged = "the optimizer stopped"
    }

    /// Where the coordinator is (see the type's doc comment for each phase's rule).
    enum Phase: Equatable {
        case running
        case finishing(Ending)
        case draining(Ending)
        case cancelling(Ending)
        case stopped(Ending)
    }

    /// A finished candidate as the optimizer is told it.
    enum Outcome: Equatable {
        /// Its objectives as the optimizer minimizes them.
        case done(minimized: [Double])
        /// Racing stopped it: the estimate from the examples it scored (never on the front).
        case pruned(minimized: [Double])
        case failed

        var minimized: [Double]? {
            switch self {
            case .done(let values), .pruned(let values): values
            case .failed: nil
            }
        }
    }

    let context: SearchContext
    let archive: any ArchiveStore
    let settings: Settings
    var optimizer: any Optimizer
    let lookAhead: Int
    var asked = 0
    var told = 0
    /// Results waiting for earlier ones to be told, by seq.
    var ready: [Int: Evaluation] = [:]
    var genomes: [Int: Genome] = [:]
    /// Candidate ids by seq and seqs by id.
    var ids: [Int: Int] = [:]
    var seqs: [Int: Int] = [:]
    /// Seqs of duplicates (they share their original's result and front entry).
    var duplicates: Set<Int> = []
    /// Duplicates waiting for their original's result, by the original's id.
    var waitingDuplicates: [Int: [Int]] = [:]
    /// Finished candidates' outcomes, by id (what a later duplicate of them is told).
    var outcomes: [Int: Outcome] = [:]
    /// Candidates to evaluate, in seq order (ids).
    var pending: [Int] = []
    /// Candidates being evaluated by a worker, and those being scored on the holdout split (ids).
    var running: Set<Int> = []
    var holdoutRunning: Set<Int> = []
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
    /// Baselines: how many the run has (their ids are 1 … count), those not finished, the best
    /// one's first objective.
    var baselineCount = 0
    var unfinishedBaselines: Set<Int> = []
    var bestBaseline: Double?
    /// The best first objective (minimized) of the searched candidates told so far.
    var bestTold: Double?
    /// Whether the optimizer was made fresh here (no checkpoint): then, once the baselines are
    /// finished and before its first proposal, it is made again from the best one (`warmStart`).
    var freshOptimizer = false
    /// Racing's books: candidates between stages, CMA-ES races, bars, pruned candidates.
    var races = RaceBook()

    public init(context: SearchContext, archive: any ArchiveStore, settings: Settings) throws {
        self.context = context
        self.archive = archive
        self.settings = settings
        let space = context.space
        lookAhead = max(1, SearchOptimizer.population(space, genes: context.codec.genes))
        if let checkpoint = try archive.latestCheckpoint() {
            optimizer = try SearchOptimizer.decode(checkpoint.state, name: space.optimizer.name, file: archive.location)
            told = checkpoint.told
        } else {
            optimizer = try SearchOptimizer.make(space: space, genes: context.codec.genes)
            freshOptimizer = true
        }
        // One coordinator per run (RunLock): anything still marked running was left by a dead process.
        _ = try archive.requeueRunning()
        if freshOptimizer, try archive.candidates().isEmpty { try recordBaselines() }
        try restore()
    }

    /// Rebuilds the coordinator's books from the archive: proposals, what is pending, results
    /// not yet told, and the front (and holdout queue) of what was told.
    func restore() throws {
        let candidates = try archive.candidates()
        let baselines = candidates.filter { $0.baseline != nil }
        baselineCount = baselines.count
        unfinishedBaselines = Set(baselines.filter { !$0.status.isFinished }.map(\.id))
        asked = candidates.count - baselineCount
        let objectives = Dictionary(grouping: try archive.objectives(candidate: nil), by: \.candidate)
        holdoutScored = Set(try archive.scores(candidate: nil).filter { $0.split == .holdout }.map(\.candidate))
        for candidate in candidates where candidate.status.isFinished {
            evaluations += 1
            if candidate.status == .failed {
                failures += 1
                outcomes[candidate.id] = .failed
            } else {
                let records = objectives[candidate.id] ?? []
                let values = context.space.objectives.map { objective in records.first { $0.name == objective.name }?.value ?? .nan }
                let minimized = ObjectiveValues.minimized(values, space: context.space)
                if candidate.status == .pruned {
                    outcomes[candidate.id] = .pruned(minimized: minimized)
                    races.pruned.insert(candidate.id)
                } else {
                    outcomes[candidate.id] = .done(minimized: minimized)
                    if candidate.baseline == nil { noteBest(values) } else { noteBaseline(id: candidate.id, values: values) }
                }
            }
        }
        for candidate in candidates {
            ids[candidate.seq] = candidate.id
            seqs[candidate.id] = candidate.seq
            genomes[candidate.seq] = candidate.genome
            var outcome = outcomes[candidate.id]
            switch candidate.status {
            case .pending: pending.append(candidate.id)
            case .duplicate:
                duplicates.insert(candidate.seq)
                if let original = candidate.duplicateOf {
                    outcome = outcomes[original]
                    if outcome == nil { waitingDuplicates[original, default: []].append(candidate.seq) }
                }
            case .running, .done, .failed, .pruned: break
            }
            guard let outcome else { continue }
            if candidate.baseline != nil { continue }  // never told; on the front through noteBaseline
            let evaluation = Evaluation(genome: candidate.genome, objectives: outcome.minimized)
            if candidate.seq < told { noteTold(seq: candidate.seq, evaluation) } else { ready[candidate.seq] = evaluation }
        }
        started = evaluations
        if context.racing != nil { try restoreRaces(candidates.filter { $0.baseline == nil }) }
    }

    /// Runs until the budget is spent, time runs out, `stop` is cancelled, or the optimizer ends.
    public func run(stop: Cancellation, progress: (Progress) -> Void) throws -> Ending {
        let pool: any JobDispatcher = try settings.workers == 0 ? RemoteDispatcher(archive: archive) : WorkerPool(context: context, workers: settings.workers)
        defer {
            // Normally nothing is in flight by now; after an error (the archive's disk refused a
            // write) the work in flight can no longer be recorded, so it is abandoned.
            pool.cancel()
            pool.close()
        }
        let wakeKey = stop.onCancel { pool.wake() }
        defer { stop.remove(wakeKey) }
        let start = Date()
        let startEvaluations = evaluations
        var lastProgress = Date.distantPast
        var waiting = 0.0
        var cancelledAt: Date?
        statistics.workers = settings.workers
        let cpuStart = Self.threadCPUTime()
        defer {
            statistics.wall = Date().timeIntervalSince(start)
            statistics.coordinator = statistics.wall - waiting
            statistics.coordinatorCPU = Self.threadCPUTime() - cpuStart
        }
        var phase = Phase.running
        while true {
            try advanceRaces()
            try tellReady()
            let elapsed = Date().timeIntervalSince(start)
            let next = nextPhase(after: phase, stopRequested: stop.isCancelled, elapsed: elapsed, inFlight: pool.inFlight,
                                 abandoned: cancelledAt.map { Date().timeIntervalSince($0) >= settings.abandonAfter } ?? false)
            if case .cancelling = next, cancelledAt == nil {
                cancelledAt = Date()
                pool.cancel()
            }
            phase = next
            if case .stopped(let ending) = phase {
                // Whatever is still running was abandoned: its candidate is evaluated on resume.
                for id in running.sorted() { try archive.requeue(candidate: id) }
                statistics.abandonedEvaluations += running.count
                statistics.abandonedHoldout += holdoutRunning.count
                return ending
            }
            switch phase {
            case .running: try dispatch(pool, candidates: true)
            case .finishing: try dispatch(pool, candidates: false)
            case .draining: try pool.withdrawQueued()  // time is up: what no worker started does not start
            case .cancelling, .stopped: break
            }
            if pool.inFlight == 0 {
                // Nothing to wait for: this phase is over. Anything else is a bug, and spinning on it
                // would hide it, so the run ends with the books in the message.
                let again = nextPhase(after: phase, stopRequested: stop.isCancelled, elapsed: Date().timeIntervalSince(start), inFlight: 0, abandoned: false)
                guard again != phase else {
                    throw ArchiveError(file: archive.location, "the search cannot make progress (asked \(asked), told \(told), pending \(pending.count), "
                                       + "holdout queue \(holdoutQueue.count), started \(started) of \(settings.evaluations)); resume it to continue")
                }
                continue
            }
            var wakeAt = Date().addingTimeInterval(1)
            if let time = settings.time { wakeAt = min(wakeAt, start.addingTimeInterval(time)) }
            if let cancelledAt { wakeAt = min(wakeAt, cancelledAt.addingTimeInterval(settings.abandonAfter)) }
            let waitStart = Date()
            let finished = try pool.results(until: wakeAt)
            waiting += Date().timeIntervalSince(waitStart)
            for done in finished { try collect(done) }
            if Date().timeIntervalSince(lastProgress) >= 1 {
                lastProgress = Date()
                let elapsed = Date().timeIntervalSince(start)
                let done = evaluations - startEvaluations
                let rate = elapsed > 0 ? Double(done) / elapsed * 3600 : 0
                let remaining = max(0, settings.evaluations - evaluations)
                progress(Progress(evaluations: evaluations, budget: settings.evaluations, failed: failures, running: pool.inFlight,
                                  best: best, frontSize: front.count, elapsed: elapsed, ratePerHour: rate,
                                  etaSeconds: rate > 0 ? Double(remaining) / rate * 3600 : nil, pruned: races.pruned.count,
                                  examplesScored: races.examplesScored, examplesInFull: races.examplesInFull,
                                  baselinesFinished: baselineCount - unfinishedBaselines.count, baselines: baselineCount, bestBaseline: bestBaseline))
            }
        }
    }

    /// The phase after `phase`, from the stop flag, the clock and the books. A stop request wins
    /// over everything; the time budget over the evaluation budget.
    func nextPhase(after phase: Phase, stopRequested: Bool, elapsed: Double, inFlight: Int, abandoned: Bool) -> Phase {
        let timeUp = settings.time.map { elapsed >= $0 } ?? false
        switch phase {
        case .stopped:
            return phase
        case .cancelling(let ending):
            return inFlight == 0 || abandoned ? .stopped(ending) : phase
        case .draining(let ending):
            if stopRequested { return nextPhase(after: .cancelling(.stopped), stopRequested: true, elapsed: elapsed, inFlight: inFlight, abandoned: false) }
            return inFlight == 0 ? .stopped(ending) : phase
        case .finishing(let ending):
            if stopRequested || timeUp { return nextPhase(after: .running, stopRequested: stopRequested, elapsed: elapsed, inFlight: inFlight, abandoned: false) }
            return inFlight == 0 && holdoutQueue.isEmpty && !hasRacerToContinue ? .stopped(ending) : phase
        case .running:
            if stopRequested { return inFlight == 0 ? .stopped(.stopped) : .cancelling(.stopped) }
            if timeUp { return inFlight == 0 ? .stopped(.time) : .draining(.time) }
            if started >= settings.evaluations { return .finishing(.budget) }
            // asked == told right after `tellReady`: the optimizer proposed nothing more.
            if pending.isEmpty && asked == told && unfinishedBaselines.isEmpty { return .finishing(.converged) }
            return .running
        }
    }

    /// Tells every result that is next in candidate order and, after each, proposes as far as
    /// the look-ahead allows.
    /// CPU seconds the calling thread has used (CLOCK_THREAD_CPUTIME_ID).
    static func threadCPUTime() -> Double {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    func tellReady() throws {
        try proposeWhilePossible()
        while let evaluation = ready.removeValue(forKey: told) {
            try optimizer.tell([evaluation])
            noteTold(seq: told, evaluation)
            told += 1
            try proposeWhilePossible()
        }
    }

    /// Hands work to idle workers: holdout scoring of new front members first, then (with
    /// `candidates`) pending candidates while the evaluation budget allows.
    func dispatch(_ pool: any JobDispatcher, candidates: Bool) throws {
        while pool.hasIdleWorker {
            // Baselines' calibration before anything: proposals wait for them.
            if candidates, started < settings.evaluations, let id = pending.first, unfinishedBaselines.contains(id), let seq = seqs[id] {
                let decoded: GenomeCodec.Candidate
                do {
                    decoded = try baseline(id)
                } catch {
                    // A recipe that no longer reads back fails its baseline, as a bad genome fails its candidate.
                    pending.removeFirst()
                    started += 1
                    try store(id: id, seq: seq, outcome: EvaluationOutcome(error: "baseline recipe: \(error)"))
                    continue
                }
                guard let worker = try pool.submit(WorkerPool.Job(candidate: id, seq: seq, decoded: decoded, split: .calibration)) else { return }
                pending.removeFirst()
                started += 1
                try archive.start(candidate: id, worker: worker, now: Date().timeIntervalSince1970)
                running.insert(id)
                continue
            }
            if !holdoutQueue.isEmpty {
                let id = holdoutQueue.removeFirst()
                guard let seq = seqs[id], let genome = genomes[seq] else { continue }
                holdoutScored.insert(id)
                guard let decoded = seq < 0 ? try? baseline(id) : try context.codec.decode(genome) else { continue }
                guard try pool.submit(WorkerPool.Job(candidate: id, seq: seq, decoded: decoded, split: .holdout)) != nil else { return }
                holdoutRunning.insert(id)
                continue
            }
            // Racing candidates past a stage go on before anything new starts.
            if try continueRacer(pool) { continue }
            guard candidates, started < settings.evaluations, let id = pending.first, let seq = seqs[id], let genome = genomes[seq] else { return }
            pending.removeFirst()
            started += 1
            let decoded: GenomeCodec.Candidate
            do {
                decoded = try context.codec.decode(genome)
            } catch {
                // Stored without the space file's path, which differs between a run and its resume.
                try store(id: id, seq: seq, outcome: EvaluationOutcome(error: "\(error.field ?? "genome"): \(error.message)"))
                continue
            }
            if context.racing != nil {
                try admitRacer(pool, id: id, seq: seq, decoded: decoded)
                continue
            }
            guard let worker = try pool.submit(WorkerPool.Job(candidate: id, seq: seq, decoded: decoded, split: .calibration)) else { return }
            try archive.start(candidate: id, worker: worker, now: Date().timeIntervalSince1970)
            running.insert(id)
        }
    }

    /// Records what a worker handed back: a result, holdout scores, or an abandoned evaluation
    /// (its candidate back to pending, for `resume`).
    func collect(_ done: WorkerPool.Done) throws {
        statistics.workerBusy += done.outcome.seconds
        statistics.workerMerging += done.outcome.mergeSeconds
        statistics.jobs += 1
        switch done.job.split {
        case .holdout:
            holdoutRunning.remove(done.job.candidate)
            if done.outcome.cancelled {
                statistics.abandonedHoldout += 1
            } else if !done.outcome.failed {
                try archive.addScores(done.outcome.scores.map { score($0, candidate: done.job.candidate) },
                                      examples: done.outcome.scores.compactMap { exampleScores($0, candidate: done.job.candidate) })
            }
        case .calibration where done.job.slice != nil:
            try collectStage(done)
        case .calibration:
            running.remove(done.job.candidate)
            if done.outcome.cancelled {
                statistics.abandonedEvaluations += 1
                try archive.requeue(candidate: done.job.candidate)
                pending.insert(done.job.candidate, at: pending.firstIndex { (seqs[$0] ?? 0) > done.job.seq } ?? pending.endIndex)
                started -= 1
            } else {
                try store(id: done.job.candidate, seq: done.job.seq, outcome: done.outcome)
            }
        }
    }

    func proposeWhilePossible() throws {
        // Nothing is proposed before the baselines are finished (see the type's doc comment).
        guard unfinishedBaselines.isEmpty else { return }
        if freshOptimizer {
            freshOptimizer = false
            if asked == 0 && baselineCount > 0 { try warmStart() }
        }
        while asked - told < lookAhead && optimizer.termination == nil {
            let batch = optimizer.ask()
            if batch.isEmpty { return }
            var records: [CandidateRecord] = []
            var hashes: [String: Int] = [:]
            for genome in batch {
                let seq = asked + records.count
                let id = seq + 1 + baselineCount
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
            if context.racing != nil { openRace(records) }
            for record in records {
                ids[record.seq] = record.id
                seqs[record.id] = record.seq
                genomes[record.seq] = record.genome
                guard let original = record.duplicateOf else {
                    pending.append(record.id)
                    continue
                }
                duplicates.insert(record.seq)
                if let outcome = outcomes[original] {
                    ready[record.seq] = Evaluation(genome: record.genome, objectives: outcome.minimized)
                } else {
                    waitingDuplicates[original, default: []].append(record.seq)
                }
            }
            asked += records.count
        }
    }

    /// A holdout score's per-example values when its examples each have one (choice and generate
    /// tasks: correct or not), for the paired bootstrap; nil for perplexities and command tasks.
    func exampleScores(_ score: TaskScore, candidate: Int) -> ExampleScoresRecord? {
        let values = score.samples.compactMap { sample -> Double? in
            guard case .bool(let correct)? = sample.object?["correct"] else { return nil }
            return correct ? 1 : 0
        }
        guard values.count == score.n, score.n > 0 else { return nil }
        return ExampleScoresRecord(candidate: candidate, task: score.task, split: score.split == .calibration ? .calibration : .holdout,
                                   metric: score.metric, values: values)
    }

    func score(_ score: TaskScore, candidate: Int) -> ScoreRecord {
        ScoreRecord(candidate: candidate, task: score.task, split: score.split == .calibration ? .calibration : .holdout,
                    metric: score.metric, value: score.value, stderr: score.stderr, n: score.n)
    }

    /// Records a finished evaluation: done or failed, or with `pruned` (racing) the estimate from
    /// the examples scored so far, stored as `pruned`.
    func store(id: Int, seq: Int, outcome: EvaluationOutcome, pruned: Bool = false) throws {
        var values: [Double]?
        var error = outcome.error
        if error == nil, let costs = outcome.costs {
            values = ObjectiveValues.compute(context: context, scores: outcome.scores, costs: costs)
            if values == nil { error = "a score an objective needs is missing" }
        }
        var objectives = values.map { zip(context.space.objectives, $0).map { ObjectiveRecord(candidate: id, name: $0.name, value: $1) } } ?? []
        // Every cost beside the objectives, so `front` shows them without opening a model folder.
        if values != nil, let costs = outcome.costs {
            for name in CandidateCosts.names where !objectives.contains(where: { $0.name == name }) {
                if let value = costs.value(name) { objectives.append(ObjectiveRecord(candidate: id, name: name, value: value)) }
            }
        }
        let status: CandidateStatus = error != nil ? .failed : pruned ? .pruned : .done
        try archive.record(candidate: id, status: status, error: error,
                           scores: error == nil ? outcome.scores.map { score($0, candidate: id) } : [], objectives: objectives,
                           now: Date().timeIntervalSince1970)
        evaluations += 1
        running.remove(id)
        if error != nil { failures += 1 }
        let isBaseline = seq < 0
        if !pruned && !isBaseline { noteBest(values) }
        let result: Outcome = values.map { values in
            let minimized = ObjectiveValues.minimized(values, space: context.space)
            return pruned ? .pruned(minimized: minimized) : .done(minimized: minimized)
        } ?? .failed
        if pruned && values != nil { races.pruned.insert(id) }
        outcomes[id] = result
        if isBaseline {
            unfinishedBaselines.remove(id)
            if let values, error == nil { noteBaseline(id: id, values: values) }
        } else {
            noteExamples(outcome.scores, status: status)
            ready[seq] = Evaluation(genome: genomes[seq] ?? [], objectives: result.minimized)
        }
        for duplicate in waitingDuplicates.removeValue(forKey: id) ?? [] {
            ready[duplicate] = Evaluation(genome: genomes[duplicate] ?? [], objectives: result.minimized)
        }
    }

    /// After telling candidate `seq`: it joins the front if nothing told before dominates or
    /// equals it (duplicates share their original's entry), and a new front member is queued for
    /// holdout scoring unless it has its holdout scores already.
    /// The best searched candidate on the first objective is scored on the holdout split too,
    /// even when a baseline keeps it off the front: it is what the closing verdict compares with
    /// the best baseline. Told order decides it, so the same candidates are scored on any worker count.
    func noteTold(seq: Int, _ evaluation: Evaluation) {
        guard let values = evaluation.objectives, !duplicates.contains(seq), let id = ids[seq], !races.pruned.contains(id) else { return }
        if let first = values.first, first.isFinite, bestTold.map({ first < $0 }) ?? true {
            bestTold = first
            queueHoldout(id)
        }
        guard !front.objectives.contains(values), front.insert(id, objectives: values) else { return }
        queueHoldout(id)
    }

    func queueHoldout(_ id: Int) {
        if !holdoutScored.contains(id) && !holdoutQueue.contains(id) { holdoutQueue.append(id) }
    }

    /// A finished baseline: on the front unless another baseline dominates or equals it (none of
    /// the search's candidates is told before every baseline is finished), scored on the holdout
    /// split whether on the front or not, and counted for the best baseline.
    func noteBaseline(id: Int, values: [Double]) {
        if let first = values.first { bestBaseline = better(bestBaseline, first) }
        let minimized = ObjectiveValues.minimized(values, space: context.space)
        if !front.objectives.contains(minimized) { _ = front.insert(id, objectives: minimized) }
        queueHoldout(id)
    }

    /// The warm start (DESIGN.md §4): the best finished baseline on the first objective (the
    /// earliest on a tie) is where the search begins when the space can express it (it has a
    /// genome): CMA-ES's initial mean, the first member of NSGA-II's initial population; random
    /// search is not changed. When the best baseline is not a point of the space the optimizer
    /// starts as it would without baselines. Called once, before the first proposal; the choice is
    /// logged as an event.
    func warmStart() throws {
        // Ids in order and a strict `<`: the earliest baseline wins a tie.
        let finished = (1...baselineCount).compactMap { id -> (id: Int, value: Double)? in
            guard case .done(let minimized)? = outcomes[id], let value = minimized.first, value.isFinite else { return nil }
            return (id, value)
        }
        guard let choice = finished.min(by: { $0.value < $1.value }), let record = try archive.candidate(id: choice.id) else { return }
        let name = record.baseline ?? "#\(choice.id)"
        guard !record.genome.isEmpty, context.space.optimizer.name != .random else {
            let why = record.genome.isEmpty ? "it is not a point of the space" : "random search does not start anywhere"
            return try archive.log(EventRecord(time: Date().timeIntervalSince1970, kind: "warm start", message: "none: the best baseline is \(name), and \(why)"))
        }
        optimizer = try SearchOptimizer.make(space: context.space, genes: context.codec.genes, start: record.genome)
        try archive.log(EventRecord(time: Date().timeIntervalSince1970, kind: "warm start", message: "from the best baseline, \(name) (#\(choice.id))"))
    }

    /// A new run's baselines, recorded before the optimizer proposes anything (ids 1 … B, seqs
    /// −B … −1).
    func recordBaselines() throws {
        let list = Baselines.make(context: context)
        let records = list.enumerated().map { index, baseline in
            let yaml = baseline.recipe.yaml
            return CandidateRecord(id: index + 1, seq: index - list.count, genome: baseline.genome ?? [], recipeHash: GenomeCodec.hash(yaml), recipe: yaml,
                                   created: Date().timeIntervalSince1970, baseline: baseline.name)
        }
        if !records.isEmpty { try archive.propose(records, checkpoint: nil) }
    }

    /// A baseline's recipe, read back from the archive (what was recorded is what is scored).
    func baseline(_ id: Int) throws -> GenomeCodec.Candidate {
        guard let record = try archive.candidate(id: id) else { throw ArchiveError(file: archive.location, "no baseline \(id)") }
        return GenomeCodec.Candidate(recipe: try Recipe(yaml: record.recipe, file: archive.location), layerCount: context.space.layerCount)
    }

    /// Keeps `best`, the best value of the first objective seen.
    func noteBest(_ values: [Double]?) {
        guard let first = values?.first else { return }
        best = better(best, first)
    }

    /// The better of a best-so-far and a new value of the first objective, in its direction.
    func better(_ current: Double?, _ value: Double) -> Double {
        current.map { context.space.objectives[0].maximize ? max($0, value) : min($0, value) } ?? value
    }
}
