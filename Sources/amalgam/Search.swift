import ArgumentParser
import Engine
import Foundation
import Search
import Tensors

extension Amalgam {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search merge recipes of a search space; every result goes to the run's archive.",
            discussion: """
                The run folder (default runs/NAME, NAME from the space) holds archive.sqlite and the \
                frozen space. Ctrl-C stops after the evaluations in flight; `amalgam resume` continues.
                """
        )

        @Argument(help: "The search space file (search-spaces/*.yaml).", completion: .file(extensions: ["yaml", "yml"]))
        var space: String

        @Option(name: .customLong("run"), help: ArgumentHelp("The run folder (default: runs/NAME, NAME from the space).", valueName: "folder"), completion: .directory)
        var runFolder: String?

        @Option(help: "Parallel workers (default: the space's `workers`, else as many as memory holds, at most one per core); 0 with --store: none here, `amalgam worker` processes run the jobs.")
        var workers: Int?

        @Option(help: "Evaluations to run (default: the space's budget).")
        var evaluations: Int?

        @Option(help: "Wall-time budget such as 90m or 8h (default: the space's budget).")
        var time: String?

        @Option(help: "Optimizer seed (default: the space's).")
        var seed: UInt64?

        @Option(help: ArgumentHelp("Keep the archive on a PostgreSQL server instead of the run folder's SQLite file: postgres://user@host/db?run=NAME (the run folder then holds the frozen space and this URL).", valueName: "url"))
        var store: String?

        @Flag(help: "Start afresh when the run folder already holds a run.")
        var force = false

        @Flag(help: "Print the gene table, the centre genome's recipe and the memory plan, and exit.")
        var dryRun = false

        func validate() throws {
            if let workers, workers < 0 { throw ValidationError("--workers must be at least 0 (0: remote workers only, on a PostgreSQL store)") }
            if let evaluations, evaluations < 1 { throw ValidationError("--evaluations must be at least 1") }
            if let time, parseDurationText(time) == nil { throw ValidationError("--time: \"\(time)\" is not a duration such as 90s, 30m or 8h") }
            if let store {
                do { _ = try RunFolder.Store(url: store) } catch { throw ValidationError("--store: \(error)") }
            }
        }

        func run() throws {
            var space = try SearchSpace(contentsOf: self.space)
            if let seed { space.optimizer.seed = seed }
            if let workers { space.workers = workers }
            let storeURL = store ?? space.store
            let storeOrigin = store == nil ? "\(self.space): store" : "--store"
            let chosenStore: RunFolder.Store?
            do { chosenStore = try storeURL.map(RunFolder.Store.init(url:)) } catch { throw ValidationError("\(storeOrigin): \(error)") }
            if space.workers == 0 && chosenStore == nil {
                throw ValidationError("\(workers == nil ? "\(self.space): workers" : "--workers") 0 (remote workers only) needs a PostgreSQL store: --store postgres://…?run=NAME or the space's store:")
            }
            let origin = workers.map { "--workers \($0)" } ?? space.workers.map { "\(self.space): workers \($0)" } ?? "\(self.space)"
            if dryRun {
                try SearchReport.dryRun(space, origin: origin)
                return
            }
            // Refused before anything is written when the workers cannot fit in memory.
            space.workers = try SearchSession.planWorkers(space: space, requested: space.workers, origin: origin).workers
            // The frozen space carries the run's budget and workers from the start: a search killed
            // before its archive records them resumes with these, not the space file's.
            if let evaluations { space.evaluations = evaluations }
            if let time = time.flatMap(parseDurationText) { space.time = time }
            let folder = try RunFolder.create(path: runFolder ?? "runs/\(space.name)", space: space, force: force, store: chosenStore)
            try SearchReport.runAndReport(folder: folder, space: space, workers: space.workers ?? 1, evaluations: space.evaluations, time: space.time)
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Continue a stopped or crashed search where it left off.",
            discussion: "No recorded evaluation runs again; the finished archive equals an uninterrupted run's."
        )

        @Argument(help: ArgumentHelp("The run folder.", valueName: "run"), completion: .directory)
        var runFolder: String

        @Option(help: "The new total of evaluations (default: the run's budget).")
        var evaluations: Int?

        @Option(help: "Wall-time budget for this session such as 90m or 8h.")
        var time: String?

        @Option(help: "Parallel workers (default: the run's; a different count keeps candidates but may change scores within rounding); 0 on a PostgreSQL store: `amalgam worker` processes only.")
        var workers: Int?

        func validate() throws {
            if let workers, workers < 0 { throw ValidationError("--workers must be at least 0") }
            if let evaluations, evaluations < 1 { throw ValidationError("--evaluations must be at least 1") }
            if let time, parseDurationText(time) == nil { throw ValidationError("--time: \"\(time)\" is not a duration such as 90s, 30m or 8h") }
        }

        func run() throws {
            let folder = RunFolder(path: runFolder)
            let space = try folder.frozenSpace()
            let recorded = try RunStatus.readForResume(folder: folder)
            let requested = workers ?? recorded?.workers ?? space.workers
            let origin = workers.map { "--workers \($0)" } ?? "\(runFolder): the run's \(requested.map(String.init) ?? "") workers"
            let resolved = try SearchSession.planWorkers(space: space, requested: requested, origin: origin).workers
            try SearchReport.runAndReport(folder: folder, space: space, workers: resolved,
                                          evaluations: evaluations ?? recorded?.budget ?? space.evaluations, time: time.flatMap(parseDurationText))
        }
    }
}

func parseDurationText(_ text: String) -> Double? { parseDuration(text) }
