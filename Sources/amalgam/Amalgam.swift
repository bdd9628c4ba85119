import ArgumentParser

@main
struct Amalgam: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "amalgam",
        abstract: "Search for the best way to merge fine-tuned language models.",
        discussion: """
            Give Amalgam a base model, fine-tunes of it and calibration tasks; it searches merge \
            recipes with an evolutionary optimizer and keeps every result in an archive.
            """,
        version: "0.1.0",
        subcommands: [Inspect.self, Merge.self, Tokenize.self, Eval.self, Init.self, Search.self, Resume.self, Worker.self, Status.self, Front.self, Export.self, Report.self]
    )
}
