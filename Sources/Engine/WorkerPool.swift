import Fitness
import Foundation
import Search

/// A Dispatch pool of workers (DESIGN.md §4): each worker runs on its own serial queue with its
/// own `Workbench` (arena allocated once, reused), takes jobs from a shared channel and hands
/// outcomes back to the one coordinator, which alone touches the archive and the optimizer.
final class WorkerPool: @unchecked Sendable {
    struct Job: Sendable {
        let candidate: Int
        let seq: Int
        let decoded: GenomeCodec.Candidate
        let split: FitnessFile.Split
    }

    struct Done: Sendable {
        let job: Job
        let worker: Int
        let outcome: EvaluationOutcome
    }

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var done: [Done] = []
    private var closed = false
    private(set) var busy = 0
    let size: Int

    init(context: SearchContext, workers: Int) {
        size = workers
        for worker in 0..<workers {
            DispatchQueue(label: "amalgam.worker.\(worker)", qos: .userInitiated).async { [self] in
                let bench = Workbench(context: context)
                while let job = self.next() {
                    let outcome = bench.evaluate(job.decoded, split: job.split)
                    self.finish(Done(job: job, worker: worker, outcome: outcome))
                }
            }
        }
    }

    /// Workers not running a job and no job waiting for them.
    var idle: Int {
        condition.lock()
        defer { condition.unlock() }
        return size - busy - jobs.count
    }

    func submit(_ job: Job) {
        condition.lock()
        jobs.append(job)
        condition.broadcast()
        condition.unlock()
    }

    private func next() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty && !closed { condition.wait() }
        if jobs.isEmpty { return nil }
        busy += 1
        return jobs.removeFirst()
    }

    private func finish(_ result: Done) {
        condition.lock()
        busy -= 1
        done.append(result)
        condition.broadcast()
        condition.unlock()
    }

    /// Finished jobs, waiting up to `timeout` seconds for one when none is ready.
    func results(waiting timeout: Double) -> [Done] {
        condition.lock()
        defer { condition.unlock() }
        if done.isEmpty && (busy > 0 || !jobs.isEmpty) { _ = condition.wait(until: Date(timeIntervalSinceNow: timeout)) }
        let ready = done
        done.removeAll()
        return ready
    }

    /// Jobs submitted and not yet collected.
    var inFlight: Int {
        condition.lock()
        defer { condition.unlock() }
        return busy + jobs.count + done.count
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
