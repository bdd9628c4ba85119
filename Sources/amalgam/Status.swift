import ArgumentParser
import Archive
import Engine
import Foundation
import Tensors

extension Amalgam {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run's progress, also while a search writes to it.")

        @OptionGroup var runFolder: RunFolderArgument

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        @Flag(help: "Redraw the status every --interval seconds until the search writing the run ends (or Ctrl-C).")
        var watch = false

        @Option(help: "With --watch: seconds between redraws.")
        var interval: Double = 2

        func validate() throws {
            if watch && json { throw ValidationError("--watch draws for a person; use --json without it") }
            if !(interval > 0 && interval <= 3600) { throw ValidationError("--interval must be between 0 and 3600 seconds") }
        }

        func run() throws {
            guard watch else { return try show() }
            let terminal = isatty(STDOUT_FILENO) == 1
            var missed = 0
            while true {
                // On a terminal the screen is redrawn in place; into a file or pipe, blocks follow each other.
                if terminal { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                // The search must be seen gone twice, an interval apart, before the watch ends.
                missed = RunLock.mayBeHeld(runFolder: runFolder.folder.path) ? 0 : missed + 1
                try show()
                print(missed < 2 ? "watching (every \(Format.fixed(interval, digits: 1)) s; Ctrl-C to stop)" : "no search is writing this run")
                if !terminal { print("") }
                fflush(nil)
                if missed >= 2 { return }
                Thread.sleep(forTimeInterval: interval)
            }
        }

        func show() throws {
            let status = try RunStatus.read(folder: runFolder.folder)
            if json {
                print(status.json.serialized())
                return
            }
            print("evaluations \(status.evaluations)/\(status.budget.map(String.init) ?? "?"), failed \(status.failed)\(status.pruned > 0 ? ", pruned \(status.pruned)" : ""), running \(status.running), front \(status.frontSize)")
            for entry in status.best { print("best \(entry.objective): #\(entry.id) \(Format.fixed(entry.value, digits: 4))") }
            if let line = SearchReport.baselineLine(status) { print(line) }
            if let remote = status.remote { print("remote workers: \(remote.liveWorkers) live, \(remote.expiredLeases) leases expired (their jobs went back to the queue)") }
            if status.baselines > status.baselinesFinished { print("baselines: \(status.baselinesFinished) of \(status.baselines) scored (the search starts after them)") }
            print("rate \(Format.fixed(status.ratePerHour, digits: 1))/h" + (status.etaSeconds.map { ", ETA " + Format.fixed($0, digits: 0) + " s" } ?? ""))
        }
    }
}
