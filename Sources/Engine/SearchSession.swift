import Archive
import Foundation
import Search
import Fitness
import Tensors

/// Starting, resuming and stopping a search in a run folder: what `amalgam search` and
/// `amalgam resume` do, kept out of the command line so tests can drive it.
public enum SearchSession {
    /// The run's thread layout: workers × threads per worker ≤ cores, fixed for the run (DESIGN.md §4).
    public static func threadLayout(workers: Int) -> (workers: Int, threadsPerWorker: Int) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let workers = max(1, workers)
        return (workers, max(1, cores / workers))
    }

    /// The memory plan of `space`'s workers on this machine and the worker count a run uses:
    /// `requested` (named by `origin` in a refusal) when it fits, else the most that fit.
    public static func planWorkers(space: SearchSpace, requested: Int?, origin: String) throws -> (workers: Int, plan: MemoryPlan) {
        let plan = try MemoryPlan(context: SearchContext(space: space, threadsPerWorker: 1))
        if requested == 0 { return (0, plan) }  // remote workers only: none here to fit
        return (try plan.workers(requested, origin: origin), plan)
    }

    /// Runs (or continues) the search of `folder` until a budget is spent or `stop` is set.
    ///
    /// A write the archive's disk refuses (full, failing, read-only: SQLITE_FULL, SQLITE_IOERR,
    /// SQLITE_READONLY) stops the search with one line naming the archive and the code: nothing
    /// more can be recorded, so the work in flight is abandoned (command tasks killed). SQLite
    /// rolled the failed transaction back, so the archive keeps every evaluation recorded before
    /// it, and `resume` continues once there is room (candidates left running are run again).
    public static func run(folder: RunFolder, space: SearchSpace, workers: Int, evaluations: Int, time: Double?,
                           stop: Cancellation, progress: (SearchEngine.Progress) -> Void) throws -> (ending: SearchEngine.Ending, statistics: SearchEngine.Statistics) {
        let lock = try RunLock(runFolder: folder.path)
        defer { _ = lock }
        // No local workers (0): `amalgam worker` processes run the jobs, from the run's PostgreSQL store.
        let layout = workers == 0 ? (workers: 0, threadsPerWorker: 1) : threadLayout(workers: workers)
        // OpenBLAS single-threaded; each worker spreads its linear layers over its own threads in
        // fixed slices, so scores do not depend on the layout (DecoderModel.threads).
        BLASThreads.set(1)
        let context = try SearchContext(space: space, threadsPerWorker: layout.threadsPerWorker)
        var resumable = false
        do {
            let archive = try folder.openArchive()
            // One coordinator per run: the folder's RunLock cannot see a copy of the folder elsewhere.
            if let postgres = archive as? PostgresArchive { try postgres.lockCoordinator() }
            if let pages = DiskFault.archivePageLimit, let sqlite = archive as? SQLiteArchive { try sqlite.limitPages(pages) }
            let info = try archive.runInfo()
            if info.isEmpty {
                try archive.setRunInfo(["seed": "\(space.optimizer.seed)", "optimizer": space.optimizer.name.rawValue,
                                        "workers": "\(layout.workers)", "threads_per_worker": "\(layout.threadsPerWorker)", "blas_threads": "1",
                                        "dimension": "\(context.codec.dimension)", "space": space.name])
            }
            resumable = true
            try archive.setRunInfo(["budget": "\(evaluations)"])
            if archive is PostgresArchive {
                // What `amalgam worker` processes build their context from (RemoteWorker).
                let frozen = try String(contentsOfFile: folder.spacePath, encoding: .utf8)
                try archive.setRunInfo([RemoteWorker.frozenSpaceKey: frozen, RemoteWorker.protocolKey: RemoteWorker.protocolVersion,
                                        RemoteWorker.coordinatorKey: "running"])
            }
            try archive.log(EventRecord(time: Date().timeIntervalSince1970, kind: info.isEmpty ? "start" : "resume",
                                        message: "workers \(layout.workers) × threads \(layout.threadsPerWorker), budget \(evaluations)"))
            let engine = try SearchEngine(context: context, archive: archive, settings: SearchEngine.Settings(workers: layout.workers, evaluations: evaluations, time: time))
            let ending = try engine.run(stop: stop, progress: progress)
            let statistics = engine.statistics
            let abandoned = statistics.abandonedEvaluations + statistics.abandonedHoldout > 0
                ? " (abandoned \(statistics.abandonedEvaluations) evaluations and \(statistics.abandonedHoldout) holdout scorings in flight)" : ""
            try archive.log(EventRecord(time: Date().timeIntervalSince1970, kind: "stop", message: ending.rawValue + abandoned))
            // Its workers end once the queue is empty (a coordinator killed leaves "running": they wait for `resume`).
            if archive is PostgresArchive { try archive.setRunInfo([RemoteWorker.coordinatorKey: "stopped"]) }
            return (ending, statistics)
        } catch let error as SQLiteError where error.isDiskFailure {
            ChildProcess.killAll()
            throw diskFailure(error, folder: folder, resumable: resumable)
        } catch {
            ChildProcess.killAll()
            throw error
        }
    }

    /// The one line for an archive write the disk refused.
    static func diskFailure(_ error: SQLiteError, folder: RunFolder, resumable: Bool) -> ArchiveError {
        var why = "\(error.message), \(error.codeName)"
        if error.systemErrno != 0 { why += "; \(SystemError(error.systemErrno))" }
        let next = resumable
            ? "the search stopped and the archive keeps every evaluation recorded so far; free space, then run `amalgam resume \(folder.path)`"
            : "the search did not start; free space, then run it again with --force"
        return ArchiveError(file: error.file, "could not be written (\(why)); \(next)")
    }

    /// Installs SIGINT and SIGTERM handlers that cancel `stop`: the engine abandons the work in
    /// flight and returns within seconds (SearchEngine's phases). A second signal (or two that
    /// arrive together) ends the process at once with status 130, after killing every command
    /// task's process group and printing `resumeHint`; the archive stays consistent (each write is
    /// one transaction) and the run resumable.
    public static func stopOnSignals(_ stop: Cancellation, resumeHint: String) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if stop.isCancelled || source.data > 1 {
                    ChildProcess.killAll()
                    FileHandle.standardError.write(Data("\nstopped at once; \(resumeHint)\n".utf8))
                    _exit(130)
                }
                FileHandle.standardError.write(Data("\nstopping: the evaluations in flight are abandoned and run again on resume (again to exit at once)…\n".utf8))
                stop.cancel()
            }
            source.resume()
            return source
        }
    }
}
