import Archive
import Fitness
import Foundation
import Merging
import Search
import Tensors

/// `amalgam worker`: runs jobs of a search whose archive is on a PostgreSQL server, on any machine
/// that sees the run's model and task files (at the same paths, or mapped). It reads the run's
/// frozen space from the store, refuses to work when a fingerprint differs (another model or task
/// file than the run's) or the coordinator speaks another protocol, then claims jobs, renews each
/// claim's lease by heartbeat from a thread of its own, merges and scores in its own arena as a
/// local worker does (`Workbench`), and records the outcome while it still holds the claim.
public enum RemoteWorker {
    /// What a coordinator writes to the run (`run` table) for its workers.
    public static let frozenSpaceKey = "frozen_space"
    public static let protocolKey = "worker_protocol"
    /// Bumped when a job's or an outcome's encoding changes.
    public static let protocolVersion = "1"
    /// "running" while a coordinator runs the search, "stopped" once it has stopped.
    public static let coordinatorKey = "coordinator"

    public struct Options: Sendable {
        public var name: String
        public var threads: Int
        /// Exit after this long without a job; nil: until stopped.
        public var idleExit: Double?
        /// (from, to): paths under `from` in the frozen space are read under `to` here.
        public var pathMap: [(String, String)]

        public init(name: String, threads: Int, idleExit: Double?, pathMap: [(String, String)]) {
            self.name = name
            self.threads = threads
            self.idleExit = idleExit
            self.pathMap = pathMap
        }
    }

    /// Runs jobs until `stop` is cancelled or `idleExit` passes without one; returns how many it
    /// finished. A job in hand when `stop` comes is abandoned and given back to the queue at once.
    public static func run(store: PostgresStoreURL, options: Options, stop: Cancellation, log: (String) -> Void) throws -> Int {
        guard let (archive, info) = try waitForRun(store: store, options: options, stop: stop, log: log) else { return 0 }
        guard var frozen = info[frozenSpaceKey] else {
            throw ArchiveError(file: store.description, "run '\(store.run)' has no frozen space: it was not started by a coordinator of this amalgam")
        }
        guard info[protocolKey] == protocolVersion else {
            throw ArchiveError(file: store.description, "run '\(store.run)' was started by an amalgam speaking worker protocol \(info[protocolKey] ?? "none"), this one speaks \(protocolVersion); use the coordinator's amalgam build")
        }
        for (from, to) in options.pathMap { frozen = frozen.replacingOccurrences(of: from, with: to) }
        let space = try RunFolder.verifiedSpace(frozen: frozen, file: store.description)
        BLASThreads.set(1)
        let context = try SearchContext(space: space, threadsPerWorker: max(1, options.threads))
        let bench = Workbench(context: context)
        let resources = JSONValue.object(JSONObject([
            "threads": .number(JSONNumber(options.threads)), "cores": .number(JSONNumber(ProcessInfo.processInfo.activeProcessorCount)),
            "memory_bytes": .number(JSONNumber(Int(clamping: ProcessInfo.processInfo.physicalMemory))),
            "host": .string(ProcessInfo.processInfo.hostName),
            "gpus": .string(ProcessInfo.processInfo.environment["CUDA_VISIBLE_DEVICES"] ?? ""),
        ])).serialized()
        try archive.register(worker: options.name, resources: resources)
        log("worker \(options.name): run '\(store.run)' (\(space.name)), \(options.threads) threads; waiting for jobs")
        var finished = 0, claims = 0
        var idleSince = Date()
        let started = Date()
        var sawRunning = false
        while !stop.isCancelled {
            guard let job = try archive.claimJob(worker: options.name, lease: RemoteDispatcher.lease) else {
                switch try archive.runInfo()[coordinatorKey] {
                case "running": sawRunning = true
                case "stopped" where sawRunning || Date().timeIntervalSince(started) >= RemoteDispatcher.lease:
                    // A worker launched at a stopped run first waits a lease for a `resume` to come.
                    log("worker \(options.name): the run's coordinator has stopped and no job is left")
                    return finished
                default: break
                }
                if let idleExit = options.idleExit, Date().timeIntervalSince(idleSince) >= idleExit { break }
                Thread.sleep(forTimeInterval: 0.02)
                continue
            }
            let abandon = Cancellation()
            let forward = stop.onCancel { abandon.cancel() }
            let heartbeat = Heartbeat(store: store, job: job.id, worker: options.name, lost: abandon)
            claims += 1
            if let hold = Self.holdAfterClaims, hold == claims {
                // For tests: a worker that stops mid-job holding a live lease, to be killed (SIGKILL).
                log("worker \(options.name): holding job \(job.id) (candidate \(job.candidate)), AMALGAM_WORKER_HOLD")
                while true { Thread.sleep(forTimeInterval: 1) }
            }
            let outcome: EvaluationOutcome
            do {
                guard let candidate = try archive.candidate(id: job.candidate) else { throw ArchiveError(file: store.description, "job \(job.id): no candidate \(job.candidate)") }
                let recipe = try Recipe(yaml: candidate.recipe, file: store.description)
                let slice = try job.slice.map(RemoteJobCodec.decodeSlice)
                outcome = bench.evaluate(recipe: recipe, split: FitnessFile.Split(rawValue: job.split.rawValue) ?? .calibration, slice: slice, cancellation: abandon)
            } catch {
                outcome = EvaluationOutcome(error: "\(error)")
            }
            heartbeat.end()
            if let forward { stop.remove(forward) }
            if stop.isCancelled {
                try archive.release(job: job.id, worker: options.name)
                log("worker \(options.name): stopped; job \(job.id) (candidate \(job.candidate)) given back to the queue")
                break
            }
            let recorded = try !outcome.cancelled && archive.finish(job: job.id, worker: options.name, outcome: RemoteJobCodec.encode(outcome))
            if !recorded {
                log("worker \(options.name): job \(job.id) (candidate \(job.candidate)) is no longer ours (its lease ran out or the coordinator dropped it); result discarded")
            } else {
                finished += 1
                log("worker \(options.name): job \(job.id) candidate \(job.candidate) \(job.split.rawValue) \(outcome.failed ? "failed" : "done") in \(Int(outcome.seconds.rounded())) s")
            }
            idleSince = Date()
        }
        return finished
    }

