import Archive
import Foundation
import Testing

/// Searches on other families than Llama (zoo/gemma2-tiny, zoo/qwen3-tiny) and on LoRA adapters
/// (zoo/lora, `search-spaces/demo-lora.yaml`) crash and resume as the demo does (DESIGN.md §4): a 16-evaluation search killed by `AMALGAM_FAILPOINT=after-commit:N`
/// and resumed finishes with every evaluation done once and the archive of the uninterrupted run
/// (same space, seed and workers). The task files are cut to their first 40 examples, as in
/// `SignalSoakTests`. A whole run makes about 40 commits (fewer when genomes that drop every layer
/// fail at decoding, the count varying with the interleaving of holdout work), so N, drawn from a printed seed in 1...30, lands before the end.
@Suite(.serialized) struct FamilySearchResumeTests {
    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-family-search-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static let evaluations = 16

    @Test(arguments: ["gemma2-tiny", "qwen3-tiny", "demo-lora"])
    func crashedAndResumedRunEqualsTheUninterruptedOne(_ name: String) throws {
        var seed = TestSeed("FamilySearchResumeTests \(name)")
        let commit = Int.random(in: 1...30, using: &seed)
        print("\(name): crashing after commit \(commit)")
        let folder = try Folder()
        let space = try SignalSoakTests.demoSpace(in: folder.path, rows: 40, space: name)
        let archives = SearchCommandTests()

        let whole = folder.path + "/whole"
        let uninterrupted = try CLI.run(["search", space, "--run", whole], deadline: 120)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let reference = try archives.dump(whole)
        let status = try SearchFailureTests().statusJSON(whole)
        #expect(status["evaluations"] as? Int == Self.evaluations && status["budget"] as? Int == Self.evaluations, "\(status)")
        // gemma2-tiny's space has keep/drop genes: a genome dropping every layer is the only failure allowed.
        let errors = try SQLiteArchive(path: whole + "/archive.sqlite", reader: true).candidates().compactMap(\.error)
        #expect(errors.allSatisfy { $0 == "genome: drops every layer" }, "candidates of \(name) failed: \(errors)")
        #expect(status["failed"] as? Int == errors.count)

        let crashed = folder.path + "/crashed"
        let crash = try CLI.run(["search", space, "--run", crashed], environment: ["AMALGAM_FAILPOINT": "after-commit:\(commit)"], deadline: 120)
        #expect(crash.status == Failpoint.exitStatus, "after-commit:\(commit): \(crash.stderr)")
        let before = try archives.finished(crashed)
        let resumed = try CLI.run(["resume", crashed], deadline: 120)
        #expect(resumed.status == 0, "after-commit:\(commit): \(resumed.stderr)")
        #expect(try SearchFailureTests().statusJSON(crashed)["evaluations"] as? Int == Self.evaluations)
        #expect(try archives.dump(crashed) == reference, "after-commit:\(commit): the resumed archive differs from the uninterrupted run's")
        let after = try archives.finished(crashed)
        #expect(before.allSatisfy { after[$0.key] == $0.value }, "after-commit:\(commit): a completed evaluation ran again")
        #expect(try SQLiteArchive(path: crashed + "/archive.sqlite", reader: true).integrityCheck() == "ok")
    }
}
