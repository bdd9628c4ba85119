import Archive
import Foundation
import Testing

/// `amalgam search --store postgres://…` on the demo zoo through the release binary: the archive
/// on the server equals the SQLite run's of the same seed (DESIGN.md §4's dump, store-independent),
/// crashed-and-resumed runs too, and status, front and export read it through the run folder.
/// Needs the throwaway cluster `make test` starts (AMALGAM_TEST_POSTGRES).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["AMALGAM_TEST_POSTGRES"] != nil,
                             "AMALGAM_TEST_POSTGRES is not set: `make test` starts a throwaway PostgreSQL cluster and sets it"))
struct PostgresSearchTests {
    final class Runs {
        let path = NSTemporaryDirectory() + "amalgam-pg-search-" + UUID().uuidString
        var stores: [PostgresStoreURL] = []
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit {
            try? FileManager.default.removeItem(atPath: path)
            for store in stores { try? PostgresArchive.drop(store) }
        }

        /// A store URL naming a run of its own on the test server.
        func store(_ name: String) throws -> String {
            let base = try #require(ProcessInfo.processInfo.environment["AMALGAM_TEST_POSTGRES"])
            let url = base + (base.contains("?") ? "&" : "?") + "run=\(name)-" + UUID().uuidString.prefix(8).lowercased()
            stores.append(try PostgresStoreURL(url))
            return url
        }
    }