    /// The run's archive and run info once its coordinator has started it (workers may be launched
    /// first, as a job array is); nil when `stop` or the idle time comes first.
    static func waitForRun(store: PostgresStoreURL, options: Options, stop: Cancellation, log: (String) -> Void) throws -> (PostgresArchive, [String: String])? {
        let since = Date()
        var said = false
        while !stop.isCancelled {
            if try !PostgresArchive.isUnstarted(store) {
                let archive = try PostgresArchive(store, reader: true)
                let info = try archive.runInfo()
                if info[frozenSpaceKey] != nil { return (archive, info) }
            }
            if let idleExit = options.idleExit, Date().timeIntervalSince(since) >= idleExit { return nil }
            if !said {
                log("worker \(options.name): run '\(store.run)' has not started yet; waiting for its coordinator")
                said = true
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return nil
    }

    /// `AMALGAM_WORKER_HOLD=N`: the worker stops for good right after claiming its N-th job, its
    /// heartbeat still renewing the lease (a worker hung mid-candidate, for a test to kill).
    static var holdAfterClaims: Int? { ProcessInfo.processInfo.environment["AMALGAM_WORKER_HOLD"].flatMap(Int.init) }

    /// Renews one job's lease every third of the lease on a connection of its own, until `end`;
    /// a renewal the store refuses (the job is not ours any more) cancels `lost`.
    final class Heartbeat: Sendable {
        private let done = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)

        init(store: PostgresStoreURL, job: Int, worker: String, lost: Cancellation) {
            DispatchQueue.global().async { [done, finished] in
                defer { finished.signal() }
                var archive: PostgresArchive?
                while done.wait(timeout: .now() + RemoteDispatcher.lease / 3) == .timedOut {
                    // A failed connection or round trip is retried on the next beat (a new
                    // connection: libpq does not reconnect); the lease covers two misses.
                    do {
                        let connection = try archive ?? PostgresArchive(store, reader: true)
                        archive = connection
                        if try !connection.renew(job: job, worker: worker, lease: RemoteDispatcher.lease) {
                            lost.cancel()
                            return
                        }
                    } catch {
                        archive = nil
                        FileHandle.standardError.write(Data("worker \(worker): job \(job): the lease could not be renewed (\(error)); retrying\n".utf8))
                    }
                }
            }
        }

        func end() {
            done.signal()
            finished.wait()
        }
    }
}
