import Archive
import Fitness
import Foundation
import Search
import Tensors

/// The coordinator's end of remote workers (`search|resume --workers 0` on a PostgreSQL store):
/// jobs go to the store's queue (`PostgresJobQueue.swift`), `amalgam worker` processes on any
/// machine claim and run them, and their outcomes come back through the store to the same engine
/// code a local `WorkerPool` feeds, so the archive does not depend on who ran what (DESIGN.md §4).
///
/// Two jobs are kept queued or running per live worker (seen within a lease; at least one worker
/// counted, so work waits for the first to come). `results` collects finished jobs (one statement)
/// as soon as a worker's notification arrives (LISTEN/NOTIFY: no polling while workers compute),
/// at the latest every 100 ms, and once a second puts the jobs whose lease ran out back in the
/// queue.
///
/// `@unchecked Sendable`: only `wake()` is called from another thread (a stop request), and it
/// touches `woken` alone, under `lock`; everything else runs on the coordinator's thread.
final class RemoteDispatcher: JobDispatcher, @unchecked Sendable {
    /// Seconds a claim holds without a heartbeat; workers renew every third of it.
    static let lease = 10.0
    /// The longest wait for a worker's notification before the store is asked anyway (and a stop
    /// request or the deadline looked at).
    static let wait = 0.1
    /// Jobs queued per live worker: the next one waits in the queue when a worker finishes, so it
    /// does not idle through the coordinator's round trip.
    static let queueDepth = 2

    let archive: PostgresArchive
    let session: Int
    private var inFlightJobs: [Int: WorkerPool.Job] = [:]
    private var cancelled = false
    /// Jobs taken back by `withdrawQueued`, handed to the engine as cancelled by the next `results`.
    private var withdrawn: [WorkerPool.Done] = []
    private let lock = NSLock()
    private var woken = false

    init(archive: any ArchiveStore) throws {
        guard let archive = archive as? PostgresArchive else {
            throw ArchiveError(file: archive.location, "--workers 0 (remote workers only) needs a PostgreSQL store: search with --store postgres://…?run=NAME")
        }
        self.archive = archive  // its coordinator lock taken by SearchSession
        session = try archive.beginSession()
        try archive.listenForFinishedJobs()
    }

    var hasIdleWorker: Bool {
        guard !cancelled else { return false }
        return inFlightJobs.count < Self.queueDepth * max(1, liveWorkers())
    }

    private var live = (count: 0, at: Date.distantPast)
    /// Leases last `lease` seconds: looking for run-out ones once a second is soon enough.
    static let leaseCheck = 1.0
    private var leasesChecked = Date.distantPast

    /// Workers seen within a lease, asked of the store at most twice a second (the dispatch loop
    /// asks on every pass).
    private func liveWorkers() -> Int {
        if Date().timeIntervalSince(live.at) >= 0.5 {
            live = ((try? archive.liveWorkers(within: Self.lease)) ?? live.count, Date())
        }
        return live.count
    }

    func submit(_ job: WorkerPool.Job) throws -> Int? {
        guard hasIdleWorker else { return nil }
        let id = try archive.enqueue(session: session, candidate: job.candidate, split: ScoreSplit(rawValue: job.split.rawValue) ?? .calibration,
                                     slice: job.slice.map(RemoteJobCodec.encode))
        inFlightJobs[id] = job
        return 0
    }

    var inFlight: Int { inFlightJobs.count + withdrawn.count }

    func results(until deadline: Date) throws -> [WorkerPool.Done] {
        if cancelled {
            // Dropped in the store: a worker still running one finds it gone and records nothing.
            let dropped = try archive.dropUnfinished(session: session)
            var done: [WorkerPool.Done] = []
            for id in dropped.sorted() {
                if let job = inFlightJobs.removeValue(forKey: id) { done.append(WorkerPool.Done(job: job, worker: 0, outcome: EvaluationOutcome(cancelled: true))) }
            }
            return done + (try collect())
        }
        while true {
            if Date().timeIntervalSince(leasesChecked) >= Self.leaseCheck {
                try archive.expireLeases()
                leasesChecked = Date()
            }
            let done = withdrawn + (try collect())
            withdrawn = []
            let wake = lock.withLock { () -> Bool in
                defer { woken = false }
                return woken
            }
            if !done.isEmpty || wake || inFlightJobs.isEmpty || Date() >= deadline { return done }
            _ = try archive.waitForFinishedJobs(timeout: min(Self.wait, max(0, deadline.timeIntervalSinceNow)))
        }
    }

