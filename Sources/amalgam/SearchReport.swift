import Engine
import Foundation
import Search
import Tensors

/// How `search` and `resume` talk to a person: the dry-run table, the progress line, the closing
/// front and export. Formatting only; the work is the Engine's.
enum SearchReport {
    static func dryRun(_ space: SearchSpace, origin: String) throws {
        let context = try SearchContext(space: space, threadsPerWorker: 1)
        let codec = context.codec
        print("space \(space.name): \(codec.dimension) genes, methods \(space.methods.map(\.rawValue).joined(separator: ", ")), \(space.layerCount) layers")
        print("gene                              kind         range        used by")
        for slot in codec.slots {
            let kind: String = switch slot.gene {
            case .continuous: "continuous"
            case .categorical(let count): "categorical(\(count))"
            case .boolean: "boolean"
            }
            let range = slot.range.map { "[\($0.lowerBound), \($0.upperBound)]" } ?? "-"
            print("\(codec.label(slot).padding(to: 34))\(kind.padding(to: 13))\(range.padding(to: 13))\(slot.methods.map(\.rawValue).joined(separator: ", "))")
        }
        if let racing = space.racing {
            let stages = racing.stages.map { Format.fixed(100 * $0, digits: 0) + "%" }.joined(separator: ", ")
            print("\nracing: stages \(stages) of each task's calibration examples (order seeded by \(space.racingSeed)), confidence \(racing.confidence)")
            print("  \(RacingRule.summary(space.optimizer.name))")
        } else {
            print("\nracing: off (every candidate scored on every calibration example)")
        }
        let baselines = Baselines.make(context: context)
        if baselines.isEmpty {
            print("\nbaselines: off")
        } else {
            print("\nbaselines (\(baselines.count), scored first and counted as evaluations; the search starts at the best one when it is a point of the space):")
            for baseline in baselines {
                print("  \(baseline.name.padding(to: 18))\(baseline.kind), \(baseline.recipe.mergeMethod.rawValue)\(baseline.genome == nil ? " (not a point of the space)" : "")")
            }
        }
        print("\ncentre genome's recipe:")
        print(try codec.decode(codec.centre).yaml, terminator: "")
        let plan = try MemoryPlan(context: context)
        print("")
        for line in plan.lines(workers: space.workers) { print(line) }
        do {
            _ = try plan.workers(space.workers, origin: origin)
        } catch {
            print("refused: \(error)")
        }
    }

