import Archive
import Fitness
import Foundation
import Merging
import Search

/// The coordinator's racing books (DESIGN.md §5b).
///
/// Determinism: every decision reads only data fixed in candidate order.
/// - A CMA-ES race is one generation (one `ask`, all of it proposed together), decided stage by
///   stage: stage k is decided once every member has scored it, or has failed or been pruned
///   before it, or is absent — not started because the evaluation budget was spent first, which
///   is decided by the budget and candidate order alone (candidates start in seq order). So the
///   decisions are a function of the members' stage scores, which do not depend on the worker
///   count or on timing; the cost is a barrier per stage within a generation, as CMA-ES already
///   has one per generation.
/// - The bar of NSGA-II and random search is the front of the candidates told when the candidate
///   was proposed: the engine proposes at fixed points of its tell sequence (after each tell, as
///   far as the look-ahead allows), so that front is fixed in candidate order; on resume it is
///   rebuilt from the checkpoints, each of which records how many results had been told.
/// Resume: each stage's cumulative scores are committed as the stage ends (`stageScore`), so a
/// candidate killed mid-stage starts again at that stage, and decisions a crash interrupted are
/// taken again from the stored scores, with the same outcome. A pruned candidate is final.
/// A budget raised by `resume --evaluations` admits members a smaller budget left absent, so
/// such a run can decide differently from one given the larger budget from the start (a crash
/// or a stop cannot).
struct RaceBook {
    /// A candidate that has started racing (or, on resume, has stage scores).
    struct Racer {
        let id: Int
        let seq: Int
        /// Cumulative scores through each stage scored.
        var history: [[TaskScore]] = []
        /// Stages passed: decided not to prune after them.
        var cleared = 0
        /// Counted in `started` in this session (a restored racer is not until it is dispatched again).
        var admitted = false
        var inFlight = false
        var costs: CandidateCosts?
    }

    /// One CMA-ES generation's race.
    struct Race {
        /// Members (non-duplicate candidates of the generation), ids in seq order.
        let members: [Int]
        let parents: Int
        /// Stages decided so far.
        var decided = 0
    }

    var racers: [Int: Racer] = [:]
    /// CMA-ES races by the seq their generation starts at, and each member's race.
    var races: [Int: Race] = [:]
    var raceOf: [Int: Int] = [:]
    /// NSGA-II and random search: the bar of each candidate (minimized points), by id.
    var bars: [Int: [[Double]]] = [:]
    var pruned: Set<Int> = []
    var examplesScored = 0
    var examplesInFull = 0
}

extension SearchEngine {
    var hasRacerToContinue: Bool { races.racers.values.contains { canContinue($0) } }

    /// Whether a racer is waiting for nothing but a worker.
    func canContinue(_ racer: RaceBook.Racer) -> Bool {
        guard let schedule = context.racing else { return false }
        return racer.admitted && !racer.inFlight && outcomes[racer.id] == nil && racer.cleared == racer.history.count
            && racer.history.count < schedule.stageCount
    }

    /// Registers a batch of proposals: for CMA-ES its race, otherwise each candidate's bar.
    func openRace(_ records: [CandidateRecord]) {
        let members = records.filter { $0.duplicateOf == nil }.map(\.id)
        guard let first = records.first, !members.isEmpty else { return }
        switch RacingRule.of(context.space.optimizer.name, population: records.count) {
        case .selection(let parents):
            races.races[first.seq] = RaceBook.Race(members: members, parents: parents)
            for id in members { races.raceOf[id] = first.seq }
        case .front:
            for id in members { races.bars[id] = front.objectives }
        }
    }

    /// A pending candidate starts racing: its first stage (or, on resume, the one it reached) goes
    /// to a worker at once unless it waits for its race's decision.
    func admitRacer(_ pool: any JobDispatcher, id: Int, seq: Int, decoded: GenomeCodec.Candidate) throws {
        var racer = races.racers[id] ?? RaceBook.Racer(id: id, seq: seq)
        racer.admitted = true
        races.racers[id] = racer
        if canContinue(racer) { _ = try submitStage(pool, id: id, decoded: decoded) }
    }

