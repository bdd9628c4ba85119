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

        @OptionGroup var budget: BudgetOptions

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
            if let evaluations = budget.evaluations { space.evaluations = evaluations }
            if let time = budget.seconds { space.time = time }
            let folder = try RunFolder.create(path: runFolder ?? "runs/\(space.name)", space: space, force: force, store: chosenStore)
            try SearchReport.runAndReport(folder: folder, space: space, workers: space.workers ?? 1, evaluations: space.evaluations, time: space.time)
        }
    }
}
