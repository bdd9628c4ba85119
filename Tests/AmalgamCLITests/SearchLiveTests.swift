import Archive
import Foundation
import Testing

/// A search as a process: read while it writes, stopped by a signal, killed and resumed.
@Suite(.serialized) struct SearchLiveTests {
    final class Runs {
        let path = NSTemporaryDirectory() + "amalgam-live-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    struct NoProgress: Error, CustomStringConvertible {
        let description: String
    }

    /// Waits until `condition` holds, checking every 50 ms, for at most `seconds` (then throws
    /// with `what`): a guard against a hang, not a statement about speed.
    static func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else { throw NoProgress(description: "\(what) did not happen within \(Int(seconds)) s") }
            usleep(50_000)
        }
    }

    @Test func statusAndFrontNeverFailWhileASearchRuns() throws {
        let runs = try Runs()
        let run = runs.path + "/live"
        let search = try CLI.start(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "400"])
        try Self.waitFor("the archive's creation", seconds: 60) { FileManager.default.fileExists(atPath: run + "/archive.sqlite") || !search.isRunning }
        // Poll every 100 ms until the search has visibly progressed three times: every poll succeeds.
        var seen: Set<Int> = [], polls = 0
        try Self.waitFor("three distinct evaluation counts in status", seconds: 120) {
            guard search.isRunning else { throw NoProgress(description: "the search ended early:\n\(search.lastOutput)") }
            let status = try CLI.run(["status", run, "--json"], deadline: 60)
            #expect(status.status == 0, "status: \(status.stderr)")
            let object = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(object?["evaluations"] != nil, "status printed \(status.stdout)")
            if let evaluations = object?["evaluations"] as? Int, evaluations > 0 { seen.insert(evaluations) }
            let front = try CLI.run(["front", run, "--json"], deadline: 60)
            #expect(front.status == 0, "front: \(front.stderr)")
            #expect((try? JSONSerialization.jsonObject(with: Data(front.stdout.utf8))) is [Any], "front printed \(front.stdout)")
            polls += 1
            usleep(100_000)
            return seen.count >= 3
        }
        // SIGINT: the search stops, exit 0, resumable.
        search.signal(SIGINT)
        let stopped = try search.wait(deadline: 15)
        #expect(stopped.status == 0 && !stopped.signaled, "\(search.lastOutput)")
        #expect(stopped.stdout.contains("amalgam resume"), "\(stopped.stdout)")
        #expect(try SQLiteArchive(path: run + "/archive.sqlite", reader: true).integrityCheck() == "ok")
        let evaluations = try SQLiteArchive(path: run + "/archive.sqlite", reader: true).statusCounts()
            .filter { $0.key == .done || $0.key == .failed }.values.reduce(0, +)
        let resumed = try CLI.run(["resume", run, "--evaluations", "\(evaluations + 4)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test func killedAtRandomMomentsAndResumedEqualsTheUninterruptedRun() throws {
        let runs = try Runs()
        let whole = runs.path + "/whole"
        #expect(try CLI.run(["search", "search-spaces/demo.yaml", "--run", whole, "--evaluations", "24"]).status == 0)
        let reference = try SQLiteArchive(path: whole + "/archive.sqlite", reader: true).dump()

        let killed = runs.path + "/killed"
        var generator = TestSeed("killedAtRandomMoments")
        var kills = 0
        let search = ["search", "search-spaces/demo.yaml", "--run", killed, "--evaluations", "24"]
        // A kill before the search froze its space (startup on a loaded machine can take longer
        // than the earliest kill) leaves no run to resume: that one is searched again, as a user
        // would; every later kill is resumed.
        func next() -> [String] {
            FileManager.default.fileExists(atPath: killed + "/space.yaml") ? ["resume", killed, "--evaluations", "24"] : search
        }
        for _ in 0..<12 {
            let process = try CLI.start(next())
            if !process.ended(within: Double.random(in: 0.2...1.5, using: &generator)) {
                process.signal(SIGKILL)
                kills += 1
            }
            let result = try process.wait(deadline: 60)
            if !result.signaled && result.status == 0 { break }
        }
        let finish = try CLI.run(next())
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(kills > 0)
        let archive = try SQLiteArchive(path: killed + "/archive.sqlite", reader: true)
        #expect(try archive.dump() == reference)
        #expect(try archive.integrityCheck() == "ok")
    }
}
