import Fitness
import Foundation
import Search
import Tensors

/// Where the coordinator sends jobs and gets their outcomes back: this process's `WorkerPool`, or
/// `amalgam worker` processes pulling from a PostgreSQL store (`RemoteDispatcher`). The engine
/// does the same with either, so the archive is the same whoever ran the jobs (DESIGN.md §4).
protocol JobDispatcher: AnyObject, Sendable {
    /// Whether a job handed over now would start (soon): a worker is idle.
    var hasIdleWorker: Bool { get }
    /// Takes `job` and returns the worker it went to; nil (and the job not taken) when none is idle.
    func submit(_ job: WorkerPool.Job) throws -> Int?
    /// Jobs handed out and not yet collected.
    var inFlight: Int { get }
    /// The finished jobs, blocking until there is one, `wake` is called, or `deadline` passes.
    func results(until deadline: Date) throws -> [WorkerPool.Done]
    /// Makes a pending or the next `results` call return at once (a stop request arrived).
    func wake()
    /// Abandons every job in flight: they come back cancelled (or, remote, are dropped).
    func cancel()
    /// The jobs no worker has started yet, taken back (they come back cancelled from `results`):
    /// once the time budget is spent nothing new should start. A local pool starts every job it
    /// takes at once, so it has none.
    func withdrawQueued() throws
    /// Lets the workers end.
    func close()
}

/// A Dispatch pool of workers (DESIGN.md §4): each worker runs on its own serial queue with its
/// own `Workbench` (arena allocated once, reused) and a slot the coordinator hands it one job
/// through; outcomes go back to the one coordinator, which alone touches the archive and the
/// optimizer. `submit` says which worker took a job, so the archive can record who ran a candidate.
///
/// `@unchecked Sendable`: every mutable field (`slots`, `done`, `woken`, `closed`) is read and
/// written only with `condition` locked; `cancellation` is itself `Sendable`.
final class WorkerPool: JobDispatcher, @unchecked Sendable {
    struct Job: Sendable {
        let candidate: Int
        let seq: Int
        let decoded: GenomeCodec.Candidate
        let split: FitnessFile.Split
        /// A racing stage's examples (DESIGN.md §5b), or nil for the whole split.
        var slice: RacingSchedule.Slice?
    }

    struct Done: Sendable {
        let job: Job
        let worker: Int
        let outcome: EvaluationOutcome
    }

    private let condition = NSCondition()
    /// The job each worker holds (taken or not yet), nil when the worker is idle.
    private var slots: [Job?]
    /// Outcomes not yet collected by the coordinator.
    private var done: [Done] = []
    private var woken = false
    private var closed = false
    /// Cancelling it abandons every job in flight: merges stop between tensors, scoring between
    /// examples, command tasks are killed as process groups; those jobs come back cancelled.
    let cancellation = Cancellation()
    let size: Int

    init(context: SearchContext, workers: Int) {
        size = workers
        slots = Array(repeating: nil, count: workers)
        for worker in 0..<workers {
            DispatchQueue(label: "amalgam.worker.\(worker)", qos: .userInitiated).async { [self] in
                let bench = Workbench(context: context)
                while let job = self.next(worker) {
                    let outcome = bench.evaluate(job.decoded, split: job.split, slice: job.slice, cancellation: self.cancellation)
                    self.finish(Done(job: job, worker: worker, outcome: outcome))
                }
            }
        }
    }

    /// Whether some worker has no job.
    var hasIdleWorker: Bool {
        condition.lock()
        defer { condition.unlock() }
        return slots.contains { $0 == nil }
    }

    /// Hands `job` to the lowest-numbered idle worker and returns that worker; nil (and the job
    /// is not taken) when every worker is busy.
    func submit(_ job: Job) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        guard let worker = slots.firstIndex(where: { $0 == nil }) else { return nil }
        slots[worker] = job
        condition.broadcast()
        return worker
    }

    private func next(_ worker: Int) -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while slots[worker] == nil && !closed { condition.wait() }
        return slots[worker]
    }

    private func finish(_ result: Done) {
        condition.lock()
        slots[result.worker] = nil
        done.append(result)
        condition.broadcast()
        condition.unlock()
    }

    /// Jobs handed out and not yet collected.
    var inFlight: Int {
        condition.lock()
        defer { condition.unlock() }
        return slots.count { $0 != nil } + done.count
    }

    /// The finished jobs, blocking until there is one, `wake` is called, or `deadline` passes —
    /// whichever comes first. It never blocks when nothing is in flight.
    func results(until deadline: Date) -> [Done] {
        condition.lock()
        defer { condition.unlock() }
        while done.isEmpty && !woken && slots.contains(where: { $0 != nil }) {
            if !condition.wait(until: deadline) { break }
        }
        woken = false
        let ready = done
        done.removeAll()
        return ready
    }

    func cancel() { cancellation.cancel() }

    func withdrawQueued() {}

    /// Makes a pending or the next `results` call return at once (a stop request arrived).
    func wake() {
        condition.lock()
        woken = true
        condition.broadcast()
        condition.unlock()
    }

    /// Lets idle workers end; a worker holding a job ends after it.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
