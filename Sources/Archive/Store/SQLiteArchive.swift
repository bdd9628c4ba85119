import CSQLite
import Foundation

/// The SQLite `ArchiveStore` (DESIGN.md §3): one file, WAL mode, a busy timeout on every
/// connection, schema migrations by `user_version`.
///
/// A class because it owns its connection. One `SQLiteArchive` opened for writing is the run's
/// only writer (the engine's coordinator; `RunLock` keeps a second process out); `status`,
/// `front` and `export` open their own with `reader: true`, which only reads: under WAL a reader
/// sees the last committed state and neither blocks nor is blocked by the writer.
public final class SQLiteArchive: ArchiveStore {
    public let database: SQLiteDatabase
    public var path: String { database.path }
    let failpoint: Failpoint?
    private var commits = 0

    /// The schema, one migration per version (forward only).
    public static let migrations = SQLiteMigrations([
        .init("the first schema", """
        CREATE TABLE run (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE candidate (
            id INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE,
            genome TEXT NOT NULL,
            recipe_hash TEXT NOT NULL,
            recipe TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'duplicate')),
            error TEXT,
            duplicate_of INTEGER REFERENCES candidate(id),
            worker INTEGER,
            created REAL,
            started REAL,
            finished REAL
        );
        CREATE INDEX candidate_by_status ON candidate(status, seq);
        CREATE INDEX candidate_by_hash ON candidate(recipe_hash, seq);
        CREATE INDEX candidate_by_original ON candidate(duplicate_of);
        CREATE TABLE score (
            candidate INTEGER NOT NULL REFERENCES candidate(id),
            task TEXT NOT NULL,
            split TEXT NOT NULL CHECK (split IN ('calibration', 'holdout')),
            metric TEXT NOT NULL,
            value REAL,
            stderr REAL,
            n INTEGER NOT NULL,
            PRIMARY KEY (candidate, task, split, metric)
        );
        CREATE TABLE objective (
            candidate INTEGER NOT NULL REFERENCES candidate(id),
            name TEXT NOT NULL,
            value REAL,
            PRIMARY KEY (candidate, name)
        );
        CREATE TABLE optimizerState (seq INTEGER PRIMARY KEY, told INTEGER NOT NULL, state TEXT NOT NULL);
        CREATE TABLE event (id INTEGER PRIMARY KEY, time REAL NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);
        """),
        // Racing (DESIGN.md §5b): candidate.status admits 'pruned' (a CHECK constraint, so the table
        // is rebuilt), and each stage's cumulative scores of a racing candidate are kept.
        .init("racing: pruned candidates and stage scores", rebuildsTables: true, """
        CREATE TABLE candidate_new (
            id INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE,
            genome TEXT NOT NULL,
            recipe_hash TEXT NOT NULL,
            recipe TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'duplicate', 'pruned')),
            error TEXT,
            duplicate_of INTEGER REFERENCES candidate(id),
            worker INTEGER,
            created REAL,
            started REAL,
            finished REAL
        );
        INSERT INTO candidate_new SELECT id, seq, genome, recipe_hash, recipe, status, error, duplicate_of, worker, created, started, finished FROM candidate;
        DROP TABLE candidate;
        ALTER TABLE candidate_new RENAME TO candidate;
        CREATE INDEX candidate_by_status ON candidate(status, seq);
        CREATE INDEX candidate_by_hash ON candidate(recipe_hash, seq);
        CREATE INDEX candidate_by_original ON candidate(duplicate_of);
        CREATE TABLE stageScore (
            candidate INTEGER NOT NULL REFERENCES candidate(id),
            stage INTEGER NOT NULL,
            task TEXT NOT NULL,
            metric TEXT NOT NULL,
            value REAL,
            stderr REAL,
            n INTEGER NOT NULL,
            PRIMARY KEY (candidate, stage, task, metric)
        );
        """),
        // Baselines (DESIGN.md §4): the base, each source alone and each method's equal-weight merge,
        // scored first in every run; a candidate's baseline name, NULL for proposed candidates. And
        // the holdout split's per-example values, which the paired bootstrap against the best
        // baseline resamples.
        .init("baselines and per-example holdout values", """
        ALTER TABLE candidate ADD COLUMN baseline TEXT;
        CREATE TABLE exampleScore (
            candidate INTEGER NOT NULL REFERENCES candidate(id),
            task TEXT NOT NULL,
            split TEXT NOT NULL CHECK (split IN ('calibration', 'holdout')),
            metric TEXT NOT NULL,
            example INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (candidate, task, split, metric, example)
        );
        """),
    ])

