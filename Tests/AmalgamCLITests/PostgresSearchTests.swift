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
        let bad = try search(runs.path + "/c", store: "postgres://nowhere/db", evaluations: 8)
        #expect(bad.status == 64 && bad.stderr.contains("--store: ") && bad.stderr.contains("add ?run=NAME"), "\(bad.stderr)")
    }
}
