import Archive
import ArgumentParser
import Engine
import Fitness
import Foundation
import Merging
import Search
import Tensors

/// `amalgam-bench search` (issue 6): on the demo space, the share of worker time spent idle and
/// the share of wall time the coordinator spends outside merging and scoring (archive, optimizer);
/// then the search's worth: holdout accuracy of the calibration-best searched candidate, median
/// over seeds, against random search with the same budget, the run's best baseline (chosen on
/// calibration) and its best equal-weight merge baseline, with the paired bootstrap of the lead.
struct SearchBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Time the demo search (idle and overhead shares) and compare it with random search and equal-weight merges."
    )

    @Option(help: "The search space.")
    var space = "search-spaces/demo.yaml"

    @Option(help: "Seeds for the comparison (medians are taken over them).")
    var seeds = 5

    @Flag(help: "Only the timing run.")
    var skipComparison = false

    @Option(help: ArgumentHelp("Also time the search with its archive on this PostgreSQL database (postgres://…, no run: each timing run gets its own) and `amalgam worker` processes.", valueName: "url"))
    var store: String?

    @Option(name: .customLong("remote-workers"), help: "With --store: the counts of worker processes to time, one run each (comma-separated).")
    var remoteWorkers = "1,2,3"

    func run() throws {
        let space = try SearchSpace(contentsOf: self.space)
        let scratch = NSTemporaryDirectory() + "amalgam-bench-search-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        let timing = try search(space, in: scratch + "/timing")
        let stats = timing.statistics
        print("demo search: \(space.evaluations) evaluations, \(stats.workers) workers, \(Measure.gb(stats.wall)) s wall")
        print("  workers idle \(percent(stats.idleShare)) of their time (target < 10%); coordinator (archive, optimizer) \(percent(stats.overheadShare)) of wall time (target < 2%), "
              + "its thread's CPU \(percent(stats.coordinatorCPUShare))")
        var summary: [(String, JSONValue)] = [
            ("bench", .string("search")), ("evaluations", .int(space.evaluations)), ("workers", .int(stats.workers)),
            ("wall_s", .double(stats.wall)), ("idle_share", .double(stats.idleShare, digits: 4)), ("overhead_share", .double(stats.overheadShare, digits: 4)),
            ("coordinator_cpu_share", .double(stats.coordinatorCPUShare, digits: 4)),
            ("idle_target_met", .bool(stats.idleShare < 0.10)), ("overhead_target_met", .bool(stats.overheadShare < 0.02)),
        ]
        if let store {
            summary += try remoteTimings(space, store: store, scratch: scratch, local: stats)
        }
        if !skipComparison {
            let context = try SearchContext(space: space, threadsPerWorker: ProcessInfo.processInfo.activeProcessorCount)
            var searched: [Double] = [], random: [Double] = [], baselines: [Double] = [], equal: [Double] = [], leads: [Double] = [], shares: [Double] = []
            for seed in 1...max(1, seeds) {
                var ours = space
                ours.optimizer.seed = UInt64(seed)
                let run = try outcome(ours, context: context, in: scratch + "/\(space.optimizer.name.rawValue)-\(seed)")
                searched.append(run.searched)
                baselines.append(run.baseline)
                equal.append(run.bestEqualWeight)
                if let lead = run.lead { leads.append(lead.difference); shares.append(lead.pBetter) }
                var other = ours
                other.optimizer.name = .random
                random.append(try outcome(other, context: context, in: scratch + "/random-\(seed)").searched)
                let versus = run.lead.map { "lead over it \(Format.signed(100 * $0.difference, digits: 1)) points [\(Format.signed(100 * $0.low, digits: 1)), \(Format.signed(100 * $0.high, digits: 1))], better in \(percent($0.pBetter)) of resamples" } ?? "no holdout comparison"
                print("  seed \(seed): \(space.optimizer.name.rawValue) \(percent(searched.last ?? 0)), random \(percent(random.last ?? 0)) holdout accuracy of the calibration-best; "
                      + "best baseline \(run.baselineName) \(percent(run.baseline)); \(versus)")
            }
            let ours = medianCountingFailuresAsInfinite(searched), baseline = medianCountingFailuresAsInfinite(random)
            let bestBaseline = medianCountingFailuresAsInfinite(baselines), bestEqual = medianCountingFailuresAsInfinite(equal)
            print("holdout accuracy, median of \(seeds) seeds, \(space.evaluations) evaluations each (baselines included):")
            print("  \(space.optimizer.name.rawValue) \(percent(ours)) | random search \(percent(baseline)) | best baseline (on calibration) \(percent(bestBaseline)) | best equal-weight merge \(percent(bestEqual))")
            print("  \(Format.signed(100 * (ours - bestEqual), digits: 1)) points over the best equal-weight merge (target ≥ +5), \(Format.signed(100 * (ours - baseline), digits: 1)) over random search, "
                  + "\(Format.signed(100 * (ours - bestBaseline), digits: 1)) over the best baseline; lead over it better in a median \(percent(median(shares))) of bootstrap resamples")
            summary += [("holdout_search", .double(ours, digits: 4)), ("holdout_random", .double(baseline, digits: 4)),
                        ("holdout_best_equal_weight", .double(bestEqual, digits: 4)), ("holdout_best_baseline", .double(bestBaseline, digits: 4)),
                        ("points_over_equal_weight", .double(100 * (ours - bestEqual), digits: 2)),
                        ("points_over_best_baseline", .double(100 * (ours - bestBaseline), digits: 2)),
                        ("lead_p_better_median", .double(median(shares), digits: 3)),
                        ("ahead_of_random", .bool(ours > baseline)), ("equal_weight_target_met", .bool(ours - bestEqual >= 0.05)),
                        ("beats_best_baseline", .bool(ours > bestBaseline))]
        }
        var object = JSONObject()
        for (key, value) in summary { object[key] = value }
        print(JSONValue.object(object).serialized())
    }

    /// The same search with its archive on PostgreSQL: the coordinator in this process with no
    /// local workers, `amalgam worker` processes (one thread each) running the jobs. Idle share
    /// over the workers' processes, coordinator share and candidates per hour, against the SQLite
    /// single-process run (`local`).
    func remoteTimings(_ space: SearchSpace, store: String, scratch: String, local: SearchEngine.Statistics) throws -> [(String, JSONValue)] {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("amalgam").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw ValidationError("--store needs the amalgam binary next to amalgam-bench (\(binary)): swift build -c release") }
        let counts = remoteWorkers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        let localRate = Double(space.evaluations) / local.wall * 3600
        print("PostgreSQL store, coordinator with --workers 0 and amalgam worker processes (1 thread each; this machine has \(ProcessInfo.processInfo.activeProcessorCount) cores):")
        print("  SQLite, \(local.workers) in-process workers: \(Format.fixed(localRate, digits: 0))/h, idle \(percent(local.idleShare)), coordinator \(percent(local.overheadShare)) "
              + "(its thread's CPU \(percent(local.coordinatorCPUShare)))")
        var rows: [JSONValue] = []
        for count in counts {
            let run = "bench\(count)w-\(ProcessInfo.processInfo.processIdentifier)"
            let url = store + (store.contains("?") ? "&" : "?") + "run=" + run
            let folder = try RunFolder.create(path: scratch + "/remote-\(count)", space: space, force: true, store: try RunFolder.Store(url: url))
            defer { if case .postgres(let target) = try? folder.store() { try? PostgresArchive.drop(target) } }
            let workers = try (0..<count).map { index -> Process in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = ["worker", "--store", url, "--threads", "1", "--name", "bench-\(index)", "--exit-when-idle", "120s"]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                return process
            }
            defer { for worker in workers where worker.isRunning { worker.terminate() } }
            var statistics = try SearchSession.run(folder: folder, space: space, workers: 0, evaluations: space.evaluations, time: nil, stop: Cancellation()) { _ in }.statistics
            statistics.workers = count
            for worker in workers { worker.waitUntilExit() }
            let rate = Double(space.evaluations) / statistics.wall * 3600
            print("  \(count) worker processes: \(Format.fixed(rate, digits: 0))/h (\(Format.fixed(rate / localRate, digits: 2))× SQLite's), \(Measure.gb(statistics.wall)) s wall, "
                  + "workers idle \(percent(statistics.idleShare)) (target < 10%), coordinator \(percent(statistics.overheadShare)) of wall time (target < 2%), "
                  + "its thread's CPU \(percent(statistics.coordinatorCPUShare))")
            var row = JSONObject()
            row["workers"] = .number(JSONNumber(count))
            row["per_hour"] = .double(rate, digits: 1)
            row["wall_s"] = .double(statistics.wall)
            row["idle_share"] = .double(statistics.idleShare, digits: 4)
            row["overhead_share"] = .double(statistics.overheadShare, digits: 4)
            row["coordinator_cpu_share"] = .double(statistics.coordinatorCPUShare, digits: 4)
            rows.append(.object(row))
        }
        return [("remote", .array(rows))]
    }

    func search(_ space: SearchSpace, in path: String) throws -> (ending: SearchEngine.Ending, statistics: SearchEngine.Statistics) {
        let folder = try RunFolder.create(path: path, space: space, force: true)
        return try SearchSession.run(folder: folder, space: space, workers: space.workers ?? 1, evaluations: space.evaluations, time: nil,
                                     stop: Cancellation()) { _ in }
    }

    /// What one run of the search gives, on the holdout split: its calibration-best searched
    /// candidate, its best baseline (by calibration) and best equal-weight merge baseline, and the
    /// paired bootstrap of the lead over that best baseline.
    struct Outcome {
        var searched: Double
        var baseline: Double
        var baselineName: String
        var bestEqualWeight: Double
        var lead: PairedBootstrap.Result?
    }

    func outcome(_ space: SearchSpace, context: SearchContext, in path: String) throws -> Outcome {
        _ = try search(space, in: path)
        let folder = RunFolder(path: path)
        let status = try RunStatus.read(folder: folder)
        let archive = try SQLiteArchive(path: folder.archivePath, reader: true)
        func holdout(_ id: Int) throws -> Double {
            let scores = try archive.scores(candidate: id).filter { $0.split == .holdout }
            let taskScores = scores.map { TaskScore(task: $0.task, split: .holdout, metric: $0.metric, value: $0.value, stderr: $0.stderr, n: $0.n, samples: []) }
            return ObjectiveValues.accuracy(context: context, scores: taskScores, split: .holdout) ?? .nan
        }
        let methods = Set(space.methods.map(\.rawValue))
        let equal = try archive.candidates().filter { $0.baseline.map(methods.contains) ?? false && $0.status == .done }.map { try holdout($0.id) }.max() ?? .nan
        return Outcome(searched: try status.best.first.map { try holdout($0.id) } ?? .nan, baseline: try status.bestBaseline.map { try holdout($0.id) } ?? .nan,
                       baselineName: status.bestBaseline?.name ?? "-", bestEqualWeight: equal, lead: status.bestVersusBaseline?.result)
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    func percent(_ value: Double) -> String { Format.fixed(100 * value, digits: 1) + "%" }
}
