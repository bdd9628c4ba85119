import Foundation
import Testing
@testable import Archive

/// The PostgreSQL server the tests use: `make test` starts a throwaway cluster
/// (tools/postgres_cluster.sh) and sets `AMALGAM_TEST_POSTGRES` to its URL (a database, no run).
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["AMALGAM_TEST_POSTGRES"]
    static var available: Bool { url != nil }
    static let skipped: Comment = "AMALGAM_TEST_POSTGRES is not set: `make test` starts a throwaway PostgreSQL cluster and sets it"

    /// A store URL for a fresh run of its own (a unique schema), dropped by `Run`'s deinit.
    final class Run {
        let store: PostgresStoreURL
        init(_ name: String = "t") throws {
            let base = try #require(TestPostgres.url)
            let run = name + "-" + UUID().uuidString.prefix(8).lowercased()
            store = try PostgresStoreURL(base + (base.contains("?") ? "&" : "?") + "run=" + run)
        }
        deinit { try? PostgresArchive.drop(store) }
    }
}

/// The same operations on either store (`SQLArchiveStore`), read back: what both stores must agree on.
enum ArchiveScenario {
    static func candidate(_ seq: Int, hash: String? = nil, genome: [Double]? = nil, duplicateOf: Int? = nil) -> CandidateRecord {
        CandidateRecord(id: seq + 1, seq: seq, genome: genome ?? [Double(seq) / 10, 0.1 + 0.2], recipeHash: hash ?? "h\(seq)", recipe: "merge_method: ties\n",
                        status: duplicateOf == nil ? .pending : .duplicate, duplicateOf: duplicateOf, created: 1)
    }

    static func score(_ id: Int, _ value: Double, split: ScoreSplit = .calibration, task: String = "add") -> ScoreRecord {
        ScoreRecord(candidate: id, task: task, split: split, metric: "acc", value: value, stderr: 0.01, n: 150)
    }

    static let exactGenome = [0.1 + 0.2, 1.0 / 3, Double.leastNonzeroMagnitude, 0.9999999999999999, 0, -1e308]

