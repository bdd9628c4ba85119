import Archive
import Foundation
import Testing
@testable import Tensors

/// What Amalgam does with a decoder its evaluator cannot run: `inspect` says it merges but does
/// not evaluate it; a search whose tasks are all `command` tasks merges and scores it to the end;
/// a search with a built-in task is refused with one line that says why and what to do instead.
@Suite struct FamilySupportTests {
    /// Copies of zoo models relabelled `starcoder2`: Hugging Face tensor names, a family the
    /// built-in evaluator does not know.
    func unknownFamily(_ models: [String], in folder: String) throws -> [String] {
        try models.map { name in
            let destination = folder + "/" + name
            try FileManager.default.copyItem(atPath: CLI.repository + "/zoo/" + name, toPath: destination)
            var config = try ModelConfig(contentsOf: destination + "/config.json")
            config.set("model_type", .string("starcoder2"))
            config.set("architectures", .array([.string("Starcoder2ForCausalLM")]))
            try Data(config.serialized.utf8).write(to: URL(fileURLWithPath: destination + "/config.json"))
            return destination
        }
    }

    func space(_ folder: String, models: [String], fitness: String) throws -> String {
        let path = folder + "/space.yaml"
        try Data("""
            name: unknown-family
            base_model: \(models[0])
            models: [\(models.dropFirst().joined(separator: ", "))]
            methods: [task_arithmetic]
            genes: {weight: [0.0, 1.5]}
            fitness: \(fitness)
            optimizer: {name: cmaes, population: 4, seed: 5}
            budget: {evaluations: 4}
            workers: 2

            """.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func aFamilyTheEvaluatorCannotRunIsMergedAndScoredByCommandTasks() throws {
        let folder = try SearchFailureTests.Folder()
        let models = try unknownFamily(["base", "add", "rev"], in: folder.path)

        let inspect = try CLI.run(["inspect", models[0], "--json"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        #expect(summary["can_merge"] as? Bool == true)
        #expect(summary["can_evaluate"] as? Bool == false)
        #expect((summary["evaluate"] as? String)?.contains("command") == true)

        // The score is 1 exactly when the candidate folder the command sees is a starcoder2 model.
        let fitness = folder.path + "/fitness.yaml"
        try Data("""
            tasks:
              - {name: external, kind: command, run: [sh, -c, "echo {\\\\\\"results\\\\\\": {\\\\\\"x\\\\\\": $(grep -c starcoder2 {model}/config.json)}}"], score: "results.x"}

            """.utf8).write(to: URL(fileURLWithPath: fitness))
        let run = folder.path + "/run"
        let search = try CLI.run(["search", try space(folder.path, models: models, fitness: fitness), "--run", run])
        #expect(search.status == 0, "\(search.stderr)")
        let done = try SQLiteArchive(path: run + "/archive.sqlite", reader: true).candidates().filter { $0.status == .done }
        #expect(done.count >= 3, "\(search.stdout)")
        let status = try CLI.run(["status", run, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(object["evaluations"] as? Int == 4)
        #expect(object["failed"] as? Int == 0)
        let front = try CLI.run(["front", run, "--json"])
        #expect(front.status == 0 && front.stdout.contains("\"external:score\":1.0"), "\(front.stdout)")
    }

    @Test func aBuiltInTaskOnAFamilyTheEvaluatorCannotRunIsRefused() throws {
        let folder = try SearchFailureTests.Folder()
        let models = try unknownFamily(["base", "add"], in: folder.path)
        let run = folder.path + "/run"
        let search = try CLI.run(["search", try space(folder.path, models: models, fitness: CLI.repository + "/fitness/demo.yaml"), "--run", run])
        #expect(search.status == 1)
        let lines = search.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(search.stderr)")
        #expect(search.stderr.contains("base_model") && search.stderr.contains("starcoder2 model, which Amalgam can merge but its built-in evaluator cannot run")
                && search.stderr.contains("`command` tasks"), "\(search.stderr)")
        #expect(!FileManager.default.fileExists(atPath: run), "a refused search leaves no run folder")
    }
}

extension FamilySupportTests {
    /// Gemma 3 as the Hub writes its config (`sliding_window_pattern` 2, no `layer_types`: layers
    /// sliding, full, sliding): a merge keeping source layers 1 and 2 must say they are full and
    /// sliding, which the pattern alone would get backwards.
    @Test func droppingLayersKeepsEachLayersAttentionType() throws {
        let folder = try SearchFailureTests.Folder()
        let model = CLI.repository + "/Tests/InferenceTests/Fixtures/models/gemma3_text"
        let source = try ModelConfig(contentsOf: model + "/config.json")
        #expect(source.json["layer_types"] == nil && source.json["sliding_window_pattern"] != nil)
        let recipe = folder.path + "/drop.yml"
        try Data("""
            merge_method: passthrough
            slices:
              - sources:
                  - {model: \(model), layer_range: [1, 3]}

            """.utf8).write(to: URL(fileURLWithPath: recipe))
        let result = try CLI.run(["merge", recipe, "--out", folder.path + "/out"])
        #expect(result.status == 0, "\(result.stderr)")
        let merged = try ModelConfig(contentsOf: folder.path + "/out/config.json")
        #expect(try merged.layerCount == 2)
        #expect(merged.json["layer_types"]?.array?.compactMap(\.string) == ["full_attention", "sliding_attention"])
    }
}