    static func runAndReport(folder: RunFolder, space: SearchSpace, workers: Int, evaluations: Int, time: Double?) throws {
        let stop = Cancellation()
        let sources = SearchSession.stopOnSignals(stop, resumeHint: "resume with: amalgam resume \(folder.path)")
        defer { sources.forEach { $0.cancel() } }
        let terminal = isatty(STDERR_FILENO) == 1
        var lastLine = Date.distantPast
        print("searching \(space.name) in \(folder.path): budget \(evaluations) evaluations\(time.map { ", " + Format.fixed($0, digits: 0) + " s" } ?? "")")
        fflush(nil)  // stdout: seen at once through a pipe or a log file, not when the search ends
        let report: (SearchEngine.Progress) -> Void = { p in
            let eta = p.etaSeconds.map { "ETA " + Format.fixed($0, digits: 0) + "s" } ?? "ETA -"
            let best = p.best.map { Format.fixed($0, digits: 4) } ?? "-"
            var line = "\(p.evaluations)/\(p.budget) evaluations, \(p.failed) failed, \(Format.fixed(p.ratePerHour, digits: 0))/h, \(eta), best \(best), front \(p.frontSize)"
            if p.baselines > 0 {
                // Baselines are evaluations too: the line says how many of the budget they took.
                let bestBaseline = p.bestBaseline.map { Format.fixed($0, digits: 4) } ?? "-"
                line += p.baselinesFinished < p.baselines ? ", baselines \(p.baselinesFinished) of \(p.baselines) (counted in the evaluations)"
                    : ", best baseline \(bestBaseline) (\(p.baselines) baselines counted in the evaluations)"
            }
            if space.racing != nil {
                // Racing: what the finished candidates cost against scoring each on every example.
                let saving = p.examplesScored > 0 ? ", " + Format.fixed(Double(p.examplesInFull) / Double(p.examplesScored), digits: 1) + "× fewer" : ""
                line += ", \(p.pruned) pruned, examples \(p.examplesScored) of \(p.examplesInFull)\(saving)"
            }
            if terminal {
                FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
            } else if Date().timeIntervalSince(lastLine) >= 30 {
                lastLine = Date()
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        let ending: SearchEngine.Ending
        do {
            (ending, _) = try SearchSession.run(folder: folder, space: space, workers: workers, evaluations: evaluations, time: time,
                                                stop: stop, progress: report)
        } catch {
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }  // the error's one line starts clean
            throw error
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print("search ended: \(ending.rawValue)")
        let status = try RunStatus.read(folder: folder)
        print("\(status.evaluations) evaluations, \(status.failed) failed")
        try printFront(folder: folder)
        if let line = baselineLine(status) { print(line) }
        if let line = verdict(status: status) { print(line) }
        if ending == SearchEngine.Ending.stopped || ending == .time || (status.evaluations < evaluations && ending != .converged) {
            print("resume with: amalgam resume \(folder.path)")
        }
    }

    /// The best baseline beside the best searched candidate on the first objective, in one line
    /// (nil before a baseline is scored).
    static func baselineLine(_ status: RunStatus.Status) -> String? {
        guard let baseline = status.bestBaseline else { return nil }
        var line = "best baseline: \(baseline.name) (#\(baseline.id)) \(Format.fixed(baseline.value, digits: 4))"
        if let first = status.best.first, first.objective == status.firstObjective {
            let difference = first.value - baseline.value
            let ahead = status.firstMaximized ? difference > 0 : difference < 0
            let verdict = difference == 0 ? "level with it" : ahead ? "ahead of it" : "behind it"
            line += "; best candidate #\(first.id) \(Format.fixed(first.value, digits: 4)), \(verdict) on calibration \(first.objective)"
                + " (\(difference >= 0 ? "+" : "")\(Format.fixed(difference, digits: 4)))"
        }
        return line
    }

    /// `+0.031 [-0.010, +0.072], better in 93%`: a holdout difference, its 95% interval and the
    /// share of bootstrap resamples where the candidate is better.
    static func interval(_ result: PairedBootstrap.Result) -> String {
        "\(signed(result.difference)) [\(signed(result.low)), \(signed(result.high))], better in \(Format.fixed(100 * result.pBetter, digits: 0))%"
    }

    static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "") + Format.fixed(value, digits: 3) }

    /// The closing verdict: whether the best searched candidate beats the best baseline on the
    /// holdout split, and how sure that is (nil when either is missing or not yet scored there).
    static func verdict(status: RunStatus.Status) -> String? {
        guard let best = status.best.first, best.objective == status.firstObjective, let baseline = status.bestBaseline else { return nil }
        guard let comparison = status.bestVersusBaseline else {
            return "the best candidate #\(best.id) is not yet scored against the best baseline \(baseline.name) on the holdout split (resume to finish its holdout scoring)"
        }
        let result = comparison.result
        let ahead = status.firstMaximized ? result.difference > 0 : result.difference < 0
        let sure = status.firstMaximized ? result.low > 0 : result.high < 0
        let verb = !ahead ? "does not beat" : sure ? "beats" : "is ahead of, but not surely better than,"
        return "holdout: the best candidate #\(best.id) \(verb) the best baseline \(comparison.baseline) (#\(baseline.id)) on \(status.firstObjective): "
            + "\(signed(result.difference)), 95% interval [\(signed(result.low)), \(signed(result.high))], better in \(Format.fixed(100 * result.pBetter, digits: 0))% of "
            + "\(result.resamples) paired bootstrap resamples"
    }

    static func printFront(folder: RunFolder) throws {
        let front = try RunStatus.front(folder: folder)
        print("front (\(front.count)):")
        for entry in front {
            let objectives = entry.objectives.map { "\($0.0) \(Format.fixed($0.1, digits: 4))" }.joined(separator: ", ")
            let calibration = entry.calibration.map { "\($0.0) \(Format.fixed($0.1, digits: 3))" }.joined(separator: " ")
            let holdout = entry.holdout.map { "\($0.0) \(Format.fixed($0.1, digits: 3))" }.joined(separator: " ")
            let gap = entry.gap.map { "\($0.0) \(Format.signed($0.1, digits: 3))" }.joined(separator: " ")
            let label = entry.baseline.map { "baseline \($0) (\(entry.method))" } ?? entry.method
            let versus = entry.vsBaseline.map { " | vs baseline \($0.baseline) " + interval($0.result) } ?? ""
            print("  #\(entry.id) \(label): \(objectives) | calibration \(calibration) | holdout \(holdout.isEmpty ? "-" : holdout)\(gap.isEmpty ? "" : " | gap " + gap)\(versus)")
        }
    }
}
