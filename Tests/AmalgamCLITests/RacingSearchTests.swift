import Archive
import Foundation
import Testing

/// Racing through the release binary (DESIGN.md §5b): the same archive on one worker and two and
/// after crashes at commit failpoints, pruned candidates stored as such and kept off the front
/// and the holdout split, and a bad `racing:` block named.
@Suite(.serialized) struct RacingSearchTests {
    final class Runs {
        let path = NSTemporaryDirectory() + "amalgam-racing-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The demo space with absolute paths and racing on: CMA-ES with σ 0.5 and two stages at
    /// confidence 0.5, so that a short search prunes (the demo's first generations are all near
    /// chance, 25–30%; this order seed prunes 2 of 24).
    func space(in runs: Runs, optimizer: String? = nil, racing: String = "racing: {stages: [0.5, 1], confidence: 0.5, seed: 2}") throws -> String {
        var text = try String(contentsOfFile: CLI.repository + "/search-spaces/demo.yaml", encoding: .utf8)
            .replacingOccurrences(of: "../", with: CLI.repository + "/")
            .replacingOccurrences(of: "sigma: 0.25", with: "sigma: 0.5")
        if let optimizer {
            text = text.replacingOccurrences(of: "optimizer: {name: cmaes, population: 8, sigma: 0.25, restarts: ipop, seed: 1}",
                                             with: "optimizer: {name: \(optimizer), population: 6, seed: 2}")
                .replacingOccurrences(of: "optimizer: {name: cmaes, population: 8, sigma: 0.5, restarts: ipop, seed: 1}",
                                      with: "optimizer: {name: \(optimizer), population: 6, seed: 2}")
        }
        let path = runs.path + "/space-\(optimizer ?? "cmaes")-\(UUID().uuidString.prefix(8)).yaml"
        try Data((text + racing + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func archive(_ run: String) throws -> SQLiteArchive { try SQLiteArchive(path: run + "/archive.sqlite", reader: true) }

    /// The dump without the run table, whose worker and thread counts differ by design.
    func results(_ run: String) throws -> String {
        try archive(run).dump().split(separator: "\n").filter { !$0.hasPrefix("run\t") }.joined(separator: "\n")
    }

    func search(_ space: String, _ run: String, evaluations: Int, workers: Int, environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["search", space, "--run", run, "--evaluations", "\(evaluations)", "--workers", "\(workers)"], environment: environment)
    }

    @Test func cmaesRacesAreTheSameOnAnyWorkerCountAndAfterCrashes() throws {
        let runs = try Runs()
        let space = try space(in: runs)
        let two = runs.path + "/two"
        let first = try search(space, two, evaluations: 24, workers: 2)
        #expect(first.status == 0, "\(first.stderr)")
        let reference = try archive(two).dump()
        let candidates = try archive(two).candidates()
        let pruned = candidates.filter { $0.status == .pruned }
        #expect(!pruned.isEmpty, "a racing search of 24 candidates at confidence 0.5 prunes some")
        #expect(candidates.filter(\.status.isFinished).count == 24)

        // Pruned candidates keep their partial calibration scores and n, never holdout scores, and are not on the front.
        let scores = try archive(two).scores(candidate: nil)
        let full = ["add": 150, "rev": 150, "facts": 120]
        for candidate in pruned {
            let own = scores.filter { $0.candidate == candidate.id }
            #expect(!own.isEmpty && own.allSatisfy { $0.split == .calibration && $0.n < (full[$0.task] ?? 0) }, "candidate \(candidate.id)")
        }
        let holdout = Set(scores.filter { $0.split == .holdout }.map(\.candidate))
        #expect(!holdout.isEmpty && holdout.isDisjoint(with: pruned.map(\.id)))
        let front = try CLI.run(["front", two, "--json"])
        #expect(front.status == 0)
        for candidate in pruned { #expect(!front.stdout.contains("\"id\":\(candidate.id),"), "candidate \(candidate.id) on the front") }
        let status = try CLI.run(["status", two, "--json"])
        #expect(status.stdout.contains("\"pruned\":\(pruned.count)") && status.stdout.contains("\"evaluations\":24"), "\(status.stdout)")

        // One worker: the same candidates, stage scores, decisions.
        let one = runs.path + "/one"
        #expect(try search(space, one, evaluations: 24, workers: 1).status == 0)
        #expect(try results(one) == results(two))

        // Crashed after and before commits (proposals, stage scores, prunes, results), resumed.
        for (point, count) in [("after-commit", 9), ("before-commit", 26), ("after-commit", 47), ("before-commit", 66)] {
            let crashed = runs.path + "/\(point)-\(count)"
            let crash = try search(space, crashed, evaluations: 24, workers: 2, environment: ["AMALGAM_FAILPOINT": "\(point):\(count)"])
            #expect(crash.status == Failpoint.exitStatus, "\(point):\(count): \(crash.stderr)")
            let again = try CLI.run(["resume", crashed])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try archive(crashed).dump() == reference, "\(point):\(count)")
        }
    }

    /// Random search prunes against the front told before each candidate was proposed.
    @Test func randomSearchBarsAreTheFrontAtProposalAndSurviveCrashes() throws {
        let runs = try Runs()
        let space = try space(in: runs, optimizer: "random", racing: "racing: {stages: [0.25, 0.5, 1], confidence: 0.5, seed: 5}")
        let two = runs.path + "/two"
        #expect(try search(space, two, evaluations: 18, workers: 2).status == 0)
        let reference = try archive(two).dump()
        #expect(try archive(two).candidates().contains { $0.status == .pruned })
        let one = runs.path + "/one"
        #expect(try search(space, one, evaluations: 18, workers: 1).status == 0)
        #expect(try results(one) == results(two))
        for (point, count) in [("after-commit", 14), ("before-commit", 33)] {
            let crashed = runs.path + "/\(point)-\(count)"
            #expect(try search(space, crashed, evaluations: 18, workers: 2, environment: ["AMALGAM_FAILPOINT": "\(point):\(count)"]).status == Failpoint.exitStatus)
            #expect(try CLI.run(["resume", crashed]).status == 0)
            #expect(try archive(crashed).dump() == reference, "\(point):\(count)")
        }
    }

    @Test func aBadRacingBlockIsNamedAndTheDryRunShowsAGoodOne() throws {
        let runs = try Runs()
        let bad = try space(in: runs, racing: "racing: {stages: [0.5, 0.25, 1]}")
        let refused = try CLI.run(["search", bad, "--run", runs.path + "/bad"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(bad) && refused.stderr.contains("racing.stages[1]") && refused.stderr.contains("does not increase"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: runs.path + "/bad"))
        let dry = try CLI.run(["search", try space(in: runs, racing: "racing: {stages: [0.25, 0.5, 1]}"), "--dry-run"])
        #expect(dry.status == 0 && dry.stdout.contains("racing: stages 25%, 50%, 100%") && dry.stdout.contains("μ = ⌊λ/2⌋"), "\(dry.stdout)")
    }
}