    /// Hands the next stage of the first racer (by seq) that can go on to a worker; false when none can.
    func continueRacer(_ pool: any JobDispatcher) throws -> Bool {
        guard let racer = races.racers.values.filter({ canContinue($0) }).min(by: { $0.seq < $1.seq }),
              let genome = genomes[racer.seq] else { return false }
        return try submitStage(pool, id: racer.id, decoded: try context.codec.decode(genome))
    }

    func submitStage(_ pool: any JobDispatcher, id: Int, decoded: GenomeCodec.Candidate) throws -> Bool {
        guard let schedule = context.racing, var racer = races.racers[id] else { return false }
        let job = WorkerPool.Job(candidate: id, seq: racer.seq, decoded: decoded, split: .calibration, slice: schedule.slice(racer.history.count))
        guard let worker = try pool.submit(job) else { return false }
        if !running.contains(id) {
            try archive.start(candidate: id, worker: worker, now: Date().timeIntervalSince1970)
            running.insert(id)
        }
        racer.inFlight = true
        races.racers[id] = racer
        return true
    }

    /// Records one stage's result: the cumulative scores (a row per task and metric) or, after the
    /// last stage, the candidate as done; a failure is final; an abandoned stage leaves the
    /// candidate pending at that stage.
    func collectStage(_ done: WorkerPool.Done) throws {
        let id = done.job.candidate
        guard let schedule = context.racing, var racer = races.racers[id] else { return }
        racer.inFlight = false
        if done.outcome.cancelled {
            statistics.abandonedEvaluations += 1
            racer.admitted = false
            races.racers[id] = racer
            if running.remove(id) != nil { try archive.requeue(candidate: id) }
            pending.insert(id, at: pending.firstIndex { (seqs[$0] ?? 0) > done.job.seq } ?? pending.endIndex)
            started -= 1
            return
        }
        if done.outcome.failed {
            races.racers[id] = racer
            try store(id: id, seq: racer.seq, outcome: done.outcome)
            return
        }
        let scores = Self.accumulate(racer.history.last ?? [], done.outcome.scores)
        racer.history.append(scores)
        racer.costs = done.outcome.costs
        races.racers[id] = racer
        if racer.history.count == schedule.stageCount {
            var outcome = done.outcome
            outcome.scores = scores
            try store(id: id, seq: racer.seq, outcome: outcome)
            return
        }
        let stage = racer.history.count - 1
        try archive.addStageScores(scores.map {
            StageScoreRecord(candidate: id, stage: stage, task: $0.task, metric: $0.metric, value: $0.value, stderr: $0.stderr, n: $0.n)
        })
    }

    /// Scores through a stage: `previous` (cumulative) and one stage's `slice` combined. Raced
    /// scores are means of 0/1 examples, so they combine by their counts (value · n is an integer);
    /// the standard error is lm-eval's, √(p(1 − p)/(n − 1)). A task first scored in this stage
    /// (one not raced, scored whole with the last) is taken as it is.
    static func accumulate(_ previous: [TaskScore], _ slice: [TaskScore]) -> [TaskScore] {
        var result = previous
        for score in slice {
            guard let index = result.firstIndex(where: { $0.task == score.task && $0.metric == score.metric }) else {
                result.append(TaskScore(task: score.task, split: score.split, metric: score.metric, value: score.value, stderr: score.stderr, n: score.n))
                continue
            }
            let earlier = result[index]
            let correct = (earlier.value * Double(earlier.n)).rounded() + (score.value * Double(score.n)).rounded()
            let n = earlier.n + score.n
            let p = correct / Double(n)
            result[index] = TaskScore(task: score.task, split: score.split, metric: score.metric, value: p,
                                      stderr: n > 1 ? (p * (1 - p) / Double(n - 1)).squareRoot() : nil, n: n)
        }
        return result
    }

