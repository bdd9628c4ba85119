import Foundation
import Testing

@Suite struct EvalCommandTests {
    @Test func scoresAFitnessFileAndWritesSamples() throws {
        let directory = NSTemporaryDirectory() + "amalgam-eval-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixtures = CLI.repository + "/Tests/FitnessTests/Fixtures"
        let fitness = """
            tasks:
              - {name: choice, kind: choice, calibration: \(fixtures)/choice.jsonl}
              - {name: text, kind: perplexity, calibration: \(fixtures)/text.jsonl, metric: byte_perplexity}
            """
        try Data(fitness.utf8).write(to: URL(fileURLWithPath: directory + "/fitness.yaml"))
        let result = try CLI.run(["eval", "zoo/tiny-llama", "--fitness", directory + "/fitness.yaml", "--json", "--samples", directory + "/s.jsonl"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let tasks = object?["tasks"] as? [String: [String: Any]]
        #expect(tasks?["choice"]?["n"] as? Int == 6)
        #expect(tasks?["text"]?["metric"] as? String == "byte_perplexity")
        let samples = try String(contentsOfFile: directory + "/s.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 9)
    }

    @Test func badFitnessFileIsOneLine() throws {
        let directory = NSTemporaryDirectory() + "amalgam-eval-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("tasks:\n  - {name: t, kind: choice, calibration: x.jsonl, metric: f1}\n".utf8).write(to: URL(fileURLWithPath: directory + "/f.yaml"))
        let result = try CLI.run(["eval", "zoo/tiny-llama", "--fitness", directory + "/f.yaml"])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: \(directory)/f.yaml: tasks[0].metric: \"f1\" is not a choice metric (acc, acc_norm)\n")
    }
}
