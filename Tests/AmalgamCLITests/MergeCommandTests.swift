import Foundation
import Testing

@Suite struct MergeCommandTests {
    static let models = "Tests/MergingTests/Fixtures/models"

    func temporary() throws -> String {
        let directory = NSTemporaryDirectory() + "amalgam-cli-merge-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func writesAHuggingFaceFolder() throws {
        let directory = try temporary()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/merged"
        let result = try CLI.run(["merge", "Tests/MergingTests/Fixtures/recipes/passthrough.yml", "--out", out,
                                  "--out-dtype", "bfloat16", "--shard-size", "300kB", "--seed", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files.contains("model.safetensors.index.json"))
        #expect(files.contains("mergekit_config.yml") && files.contains("README.md") && files.contains("config.json"))
        #expect(files.filter { $0.hasSuffix(".safetensors") }.count > 1)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))) as? [String: Any]
        #expect(config?["num_hidden_layers"] as? Int == 5)
        #expect(config?["torch_dtype"] as? String == "bfloat16")
        let recipe = try String(contentsOfFile: out + "/mergekit_config.yml", encoding: .utf8)
        #expect(recipe.contains("out_dtype: bfloat16") && recipe.contains("random_seed: 3"))
        let inspect = try CLI.run(["inspect", out, "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        #expect(summary?["layers"] as? Int == 5)
        #expect(summary?["dtypes"] as? [String: Int] == ["BF16": 47])
        // The saved recipe merges again to the same bytes.
        let again = directory + "/again"
        let second = try CLI.run(["merge", out + "/mergekit_config.yml", "--out", again, "--shard-size", "300kB"])
        #expect(second.status == 0, "\(second.stderr)")
        for file in files where file.hasSuffix(".safetensors") {
            #expect(FileManager.default.contents(atPath: out + "/" + file) == FileManager.default.contents(atPath: again + "/" + file))
        }
        // An existing folder is refused unless --force.
        let refused = try CLI.run(["merge", out + "/mergekit_config.yml", "--out", again])
        #expect(refused.status == 1 && refused.stderr.contains("already exists"))
    }

    /// Each bad recipe: exit 1, one line naming the recipe field, and no output folder left behind.
    @Test(arguments: [
        ("merge_method: ties\nbase_model: \(models)/base\nmodels:\n  - {model: \(models)/a, parameters: {weight: 1, density: 0}}\n", "models[0].parameters.density: 0 is outside (0, 1]"),
        ("merge_method: slerp\nbase_model: \(models)/base\nmodels: [{model: \(models)/a}, {model: \(models)/b}]\nparameters: {t: 0.5}\n", "slerp needs exactly two models"),
        ("merge_method: ties\nmodels: [{model: \(models)/a, parameters: {weight: 1}}]\n", "base_model: ties needs a base_model"),
        ("merge_method: passthrough\nslices:\n  - sources: [{model: \(models)/a, layer_range: [0, 9]}]\n", "slices[0].sources[0].layer_range: [0, 9] runs past"),
        ("merge_method: linear\nmodels: [{model: \(models)/missing, parameters: {weight: 1}}]\n", "models[0].model: model folder \(models)/missing does not exist"),
        ("merge_method: della\nbase_model: \(models)/base\nmodels: [{model: \(models)/a, parameters: {weight: 1, density: 0.1, epsilon: 0.2}}]\n", "della needs density ± epsilon inside (0, 1)"),
    ])
    func badRecipeIsOneLineAndLeavesNothing(yaml: String, message: String) throws {
        let directory = try temporary()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recipe = directory + "/recipe.yml"
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: recipe))
        let result = try CLI.run(["merge", recipe, "--out", directory + "/out"])
        #expect(result.status == 1)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["recipe.yml"])
    }

    @Test func usageErrors() throws {
        #expect(try CLI.run(["merge", "x.yml"]).status == 64)
        #expect(try CLI.run(["merge", "x.yml", "--out", "o", "--out-dtype", "float8"]).status == 64)
        #expect(try CLI.run(["merge", "x.yml", "--out", "o", "--shard-size", "lots"]).status == 64)
    }
}
