import Foundation
import Testing
@testable import Tensors

/// `amalgam merge` on one recipe per family, compared bit for bit with mergekit 0.1.5's output
/// (tools/make_family_merge_goldens.py): the command's own path from recipe file to safetensors.
@Suite struct FamilyMergeCommandTests {
    static let cases = [("gemma2", "ties"), ("gemma3_text", "task_arithmetic"), ("phi3", "linear"), ("olmo2", "passthrough"), ("qwen3", "ties")]

    @Test(arguments: cases)
    func mergeEqualsMergekit(family: String, recipe: String) throws {
        let fixtures = "Tests/MergingTests/Fixtures/families/\(family)"
        let directory = NSTemporaryDirectory() + "amalgam-cli-family-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/merged"
        let result = try CLI.run(["merge", "\(fixtures)/recipes/\(recipe).yml", "--out", out, "--threads", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try ModelFolder(path: out)
        let golden = try ModelFolder(path: CLI.repository + "/\(fixtures)/golden/\(recipe)")
        #expect(Set(ours.tensorNames) == Set(golden.tensorNames))
        #expect(try ours.config?.layerCount == golden.config?.layerCount)
        for name in golden.tensorNames {
            let (goldenFile, goldenInfo) = try #require(golden.tensor(name))
            let (ourFile, ourInfo) = try #require(ours.tensor(name), "\(name) missing")
            #expect(ourInfo.dtype == .f32 && ourInfo.shape == goldenInfo.shape, "\(name)")
            let equal = Array(ourFile.bytes(of: ourInfo)) == Array(goldenFile.bytes(of: goldenInfo))
            #expect(equal, "\(family) \(recipe) \(name) differs from mergekit's")
        }
    }
}
