import ArgumentParser
import Foundation
import Tensors

extension Amalgam {
    /// Runs the command line as `ParsableCommand.main()` does, except that an error prints as
    /// exactly one line on standard error (DESIGN.md §4): a usage error keeps its exit status 64 and
    /// points to the subcommand's `--help` instead of appending the usage block. Help and version
    /// requests print as swift-argument-parser prints them.
    static func main() {
        BLASKernels.ensureNativeKernels()
        // Every command runs its own threads (merge chunks, evaluator pieces, search workers)
        // around single-threaded OpenBLAS calls; OpenBLAS threading is process-wide (DESIGN.md §4).
        BLASThreads.set(1)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            let text = message(for: error)
            guard code != .success, !text.isEmpty else { exit(withError: error) }
            var line = "Error: " + text
            if code == .validationFailure, let help = helpPointer(in: fullMessage(for: error)) { line += " (see '\(help)')" }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            Foundation.exit(code.rawValue)
        }
    }

    /// `amalgam merge --help` from the usage block's "See 'amalgam merge --help' for more information."
    private static func helpPointer(in usage: String) -> String? {
        guard let start = usage.range(of: "See '"), let end = usage[start.upperBound...].firstIndex(of: "'") else { return nil }
        return String(usage[start.upperBound..<end])
    }
}