    /// Takes every racing decision the scores so far allow (see `RacingRule`), pruning and
    /// clearing racers; races whose members are all final are closed.
    func advanceRaces() throws {
        guard let schedule = context.racing else { return }
        for id in races.racers.keys.sorted() {
            // Every stage scored and not yet decided (a restored racer may have several).
            while let racer = races.racers[id], races.raceOf[id] == nil, outcomes[id] == nil, !racer.inFlight,
                  racer.cleared < racer.history.count, racer.history.count < schedule.stageCount {
                let stage = racer.cleared
                guard let estimate = try estimate(racer, stage: stage) else { break }
                if RacingRule.prunedByFront(optimistic: estimate.optimistic, bar: races.bars[id] ?? []) {
                    try prune(racer, stage: stage)
                } else {
                    races.racers[id]?.cleared = stage + 1
                }
            }
        }
        for start in races.races.keys.sorted() {
            while try decideStage(of: start, schedule: schedule) {}
            guard let race = races.races[start], race.members.allSatisfy({ outcomes[$0] != nil }) else { continue }
            races.races[start] = nil
            for id in race.members {
                races.racers[id] = nil
                races.raceOf[id] = nil
            }
        }
        for (id, racer) in races.racers where races.raceOf[id] == nil && outcomes[id] != nil && !racer.inFlight {
            races.racers[id] = nil
            races.bars[id] = nil
        }
    }

    /// Decides the next stage of a CMA-ES race if every member is past it; false when it cannot.
    func decideStage(of start: Int, schedule: RacingSchedule) throws -> Bool {
        guard var race = races.races[start], race.decided < schedule.stageCount - 1 else { return false }
        let stage = race.decided
        var participants: [(racer: RaceBook.Racer, estimate: RacingEstimate)] = []
        for id in race.members {
            let racer = races.racers[id]
            if let racer, racer.history.count > stage {
                if let estimate = try estimate(racer, stage: stage) { participants.append((racer, estimate)) }
                continue
            }
            let final = outcomes[id] != nil
            let absent = !(racer?.admitted ?? false) && started >= settings.evaluations
            guard final || absent else { return false }
        }
        for (index, participant) in participants.enumerated() {
            let others = participants.indices.filter { $0 != index }.compactMap { participants[$0].estimate.pessimistic.first }
            guard let optimistic = participant.estimate.optimistic.first else { continue }
            let id = participant.racer.id
            if RacingRule.prunedBySelection(optimistic: optimistic, others: others, parents: race.parents) {
                if outcomes[id] == nil { try prune(participant.racer, stage: stage) }
            } else if outcomes[id] == nil {
                races.racers[id]?.cleared = stage + 1
            }
        }
        race.decided += 1
        races.races[start] = race
        return true
    }

    /// The racer's objectives after `stage`; nil (not decided) when a score is missing.
    func estimate(_ racer: RaceBook.Racer, stage: Int) throws -> RacingEstimate? {
        guard let schedule = context.racing, racer.history.indices.contains(stage), let costs = try costs(of: racer) else { return nil }
        return RacingEstimate(context: context, schedule: schedule, scores: racer.history[stage], costs: costs)
    }

    /// A racer's costs: from its last stage's outcome, or (restored) from its plan.
    func costs(of racer: RaceBook.Racer) throws -> CandidateCosts? {
        if let costs = racer.costs { return costs }
        guard let genome = genomes[racer.seq], let decoded = try? context.codec.decode(genome) else { return nil }
        let plan = try MergePlan(recipe: decoded.recipe, file: "candidate recipe", opened: context.folders, layouts: { [layout = context.layout] _ in layout })
        let costs = CandidateCosts(plan: plan)
        races.racers[racer.id]?.costs = costs
        return costs
    }

    /// Stores a racer as pruned after `stage`, with its scores through it.
    func prune(_ racer: RaceBook.Racer, stage: Int) throws {
        guard let costs = try costs(of: racer) else { return }
        var outcome = EvaluationOutcome()
        outcome.scores = racer.history[stage]
        outcome.costs = costs
        try store(id: racer.id, seq: racer.seq, outcome: outcome, pruned: true)
    }

