import Foundation
import Testing
@testable import Archive

@Suite struct SQLiteArchiveTests {
    final class Folder {
        let path = NSTemporaryDirectory() + "amalgam-archive-" + UUID().uuidString
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        var archive: String { path + "/archive.sqlite" }
    }

    func candidate(_ seq: Int, hash: String? = nil, genome: [Double]? = nil, duplicateOf: Int? = nil) -> CandidateRecord {
        CandidateRecord(id: seq + 1, seq: seq, genome: genome ?? [Double(seq) / 10, 0.1 + 0.2], recipeHash: hash ?? "h\(seq)", recipe: "merge_method: ties\n",
                        status: duplicateOf == nil ? .pending : .duplicate, duplicateOf: duplicateOf, created: 1)
    }

    func score(_ id: Int, _ value: Double) -> ScoreRecord {
        ScoreRecord(candidate: id, task: "add", split: .calibration, metric: "acc", value: value, stderr: 0.01, n: 150)
    }

    @Test func migratesOnceAndRefusesANewerSchema() throws {
        let folder = try Folder()
        do {
            let archive = try SQLiteArchive(path: folder.archive)
            #expect(try archive.database.userVersion == SQLiteArchive.migrations.latestVersion)
            #expect(try archive.database.scalar("PRAGMA journal_mode")?.string == "wal")
        }
        // Opening again applies nothing and keeps the data.
        let again = try SQLiteArchive(path: folder.archive)
        try again.setRunInfo(["seed": "1"])
        try again.database.execute("PRAGMA user_version = 99")
        #expect { try SQLiteArchive(path: folder.archive) } throws: { "\($0)".contains("schema version 99") }
        #expect { try SQLiteArchive(path: folder.archive, reader: true) } throws: { "\($0)".contains("newer than this Amalgam") }
        #expect { try SQLiteArchive(path: folder.path + "/none.sqlite", reader: true) } throws: { "\($0)".contains("no archive here") }
    }

