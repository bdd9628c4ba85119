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

    @Test func statusAndFrontNeverFailWhileASearchRuns() throws {
        let runs = try Runs()
        let run = runs.path + "/live"
        let search = try CLI.start(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "400"])
        defer { if search.isRunning { search.terminate() } }
        // Wait for the archive to exist, then poll every 100 ms for 10 s.
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: run + "/archive.sqlite") && Date() < deadline { usleep(50_000) }
        var polls = 0, lastEvaluations = 0
        let end = Date().addingTimeInterval(10)
        while Date() < end && search.isRunning {
            let status = try CLI.run(["status", run, "--json"])
            #expect(status.status == 0, "status: \(status.stderr)")
            let object = try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            #expect(object?["evaluations"] != nil, "status printed \(status.stdout)")
            lastEvaluations = (object?["evaluations"] as? Int) ?? lastEvaluations
            let front = try CLI.run(["front", run, "--json"])
            #expect(front.status == 0, "front: \(front.stderr)")
            #expect((try? JSONSerialization.jsonObject(with: Data(front.stdout.utf8))) is [Any], "front printed \(front.stdout)")
            polls += 1
            usleep(100_000)
        }
        #expect(polls >= 20 && lastEvaluations > 0)
        // SIGINT: the search stops after what is in flight, exit 0, resumable.
        search.interrupt()
        search.waitUntilExit()
        #expect(search.terminationStatus == 0)
        #expect(try SQLiteArchive(path: run + "/archive.sqlite", reader: true).integrityCheck() == "ok")
        let resumed = try CLI.run(["resume", run, "--evaluations", "\(lastEvaluations + 4)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test func killedAtRandomMomentsAndResumedEqualsTheUninterruptedRun() throws {
        let runs = try Runs()
        let whole = runs.path + "/whole"
        #expect(try CLI.run(["search", "search-spaces/demo.yaml", "--run", whole, "--evaluations", "24"]).status == 0)
        let reference = try SQLiteArchive(path: whole + "/archive.sqlite", reader: true).dump()

        let killed = runs.path + "/killed"
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var arguments = ["search", "search-spaces/demo.yaml", "--run", killed, "--evaluations", "24"]
        for _ in 0..<12 {
            let process = try CLI.start(arguments)
            usleep(UInt32.random(in: 200_000...1_500_000, using: &generator))
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
            arguments = ["resume", killed, "--evaluations", "24"]
            if process.terminationReason == .exit && process.terminationStatus == 0 { break }
        }
        let finish = try CLI.run(["resume", killed, "--evaluations", "24"])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(kills > 0)
        let archive = try SQLiteArchive(path: killed + "/archive.sqlite", reader: true)
        #expect(try archive.dump() == reference)
        #expect(try archive.integrityCheck() == "ok")
    }
}
