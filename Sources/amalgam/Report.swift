import ArgumentParser
import Engine
import Foundation

extension Amalgam {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a run's report: one self-contained HTML file with the front, convergence, the best recipe and the confidence against the baselines.",
            discussion: "Reads the run through a reader connection, so it can be written while the search runs; open the file in any browser, offline.")

        @OptionGroup var runFolder: RunFolderArgument

        @Option(help: "Write the report here (default: RUN/report.html).", completion: .file(extensions: ["html"]))
        var out: String?

        func run() throws {
            let folder = runFolder.folder
            let page = ReportPage(report: try RunReport.read(folder: folder))
            let path = out ?? folder.path + "/report.html"
            do {
                // Atomic: a browser reloading the file never sees half of it.
                try Data(page.html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw ArgumentFileError(file: path, "cannot be written (\((error as NSError).localizedDescription))")
            }
            print("report: \(path)")
        }
    }
}
