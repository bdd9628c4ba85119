import Archive
import Foundation
import Testing

/// `amalgam search` / `resume` on the demo zoo, driven through the release binary: the archive of
/// a stopped-and-resumed or crashed-and-resumed run equals the uninterrupted run's (DESIGN.md §4).
@Suite(.serialized) struct SearchCommandTests {
    final class Runs {
        let path = NSTemporaryDirectory() + "amalgam-search-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    func dump(_ run: String) throws -> String {
        try SQLiteArchive(path: run + "/archive.sqlite", reader: true).dump()
    }

    func search(_ run: String, evaluations: Int, workers: Int = 2, environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "\(evaluations)", "--workers", "\(workers)"], environment: environment)
    }

    /// Finish times of the finished candidates: a completed evaluation run again would change its row.
    func finished(_ run: String) throws -> [Int: Double] {
        var times: [Int: Double] = [:]
        for candidate in try SQLiteArchive(path: run + "/archive.sqlite", reader: true).candidates() where candidate.status == .done || candidate.status == .failed {
            times[candidate.id] = candidate.finished
        }
        return times
    }

    @Test func workersThatDoNotFitAreRefusedBeforeAnyWork() throws {
        let runs = try Runs()
        let run = runs.path + "/too-many"
        // A machine offering 1.2 times what one demo worker needs (as the plan itself says): one
        // worker fits, sixteen do not.
        let probe = try CLI.run(["search", "search-spaces/demo.yaml", "--dry-run", "--workers", "1"])
        let line1 = try #require(probe.stdout.split(separator: "\n").first { $0.contains("per worker (1 worker") })
        let each = try #require(Double(line1.split(separator: "= ").last?.split(separator: " ").first ?? ""))
        let offered = Int(each * 1.2 / 0.9 * 1_048_576)
        let limit = ["AMALGAM_MEMORY_LIMIT": "\(offered)"]
        let refused = try search(run, evaluations: 4, workers: 16, environment: limit)
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        let line = refused.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("Error: --workers 16: 16 workers need ") && line.contains("but this machine offers ") && line.contains("(90 % of AMALGAM_MEMORY_LIMIT ")
                    && line.contains("at most 1 worker fits"), "\(line)")
        #expect(!line.contains("\n"))
        #expect(!FileManager.default.fileExists(atPath: run), "a refused run leaves no folder")
        let plan = try CLI.run(["search", "search-spaces/demo.yaml", "--dry-run", "--workers", "16"], environment: limit)
        #expect(plan.status == 0 && plan.stdout.contains("memory: ") && plan.stdout.contains("refused: --workers 16"), "\(plan.stdout)")
    }

    @Test func resumedAndCrashedRunsEqualTheUninterruptedOne() throws {
        let runs = try Runs()
        let whole = runs.path + "/whole"
        let first = try search(whole, evaluations: 40)
        #expect(first.status == 0, "\(first.stderr)")
        let reference = try dump(whole)
        // 40 evaluations: the 7 baselines (ids 1–7, seqs −7…−1), then proposals from id 8, seq 0.
        #expect(reference.contains("candidate\t1\t-7\t") && reference.contains("candidate\t40\t32\t"))

        // Stopped by its budget at 20, resumed to 40.
        let halves = runs.path + "/halves"
        #expect(try search(halves, evaluations: 20).status == 0)
        let resumed = try CLI.run(["resume", halves, "--evaluations", "40"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try dump(halves) == reference)

        // Crashed right after and right before commits (proposals, claims, results), resumed each time.
        for (point, count) in [("after-commit", 3), ("before-commit", 7), ("after-commit", 12), ("before-commit", 30), ("after-commit", 57)] {
            let crashed = runs.path + "/\(point)-\(count)"
            let crash = try search(crashed, evaluations: 40, environment: ["AMALGAM_FAILPOINT": "\(point):\(count)"])
            #expect(crash.status == Failpoint.exitStatus, "\(point):\(count): \(crash.stderr)")
            let before = try finished(crashed)
            let again = try CLI.run(["resume", crashed, "--evaluations", "40"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try dump(crashed) == reference, "\(point):\(count)")
            let after = try finished(crashed)
            #expect(before.allSatisfy { after[$0.key] == $0.value }, "\(point):\(count): a completed evaluation ran again")
            #expect(try SQLiteArchive(path: crashed + "/archive.sqlite", reader: true).integrityCheck() == "ok")
        }
    }

    /// Stopped by its budget among the baselines, or crashed while they are recorded and scored:
    /// resumed, the run scores the rest, warm-starts from the same best baseline and ends with the
    /// archive of the uninterrupted run. A smooth space (its frozen copy must keep `smooth`)
    /// resumes to its uninterrupted archive too.
    @Test func runsStoppedAmongTheirBaselinesResumeToTheUninterruptedArchive() throws {
        let runs = try Runs()
        let whole = runs.path + "/whole"
        #expect(try search(whole, evaluations: 15).status == 0)
        let reference = try dump(whole)
        let stopped = runs.path + "/stopped"
        #expect(try search(stopped, evaluations: 3).status == 0)
        #expect(try SQLiteArchive(path: stopped + "/archive.sqlite", reader: true).latestCheckpoint() == nil)
        #expect(try CLI.run(["resume", stopped, "--evaluations", "15"]).status == 0)
        #expect(try dump(stopped) == reference)
        for count in [2, 5] {
            let crashed = runs.path + "/crash-\(count)"
            let crash = try search(crashed, evaluations: 15, environment: ["AMALGAM_FAILPOINT": "after-commit:\(count)"])
            #expect(crash.status == Failpoint.exitStatus, "\(crash.stderr)")
            #expect(try CLI.run(["resume", crashed, "--evaluations", "15"]).status == 0)
            #expect(try dump(crashed) == reference, "after-commit:\(count)")
        }
        let smooth = runs.path + "/smooth", smoothWhole = runs.path + "/smooth-whole"
        #expect(try CLI.run(["search", "search-spaces/demo-tasks.yaml", "--run", smoothWhole, "--evaluations", "26", "--workers", "2"]).status == 0)
        #expect(try CLI.run(["search", "search-spaces/demo-tasks.yaml", "--run", smooth, "--evaluations", "12", "--workers", "2"]).status == 0)
        #expect(try String(contentsOfFile: smooth + "/space.yaml", encoding: .utf8).contains("smooth: true"))
        #expect(try CLI.run(["resume", smooth, "--evaluations", "26"]).status == 0)
        #expect(try dump(smooth) == dump(smoothWhole))
        #expect(try !dump(smooth).contains("slices:"))  // gradients over the whole model, not per-group slices
    }

    @Test func resumeRefusesWhenATaskFileChanged() throws {
        let runs = try Runs()
        let fitness = runs.path + "/fitness"
        try FileManager.default.copyItem(atPath: CLI.repository + "/fitness", toPath: fitness)
        let demo = try String(contentsOfFile: CLI.repository + "/search-spaces/demo.yaml", encoding: .utf8)
        let space = runs.path + "/space.yaml"
        try Data(demo.replacingOccurrences(of: "../fitness/", with: fitness + "/").replacingOccurrences(of: "../", with: CLI.repository + "/").utf8)
            .write(to: URL(fileURLWithPath: space))
        let run = runs.path + "/run"
        #expect(try CLI.run(["search", space, "--run", run, "--evaluations", "2"]).status == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fitness + "/add.calib.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"context\": \"1+1=\", \"choices\": [\"2\", \"3\"], \"answer\": 0}\n".utf8))
        try handle.close()
        let refused = try CLI.run(["resume", run, "--evaluations", "4"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(fitness + "/add.calib.jsonl") && refused.stderr.contains("changed since the run began"), "\(refused.stderr)")
    }

    /// `status` and `front` read the frozen space's settings and the archive alone: moving the
    /// model folders away changes nothing they print (the costs too are the recorded ones).
    @Test func statusAndFrontOpenNoModelFolder() throws {
        let runs = try Runs()
        let zoo = runs.path + "/zoo"
        try FileManager.default.createDirectory(atPath: zoo, withIntermediateDirectories: true)
        for model in ["base", "add", "rev", "facts"] { try FileManager.default.copyItem(atPath: CLI.repository + "/zoo/" + model, toPath: zoo + "/" + model) }
        let demo = try String(contentsOfFile: CLI.repository + "/search-spaces/demo.yaml", encoding: .utf8)
        let space = runs.path + "/space.yaml"
        try Data(demo.replacingOccurrences(of: "../zoo/", with: zoo + "/").replacingOccurrences(of: "../", with: CLI.repository + "/").utf8)
            .write(to: URL(fileURLWithPath: space))
        let run = runs.path + "/run"
        let searched = try CLI.run(["search", space, "--run", run, "--evaluations", "12"])
        #expect(searched.status == 0, "\(searched.stderr)")
        let commands = [["status", run, "--json"], ["front", run, "--json"], ["status", run], ["front", run]]
        let before = try commands.map { try CLI.run($0) }
        try FileManager.default.moveItem(atPath: zoo, toPath: runs.path + "/zoo-moved")
        let after = try commands.map { try CLI.run($0) }
        for (command, (was, now)) in zip(commands, zip(before, after)) {
            #expect(was.status == 0 && now.status == 0, "\(command): \(now.stderr)")
            #expect(now.stdout == was.stdout, "\(command)")
        }
        #expect(after[1].stdout.contains("\"costs\"") && !after[1].stdout.contains("\"costs\":{}"), "\(after[1].stdout)")
        // What does need the models says which one is gone.
        let resumed = try CLI.run(["resume", run, "--evaluations", "14"])
        #expect(resumed.status == 1 && resumed.stderr.contains(zoo + "/base"), "\(resumed.stderr)")
    }

    @Test func oneWorkerProposesTheSameCandidates() throws {
        let runs = try Runs()
        #expect(try search(runs.path + "/two", evaluations: 12, workers: 2).status == 0)
        #expect(try search(runs.path + "/one", evaluations: 12, workers: 1).status == 0)
        let two = try SQLiteArchive(path: runs.path + "/two/archive.sqlite", reader: true).candidates()
        let one = try SQLiteArchive(path: runs.path + "/one/archive.sqlite", reader: true).candidates()
        #expect(two.map(\.genome) == one.map(\.genome))
        #expect(two.map(\.recipeHash) == one.map(\.recipeHash))
        // The linear layers are cut the same way on any thread count, so the scores are equal too.
        let twoScores = try SQLiteArchive(path: runs.path + "/two/archive.sqlite", reader: true).scores(candidate: nil)
        let oneScores = try SQLiteArchive(path: runs.path + "/one/archive.sqlite", reader: true).scores(candidate: nil)
        #expect(!twoScores.isEmpty && twoScores == oneScores)
    }

    @Test func anExistingRunIsRefusedAndStatusReadsIt() throws {
        let runs = try Runs()
        let run = runs.path + "/demo"
        #expect(try search(run, evaluations: 4).status == 0)
        let again = try search(run, evaluations: 4)
        #expect(again.status == 1 && again.stderr.contains("amalgam resume"))
        let status = try CLI.run(["status", run, "--json"])
        #expect(status.status == 0 && status.stdout.contains("\"evaluations\":4"))
        let export = try CLI.run(["export", run, "--best", "--recipe", runs.path + "/best.yml"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(FileManager.default.fileExists(atPath: runs.path + "/best.yml"))
        // The exported model, and the exported recipe merged again, hold the same bytes.
        let model = try CLI.run(["export", run, "--best"])
        #expect(model.status == 0, "\(model.stderr)")
        let exports = try FileManager.default.contentsOfDirectory(atPath: run + "/exports")
        let exported = run + "/exports/" + (exports.first ?? "")
        let merged = try CLI.run(["merge", exported + "/recipe.yml", "--out", runs.path + "/remerged"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let original = FileManager.default.contents(atPath: exported + "/model.safetensors")
        #expect(original != nil && original == FileManager.default.contents(atPath: runs.path + "/remerged/model.safetensors"))
    }

    /// NSGA-II in steady-state mode hands out genomes while results are outstanding; the engine's
    /// ordered tells keep it deterministic across crashes and worker counts all the same.
    @Test(arguments: ["nsga2", "random"])
    func otherOptimizersResumeAndAgreeAcrossWorkerCounts(_ optimizer: String) throws {
        let runs = try Runs()
        let demo = try String(contentsOfFile: CLI.repository + "/search-spaces/demo.yaml", encoding: .utf8)
        let space = runs.path + "/space.yaml"
        try Data(demo.replacingOccurrences(of: "../", with: CLI.repository + "/")
            .replacingOccurrences(of: "optimizer: {name: cmaes, population: 8, sigma: 0.25, restarts: ipop, seed: 1}",
                                  with: "optimizer: {name: \(optimizer), population: 6, seed: 2}").utf8).write(to: URL(fileURLWithPath: space))
        func search(_ run: String, workers: Int, environment: [String: String] = [:]) throws -> CLI.Result {
            try CLI.run(["search", space, "--run", run, "--evaluations", "14", "--workers", "\(workers)"], environment: environment)
        }
        #expect(try search(runs.path + "/two", workers: 2).status == 0)
        let reference = try dump(runs.path + "/two")
        #expect(reference.contains("\"optimizer\":\"\(optimizer)\""))
        #expect(try search(runs.path + "/one", workers: 1).status == 0)
        let one = try SQLiteArchive(path: runs.path + "/one/archive.sqlite", reader: true).candidates()
        let two = try SQLiteArchive(path: runs.path + "/two/archive.sqlite", reader: true).candidates()
        #expect(one.map(\.genome) == two.map(\.genome))
        // Steady-state NSGA-II checkpoints after every tell, so crashes land between a tell and the
        // holdout scoring it started: resume must redo that scoring.
        for (point, count) in [("after-commit", 9), ("before-commit", 17), ("after-commit", 29)] {
            let crashed = runs.path + "/\(point)-\(count)"
            #expect(try search(crashed, workers: 2, environment: ["AMALGAM_FAILPOINT": "\(point):\(count)"]).status == Failpoint.exitStatus)
            #expect(try CLI.run(["resume", crashed, "--evaluations", "14"]).status == 0)
            #expect(try dump(crashed) == reference, "\(point):\(count)")
        }
    }
}