    func search(_ run: String, store: String?, evaluations: Int = 40, extra: [String] = [], environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.run(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "\(evaluations)", "--workers", "2"]
                    + (store.map { ["--store", $0] } ?? []) + extra, environment: environment)
    }

    func dump(store: String) throws -> String {
        try PostgresArchive(PostgresStoreURL(store), reader: true).dump()
    }

    /// A dump without its `run` lines, which record the layout (workers, threads): what a run with
    /// remote workers shares with a local one.
    func results(_ dump: String) -> String {
        dump.split(separator: "\n").filter { !$0.hasPrefix("run\t") }.joined(separator: "\n")
    }

    /// The first line where two dumps differ, for a failure message.
    func difference(_ a: String, _ b: String) -> String {
        let x = a.split(separator: "\n"), y = b.split(separator: "\n")
        guard let index = Array(zip(x, y)).firstIndex(where: { $0.0 != $0.1 }) else { return "lengths \(x.count) and \(y.count)" }
        return "line \(index): \(x[index].prefix(300))\n  vs \(y[index].prefix(300))"
    }

    @Test func aPostgresRunEqualsTheSQLiteRunAndResumesAfterCrashes() throws {
        let runs = try Runs()
        let sqlite = runs.path + "/sqlite"
        #expect(try search(sqlite, store: nil).status == 0)
        let reference = try SQLiteArchive(path: sqlite + "/archive.sqlite", reader: true).dump()

        let store = try runs.store("whole")
        let whole = runs.path + "/whole"
        let first = try search(whole, store: store)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: whole + "/archive.sqlite"))
        #expect(try String(contentsOfFile: whole + "/store.url", encoding: .utf8) == store + "\n")
        #expect(try dump(store: store) == reference)

        for (point, count) in [("after-commit", 5), ("before-commit", 12), ("after-commit", 41)] {
            let crashedStore = try runs.store("\(point)-\(count)")
            let crashed = runs.path + "/\(point)-\(count)"
            let crash = try search(crashed, store: crashedStore, environment: ["AMALGAM_FAILPOINT": "\(point):\(count)"])
            #expect(crash.status == Failpoint.exitStatus, "\(point):\(count): \(crash.stderr)")
            let again = try CLI.run(["resume", crashed, "--evaluations", "40"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try dump(store: crashedStore) == reference, "\(point):\(count)")
        }

        // The readers find the store through the run folder.
        let status = try CLI.run(["status", whole, "--json"])
        #expect(status.status == 0 && status.stdout.contains("\"evaluations\":40"), "\(status.stdout)\(status.stderr)")
        let front = try CLI.run(["front", whole, "--json"])
        #expect(front.status == 0 && front.stdout.contains("\"baseline\""), "\(front.stderr)")
        let sqliteFront = try CLI.run(["front", sqlite, "--json"])
        #expect(front.stdout == sqliteFront.stdout)
        let export = try CLI.run(["export", whole, "--best"])
        #expect(export.status == 0, "\(export.stderr)")
    }

    @Test func anExistingRunOnTheServerIsRefusedUnlessForced() throws {
        let runs = try Runs()
        let store = try runs.store("again")
        #expect(try search(runs.path + "/a", store: store, evaluations: 8).status == 0)
        let refused = try search(runs.path + "/b", store: store, evaluations: 8)
        #expect(refused.status == 1 && refused.stderr.contains("already holds run '") && !refused.stderr.contains("\n "), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: runs.path + "/b"))
        let forced = try search(runs.path + "/b", store: store, evaluations: 8, extra: ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        // The space's own `store:` names the store when --store does not.
        let spaced = try runs.store("spaced")
        let demo = try String(contentsOfFile: CLI.repository + "/search-spaces/demo.yaml", encoding: .utf8)
        let space = runs.path + "/stored.yaml"
        try (demo.replacingOccurrences(of: "../", with: CLI.repository + "/") + "store: \"\(spaced)\"\n").write(toFile: space, atomically: true, encoding: .utf8)
        let fromSpace = try CLI.run(["search", space, "--run", runs.path + "/d", "--evaluations", "8", "--workers", "2"])
        #expect(fromSpace.status == 0, "\(fromSpace.stderr)")
        #expect(try String(contentsOfFile: runs.path + "/d/store.url", encoding: .utf8) == spaced + "\n")
        #expect(!FileManager.default.fileExists(atPath: runs.path + "/d/archive.sqlite"))
        let bad = try search(runs.path + "/c", store: "postgres://nowhere/db", evaluations: 8)
        #expect(bad.status == 64 && bad.stderr.contains("--store: ") && bad.stderr.contains("add ?run=NAME"), "\(bad.stderr)")
    }

    func worker(_ store: String, name: String, environment: [String: String] = [:], idle: String = "60s") throws -> CLI.Launched {
        try CLI.start(["worker", "--store", store, "--threads", "1", "--name", name, "--exit-when-idle", idle], environment: environment)
    }

    /// Waits (at most `seconds`) until `condition` holds, polling every 100 ms.
    func eventually(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < end else { throw CLI.DeadlineExceeded(arguments: [what], seconds: seconds, lastOutput: "") }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// DESIGN.md §6: one coordinator with no local workers and three `amalgam worker` processes give
    /// the single-process SQLite run's archive; so do a worker killed (SIGKILL) mid-job, whose lease
    /// runs out and whose job another worker runs (seen in `status`), and a coordinator killed and
    /// resumed while the workers go on. `status --json` and `front --json`, polled every 100 ms
    /// during the run, never fail; a second coordinator and a worker whose files differ are refused.
    @Test func remoteWorkersGiveTheSingleProcessArchiveThroughKills() throws {
        let runs = try Runs()
        let sqlite = runs.path + "/sqlite"
        #expect(try search(sqlite, store: nil).status == 0)
        let reference = try SQLiteArchive(path: sqlite + "/archive.sqlite", reader: true).dump()

        // Three workers, one of which hangs holding its third job until it is killed.
        let store = try runs.store("remote")
        let run = runs.path + "/remote"
        let coordinator = try CLI.start(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "40", "--workers", "0", "--store", store])
        var workers = [try worker(store, name: "w1", environment: ["AMALGAM_WORKER_HOLD": "3"]), try worker(store, name: "w2"), try worker(store, name: "w3")]
        // However the test ends, nothing it started outlives it.
        defer { for process in [coordinator] + workers where process.isRunning { process.signal(SIGKILL) } }
        var polls = 0
        try eventually(120, "w1 holding a job") {
            if FileManager.default.fileExists(atPath: run + "/space.yaml") {
                // Readers during the run: never an error.
                for command in ["status", "front"] {
                    let read = try CLI.run([command, run, "--json"])
                    #expect(read.status == 0 || read.stderr.contains("holds no archive yet"), "\(command): \(read.stderr)")
                }
                polls += 1
            }
            return workers[0].stderr.contains("holding job")
        }
        workers[0].signal(SIGKILL)
        #expect(workers[0].ended(within: 30))
        workers.append(try worker(store, name: "w4"))
        let finished = try coordinator.wait(deadline: 300)
        #expect(finished.status == 0, "\(finished.stderr)")
        for worker in workers.dropFirst() { #expect(try worker.wait(deadline: 60).status == 0, "\(worker.lastOutput)") }
        let remoteDump = results(try dump(store: store))
        #expect(remoteDump == results(reference), "\(difference(remoteDump, results(reference)))")
        let status = try CLI.run(["status", run, "--json"])
        #expect(status.stdout.contains("\"leases_expired\":1"), "\(status.stdout)")
        #expect(polls > 0)

        // The launch recipes' generated commands run as they are (the run has stopped: each worker
        // connects, finds no job left and ends).
        for (kind, environment) in [("slurm", ["SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "0"]), ("k8s", ["JOB_COMPLETION_INDEX": "0"])] {
            let recipe = try shell(CLI.repository + "/tools/launch_workers.sh", [kind, store, "2", "1"])
            #expect(recipe.status == 0, "\(recipe.output)")
            let script: String
            if kind == "slurm" {
                script = recipe.output
                #expect(script.contains("#SBATCH --array=0-1"))
            } else {
                #expect(recipe.output.contains("completionMode: Indexed") && recipe.output.contains("completions: 2"))
                let line = try #require(recipe.output.split(separator: "\n").first { $0.contains("- exec amalgam worker") })
                script = String(line.drop { $0 != "e" })
            }
            let path = runs.path + "/\(kind).sh"
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            let ran = try shell("/bin/bash", [path], environment: environment.merging(["PATH": URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().path + ":/usr/bin:/bin"]) { a, _ in a })
            #expect(ran.status == 0 && ran.output.contains("no job is left"), "\(kind): \(ran.output)")
        }

        // The coordinator killed mid-run and resumed, the workers going on meanwhile.
        let killedStore = try runs.store("killed")
        let killed = runs.path + "/killed"
        let first = try CLI.start(["search", "search-spaces/demo.yaml", "--run", killed, "--evaluations", "40", "--workers", "0", "--store", killedStore])
        let steady = [try worker(killedStore, name: "k1", idle: "60s"), try worker(killedStore, name: "k2", idle: "60s")]
        defer { for process in [first] + steady where process.isRunning { process.signal(SIGKILL) } }
        try eventually(120, "15 evaluations") {
            let read = try CLI.run(["status", killed, "--json"])
            return read.stdout.range(of: #""evaluations":(1[5-9]|[2-9][0-9])"#, options: .regularExpression) != nil
        }
        // A copy of the run folder elsewhere cannot coordinate the same run meanwhile.
        let copy = runs.path + "/copy"
        try FileManager.default.copyItem(atPath: killed, toPath: copy)
        try? FileManager.default.removeItem(atPath: copy + "/archive.lock")
        let second = try CLI.run(["resume", copy])
        #expect(second.status == 1 && second.stderr.contains("already has a coordinator"), "\(second.stderr)")
        first.signal(SIGKILL)
        #expect(first.ended(within: 30))
        let resumed = try CLI.run(["resume", killed], deadline: 300)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        for worker in steady { #expect(try worker.wait(deadline: 90).status == 0, "\(worker.lastOutput)") }
        let killedDump = results(try dump(store: killedStore))
        #expect(killedDump == results(reference), "\(difference(killedDump, results(reference)))")

        // A worker whose model files differ from the run's is refused before any job.
        let zoo = runs.path + "/zoo"
        try FileManager.default.createDirectory(atPath: zoo, withIntermediateDirectories: true)
        for model in ["base", "add", "rev", "facts"] { try FileManager.default.copyItem(atPath: CLI.repository + "/zoo/" + model, toPath: zoo + "/" + model) }
        let config = zoo + "/add/config.json"
        try (try String(contentsOfFile: config, encoding: .utf8) + " ").write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["worker", "--store", store, "--exit-when-idle", "1s", "--path-map", CLI.repository + "/zoo/=" + zoo + "/"])
        #expect(refused.status == 1 && refused.stderr.contains("add") && refused.stderr.contains("changed since the run began"), "\(refused.stderr)")
    }

    /// A coordinator with no worker alive still honours its time budget (the jobs nobody started
    /// are taken back), and `--force` elsewhere cannot drop the run while it lives.
    @Test func aCoordinatorWithoutWorkersStopsAtItsTimeAndCannotBeForcedAway() throws {
        let runs = try Runs()
        let store = try runs.store("alone")
        let run = runs.path + "/alone"
        let coordinator = try CLI.start(["search", "search-spaces/demo.yaml", "--run", run, "--evaluations", "40", "--workers", "0", "--store", store, "--time", "4s"])
        defer { if coordinator.isRunning { coordinator.signal(SIGKILL) } }
        try eventually(60, "the run's archive") { FileManager.default.fileExists(atPath: run + "/store.url") && (try? PostgresArchive.isUnstarted(PostgresStoreURL(store))) == false }
        let forced = try search(runs.path + "/other", store: store, evaluations: 8, extra: ["--force"])
        #expect(forced.status == 1 && forced.stderr.contains("has a live coordinator"), "\(forced.stderr)")
        let ended = try coordinator.wait(deadline: 120)
        #expect(ended.status == 0, "\(ended.stderr)")
        let status = try CLI.run(["status", run, "--json"])
        #expect(status.stdout.contains("\"evaluations\":0") && status.stdout.contains("\"running\":0"), "\(status.stdout)")
    }

    /// Runs a program (at most 60 s, then killed) and returns its status and both outputs together.
    func shell(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let file = NSTemporaryDirectory() + "amalgam-shell-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: file, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        if exited.wait(timeout: .now() + 60) == .timedOut {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
        }
        let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return (process.isRunning ? -1 : process.terminationStatus, output)
    }
}
