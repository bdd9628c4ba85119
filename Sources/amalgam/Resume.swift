import ArgumentParser
import Engine

extension Amalgam {
    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Continue a stopped or crashed search where it left off.",
            discussion: "No recorded evaluation runs again; the finished archive equals an uninterrupted run's."
        )

        @OptionGroup var runFolder: RunFolderArgument

        @OptionGroup var budget: BudgetOptions

        @Option(help: "Parallel workers (default: the run's; a different count keeps candidates but may change scores within rounding); 0 on a PostgreSQL store: `amalgam worker` processes only.")
        var workers: Int?

        func validate() throws {
            if let workers, workers < 0 { throw ValidationError("--workers must be at least 0") }
        }

        func run() throws {
            let folder = runFolder.folder
            let space = try folder.frozenSpace()
            let recorded = try RunStatus.readForResume(folder: folder)
            let requested = workers ?? recorded?.workers ?? space.workers
            let origin = workers.map { "--workers \($0)" } ?? "\(runFolder.path): the run's \(requested.map(String.init) ?? "") workers"
            let resolved = try SearchSession.planWorkers(space: space, requested: requested, origin: origin).workers
            try SearchReport.runAndReport(folder: folder, space: space, workers: resolved,
                                          evaluations: budget.evaluations ?? recorded?.budget ?? space.evaluations, time: budget.seconds)
        }
    }
}