    /// Opens the archive at `path`: the writer creates and migrates it; a reader requires it to exist.
    public init(path: String, reader: Bool = false) throws {
        if reader {
            guard FileManager.default.fileExists(atPath: path) else { throw ArchiveError(file: path, "no archive here (is this a run folder?)") }
        }
        database = try SQLiteDatabase(path: path, create: !reader)
        failpoint = reader ? nil : Failpoint.fromEnvironment()
        if reader {
            let version = try Self.schemaVersion(database)
            guard version <= Self.migrations.latestVersion else {
                throw ArchiveError(file: path, "the archive has schema version \(version), newer than this Amalgam's \(Self.migrations.latestVersion); use a newer amalgam")
            }
            guard version > 0 else {
                let empty = (try? database.scalar("SELECT count(*) FROM sqlite_master")?.int) == 0
                throw ArchiveError(file: path, empty
                    ? "holds no archive yet: its search was stopped while starting, before recording anything; `amalgam resume` starts it"
                    : "not an Amalgam archive (schema version 0)")
            }
        } else {
            try database.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")
            try Self.migrations.migrate(database)
        }
    }

    /// Whether `path` holds no archive yet: no file, or an empty database nothing was migrated into
    /// (a search killed while creating it). Such a run has recorded nothing; a database with
    /// tables of its own is not "not yet an archive" and is refused by `init(path:reader:)`.
    public static func isUnstarted(path: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return true }
        guard let database = try? SQLiteDatabase(path: path, readOnly: true, create: false),
              let version = try? database.userVersion, version == 0,
              let tables = try? database.scalar("SELECT count(*) FROM sqlite_master")?.int else { return false }
        return tables == 0
    }

    /// The archive's `user_version`; a file SQLite cannot read (garbage, truncated) is an `ArchiveError`.
    static func schemaVersion(_ database: SQLiteDatabase) throws -> Int {
        do {
            return try database.userVersion
        } catch {
            guard error.primaryCode == SQLITE_NOTADB || error.primaryCode == SQLITE_CORRUPT else { throw error }
            throw ArchiveError(file: database.path, "is damaged or not an SQLite database (\(error.message)); it cannot be read as an Amalgam archive")
        }
    }

    /// A write transaction, counted for `AMALGAM_FAILPOINT` (a test's crash at an exact commit).
    @discardableResult
    func write<T>(_ body: () throws -> T) throws -> T {
        commits += 1
        if let failpoint, failpoint.kind == .beforeCommit, failpoint.count == commits {
            // Inside the transaction: the crash loses it, as a kill before COMMIT would.
            try database.execute("BEGIN IMMEDIATE")
            _ = try body()
            failpoint.crash()
        }
        let result = try database.transaction(body)
        if let failpoint, failpoint.kind == .afterCommit, failpoint.count == commits { failpoint.crash() }
        return result
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count`, for this connection only): a
    /// write that would grow it further fails with SQLITE_FULL, as on a full disk. For tests
    /// (`AMALGAM_FAULT=archive:SQLITE_FULL:PAGES`); SQLite never caps below the current size.
    public func limitPages(_ pages: Int) throws {
        try database.execute("PRAGMA max_page_count = \(pages)")
    }

    // MARK: Writing

    public func setRunInfo(_ info: [String: String]) throws {
        try write {
            for (key, value) in info.sorted(by: { $0.key < $1.key }) {
                try database.query("INSERT INTO run (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [.text(key), .text(value)])
            }
        }
    }

    /// Records proposals and, with `checkpoint`, the optimizer state after them, in one transaction
    /// (baselines are recorded without one: no optimizer proposed them).
    public func propose(_ candidates: [CandidateRecord], checkpoint: CheckpointRecord?) throws {
        try write {
            let insert = try database.prepare("""
                INSERT INTO candidate (id, seq, genome, recipe_hash, recipe, status, error, duplicate_of, created, baseline)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for candidate in candidates {
                try insert.bind([.integer(Int64(candidate.id)), .integer(Int64(candidate.seq)), .text(try Self.encodeGenome(candidate.genome)),
                                 .text(candidate.recipeHash), .text(candidate.recipe), .text(candidate.status.rawValue), SQLiteValue(candidate.error),
                                 SQLiteValue(candidate.duplicateOf), SQLiteValue(candidate.created), SQLiteValue(candidate.baseline)])
                _ = try insert.step()
                if let original = candidate.duplicateOf { try copyResults(from: original, to: candidate.id) }
            }
            guard let checkpoint else { return }
            try database.query("INSERT INTO optimizerState (seq, told, state) VALUES (?, ?, ?) ON CONFLICT(seq) DO UPDATE SET told = excluded.told, state = excluded.state",
                               [.integer(Int64(checkpoint.asked)), .integer(Int64(checkpoint.told)), .text(checkpoint.state)])
        }
    }

    /// Copies a finished original's error, scores and objectives to one duplicate (nothing while
    /// the original is still to be evaluated).
    private func copyResults(from original: Int, to duplicate: Int) throws {
        try database.query("UPDATE candidate SET error = (SELECT error FROM candidate WHERE id = ?1) WHERE id = ?2 AND EXISTS (SELECT 1 FROM candidate WHERE id = ?1 AND status IN ('done', 'failed', 'pruned'))",
                           [.integer(Int64(original)), .integer(Int64(duplicate))])
        try database.query("INSERT OR REPLACE INTO score SELECT ?2, task, split, metric, value, stderr, n FROM score WHERE candidate = ?1",
                           [.integer(Int64(original)), .integer(Int64(duplicate))])
        try database.query("INSERT OR REPLACE INTO objective SELECT ?2, name, value FROM objective WHERE candidate = ?1",
                           [.integer(Int64(original)), .integer(Int64(duplicate))])
    }

    public func claim(worker: Int, now: Double) throws -> CandidateRecord? {
        try write {
            guard let id = try database.scalar("SELECT id FROM candidate WHERE status = 'pending' ORDER BY seq LIMIT 1")?.int else { return nil }
            try database.query("UPDATE candidate SET status = 'running', worker = ?, started = ? WHERE id = ?", [.integer(Int64(worker)), .real(now), .integer(Int64(id))])
            return try candidate(id: id)
        }
    }

    public func start(candidate id: Int, worker: Int, now: Double) throws {
        try write {
            try database.query("UPDATE candidate SET status = 'running', worker = ?, started = ? WHERE id = ? AND status = 'pending'",
                               [.integer(Int64(worker)), .real(now), .integer(Int64(id))])
            guard database.changes == 1 else { throw ArchiveError(file: path, "candidate \(id) is not pending, so it cannot start") }
        }
    }

    public func requeue(candidate id: Int) throws {
        try write {
            try database.query("UPDATE candidate SET status = 'pending', worker = NULL, started = NULL WHERE id = ? AND status = 'running'",
                               [.integer(Int64(id))])
        }
    }

    public func record(candidate id: Int, status: CandidateStatus, error: String?, scores: [ScoreRecord], objectives: [ObjectiveRecord], now: Double) throws {
        guard status.isFinished else { throw ArchiveError(file: path, "a result must be done, failed or pruned, not \(status.rawValue)") }
        try write {
            try database.query("UPDATE candidate SET status = ?, error = ?, finished = ? WHERE id = ?",
                               [.text(status.rawValue), SQLiteValue(error), .real(now), .integer(Int64(id))])
            guard database.changes == 1 else { throw ArchiveError(file: path, "no candidate \(id) to record") }
            try insertScores(scores)
            let insert = try database.prepare("INSERT OR REPLACE INTO objective (candidate, name, value) VALUES (?, ?, ?)")
            for objective in objectives {
                try insert.bind([.integer(Int64(objective.candidate)), .text(objective.name), .real(objective.value)])
                _ = try insert.step()
            }
            for duplicate in try database.query("SELECT id FROM candidate WHERE duplicate_of = ?", [.integer(Int64(id))]).compactMap({ $0.first?.int }) {
                try copyResults(from: id, to: duplicate)
            }
        }
    }

    private func insertScores(_ scores: [ScoreRecord]) throws {
        let insert = try database.prepare("INSERT OR REPLACE INTO score (candidate, task, split, metric, value, stderr, n) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for score in scores {
            try insert.bind([.integer(Int64(score.candidate)), .text(score.task), .text(score.split.rawValue), .text(score.metric),
                             .real(score.value), SQLiteValue(score.stderr), .integer(Int64(score.n))])
            _ = try insert.step()
        }
    }

    /// Adds scores (a front member's holdout split) and, in the same transaction, their per-example values.
    public func addScores(_ scores: [ScoreRecord], examples: [ExampleScoresRecord] = []) throws {
        try write {
            try insertScores(scores)
            try insertExampleScores(examples)
            for candidate in Set(scores.map(\.candidate)) {
                for duplicate in try database.query("SELECT id FROM candidate WHERE duplicate_of = ?", [.integer(Int64(candidate))]).compactMap({ $0.first?.int }) {
                    try copyResults(from: candidate, to: duplicate)
                }
            }
        }
    }

    private func insertExampleScores(_ records: [ExampleScoresRecord]) throws {
            let insert = try database.prepare("INSERT OR REPLACE INTO exampleScore (candidate, task, split, metric, example, value) VALUES (?, ?, ?, ?, ?, ?)")
            for record in records {
                for (example, value) in record.values.enumerated() {
                    try insert.bind([.integer(Int64(record.candidate)), .text(record.task), .text(record.split.rawValue), .text(record.metric),
                                     .integer(Int64(example)), .real(value)])
                    _ = try insert.step()
                }
            }
    }

    public func addStageScores(_ scores: [StageScoreRecord]) throws {
        try write {
            let insert = try database.prepare("INSERT OR REPLACE INTO stageScore (candidate, stage, task, metric, value, stderr, n) VALUES (?, ?, ?, ?, ?, ?, ?)")
            for score in scores {
                try insert.bind([.integer(Int64(score.candidate)), .integer(Int64(score.stage)), .text(score.task), .text(score.metric),
                                 .real(score.value), SQLiteValue(score.stderr), .integer(Int64(score.n))])
                _ = try insert.step()
            }
        }
    }

    public func requeueRunning() throws -> Int {
        try write {
            try database.query("UPDATE candidate SET status = 'pending', worker = NULL, started = NULL WHERE status = 'running'")
            return database.changes
        }
    }

    public func log(_ event: EventRecord) throws {
        try write {
            try database.query("INSERT INTO event (time, kind, message) VALUES (?, ?, ?)", [.real(event.time), .text(event.kind), .text(event.message)])
        }
    }

    // MARK: Reading

    public func runInfo() throws -> [String: String] {
        var info: [String: String] = [:]
        for row in try database.query("SELECT key, value FROM run") {
            if let key = row[0].string, let value = row[1].string { info[key] = value }
        }
        return info
    }

    public func latestCheckpoint() throws -> CheckpointRecord? {
        guard let row = try database.query("SELECT seq, told, state FROM optimizerState ORDER BY seq DESC LIMIT 1").first else { return nil }
        guard let asked = row[0].int, let told = row[1].int, let state = row[2].string else {
            throw ArchiveError(file: path, "optimizerState: a malformed row")
        }
        return CheckpointRecord(asked: asked, told: told, state: state)
    }

    /// (asked, told) of every checkpoint, by asked: each batch of proposals ends at an `asked`
    /// and was proposed after `told` results had been told.
    public func checkpointMarks() throws -> [(asked: Int, told: Int)] {
        try database.query("SELECT seq, told FROM optimizerState ORDER BY seq").map { row in
            guard let asked = row[0].int, let told = row[1].int else { throw ArchiveError(file: path, "optimizerState: a malformed row") }
            return (asked, told)
        }
    }

    public func stageScores(candidate: Int?) throws -> [StageScoreRecord] {
        let sql = "SELECT candidate, stage, task, metric, value, stderr, n FROM stageScore" + (candidate == nil ? "" : " WHERE candidate = ?")
            + " ORDER BY candidate, stage, task, metric"
        return try database.query(sql, candidate.map { [.integer(Int64($0))] } ?? []).map { row in
            guard let id = row[0].int, let stage = row[1].int, let task = row[2].string, let metric = row[3].string, let n = row[6].int else {
                throw ArchiveError(file: path, "stageScore: a malformed row")
            }
            return StageScoreRecord(candidate: id, stage: stage, task: task, metric: metric, value: row[4].double ?? .nan, stderr: row[5].double, n: n)
        }
    }

    /// A candidate's per-example values on `split`, one record per task and metric.
    public func exampleScores(candidate: Int, split: ScoreSplit) throws -> [ExampleScoresRecord] {
        var records: [ExampleScoresRecord] = []
        for row in try database.query("SELECT task, metric, example, value FROM exampleScore WHERE candidate = ? AND split = ? ORDER BY task, metric, example",
                                      [.integer(Int64(candidate)), .text(split.rawValue)]) {
            guard let task = row[0].string, let metric = row[1].string, let example = row[2].int, let value = row[3].double else {
                throw ArchiveError(file: path, "exampleScore: a malformed row")
            }
            if records.last?.task != task || records.last?.metric != metric {
                records.append(ExampleScoresRecord(candidate: candidate, task: task, split: split, metric: metric, values: []))
            }
            guard example == records[records.count - 1].values.count else { throw ArchiveError(file: path, "exampleScore: candidate \(candidate) \(task) misses example \(records[records.count - 1].values.count)") }
            records[records.count - 1].values.append(value)
        }
        return records
    }

    static let candidateColumns = "id, seq, genome, recipe_hash, recipe, status, error, duplicate_of, worker, created, started, finished, baseline"

    func decodeCandidate(_ row: [SQLiteValue]) throws -> CandidateRecord {
        guard row.count == 13, let id = row[0].int, let seq = row[1].int, let genomeText = row[2].string, let hash = row[3].string,
              let recipe = row[4].string, let statusText = row[5].string, let status = CandidateStatus(rawValue: statusText) else {
            throw ArchiveError(file: path, "candidate: a malformed row")
        }
        return CandidateRecord(id: id, seq: seq, genome: try Self.decodeGenome(genomeText, file: path, id: id), recipeHash: hash, recipe: recipe,
                               status: status, error: row[6].string, duplicateOf: row[7].int, worker: row[8].int,
                               created: row[9].double, started: row[10].double, finished: row[11].double, baseline: row[12].string)
    }

    public func candidates() throws -> [CandidateRecord] {
        try database.query("SELECT \(Self.candidateColumns) FROM candidate ORDER BY seq").map(decodeCandidate)
    }

    public func candidate(id: Int) throws -> CandidateRecord? {
        try database.query("SELECT \(Self.candidateColumns) FROM candidate WHERE id = ?", [.integer(Int64(id))]).first.map(decodeCandidate)
    }

    public func original(recipeHash: String) throws -> CandidateRecord? {
        try database.query("SELECT \(Self.candidateColumns) FROM candidate WHERE recipe_hash = ? AND status != 'duplicate' ORDER BY seq LIMIT 1",
                           [.text(recipeHash)]).first.map(decodeCandidate)
    }

    public func scores(candidate: Int?) throws -> [ScoreRecord] {
        let sql = "SELECT candidate, task, split, metric, value, stderr, n FROM score" + (candidate == nil ? "" : " WHERE candidate = ?") + " ORDER BY candidate, task, split, metric"
        return try database.query(sql, candidate.map { [.integer(Int64($0))] } ?? []).map { row in
            guard let id = row[0].int, let task = row[1].string, let split = row[2].string.flatMap(ScoreSplit.init(rawValue:)),
                  let metric = row[3].string, let n = row[6].int else { throw ArchiveError(file: path, "score: a malformed row") }
            return ScoreRecord(candidate: id, task: task, split: split, metric: metric, value: row[4].double ?? .nan, stderr: row[5].double, n: n)
        }
    }

    public func objectives(candidate: Int?) throws -> [ObjectiveRecord] {
        let sql = "SELECT candidate, name, value FROM objective" + (candidate == nil ? "" : " WHERE candidate = ?") + " ORDER BY candidate, name"
        return try database.query(sql, candidate.map { [.integer(Int64($0))] } ?? []).map { row in
            guard let id = row[0].int, let name = row[1].string else { throw ArchiveError(file: path, "objective: a malformed row") }
            return ObjectiveRecord(candidate: id, name: name, value: row[2].double ?? .nan)
        }
    }

    public func events() throws -> [EventRecord] {
        try database.query("SELECT time, kind, message FROM event ORDER BY id").map { row in
            EventRecord(time: row[0].double ?? 0, kind: row[1].string ?? "", message: row[2].string ?? "")
        }
    }

    public func statusCounts() throws -> [CandidateStatus: Int] {
        var counts: [CandidateStatus: Int] = [:]
        for row in try database.query("SELECT status, COUNT(*) FROM candidate GROUP BY status") {
            if let status = row[0].string.flatMap(CandidateStatus.init(rawValue:)), let count = row[1].int { counts[status] = count }
        }
        return counts
    }

    /// `PRAGMA integrity_check`'s verdict ("ok" when the file is sound).
    public func integrityCheck() throws -> String {
        try database.query("PRAGMA integrity_check").compactMap { $0.first?.string }.joined(separator: "; ")
    }

    /// Every table's rows in a stable order, without the columns that legitimately differ between
    /// two runs of the same search (times, worker, events): what the determinism contract compares.
    public func dump() throws -> String {
        var lines: [String] = []
        for (table, sql) in [
            ("run", "SELECT key, value FROM run WHERE key NOT IN ('created', 'started') ORDER BY key"),
            ("candidate", "SELECT id, seq, genome, recipe_hash, recipe, status, error, duplicate_of, baseline FROM candidate ORDER BY seq"),
            ("score", "SELECT * FROM score ORDER BY candidate, task, split, metric"),
            ("stageScore", "SELECT * FROM stageScore ORDER BY candidate, stage, task, metric"),
            ("exampleScore", "SELECT * FROM exampleScore ORDER BY candidate, task, split, metric, example"),
            ("objective", "SELECT * FROM objective ORDER BY candidate, name"),
            ("optimizerState", "SELECT * FROM optimizerState ORDER BY seq"),
        ] {
            for row in try database.query(sql) {
                lines.append(table + "\t" + row.map(Self.dumpText).joined(separator: "\t"))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func dumpText(_ value: SQLiteValue) -> String {
        switch value {
        case .null: "NULL"
        case .integer(let v): String(v)
        case .real(let v): String(v.bitPattern, radix: 16)
        case .text(let v): v.replacingOccurrences(of: "\n", with: "\\n")
        case .blob(let v): v.map { String($0, radix: 16) }.joined()
        }
    }

    // MARK: Genomes

    /// A genome as a JSON array of doubles printed so they read back exactly.
    static func encodeGenome(_ genome: [Double]) throws -> String {
        guard genome.allSatisfy(\.isFinite) else { throw ArchiveError(file: "(genome)", "a genome holds a non-finite number") }
        return "[" + genome.map { "\($0)" }.joined(separator: ",") + "]"
    }

    static func decodeGenome(_ text: String, file: String, id: Int) throws -> [Double] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("["), trimmed.hasSuffix("]") else { throw ArchiveError(file: file, "candidate \(id): genome is not a JSON array") }
        let body = trimmed.dropFirst().dropLast()
        if body.trimmingCharacters(in: .whitespaces).isEmpty { return [] }
        return try body.split(separator: ",").map { part in
            guard let value = Double(part.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw ArchiveError(file: file, "candidate \(id): genome has a non-number '\(part)'")
            }
            return value
        }
    }
}