    @Test func candidatesGoFromPendingToDoneWithExactGenomes() throws {
        let folder = try Folder()
        let archive = try SQLiteArchive(path: folder.archive)
        let genome = [0.1 + 0.2, 1.0 / 3, Double.leastNonzeroMagnitude, 0.9999999999999999, 0]
        try archive.propose([candidate(0, genome: genome), candidate(1)], checkpoint: CheckpointRecord(asked: 2, told: 0, state: #"{"v":1}"#))
        #expect(try archive.candidate(id: 1)?.genome.map(\.bitPattern) == genome.map(\.bitPattern))
        let first = try #require(try archive.claim(worker: 0, now: 5))
        #expect(first.seq == 0 && first.status == .running && first.worker == 0 && first.started == 5)
        let second = try #require(try archive.claim(worker: 1, now: 6))
        #expect(second.seq == 1)
        #expect(try archive.claim(worker: 0, now: 7) == nil)
        try archive.record(candidate: first.id, status: .done, error: nil, scores: [score(first.id, 0.5)],
                           objectives: [ObjectiveRecord(candidate: first.id, name: "accuracy", value: 0.5)], now: 8)
        try archive.record(candidate: second.id, status: .failed, error: "NaN logits", scores: [], objectives: [], now: 9)
        #expect(try archive.statusCounts() == [.done: 1, .failed: 1])
        #expect(try archive.scores(candidate: first.id) == [score(first.id, 0.5)])
        #expect(try archive.candidate(id: second.id)?.error == "NaN logits")
        #expect(try archive.latestCheckpoint() == CheckpointRecord(asked: 2, told: 0, state: #"{"v":1}"#))
        #expect(try archive.integrityCheck() == "ok")
        #expect { try archive.record(candidate: 99, status: .done, error: nil, scores: [], objectives: [], now: 1) } throws: { "\($0)".contains("no candidate 99") }
    }

    /// An archive written before racing (schema 1) opens migrated: its rows kept, `pruned`
    /// admitted, stage scores stored, foreign keys still enforced.
    @Test func aSchemaOneArchiveGainsPrunedCandidatesAndStageScores() throws {
        let folder = try Folder()
        do {
            let old = try SQLiteDatabase(path: folder.archive)
            try old.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON")
            try SQLiteMigrations(Array(SQLiteArchive.migrations.steps.prefix(1))).migrate(old)
            #expect(try old.userVersion == 1)
            #expect(throws: SQLiteError.self) { try old.execute("INSERT INTO candidate (id, seq, genome, recipe_hash, recipe, status) VALUES (9, 9, '[]', 'h', '', 'pruned')") }
        }
        do {
            let v1 = try SQLiteDatabase(path: folder.archive)
            try v1.execute("PRAGMA foreign_keys = ON")
            for seq in 0..<3 {
                try v1.execute("INSERT INTO candidate (id, seq, genome, recipe_hash, recipe, status, duplicate_of) VALUES (\(seq + 1), \(seq), '[0.5]', 'h\(seq)', 'r', '\(seq == 2 ? "duplicate" : "pending")', \(seq == 2 ? "1" : "NULL"))")
            }
            try v1.execute("INSERT INTO score VALUES (1, 'add', 'calibration', 'acc', 0.5, 0.1, 150)")
        }
        let archive = try SQLiteArchive(path: folder.archive)
        #expect(try archive.database.userVersion == 3 && SQLiteArchive.migrations.steps.map(\.name).count == 3)
        #expect(try archive.candidates().map(\.status) == [.pending, .pending, .duplicate] && archive.candidate(id: 3)?.duplicateOf == 1)
        // Migration 3: a run from before baselines has none (every candidate the optimizer's).
        #expect(try archive.candidates().allSatisfy { $0.baseline == nil })
        #expect(try archive.scores(candidate: 1) == [score(1, 0.5).with(stderr: 0.1)])
        try archive.addStageScores([StageScoreRecord(candidate: 2, stage: 0, task: "add", metric: "acc", value: 0.25, stderr: nil, n: 38)])
        try archive.record(candidate: 2, status: .pruned, error: nil, scores: [ScoreRecord(candidate: 2, task: "add", split: .calibration, metric: "acc", value: 0.25, stderr: nil, n: 38)],
                           objectives: [ObjectiveRecord(candidate: 2, name: "accuracy", value: 0.25)], now: 1)
        #expect(try archive.statusCounts() == [.pending: 1, .pruned: 1, .duplicate: 1])
        #expect(try archive.stageScores(candidate: 2).map(\.n) == [38])
        #expect(try archive.dump().contains("stageScore\t2\t0\tadd\tacc"))
        #expect(try archive.database.scalar("PRAGMA foreign_keys")?.int == 1)
        #expect(throws: SQLiteError.self) { try archive.addStageScores([StageScoreRecord(candidate: 77, stage: 0, task: "add", metric: "acc", value: 0, stderr: nil, n: 1)]) }
        #expect(try archive.integrityCheck() == "ok")
    }

    @Test func baselinesAreRecordedWithoutACheckpointAndComeFirst() throws {
        let folder = try Folder()
        let archive = try SQLiteArchive(path: folder.archive)
        let baselines = ["base", "rev"].enumerated().map { index, name in
            CandidateRecord(id: index + 1, seq: index - 2, genome: [], recipeHash: "b\(index)", recipe: "merge_method: passthrough\n", created: 1, baseline: name)
        }
        try archive.propose(baselines, checkpoint: nil)
        #expect(try archive.latestCheckpoint() == nil)
        var proposed = candidate(0)
        proposed.id = 3
        try archive.propose([proposed], checkpoint: CheckpointRecord(asked: 1, told: 0, state: "{}"))
        let read = try archive.candidates()
        #expect(read.map(\.seq) == [-2, -1, 0] && read.map(\.baseline) == ["base", "rev", nil] && read[0].genome.isEmpty)
        #expect(try archive.dump().contains("candidate\t1\t-2\t[]\tb0\tmerge_method: passthrough\\n\tpending\tNULL\tNULL\tbase"))
    }

    @Test func duplicatesShareTheirOriginalsResults() throws {
        let folder = try Folder()
        let archive = try SQLiteArchive(path: folder.archive)
        try archive.propose([candidate(0, hash: "x")], checkpoint: CheckpointRecord(asked: 1, told: 0, state: "{}"))
        // A duplicate of a candidate still pending gets the results when they are recorded…
        try archive.propose([candidate(1, hash: "x", duplicateOf: 1)], checkpoint: CheckpointRecord(asked: 2, told: 0, state: "{}"))
        #expect(try archive.original(recipeHash: "x")?.id == 1)
        #expect(try archive.scores(candidate: 2).isEmpty)
        let claimed = try #require(try archive.claim(worker: 0, now: 1))
        #expect(claimed.id == 1)
        #expect(try archive.claim(worker: 0, now: 1) == nil)  // duplicates are never claimed
        try archive.record(candidate: 1, status: .done, error: nil, scores: [score(1, 0.7)], objectives: [ObjectiveRecord(candidate: 1, name: "accuracy", value: 0.7)], now: 2)
        #expect(try archive.scores(candidate: 2) == [score(2, 0.7)])
        #expect(try archive.objectives(candidate: 2) == [ObjectiveRecord(candidate: 2, name: "accuracy", value: 0.7)])
        // …and one proposed after the original finished gets them at once.
        try archive.propose([candidate(2, hash: "x", duplicateOf: 1)], checkpoint: CheckpointRecord(asked: 3, told: 1, state: "{}"))
        #expect(try archive.scores(candidate: 3) == [score(3, 0.7)])
        // Holdout scores added later reach the duplicates too.
        try archive.addScores([ScoreRecord(candidate: 1, task: "add", split: .holdout, metric: "acc", value: 0.6, stderr: nil, n: 150)])
        #expect(try archive.scores(candidate: 3).map(\.split) == [.calibration, .holdout])
        #expect(try archive.statusCounts() == [.done: 1, .duplicate: 2])
    }

    @Test func requeueReturnsRunningCandidatesToPending() throws {
        let folder = try Folder()
        let archive = try SQLiteArchive(path: folder.archive)
        try archive.propose([candidate(0), candidate(1)], checkpoint: CheckpointRecord(asked: 2, told: 0, state: "{}"))
        _ = try archive.claim(worker: 0, now: 1)
        #expect(try archive.requeueRunning() == 1)
        #expect(try archive.claim(worker: 1, now: 2)?.seq == 0)
    }

    @Test func aReaderSeesCommittedDataWhileTheWriterWorks() throws {
        let folder = try Folder()
        let writer = try SQLiteArchive(path: folder.archive)
        try writer.propose([candidate(0)], checkpoint: CheckpointRecord(asked: 1, told: 0, state: "{}"))
        let reader = try SQLiteArchive(path: folder.archive, reader: true)
        // The writer holds a write transaction open; the reader still reads the last commit at once.
        try writer.database.execute("BEGIN IMMEDIATE")
        try writer.database.query("UPDATE candidate SET status = 'running'")
        #expect(try reader.statusCounts() == [.pending: 1])
        try writer.database.execute("COMMIT")
        #expect(try reader.statusCounts() == [.running: 1])
    }

    @Test func aSecondProcessCannotTakeTheRunLock() throws {
        let folder = try Folder()
        let lock = try RunLock(runFolder: folder.path)
        // flock locks belong to open file descriptions: a second open, even in this process, conflicts.
        #expect { try RunLock(runFolder: folder.path) } throws: { "\($0)".contains("another amalgam process") }
        _ = lock
    }

    @Test func dumpLeavesOutTimesAndWorkers() throws {
        let a = try Folder(), b = try Folder()
        for (folder, worker, now) in [(a, 0, 1.0), (b, 1, 2.0)] {
            let archive = try SQLiteArchive(path: folder.archive)
            try archive.propose([candidate(0)], checkpoint: CheckpointRecord(asked: 1, told: 0, state: "{}"))
            _ = try archive.claim(worker: worker, now: now)
            try archive.record(candidate: 1, status: .done, error: nil, scores: [score(1, 0.25)], objectives: [], now: now + 1)
            try archive.log(EventRecord(time: now, kind: "start", message: "worker \(worker)"))
        }
        let dumpA = try SQLiteArchive(path: a.archive, reader: true).dump()
        #expect(dumpA == (try SQLiteArchive(path: b.archive, reader: true).dump()))
        #expect(dumpA.contains("candidate\t1\t0\t"))
    }

    /// A database that cannot grow (a full disk, here `max_page_count`) fails the write with
    /// SQLITE_FULL, rolls it back, and keeps everything committed before.
    @Test func aFullDatabaseRefusesTheWriteAndStaysIntact() throws {
        let folder = try Folder()
        let archive = try SQLiteArchive(path: folder.archive)
        try archive.propose([candidate(0)], checkpoint: CheckpointRecord(asked: 1, told: 0, state: "{}"))
        try archive.limitPages(Int(try #require(try archive.database.scalar("PRAGMA page_count")?.int)))
        let big = (1...200).map { candidate($0) }.map {
            CandidateRecord(id: $0.id, seq: $0.seq, genome: $0.genome, recipeHash: $0.recipeHash, recipe: String(repeating: "x", count: 2000), created: 1)
        }
        #expect { try archive.propose(big, checkpoint: CheckpointRecord(asked: 201, told: 0, state: "{}")) } throws: { error in
            guard let error = error as? SQLiteError else { return false }
            return error.isDiskFailure && error.codeName == "SQLITE_FULL" && error.systemErrno == 0
        }
        #expect(try archive.integrityCheck() == "ok")
        #expect(try archive.candidates().map(\.id) == [1])
        #expect(try archive.latestCheckpoint()?.asked == 1)
    }

    @Test func genomesMustBeFinite() throws {
        let folder = try Folder()
        let archive = try SQLiteArchive(path: folder.archive)
        #expect(throws: ArchiveError.self) { try archive.propose([candidate(0, genome: [.nan])], checkpoint: CheckpointRecord(asked: 1, told: 0, state: "{}")) }
        // The failed transaction left nothing behind.
        #expect(try archive.candidates().isEmpty && archive.latestCheckpoint() == nil)
    }
}

extension ScoreRecord {
    func with(stderr: Double?) -> ScoreRecord {
        var copy = self
        copy.stderr = stderr
        return copy
    }
}
