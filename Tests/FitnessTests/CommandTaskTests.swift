import Foundation
import Testing
@testable import Fitness
import Tensors

/// The external-evaluator task: argv without a shell, {model}/{out}, score from stdout or a
/// globbed file, and failures (exit status, timeout, garbage) carrying their reason.
@Suite struct CommandTaskTests {
    func task(_ name: String, run: [String], score: String, file: String? = nil, timeout: Double = 30) -> FitnessFile.Task {
        var task = FitnessFile.Task(name: name, kind: .command, calibration: nil, holdout: nil, metric: "score", weight: 1, maxTokens: 1, stop: [])
        task.run = run
        task.scorePath = score
        task.scoreFile = file
        task.timeout = timeout
        return task
    }

    func leftovers(_ name: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { $0.hasPrefix("amalgam-\(name)-") }
    }

    @Test func scoreFromTheLastJSONObjectOnStdout() throws {
        let name = "stdout-\(UUID().uuidString.prefix(8))"
        let script = #"echo "loading {model}"; echo '{"results": {"old": 1}}'; echo '{"results": {"gsm8k": {"exact_match,strict-match": 0.75}}}'; echo done"#
        let value = try CommandTask(task: task(name, run: ["sh", "-c", script], score: "results.gsm8k.exact_match,strict-match")).run(model: "/m")
        #expect(value == 0.75)
        #expect(try leftovers(name).isEmpty)
    }

    @Test func scoreFromTheNewestMatchingFileAndTheOutFolderIsRemoved() throws {
        let name = "file-\(UUID().uuidString.prefix(8))"
        let script = #"mkdir -p "$1/run/deep" && echo '{"x": {"y": 1}}' > "$1/run/results_old.json" && sleep 1 && echo '{"x": {"y": 2.5}}' > "$1/run/deep/results_new.json""#
        let value = try CommandTask(task: task(name, run: ["sh", "-c", script, "sh", "{out}"], score: "x.y", file: "{out}/**/results*.json")).run(model: "/m")
        #expect(value == 2.5)
        #expect(try leftovers(name).isEmpty)
    }

    @Test func failuresCarryTheirReasonAndCleanUp() throws {
        let name = "fail-\(UUID().uuidString.prefix(8))"
        #expect { try CommandTask(task: task(name, run: ["sh", "-c", "echo boom >&2; exit 1"], score: "x")).run(model: "/m") } throws: {
            let failure = $0 as? CommandFailure
            return failure?.message == "sh exited with status 1; stderr: boom" && failure?.lastErrors == ["boom"]
        }
        #expect { try CommandTask(task: task(name, run: ["sleep", "30"], score: "x", timeout: 1)).run(model: "/m") } throws: {
            ($0 as? CommandFailure)?.message == "sleep timed out after 1s and was stopped"
        }
        #expect { try CommandTask(task: task(name, run: ["echo", "garbage {"], score: "x")).run(model: "/m") } throws: {
            ($0 as? CommandFailure)?.message == "echo printed no JSON object on stdout"
        }
        #expect { try CommandTask(task: task(name, run: ["echo", "{\"x\": \"NaN-ish\"}"], score: "x")).run(model: "/m") } throws: {
            ($0 as? CommandFailure)?.message == "the output has no number at x"
        }
        #expect(try leftovers(name).isEmpty)
    }

    @Test func durations() {
        #expect(parseDuration("2h") == 7200 && parseDuration("30m") == 1800 && parseDuration("90") == 90 && parseDuration("1.5s") == 1.5)
        #expect(parseDuration("-1s") == nil && parseDuration("soon") == nil && parseDuration("1e308h") == nil)
        #expect(formatDuration(7200) == "2h" && formatDuration(1800) == "30m" && formatDuration(90) == "90s" && formatDuration(1.5) == "1.5s")
        #expect(formatDuration(86400) == "1d" && formatDuration(1e300) == "1e+300s" && formatDuration(.infinity) == "infs")
    }
}
