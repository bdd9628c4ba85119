import Archive
import Foundation
import Testing

/// Stopping a search any way a user or a machine can (DESIGN.md §5b), many times: SIGINT and
/// SIGTERM at random moments end every process within 15 s with status 0, SIGKILL ends it
/// wherever it is, a second SIGINT ends it at once with status 130, and resuming after each finishes with the archive of an uninterrupted run
/// (DESIGN.md §4 dump), sound, and without running a finished evaluation again.
///
/// The demo space and zoo, with each task file cut to its first 40 examples so that 60 signalled
/// processes fit in the test budget (the coordinator's logic does not depend on the task size).
/// Each kind runs chains until 20 processes (10 for the double SIGINT) have been signalled; a chain starts a search
/// and signals it, then resumes and signals again, up to 5 times (fewer when the run reaches its
/// end first), then resumes to the end. Moments are drawn (from a printed seed)
/// uniformly over a third of the uninterrupted run's length after the process is ready, so the
/// 20 moments of a kind land all over the run: proposals, evaluations, holdout scoring of the
/// front, the final drain.
@Suite(.serialized) struct SignalSoakTests {
    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-soak-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static let evaluations = "24"
    static let signalsPerChain = 5

    /// A space over the demo tasks (search-spaces/`space`.yaml, whose fitness is ../fitness/demo.yaml)
    /// with absolute paths and a fitness file whose task files hold `rows` examples each.
    static func demoSpace(in folder: String, rows: Int, space spaceName: String = "demo") throws -> String {
        let fitnessText = try String(contentsOfFile: CLI.repository + "/fitness/demo.yaml", encoding: .utf8)
        for name in ["add", "rev", "facts"] {
            for split in ["calib", "test"] {
                let file = "\(name).\(split).jsonl"
                let lines = try String(contentsOfFile: CLI.repository + "/fitness/" + file, encoding: .utf8).split(separator: "\n").prefix(rows)
                try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/" + file))
            }
        }
        try Data(fitnessText.utf8).write(to: URL(fileURLWithPath: folder + "/fitness.yaml"))
        let demo = try String(contentsOfFile: CLI.repository + "/search-spaces/\(spaceName).yaml", encoding: .utf8)
        let space = folder + "/space.yaml"
        try Data(demo.replacingOccurrences(of: "../fitness/demo.yaml", with: folder + "/fitness.yaml")
            .replacingOccurrences(of: "../", with: CLI.repository + "/").utf8).write(to: URL(fileURLWithPath: space))
        return space
    }

