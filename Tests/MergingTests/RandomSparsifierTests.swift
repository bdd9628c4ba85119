import Foundation
import Testing
@testable import Merging
@testable import Tensors

/// DARE and DELLA draw random masks, so they are checked by their statistics, their L1 rescale,
/// their reproducibility, and by equalling their dense counterparts at density 1.
@Suite struct RandomSparsifierTests {
    static let m = "Tests/MergingTests/Fixtures/models"

    func recipe(_ method: String, density: Double, rescale: Bool? = nil, extra: String = "", models: [String] = ["a"]) throws -> Recipe {
        let list = models.map { "  - model: \(Self.m)/\($0)\n    parameters: {weight: 1.0, density: \(density)\(extra)}" }.joined(separator: "\n")
        let parameters = rescale.map { "parameters:\n  rescale: \($0)\n" } ?? ""
        return try Fixture.recipe(yaml: "merge_method: \(method)\nbase_model: \(Self.m)/base\nmodels:\n\(list)\n\(parameters)dtype: float32\nrandom_seed: 7\n")
    }

    /// Kept entries (nonzero deltas) against the binomial expectation, over the whole model.
    @Test(arguments: [("dare_linear", 0.3, ""), ("dare_linear", 0.8, ""), ("della_linear", 0.4, ", epsilon: 0.1"), ("della_linear", 0.6, ", epsilon: 0.3")])
    func keptFractionIsWithinThreeSigma(method: String, density: Double, extra: String) throws {
        let plan = try Fixture.plan(recipe(method, density: density, rescale: false, extra: extra))
        let merged = try Fixture.merge(plan)
        let base = try ModelFolder(path: Fixture.models + "/base")
        var kept = 0, total = 0
        for tensor in plan.tensors {
            let (file, info) = try #require(base.tensor(tensor.name))
            let b = try file.floats(info)
            for (x, y) in zip(try #require(merged[tensor.name]), b) {
                total += 1
                if x != y { kept += 1 }
            }
        }
        let expected = Double(total) * density
        let sigma = (Double(total) * density * (1 - density)).squareRoot()
        #expect(abs(Double(kept) - expected) <= 3 * sigma, "\(method) d=\(density): kept \(kept) of \(total), expected \(expected) ± \(3 * sigma)")
    }

    /// With rescale (the default for these methods), each tensor's task vector keeps its L1 norm.
    @Test(arguments: [("dare_linear", ""), ("della_linear", ", epsilon: 0.2")])
    func rescaleMatchesTheL1Norm(method: String, extra: String) throws {
        let plan = try Fixture.plan(recipe(method, density: 0.5, extra: extra))
        let merged = try Fixture.merge(plan)
        let base = try ModelFolder(path: Fixture.models + "/base"), tuned = try ModelFolder(path: Fixture.models + "/a")
        for tensor in plan.tensors {
            let b = try base.tensor(tensor.name).map { try $0.file.floats($0.info) } ?? []
            let x = try tuned.tensor(tensor.name).map { try $0.file.floats($0.info) } ?? []
            let out = try #require(merged[tensor.name])
            let before = zip(x, b).reduce(0.0) { $0 + Double(($1.0 - $1.1).magnitude) }
            let after = zip(out, b).reduce(0.0) { $0 + Double(($1.0 - $1.1).magnitude) }
            #expect(abs(after - before) <= 1e-4 * before, "\(tensor.name): \(after) vs \(before)")
        }
    }

    @Test(arguments: ["dare_ties", "della"])
    func sameSeedSameOutputOtherSeedOther(method: String) throws {
        let plan = try Fixture.plan(recipe(method, density: 0.5, models: ["a", "b"]))
        let first = try Fixture.merge(plan, threads: 1)
        let again = try Fixture.merge(plan, threads: 3)
        let other = try Fixture.merge(plan, threads: 2, seed: 8)
        let name = "model.layers.1.mlp.up_proj.weight"
        #expect(first[name]?.map(\.bitPattern) == again[name]?.map(\.bitPattern))
        #expect(first[name] != other[name])
        #expect(first.keys.allSatisfy { first[$0]?.map(\.bitPattern) == again[$0]?.map(\.bitPattern) })
    }

    /// Density 1 turns every sparsifier off: each method equals its dense counterpart exactly.
    @Test(arguments: [("dare_linear", "task_arithmetic", ""), ("dare_ties", "ties", "parameters:\n  normalize: true\n"),
                      ("della", "ties", ""), ("della_linear", "task_arithmetic", "")])
    func densityOneEqualsTheDenseMethod(sparse: String, dense: String, parameters: String) throws {
        func merged(_ method: String) throws -> [String: [Float]] {
            let yaml = """
                merge_method: \(method)
                base_model: \(Self.m)/base
                models:
                  - model: \(Self.m)/a
                    parameters: {weight: 0.7, density: 1.0}
                  - model: \(Self.m)/b
                    parameters: {weight: 0.4, density: 1.0}
                \(method == sparse ? parameters : "")dtype: float32
                """
            return try Fixture.merge(Fixture.plan(Fixture.recipe(yaml: yaml)))
        }
        let a = try merged(sparse), b = try merged(dense)
        #expect(a.count == b.count)
        for (name, values) in a { #expect(values.map(\.bitPattern) == b[name]?.map(\.bitPattern), "\(name)") }
    }

    @Test func philoxKnownAnswers() {
        // Random123 kat_vectors: philox4x32 10 rounds.
        let zero = Philox(seed: 0).block(0, 0, 0, 0)
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8])
        let ones = Philox(seed: UInt64.max).block(.max, .max, .max, .max)
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD])
        let pi = Philox(seed: 0x299F_31D0_A409_3822).block(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344)
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1])
    }
}
