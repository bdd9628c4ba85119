import ArgumentParser
import Engine
import Tensors

extension Amalgam {
    struct Front: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the Pareto front of a run, calibration and holdout scores side by side.")

        @OptionGroup var runFolder: RunFolderArgument

        @Flag(help: "Print a JSON array instead of text.")
        var json = false

        func run() throws {
            let folder = runFolder.folder
            guard json else {
                try SearchReport.printFront(folder: folder)
                if let line = SearchReport.verdict(status: try RunStatus.read(folder: folder)) { print(line) }
                return
            }
            print(JSONValue.array(try RunStatus.front(folder: folder).map(\.json)).serialized())
        }
    }
}
