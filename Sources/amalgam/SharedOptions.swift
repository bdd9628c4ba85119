import ArgumentParser
import Engine
import Tensors

/// The run folder a command reads or continues: `status`, `front`, `export`, `report`, `resume`.
struct RunFolderArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The run folder.", valueName: "run"), completion: .directory)
    var path: String

    var folder: RunFolder { RunFolder(path: path) }
}

/// `--evaluations` and `--time`, shared by `search` and `resume` and checked once, here.
struct BudgetOptions: ParsableArguments {
    @Option(help: "The total of evaluations (default: the space's budget; on resume, the run's).")
    var evaluations: Int?

    @Option(help: "Wall-time budget of this session, such as 90m or 8h (default: the space's on search, none on resume).")
    var time: String?

    func validate() throws {
        if let evaluations, evaluations < 1 { throw ValidationError("--evaluations must be at least 1") }
        if let time, parseDuration(time) == nil { throw ValidationError("--time: \"\(time)\" is not a duration such as 90s, 30m or 8h") }
    }

    /// `--time` in seconds.
    var seconds: Double? { time.flatMap(parseDuration) }
}