    /// The first line where two archive dumps differ, both sides, for a failure message.
    static func firstDifference(_ ours: String, _ reference: String) -> String {
        let a = ours.split(separator: "\n", omittingEmptySubsequences: false), b = reference.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) where i >= a.count || i >= b.count || a[i] != b[i] {
            return "line \(i + 1): resumed \(i < a.count ? String(a[i].prefix(300)) : "(end)") | uninterrupted \(i < b.count ? String(b[i].prefix(300)) : "(end)")"
        }
        return "no line differs"
    }

    static func archive(_ run: String) throws -> SQLiteArchive { try SQLiteArchive(path: run + "/archive.sqlite", reader: true) }

    /// Whether the run's archive exists and was initialized (a signal can land before that).
    static func started(_ run: String) -> Bool { !SQLiteArchive.isUnstarted(path: run + "/archive.sqlite") }

    /// Finish times of finished candidates: an evaluation run again would change its row.
    static func finished(_ run: String) throws -> [Int: Double] {
        guard started(run) else { return [:] }
        var times: [Int: Double] = [:]
        for candidate in try archive(run).candidates() where candidate.status == .done || candidate.status == .failed {
            times[candidate.id] = candidate.finished
        }
        return times
    }

    /// Waits until the process has printed its first line (its signal handlers are installed by
    /// then) or has ended.
    static func waitUntilReady(_ process: CLI.Launched) throws {
        let deadline = Date().addingTimeInterval(120)
        while !process.stdout.contains("searching ") && process.isRunning {
            guard Date() < deadline else {
                process.signal(SIGKILL)
                throw CLI.DeadlineExceeded(arguments: process.arguments, seconds: 120, lastOutput: process.lastOutput)
            }
            usleep(10_000)
        }
    }

    @Test func signalsAtRandomMomentsThenResumeEqualTheUninterruptedRun() throws {
        let folder = try Folder()
        let space = try Self.demoSpace(in: folder.path, rows: 40)
        let whole = folder.path + "/whole"
        let reference = try CLI.start(["search", space, "--run", whole, "--evaluations", Self.evaluations])
        try Self.waitUntilReady(reference)
        let readyAt = Date()
        let finished = try reference.wait(deadline: CLI.defaultDeadline)
        #expect(finished.status == 0, "\(reference.lastOutput)")
        let length = Date().timeIntervalSince(readyAt)
        let expected = try Self.archive(whole).dump()

        var random = TestSeed("signal soak")
        var summary: [String] = []
        // A second SIGINT 20 ms after the first exits at once (status 130), still resumable.
        for (name, number, count) in [("SIGINT", SIGINT, 20), ("SIGTERM", SIGTERM, 20), ("SIGKILL", SIGKILL, 20), ("SIGINT twice", SIGINT, 10)] {
            let twice = name.hasSuffix("twice")
            var signalled = 0, endedFirst = 0, holdoutHits = 0, evaluationHits = 0, chain = 0
            while signalled < count && chain < 3 * count {
                chain += 1
                let run = folder.path + "/\(name.replacingOccurrences(of: " ", with: "-"))-\(chain)"
                var arguments = ["search", space, "--run", run, "--evaluations", Self.evaluations]
                for _ in 0..<min(Self.signalsPerChain, count - signalled) {
                    let before = try Self.finished(run)
                    let process = try CLI.start(arguments)
                    arguments = ["resume", run]
                    try Self.waitUntilReady(process)
                    if process.ended(within: Double.random(in: 0...(length / 3), using: &random)) {
                        // The run reached its end before the moment: this chain is over.
                        endedFirst += 1
                        #expect(try process.wait(deadline: 1).status == 0, "\(process.lastOutput)")
                        break
                    }
                    process.signal(number)
                    signalled += 1
                    if twice {
                        usleep(20_000)
                        process.signal(number)
                    }
                    let result = try process.wait(deadline: 15)
                    if !result.signaled && result.status == 0 && result.stdout.contains("search ended: the evaluation budget is spent") {
                        // The run spent its budget as the signal came: it was already past stopping
                        // (printing its front, closing the archive) and ended as it would have.
                        signalled -= 1
                        endedFirst += 1
                        let after = try Self.finished(run)
                        #expect(before.allSatisfy { after[$0.key] == $0.value }, "\(name) chain \(chain): a finished evaluation ran again")
                        break
                    }
                    if twice {
                        // 0 when the first stop was complete before the second signal came.
                        #expect(!result.signaled && (result.status == 130 || result.status == 0), "\(name) chain \(chain): status \(result.status)\n\(process.lastOutput)")
                        #expect(result.status == 0 || result.stderr.contains("stopped at once; resume with: amalgam resume"), "\(result.stderr)")
                    } else if number == SIGKILL {
                        #expect(result.signaled && result.status == SIGKILL, "\(name) chain \(chain): \(process.lastOutput)")
                    } else {
                        #expect(!result.signaled && result.status == 0, "\(name) chain \(chain): status \(result.status)\n\(process.lastOutput)")
                        #expect(result.stdout.contains("resume with: amalgam resume"), "\(result.stdout)")
                        let stop = Self.started(run) ? try Self.archive(run).events().last { $0.kind == "stop" }?.message ?? "" : ""
                        if stop.contains("abandoned") {
                            if !stop.contains(" 0 holdout") { holdoutHits += 1 }
                            if !stop.contains(" 0 evaluations") { evaluationHits += 1 }
                        }
                    }
                    let after = try Self.finished(run)
                    #expect(before.allSatisfy { after[$0.key] == $0.value }, "\(name) chain \(chain): a finished evaluation ran again")
                    if Self.started(run) { #expect(try Self.archive(run).integrityCheck() == "ok") }
                }
                let last = try CLI.run(["resume", run])
                #expect(last.status == 0, "\(name) chain \(chain): \(last.stderr)")
                let dump = try Self.archive(run).dump()
                #expect(dump == expected, "\(name) chain \(chain): the archive differs from the uninterrupted run's: \(Self.firstDifference(dump, expected))")
                #expect(try Self.archive(run).integrityCheck() == "ok")
            }
            #expect(signalled == count, "\(name): \(signalled) processes signalled in \(chain) chains")
            summary.append("\(name): \(signalled) signalled in \(chain) chains (\(evaluationHits) with evaluations and \(holdoutHits) with holdout scoring in flight), \(endedFirst) runs ended before their moment")
        }
        print("signal soak over a run of \(Int(length * 1000)) ms: " + summary.joined(separator: "; "))
    }
}