    /// Baselines, proposals with exact genomes, claims, results (done, failed with a NaN, pruned with
    /// stage scores), duplicates before and after their original finished, holdout scores with
    /// per-example values, events and checkpoints — each checked as it is read back.
    static func run(_ archive: some ArchiveStore) throws {
        try archive.setRunInfo(["seed": "1", "space": "a\nb", "created": "now"])
        try archive.propose([CandidateRecord(id: 1, seq: -1, genome: [], recipeHash: "b0", recipe: "merge_method: passthrough\n", created: 1, baseline: "base")], checkpoint: nil)
        try archive.propose([candidate(0, genome: exactGenome).with(id: 2), candidate(1, hash: "x").with(id: 3)],
                            checkpoint: CheckpointRecord(asked: 2, told: 0, state: #"{"v":1}"#))
        try archive.propose([candidate(2, hash: "x", duplicateOf: 3).with(id: 4), candidate(3).with(id: 5)],
                            checkpoint: CheckpointRecord(asked: 4, told: 0, state: #"{"v":2}"#))
        #expect(try archive.latestCheckpoint() == CheckpointRecord(asked: 4, told: 0, state: #"{"v":2}"#))
        #expect(try archive.candidate(id: 2)?.genome.map(\.bitPattern) == exactGenome.map(\.bitPattern))
        #expect(try archive.original(recipeHash: "x")?.id == 3)

        let baseline = try #require(try archive.claim(worker: 0, now: 2))
        #expect(baseline.id == 1 && baseline.status == .running && baseline.worker == 0 && baseline.started == 2)
        try archive.start(candidate: 2, worker: 1, now: 3)
        #expect { try archive.start(candidate: 2, worker: 1, now: 3) } throws: { "\($0)".contains("not pending") }
        try archive.record(candidate: 1, status: .done, error: nil, scores: [score(1, 0.25)],
                           objectives: [ObjectiveRecord(candidate: 1, name: "accuracy", value: 0.25)], now: 4)
        try archive.record(candidate: 2, status: .failed, error: "NaN logits", scores: [score(2, .nan)],
                           objectives: [ObjectiveRecord(candidate: 2, name: "accuracy", value: -.infinity)], now: 5)
        #expect(try archive.scores(candidate: 2).first?.value.isNaN == true)
        #expect(try archive.objectives(candidate: 2) == [ObjectiveRecord(candidate: 2, name: "accuracy", value: -.infinity)])
        #expect(try archive.candidate(id: 2)?.error == "NaN logits")

        let third = try #require(try archive.claim(worker: 0, now: 6))
        #expect(third.id == 3)  // the duplicate (4) is never claimed
        try archive.addStageScores([StageScoreRecord(candidate: 3, stage: 0, task: "add", metric: "acc", value: 0.125, stderr: nil, n: 38)])
        try archive.record(candidate: 3, status: .pruned, error: nil, scores: [score(3, 0.125).with(n: 38)],
                           objectives: [ObjectiveRecord(candidate: 3, name: "accuracy", value: 0.125)], now: 7)
        #expect(try archive.scores(candidate: 4) == [score(4, 0.125).with(n: 38)])
        try archive.propose([candidate(4, hash: "x", duplicateOf: 3).with(id: 6)], checkpoint: CheckpointRecord(asked: 5, told: 3, state: "{}"))
        #expect(try archive.objectives(candidate: 6) == [ObjectiveRecord(candidate: 6, name: "accuracy", value: 0.125)])

        try archive.addScores([score(1, 0.5, split: .holdout), score(1, 0.75, split: .holdout, task: "Rev")],
                              examples: [ExampleScoresRecord(candidate: 1, task: "add", split: .holdout, metric: "acc", values: [1, 0, 0.5, 1e-300])])
        #expect(try archive.exampleScores(candidate: 1, split: .holdout).map(\.values) == [[1, 0, 0.5, 1e-300]])
        #expect(try archive.exampleScores(candidate: 1, split: .calibration).isEmpty)
        // More values than one statement carries (multi-row inserts are split by parameter count).
        let many = (0..<1500).map { Double($0 % 7) / 7 }
        try archive.addScores([], examples: [ExampleScoresRecord(candidate: 3, task: "add", split: .holdout, metric: "acc", values: many)])
        #expect(try archive.exampleScores(candidate: 3, split: .holdout).map(\.values) == [many])
        // A NaN is NULL on both stores: refused alike where a value is required.
        #expect(throws: (any Error).self) {
            try archive.addScores([], examples: [ExampleScoresRecord(candidate: 1, task: "add", split: .calibration, metric: "acc", values: [.nan])])
        }
        // "Rev" sorts before "add" in byte order on both stores, whatever the server's locale.
        #expect(try archive.scores(candidate: 1).map(\.task) == ["Rev", "add", "add"])

        _ = try archive.claim(worker: 1, now: 8)
        #expect(try archive.requeueRunning() == 1)
        try archive.log(EventRecord(time: 9, kind: "stop", message: "signal"))
        #expect(try archive.events() == [EventRecord(time: 9, kind: "stop", message: "signal")])
        #expect(try archive.statusCounts() == [.done: 1, .failed: 1, .pruned: 1, .duplicate: 2, .pending: 1])
        #expect(try archive.checkpointMarks().map(\.asked) == [2, 4, 5])
        #expect(try archive.runInfo()["space"] == "a\nb")
        #expect { try archive.record(candidate: 99, status: .done, error: nil, scores: [], objectives: [], now: 1) } throws: { "\($0)".contains("no candidate 99") }
    }
}

extension CandidateRecord {
    func with(id: Int) -> CandidateRecord {
        var copy = self
        copy.id = id
        return copy
    }
}

extension ScoreRecord {
    func with(n: Int) -> ScoreRecord {
        var copy = self
        copy.n = n
        return copy
    }
}

@Suite struct PostgresArchiveTests {
    @Test func storeURLsNameARunAndHideThePassword() throws {
        let store = try PostgresStoreURL("postgres://ann:secret@db.example:5433/amalgam?sslmode=require&run=night-1")
        #expect(store.run == "night-1" && store.schema == "amalgam_night-1")
        #expect(store.conninfo == "postgres://ann:secret@db.example:5433/amalgam?sslmode=require")
        #expect(store.description == "postgres://ann:***@db.example:5433/amalgam?sslmode=require")
        #expect { try PostgresStoreURL("postgres://db/amalgam") } throws: { "\($0)".contains("add ?run=NAME") }
        #expect { try PostgresStoreURL("postgres://db/amalgam?run=a;drop") } throws: { "\($0)".contains("run 'a;drop'") }
        #expect { try PostgresStoreURL("mysql://db/amalgam?run=a") } throws: { "\($0)".contains("not a PostgreSQL store URL") }
        let parameter = try PostgresStoreURL("postgres://db/amalgam?password=hunter2&run=b")
        #expect(!parameter.description.contains("hunter2") && parameter.conninfo.contains("password=hunter2"))
        #expect { try PostgresStoreURL("postgres://ann:secret@[db/x?run=c") } throws: { "\($0)".contains("not a PostgreSQL store URL") && !"\($0)".contains("secret") }
    }

    @Test func parametersAreNumberedOutsideQuotes() {
        #expect(PostgresDatabase.numberedParameters("SELECT ?, '?', \"a?\" FROM t WHERE a = ? AND b = ?12") == "SELECT $1, '?', \"a?\" FROM t WHERE a = $2 AND b = $12")
    }

    @Test(.enabled(if: TestPostgres.available, TestPostgres.skipped))
    func aRunReadsBackWhatWasWrittenAndDumpsAsSQLiteDoes() throws {
        let run = try TestPostgres.Run()
        let archive = try PostgresArchive(run.store)
        try ArchiveScenario.run(archive)
        let folder = NSTemporaryDirectory() + "amalgam-pg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let sqlite = try SQLiteArchive(path: folder + "/archive.sqlite")
        try ArchiveScenario.run(sqlite)
        let dump = try PostgresArchive(run.store, reader: true).dump()
        #expect(dump == (try sqlite.dump()))
        #expect(dump.contains("score\t2\tadd\tcalibration\tacc\tNaN"))
        #expect(!dump.contains("created"))
    }

    @Test(.enabled(if: TestPostgres.available, TestPostgres.skipped))
    func migratesOnceAndRefusesANewerSchemaOrAMissingRun() throws {
        let run = try TestPostgres.Run()
        #expect(try PostgresArchive.isUnstarted(run.store))
        #expect { try PostgresArchive(run.store, reader: true) } throws: { "\($0)".contains("holds no archive yet for run") }
        do {
            let archive = try PostgresArchive(run.store)
            try archive.setRunInfo(["seed": "1"])
        }
        #expect(try !PostgresArchive.isUnstarted(run.store))
        let again = try PostgresArchive(run.store)
        #expect(try again.runInfo() == ["seed": "1"])
        #expect(try again.connection.scalar("SELECT count(*) FROM amalgam_version")?.int == PostgresArchive.latestVersion)
        try again.connection.query("INSERT INTO amalgam_version VALUES (99)")
        #expect { try PostgresArchive(run.store) } throws: { "\($0)".contains("schema version 99") }
        #expect { try PostgresArchive(run.store, reader: true) } throws: { "\($0)".contains("newer than this Amalgam") }
    }

    @Test(.enabled(if: TestPostgres.available, TestPostgres.skipped))
    func aTransactionSendsItsBeginWithItsFirstStatementAndRollsBackOnFailure() throws {
        let run = try TestPostgres.Run()
        let database = try PostgresArchive(run.store).connection
        try database.query("CREATE TEMP TABLE t (a int PRIMARY KEY)")
        /// True when no transaction is open: a SAVEPOINT is refused outside one.
        func outsideTransaction() -> Bool {
            do {
                try database.execute("SAVEPOINT probe")
                return false
            } catch {
                return "\(error)".contains("SAVEPOINT can only be used in transaction blocks")
            }
        }
        // A failure in the statement that carries the BEGIN, and one after it: nothing kept either time.
        #expect(throws: PostgresError.self) { try database.transaction { try database.query("INSERT INTO missing VALUES (1)") } }
        #expect(throws: PostgresError.self) {
            try database.transaction {
                try database.query("INSERT INTO t VALUES (?)", [.integer(1)])
                try database.query("INSERT INTO t VALUES (?)", [.integer(1)])
            }
        }
        #expect(outsideTransaction())
        #expect(try database.scalar("SELECT count(*) FROM t")?.int == 0)
        let kept = try database.transaction {
            try database.query("INSERT INTO t VALUES (?), (?)", [.integer(2), .integer(3)])
            return try database.scalar("SELECT count(*) FROM t")?.int
        }
        #expect(kept == 2)
        // A body that runs no statement sends nothing, and leaves nothing for the next statement.
        try database.transaction {}
        #expect(database.deferredCount == 0)
        #expect(outsideTransaction())
        #expect(try database.scalar("SELECT count(*) FROM t")?.int == 2)
    }

    /// A coordinator that listens hears of a job a worker finished on another connection, and only
    /// once; a job taken from its worker notifies nobody.
    @Test(.enabled(if: TestPostgres.available, TestPostgres.skipped))
    func aFinishedJobNotifiesTheListeningCoordinator() throws {
        let run = try TestPostgres.Run()
        let coordinator = try PostgresArchive(run.store)
        try coordinator.propose([ArchiveScenario.candidate(0).with(id: 1)], checkpoint: nil)
        let session = try coordinator.beginSession()
        try coordinator.listenForFinishedJobs()
        #expect(try !coordinator.waitForFinishedJobs(timeout: 0))
        let worker = try PostgresArchive(run.store)
        try worker.register(worker: "w", resources: "{}")
        let first = try coordinator.enqueue(session: session, candidate: 1, split: .calibration, slice: nil)
        let claimed = try #require(try worker.claimJob(worker: "w", lease: 60))
        #expect(claimed.id == first)
        #expect(try worker.finish(job: first, worker: "w", outcome: "{}"))
        #expect(try coordinator.waitForFinishedJobs(timeout: 30))
        #expect(try !coordinator.waitForFinishedJobs(timeout: 0))
        #expect(try coordinator.collectFinished(session: session).map(\.id) == [first])
        // Dropped before its worker finished: the finish is refused and sends nothing.
        let second = try coordinator.enqueue(session: session, candidate: 1, split: .holdout, slice: nil)
        _ = try #require(try worker.claimJob(worker: "w", lease: 60))
        #expect(try coordinator.dropUnfinished(session: session) == [second])
        #expect(try !worker.finish(job: second, worker: "w", outcome: "{}"))
        #expect(try !coordinator.waitForFinishedJobs(timeout: 0.2))
    }

    @Test func anUnreachableServerIsOneClearError() throws {
        let store = try PostgresStoreURL("postgresql://postgres@/amalgam?host=/nonexistent-amalgam-socket&run=x")
        #expect { try PostgresArchive(store) } throws: { error in
            "\(error)".hasPrefix("postgresql://postgres@/amalgam?host=/nonexistent-amalgam-socket: PostgreSQL error: ")
        }
    }
}