    private func collect() throws -> [WorkerPool.Done] {
        try archive.collectFinished(session: session).compactMap { record in
            guard let job = inFlightJobs.removeValue(forKey: record.id) else { return nil }
            let outcome = (try? RemoteJobCodec.decodeOutcome(record.outcome ?? ""))
                ?? EvaluationOutcome(error: "worker \(record.worker ?? "?") returned an outcome that does not read back")
            return WorkerPool.Done(job: job, worker: 0, outcome: outcome)
        }
    }

    func wake() {
        lock.withLock { woken = true }
    }

    func cancel() { cancelled = true }

    func withdrawQueued() throws {
        for id in try archive.dropQueued(session: session) {
            if let job = inFlightJobs.removeValue(forKey: id) { withdrawn.append(WorkerPool.Done(job: job, worker: 0, outcome: EvaluationOutcome(cancelled: true))) }
        }
    }

    func close() {}
}

/// Jobs' slices and outcomes as JSON text for the store, exactly (doubles print in Swift's
/// shortest round-trip form; non-finite ones as Python's literals, which the parser reads back).
enum RemoteJobCodec {
    static func encode(_ slice: RacingSchedule.Slice) -> String {
        var rows = JSONObject()
        for (task, indices) in slice.rows.sorted(by: { $0.key < $1.key }) { rows[task] = .array(indices.map { .number(JSONNumber($0)) }) }
        return JSONValue.object(JSONObject(["stage": .number(JSONNumber(slice.stage)), "rows": .object(rows), "last": .bool(slice.isLast)])).serialized()
    }

    static func decodeSlice(_ text: String) throws -> RacingSchedule.Slice {
        let value = try JSONParser().parse(Array(text.utf8))
        guard let object = value.object, let stage = object["stage"]?.number?.int, case .bool(let last)? = object["last"], let rows = object["rows"]?.object else {
            throw ArchiveError(file: "job", "a racing slice that does not read back")
        }
        var table: [String: [Int]] = [:]
        for member in rows.members {
            guard case .array(let items) = member.value else { throw ArchiveError(file: "job", "a racing slice that does not read back") }
            table[member.key] = items.compactMap { $0.number?.int }
        }
        return RacingSchedule.Slice(stage: stage, rows: table, isLast: last)
    }

    static func encode(_ outcome: EvaluationOutcome) -> String {
        func number(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }
        let scores: [JSONValue] = outcome.scores.map { score in
            .object(JSONObject(["task": .string(score.task), "split": .string(score.split.rawValue), "metric": .string(score.metric),
                                "value": number(score.value), "stderr": score.stderr.map(number) ?? .null, "n": .number(JSONNumber(score.n)),
                                "samples": .array(score.samples)]))
        }
        var object = JSONObject(["scores": .array(scores), "error": outcome.error.map(JSONValue.string) ?? .null,
                                 "seconds": number(outcome.seconds), "merge_seconds": number(outcome.mergeSeconds)])
        if let costs = outcome.costs {
            object["costs"] = .object(JSONObject(["params": .number(JSONNumber(costs.params)), "layers": .number(JSONNumber(costs.layers)),
                                                  "density": number(costs.density), "flops": .number(JSONNumber(costs.flops))]))
        }
        return JSONValue.object(object).serialized()
    }

    static func decodeOutcome(_ text: String) throws -> EvaluationOutcome {
        let bad = ArchiveError(file: "job", "an outcome that does not read back")
        let value = try JSONParser(allowNonFinite: true).parse(Array(text.utf8))
        guard let object = value.object, case .array(let scores)? = object["scores"] else { throw bad }
        var outcome = EvaluationOutcome()
        outcome.scores = try scores.map { item in
            guard let score = item.object, let task = score["task"]?.string, let split = score["split"]?.string.flatMap(FitnessFile.Split.init(rawValue:)),
                  let metric = score["metric"]?.string, let value = score["value"]?.number?.double, let n = score["n"]?.number?.int,
                  case .array(let samples)? = score["samples"] else { throw bad }
            return TaskScore(task: task, split: split, metric: metric, value: value, stderr: score["stderr"]?.number?.double, n: n, samples: samples)
        }
        outcome.error = object["error"]?.string
        outcome.seconds = object["seconds"]?.number?.double ?? 0
        outcome.mergeSeconds = object["merge_seconds"]?.number?.double ?? 0
        if let costs = object["costs"]?.object {
            guard let params = costs["params"]?.number?.int, let layers = costs["layers"]?.number?.int, let density = costs["density"]?.number?.double,
                  let flops = costs["flops"]?.number?.int else { throw bad }
            outcome.costs = CandidateCosts(params: params, layers: layers, density: density, flops: flops)
        }
        return outcome
    }
}