    /// Counts the calibration examples of raced tasks a finished candidate scored, against the
    /// examples scoring it in full takes (failures count neither).
    func noteExamples(_ scores: [TaskScore], status: CandidateStatus) {
        guard let schedule = context.racing, status == .done || status == .pruned else { return }
        races.examplesInFull += schedule.examplesPerCandidate
        for task in context.fitness.tasks where schedule.races(task.name) {
            races.examplesScored += scores.first { $0.task == task.name && $0.metric == task.metric }?.n ?? 0
        }
    }

    /// Rebuilds the racing books on resume: each unfinished candidate's stage scores, the races of
    /// CMA-ES generations not yet over (members that finished keep their stage scores, which later
    /// decisions of the race compare with), the bars of NSGA-II and random search rebuilt from the
    /// checkpoints, and the examples counted so far. `advanceRaces` then retakes the decisions.
    func restoreRaces(_ candidates: [CandidateRecord]) throws {
        guard let schedule = context.racing else { return }
        let stages = Dictionary(grouping: try archive.stageScores(candidate: nil), by: \.candidate)
        let scores = Dictionary(grouping: try archive.scores(candidate: nil), by: \.candidate)
        for candidate in candidates where candidate.status == .done || candidate.status == .pruned {
            noteExamples((scores[candidate.id] ?? []).filter { $0.split == .calibration }.map(Self.taskScore), status: candidate.status)
        }
        func racer(_ candidate: CandidateRecord) -> RaceBook.Racer {
            var racer = RaceBook.Racer(id: candidate.id, seq: candidate.seq)
            let rows = Dictionary(grouping: stages[candidate.id] ?? [], by: \.stage)
            var stage = 0
            while let row = rows[stage], stage < schedule.stageCount - 1 {
                racer.history.append(row.map { Self.taskScore(ScoreRecord(candidate: $0.candidate, task: $0.task, split: .calibration, metric: $0.metric, value: $0.value, stderr: $0.stderr, n: $0.n)) })
                stage += 1
            }
            return racer
        }
        var start = 0
        var snapshots: [Int: [[Double]]] = [:]
        // The front at a proposal holds the baselines first: they are all finished before anything is proposed.
        var replay = ParetoFront<Int>()
        for id in stride(from: 1, through: baselineCount, by: 1) {
            if case .done(let values)? = outcomes[id], !replay.objectives.contains(values) { _ = replay.insert(id, objectives: values) }
        }
        var replayed = 0
        let bySeq = Dictionary(uniqueKeysWithValues: candidates.map { ($0.seq, $0) })
        for mark in try archive.checkpointMarks() {
            let batch = candidates.filter { $0.seq >= start && $0.seq < mark.asked }
            defer { start = mark.asked }
            let members = batch.filter { $0.status != .duplicate }
            guard members.contains(where: { !$0.status.isFinished }) else { continue }
            switch RacingRule.of(context.space.optimizer.name, population: batch.count) {
            case .selection(let parents):
                races.races[start] = RaceBook.Race(members: members.map(\.id), parents: parents)
                for member in members {
                    races.raceOf[member.id] = start
                    races.racers[member.id] = racer(member)
                }
            case .front:
                // The front as it was when this batch was proposed: told results up to `mark.told`.
                if snapshots[mark.told] == nil {
                    while replayed < mark.told, let candidate = bySeq[replayed] {
                        if !duplicates.contains(replayed), !races.pruned.contains(candidate.id), let values = outcomes[candidate.id]?.minimized,
                           !replay.objectives.contains(values) {
                            _ = replay.insert(candidate.id, objectives: values)
                        }
                        replayed += 1
                    }
                    snapshots[mark.told] = replay.objectives
                }
                for member in members where !member.status.isFinished {
                    races.bars[member.id] = snapshots[mark.told] ?? []
                    races.racers[member.id] = racer(member)
                }
            }
        }
    }

    static func taskScore(_ record: ScoreRecord) -> TaskScore {
        TaskScore(task: record.task, split: record.split == .calibration ? .calibration : .holdout, metric: record.metric,
                  value: record.value, stderr: record.stderr, n: record.n)
    }
}
