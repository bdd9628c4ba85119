import Archive
import Foundation
import Testing
@testable import Tensors

/// Failure is data (DESIGN.md §4): candidates whose merge overflows (non-finite logits) or whose
/// external evaluator exits 1 are stored as failed with their reason, and the search completes.
@Suite(.serialized) struct SearchFailureTests {
    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-failure-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A copy of zoo/add whose final norm holds 3e38: any real weight on it overflows the logits.
    func writeOverflowModel(to destination: String) throws {
        try writeModifiedCopy(of: "add", to: destination) { name, values in
            if name == "model.norm.weight" { values = values.map { _ in 3e38 } }
        }
    }

    /// A copy of a zoo model with every tensor passed through `change` (a retrained fine-tune: same shapes, new weights).
    func writeModifiedCopy(of model: String, to destination: String, _ change: (String, inout [Float]) -> Void) throws {
        let source = CLI.repository + "/zoo/" + model
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        for name in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: destination + "/" + name)
        }
        let folder = try ModelFolder(path: source)
        let specs = try folder.tensorNames.map { name -> TensorSpec in
            let (_, info) = try #require(folder.tensor(name))
            return TensorSpec(name: name, dtype: info.dtype, shape: info.shape)
        }
        let writer = try SafetensorsWriter(directory: destination, layout: SafetensorsLayout(tensors: specs))
        for spec in specs {
            let (file, info) = try #require(folder.tensor(spec.name))
            var values = [Float](repeating: 0, count: spec.elementCount)
            try values.withUnsafeMutableBufferPointer { try file.read(info, into: $0) }
            change(spec.name, &values)
            try values.withUnsafeBufferPointer { try writer.write(spec.name, values: $0) }
        }
        try writer.finish()
    }

    func space(in folder: String, models: [String], fitness: String, evaluations: Int) throws -> String {
        let path = folder + "/space.yaml"
        let text = """
            name: failure
            base_model: \(CLI.repository)/zoo/base
            models: [\(models.joined(separator: ", "))]
            methods: [task_arithmetic]
            genes: {weight: [0.0, 1.5]}
            fitness: \(fitness)
            optimizer: {name: cmaes, population: 4, seed: 3}
            budget: {evaluations: \(evaluations)}
            workers: 2

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func statusJSON(_ run: String) throws -> [String: Any] {
        let status = try CLI.run(["status", run, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        return try #require(object)
    }

    @Test func overflowingMergesFailWithTheirReasonAndTheSearchCompletes() throws {
        let folder = try Folder()
        try writeOverflowModel(to: folder.path + "/overflow")
        let space = try space(in: folder.path, models: [CLI.repository + "/zoo/rev", folder.path + "/overflow"],
                              fitness: CLI.repository + "/fitness/demo.yaml", evaluations: 8)
        let run = folder.path + "/run"
        let result = try CLI.run(["search", space, "--run", run])
        #expect(result.status == 0, "\(result.stderr)")
        let candidates = try SQLiteArchive(path: run + "/archive.sqlite", reader: true).candidates()
        let failed = candidates.filter { $0.status == .failed }
        #expect(failed.count > 0)
        #expect(failed.allSatisfy { $0.error?.contains("non-finite logits") == true })
        let status = try statusJSON(run)
        #expect(status["evaluations"] as? Int == 8)
        #expect(status["failed"] as? Int == failed.count)
    }

    @Test func aCommandTaskThatExitsOneFailsEveryCandidate() throws {
        let folder = try Folder()
        let fitness = folder.path + "/fitness.yaml"
        try Data("""
            tasks:
              - {name: add, kind: choice, calibration: \(CLI.repository)/fitness/add.calib.jsonl}
              - {name: external, kind: command, run: [sh, -c, "echo broken >&2; exit 1"], score: "results.x"}

            """.utf8).write(to: URL(fileURLWithPath: fitness))
        let space = try space(in: folder.path, models: [CLI.repository + "/zoo/add", CLI.repository + "/zoo/rev"], fitness: fitness, evaluations: 4)
        let run = folder.path + "/run"
        let result = try CLI.run(["search", space, "--run", run])
        #expect(result.status == 0, "\(result.stderr)")
        let candidates = try SQLiteArchive(path: run + "/archive.sqlite", reader: true).candidates().filter { $0.status != .pending }
        #expect(candidates.count >= 4)
        #expect(candidates.allSatisfy { $0.status == .failed || $0.status == .duplicate })
        #expect(candidates.compactMap(\.error).allSatisfy { $0.contains("exit") || $0.contains("status 1") })
        #expect(try statusJSON(run)["failed"] as? Int == 4)
        // No candidate folder was left behind in the temporary directory.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("amalgam-candidate-") }
        #expect(leftovers.isEmpty)
    }

    @Test func resumeRefusesWhenAModelWasRetrained() throws {
        let folder = try Folder()
        let model = folder.path + "/add"
        try writeModifiedCopy(of: "add", to: model) { _, _ in }
        let space = try space(in: folder.path, models: [model, CLI.repository + "/zoo/rev"], fitness: CLI.repository + "/fitness/demo.yaml", evaluations: 2)
        let run = folder.path + "/run"
        #expect(try CLI.run(["search", space, "--run", run]).status == 0)
        // Same shapes, same header, new weights.
        try FileManager.default.removeItem(atPath: model)
        try writeModifiedCopy(of: "add", to: model) { _, values in values = values.map { $0 * 1.5 } }
        let refused = try CLI.run(["resume", run, "--evaluations", "4"])
        #expect(refused.status == 1 && refused.stderr.contains(model) && refused.stderr.contains("changed since the run began"), "\(refused.stderr)")
    }

    /// Process groups recorded by command scripts (each writes `$$`, its group, to `file`), and
    /// the processes still alive in any of them.
    func survivors(groupsIn file: String) throws -> (groups: [Int32], alive: [String]) {
        let groups = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        var alive: [String] = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int32(entry) != nil {
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, fields[0] != "Z", let group = Int32(fields[2]), groups.contains(group) { alive.append("\(entry): \(stat.prefix(60))") }
        }
        return (groups, alive)
    }

    func commandSpace(in folder: String, script: String, timeout: String, evaluations: Int) throws -> String {
        let fitness = folder + "/fitness.yaml"
        try Data("""
            tasks:
              - {name: external, kind: command, run: [sh, -c, "\(script)"], score: "results.x", timeout: \(timeout)}

            """.utf8).write(to: URL(fileURLWithPath: fitness))
        return try space(in: folder, models: [CLI.repository + "/zoo/add", CLI.repository + "/zoo/rev"], fitness: fitness, evaluations: evaluations)
    }

    @Test func aCommandWhoseGrandchildHoldsStdoutTimesOutAndLeavesNothingBehind() throws {
        let folder = try Folder()
        let groups = folder.path + "/groups"
        // The grandchild keeps stdout open for 300 s; the command itself sleeps past its 2 s timeout.
        let space = try commandSpace(in: folder.path, script: "echo $$ >> \(groups); (sleep 300; echo late) & sleep 300", timeout: "2s", evaluations: 3)
        let run = folder.path + "/run"
        let result = try CLI.run(["search", space, "--run", run], deadline: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let candidates = try SQLiteArchive(path: run + "/archive.sqlite", reader: true).candidates().filter { $0.status == .failed }
        #expect(candidates.count == 3)
        for candidate in candidates {
            #expect(candidate.error?.contains("sh timed out after 2s") == true, "\(candidate.error ?? "")")
            if let started = candidate.started, let finished = candidate.finished {
                // A reader waiting on the grandchild would take 300 s.
                #expect(finished - started < 2 + 10, "candidate \(candidate.id) took \(finished - started) s")
            }
        }
        let (seen, alive) = try survivors(groupsIn: groups)
        #expect(seen.count == 3 && alive.isEmpty, "left running: \(alive)")
    }

    @Test func aStopKillsTheCommandInFlightAndItsCandidateRunsAgainOnResume() throws {
        let folder = try Folder()
        let groups = folder.path + "/groups"
        let space = try commandSpace(in: folder.path, script: "echo $$ >> \(groups); sleep 300 & sleep 300", timeout: "1h", evaluations: 2)
        let run = folder.path + "/run"
        let search = try CLI.start(["search", space, "--run", run])
        try SearchLiveTests.waitFor("the command's start", seconds: 120) { FileManager.default.fileExists(atPath: groups) || !search.isRunning }
        search.signal(SIGINT)
        let stopped = try search.wait(deadline: 15)
        #expect(stopped.status == 0 && !stopped.signaled, "\(search.lastOutput)")
        let (_, alive) = try survivors(groupsIn: groups)
        #expect(alive.isEmpty, "left running: \(alive)")
        let archive = try SQLiteArchive(path: run + "/archive.sqlite", reader: true)
        #expect(try archive.statusCounts()[.running] == nil)
        #expect(try archive.statusCounts()[.failed] == nil, "an abandoned evaluation is not a failure")
        #expect(try archive.events().last?.message.contains("abandoned") == true)
    }
}

