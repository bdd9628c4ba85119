import Foundation
import Testing

/// A search whose sources are LoRA adapters (`search-spaces/demo-lora.yaml`: zoo/lora's three
/// adapters of zoo/base) exports its best candidate as a full model, as a mergekit recipe naming
/// the adapters as BASE+ADAPTER, and as one adapter of the base, which `inspect` and `eval` read.
/// (Its crash-and-resume run is one case of `FamilySearchResumeTests`.)
@Suite struct LoRASearchTests {
    @Test func theBestCandidateExportsAsAModelARecipeAndAnAdapter() throws {
        let folder = try FamilySearchResumeTests.Folder()
        let space = try SignalSoakTests.demoSpace(in: folder.path, rows: 40, space: "demo-lora")
        let run = folder.path + "/run"
        let search = try CLI.run(["search", space, "--run", run, "--evaluations", "8"], deadline: 120)
        #expect(search.status == 0, "\(search.stderr)")
        let status = try SearchFailureTests().statusJSON(run)
        #expect(status["evaluations"] as? Int == 8 && status["failed"] as? Int == 0, "\(status)")

        let export = try CLI.run(["export", run, "--best", "--adapter"], deadline: 120)
        #expect(export.status == 0, "\(export.stderr)")
        let exports = try FileManager.default.contentsOfDirectory(atPath: run + "/exports")
        let id = try #require(exports.first { !$0.hasSuffix("-adapter") })
        let model = run + "/exports/" + id, adapter = model + "-adapter"
        for file in ["config.json", "model.safetensors", "recipe.yml", "tokenizer.json"] {
            #expect(FileManager.default.fileExists(atPath: model + "/" + file), "\(file) missing from \(model): \(export.stdout)")
        }
        let recipe = try String(contentsOfFile: model + "/recipe.yml", encoding: .utf8)
        #expect(recipe.contains("zoo/base+") && recipe.contains("zoo/lora/add"), "\(recipe)")
        for file in ["adapter_config.json", "adapter_model.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: adapter + "/" + file), "\(file) missing from \(adapter): \(export.stdout)")
        }

        let inspect = try CLI.run(["inspect", adapter], deadline: 60)
        #expect(inspect.status == 0 && inspect.stdout.contains("the adapter fits it"), "\(inspect.stdout)\(inspect.stderr)")
        for path in [model, adapter] {
            let eval = try CLI.run(["eval", path, "--fitness", folder.path + "/fitness.yaml", "--limit", "4", "--json"], deadline: 120)
            #expect(eval.status == 0 && eval.stdout.contains("\"add\""), "\(path): \(eval.stdout)\(eval.stderr)")
        }
    }
}
