import Foundation
import Testing
@testable import Merging
@testable import Tensors

/// Merges of gemma2, gemma3_text, phi3, olmo2 and qwen3 models compared with what mergekit 0.1.5
/// made of the same recipes (tools/make_family_merge_goldens.py), planned with the layout inferred
/// from the tensor names (no family layout passed): the same output tensors, and every float32
/// equal bit for bit. The fixtures' task vectors have distinct magnitudes, so TIES' top-k has no
/// ties to order and no element is excepted. SLERP is held to 1e-6 of each tensor's largest
/// magnitude instead: mergekit computes its norms, dot product, acos and sin in float32 with
/// torch's vectorized reductions, whose order depends on the CPU; Amalgam computes them in double,
/// so its coefficients may differ from mergekit's in the last float32 bits.
@Suite struct FamilyGoldenMergeTests {
    static let families = ["gemma2", "gemma3_text", "phi3", "olmo2", "qwen3"]
    static let recipes = ["linear", "task_arithmetic", "ties", "slerp", "passthrough"]

    @Test(arguments: families, recipes)
    func float32OutputEqualsMergekit(family: String, recipe: String) throws {
        let directory = FamilyFixture.directory(family)
        let plan = try Fixture.plan(Recipe(contentsOf: directory + "/recipes/\(recipe).yml"))
        #expect(plan.layout.modelType == family)
        let golden = try ModelFolder(path: directory + "/golden/\(recipe)")
        #expect(Set(plan.tensors.map(\.name)) == Set(golden.tensorNames))
        #expect(try plan.layerCount == golden.config?.layerCount)
        let merged = try Fixture.merge(plan)
        var differing: [String] = []
        for name in golden.tensorNames {
            let (file, info) = try #require(golden.tensor(name))
            #expect(plan.tensors.first { $0.name == name }?.shape == info.shape, "\(name)")
            let got = try #require(merged[name], "\(name) not merged")
            let want = try file.floats(info)
            if recipe == "slerp" {
                let scale = want.map(\.magnitude).max() ?? 0
                let worst = zip(got, want).map { ($0 - $1).magnitude }.max() ?? 0
                if worst > 1e-6 * scale { differing.append("\(name): max |diff| \(worst), max |value| \(scale)") }
            } else if let difference = FamilyFixture.difference(got, want) {
                differing.append("\(name): \(difference)")
            }
        }
        #expect(differing.isEmpty, "\(differing.count) tensors differ from mergekit's, first \(differing.first ?? "")")
    }

    /// gemma and qwen3 tie the head to the embedding: neither transformers nor mergekit writes
    /// `lm_head.weight`, and neither does the plan; phi3 and olmo2 merge their own head, phi3 its
    /// fused projections as whole tensors.
    @Test func tiedHeadsAndFusedProjections() throws {
        for family in Self.families {
            let plan = try Fixture.plan(Recipe(contentsOf: FamilyFixture.directory(family) + "/recipes/linear.yml"))
            let hasHead = plan.tensors.contains { $0.name == "lm_head.weight" }
            #expect(hasHead == (family == "phi3" || family == "olmo2"), "\(family)")
        }
        let phi3 = try Fixture.plan(Recipe(contentsOf: FamilyFixture.directory("phi3") + "/recipes/ties.yml"))
        #expect(phi3.layout.layerWeights.contains("self_attn.qkv_proj.weight"))
        #expect(phi3.layout.layerWeights.contains("mlp.gate_up_proj.weight"))
    }
}

enum FamilyFixture {
    static func directory(_ family: String) -> String { Fixture.directory + "/families/\(family)" }

    /// Where two float32 tensors differ in any bit: how many elements, the first, and the largest
    /// distance in units in the last place; nil when they are equal bit for bit.
    static func difference(_ got: [Float], _ want: [Float]) -> String? {
        guard got.count == want.count else { return "\(got.count) elements, mergekit \(want.count)" }
        let differing = zip(got, want).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        guard let first = differing.first else { return nil }
        let ulps = differing.map { abs(Int64(Int32(bitPattern: $0.element.0.bitPattern)) - Int64(Int32(bitPattern: $0.element.1.bitPattern))) }
        return "\(differing.count) of \(got.count) elements, first [\(first.offset)] \(first.element.0) vs \(first.element.1), at most \(ulps.max() ?? 0) ulp"
    }
}
