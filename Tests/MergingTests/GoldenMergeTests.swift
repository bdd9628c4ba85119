import Foundation
import Testing
@testable import Merging
@testable import Tensors

/// Outputs compared with what mergekit 0.1.5 made of the same recipes on the same models
/// (tools/make_merge_goldens.py): every tensor within 1e-6 of its largest magnitude.
@Suite struct GoldenMergeTests {
    static let exactCases = ["linear", "task_arithmetic", "ties", "breadcrumbs", "breadcrumbs_ties", "slerp",
                             "nuslerp", "nuslerp_rows", "model_stock", "passthrough"]

    @Test(arguments: exactCases)
    func float32OutputMatchesMergekit(name: String) throws {
        let plan = try Fixture.plan(Fixture.recipe(name))
        let golden = try ModelFolder(path: Fixture.directory + "/golden/\(name)")
        #expect(Set(plan.tensors.map(\.name)) == Set(golden.tensorNames))
        #expect(try plan.layerCount == golden.config?.layerCount)
        let merged = try Fixture.merge(plan)
        var worstRelative: Float = 0
        defer { print("golden \(name): worst |diff| / max |value| = \(worstRelative)") }
        for name in golden.tensorNames {
            let (file, info) = try #require(golden.tensor(name))
            let want = try file.floats(info)
            let got = try #require(merged[name])
            #expect(plan.tensors.first { $0.name == name }?.shape == info.shape)
            let scale = want.map(\.magnitude).max() ?? 0
            let worst = zip(got, want).map { ($0 - $1).magnitude }.max() ?? 0
            #expect(worst <= 1e-6 * scale, "\(name): max |diff| \(worst), max |value| \(scale)")
            if scale > 0 { worstRelative = max(worstRelative, worst / scale) }
        }
    }

    @Test func bfloat16OutputMatchesMergekitToTheUlp() throws {
        let plan = try Fixture.plan(Fixture.recipe("ties_bf16"))
        let directory = try TemporaryDirectory()
        let out = directory.path + "/merged"
        try MergedModelWriter(materializer: Materializer(plan: plan, threads: 2)).write(to: out)
        let ours = try ModelFolder(path: out)
        let golden = try ModelFolder(path: Fixture.directory + "/golden/ties_bf16")
        var total = 0, equal = 0, beyondOneUlp = 0
        for name in golden.tensorNames {
            let (goldenFile, goldenInfo) = try #require(golden.tensor(name))
            let (ourFile, ourInfo) = try #require(ours.tensor(name))
            #expect(goldenInfo.dtype == .bf16 && ourInfo.dtype == .bf16)
            let a = goldenFile.bytes(of: goldenInfo).bindMemory(to: UInt16.self)
            let b = ourFile.bytes(of: ourInfo).bindMemory(to: UInt16.self)
            for (x, y) in zip(a, b) {
                total += 1
                if x == y { equal += 1 } else if abs(Int(Int16(bitPattern: x)) - Int(Int16(bitPattern: y))) > 1 { beyondOneUlp += 1 }
            }
        }
        #expect(total > 100_000)
        #expect(Double(equal) / Double(total) >= 0.999, "\(equal) of \(total) equal")
        #expect(beyondOneUlp == 0)
    }

    @Test func outputDoesNotDependOnThreads() throws {
        for name in ["ties", "breadcrumbs_ties", "nuslerp_rows", "model_stock"] {
            let plan = try Fixture.plan(Fixture.recipe(name))
            let one = try Fixture.merge(plan, threads: 1)
            let three = try Fixture.merge(plan, threads: 3)
            for (key, values) in one {
                #expect(values.map(\.bitPattern) == three[key]?.map(\.bitPattern), "\(name) \(key)")
            }
        }
    }
}
