import ArgumentParser
import Archive
import Engine
import Foundation
import Tensors

extension Amalgam {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a run's progress, also while a search writes to it.")

        @Argument(help: ArgumentHelp("The run folder.", valueName: "run"), completion: .directory)
        var runFolder: String

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
                missed = RunLock.mayBeHeld(runFolder: RunFolder(path: runFolder).path) ? 0 : missed + 1
                try show()
                print(missed < 2 ? "watching (every \(Format.fixed(interval, digits: 1)) s; Ctrl-C to stop)" : "no search is writing this run")
                if !terminal { print("") }
                fflush(nil)
                if missed >= 2 { return }
                Thread.sleep(forTimeInterval: interval)
            }
        }

        func show() throws {
            let status = try RunStatus.read(folder: RunFolder(path: runFolder))
            if json {
                var best = JSONObject()
                for entry in status.best { best[entry.objective] = .object(JSONObject(["id": .number(JSONNumber(entry.id)), "value": .number(JSONNumber(entry.value))])) }
                let object = JSONObject([
                    "evaluations": .number(JSONNumber(status.evaluations)), "budget": status.budget.map { .number(JSONNumber($0)) } ?? .null,
                    "failed": .number(JSONNumber(status.failed)), "pruned": .number(JSONNumber(status.pruned)), "running": .number(JSONNumber(status.running)),
                    "front_size": .number(JSONNumber(status.frontSize)), "best": .object(best),
                    "best_baseline": status.bestBaseline.map { .object(JSONObject(["name": .string($0.name), "id": .number(JSONNumber($0.id)), "value": .number(JSONNumber($0.value))])) } ?? .null,
                    "baselines": .number(JSONNumber(status.baselines)), "baselines_finished": .number(JSONNumber(status.baselinesFinished)),
                    "rate_per_hour": .number(JSONNumber(status.ratePerHour)), "eta_s": status.etaSeconds.map { .number(JSONNumber($0)) } ?? .null,
                    "remote_workers": status.remote.map { .object(JSONObject(["live": .number(JSONNumber($0.liveWorkers)), "leases_expired": .number(JSONNumber($0.expiredLeases))])) } ?? .null,
                ])
                print(JSONValue.object(object).serialized())
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

    struct Front: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the Pareto front of a run, calibration and holdout scores side by side.")

        @Argument(help: ArgumentHelp("The run folder.", valueName: "run"), completion: .directory)
        var runFolder: String

        @Flag(help: "Print a JSON array instead of text.")
        var json = false

        func run() throws {
            let folder = RunFolder(path: runFolder)
            guard json else {
                try SearchReport.printFront(folder: folder)
                if let line = SearchReport.verdict(status: try RunStatus.read(folder: folder)) { print(line) }
                return
            }
            func object(_ pairs: [(String, Double)]) -> JSONValue {
                var object = JSONObject()
                for (key, value) in pairs { object[key] = .number(JSONNumber(value)) }
                return .object(object)
            }
            let entries: [JSONValue] = try RunStatus.front(folder: folder).map { entry in
                .object(JSONObject(["id": .number(JSONNumber(entry.id)), "baseline": entry.baseline.map(JSONValue.string) ?? .null, "method": .string(entry.method), "objectives": object(entry.objectives),
                                    "calibration": object(entry.calibration), "holdout": object(entry.holdout), "gap": object(entry.gap),
                                    "costs": object(entry.costs.map { c in [("params", Double(c.params)), ("layers", Double(c.layers)), ("density", c.density), ("flops", Double(c.flops))] } ?? []),
                                    "vs_baseline": entry.vsBaseline.map { comparison in
                                        let r = comparison.result
                                        return .object(JSONObject(["name": .string(comparison.baseline), "diff": .number(JSONNumber(r.difference)),
                                                                   "low": .number(JSONNumber(r.low)), "high": .number(JSONNumber(r.high)),
                                                                   "p_better": .number(JSONNumber(r.pBetter)), "resamples": .number(JSONNumber(r.resamples))]))
                                    } ?? .null]))
            }
            print(JSONValue.array(entries).serialized())
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a candidate's mergekit recipe and merged model.")

        @Argument(help: ArgumentHelp("The run folder.", valueName: "run"), completion: .directory)
        var runFolder: String

        @Flag(help: "Export the best finished candidate.")
        var best = false

        @Option(help: "With --best: the objective to rank by (default: the first).")
        var objective: String?

        @Option(help: "Export this candidate id.")
        var candidate: Int?

        @Option(help: "Write the recipe here (default: RUN/exports/ID/recipe.yml).", completion: .file())
        var recipe: String?

        @Option(help: "Write the merged model folder here (default: RUN/exports/ID/ unless only --recipe is given).", completion: .directory)
        var model: String?

        @Flag(help: "Also write the candidate as one PEFT LoRA adapter of the base (RUN/exports/ID-adapter/, or --adapter-out): for linear and task_arithmetic merges of adapters.")
        var adapter = false

        @Option(help: "With --adapter: write the adapter folder here.", completion: .directory)
        var adapterOut: String?

        func validate() throws {
            if best == (candidate != nil) { throw ValidationError("give exactly one of --best and --candidate ID") }
            if objective != nil && !best { throw ValidationError("--objective goes with --best") }
            if adapterOut != nil && !adapter { throw ValidationError("--adapter-out goes with --adapter") }
        }

        func run() throws {
            let folder = RunFolder(path: runFolder)
            let chosen = try Exporter.choose(folder: folder, id: candidate, objective: objective)
            // The adapter first: a candidate that cannot be one is refused before anything is written.
            let adapterPath = adapter ? try Exporter.exportAdapter(folder: folder, candidate: chosen, adapterPath: adapterOut) : nil
            let result = try Exporter.export(folder: folder, candidate: chosen, recipePath: recipe, modelPath: model)
            print("candidate #\(result.id): recipe \(result.recipePath)" + (result.modelPath.map { ", model \($0)" } ?? "") + (adapterPath.map { ", adapter \($0)" } ?? ""))
        }
    }
}
