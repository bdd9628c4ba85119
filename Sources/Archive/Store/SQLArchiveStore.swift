import Foundation

/// What the archive's SQL needs of a connection: `SQLiteDatabase` and `PostgresDatabase` both give
/// it. The archive's statements are written once, in SQL both engines read (upserts as `INSERT …
/// ON CONFLICT … DO UPDATE`, `?`/`?N` parameters, which the PostgreSQL connection renumbers), and
/// each store keeps its own schema DDL and migrations (`SQLiteArchive`, `PostgresArchive`).
public protocol ArchiveConnection: AnyObject {
    func execute(_ sql: String) throws
    @discardableResult func query(_ sql: String, _ arguments: [SQLValue]) throws -> [[SQLValue]]
    /// Rows changed by the last `query`.
    var changes: Int { get }
    /// Runs `body` in a write transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T
    /// The statement that opens a write transaction (what `transaction` runs first), for a
    /// failpoint that crashes inside one.
    var beginWrite: String { get }
}

extension ArchiveConnection {
    @discardableResult func query(_ sql: String) throws -> [[SQLValue]] {
        try query(sql, [])
    }

    /// Inserts `rows` (values of `columns`, in order) into `table` with `conflict` (an upsert
    /// clause) appended: many rows per statement (multi-row VALUES, which both engines read), so
    /// a holdout split's thousand per-example values are a statement or two, not a thousand round
    /// trips to a PostgreSQL server.
    func insert(into table: String, columns: [String], rows: [[SQLValue]], _ conflict: String = "") throws {
        let perStatement = max(1, Self.parametersPerStatement / max(1, columns.count))
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + perStatement)]
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: tuple, count: batch.count).joined(separator: ", ") + (conflict.isEmpty ? "" : " " + conflict)
            try query(sql, batch.flatMap { $0 })
            start += batch.count
        }
    }

    /// Well under both engines' limits (SQLite 3.32+: 32 766 parameters; PostgreSQL: 65 535).
    static var parametersPerStatement: Int { 4096 }

    /// `beginWrite` (SQLite's `BEGIN IMMEDIATE` takes the write lock up front, so a writer never
    /// fails half-way through with SQLITE_BUSY on lock upgrade), then COMMIT, or ROLLBACK when
    /// `body` throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute(beginWrite)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue? {
        try query(sql, arguments).first?.first
    }
}

/// An `ArchiveStore` over an `ArchiveConnection` (DESIGN.md §3): every read and write of the
/// archive's tables, the same on every SQL store. A conforming store gives its connection, the
/// name errors carry (`location`) and its write transaction (`write`, which counts commits for
/// `AMALGAM_FAILPOINT`).
public protocol SQLArchiveStore: ArchiveStore {
    associatedtype Connection: ArchiveConnection
    var connection: Connection { get }
    /// A write transaction, counted for `AMALGAM_FAILPOINT`.
    @discardableResult func write<T>(_ body: () throws -> T) throws -> T
}

/// A write transaction counted for `AMALGAM_FAILPOINT` (a test's crash at an exact commit): the
/// one rule of both stores.
struct FailpointWriter {
    let failpoint: Failpoint?
    private(set) var commits = 0

    init(failpoint: Failpoint?) { self.failpoint = failpoint }

    mutating func write<T>(_ connection: some ArchiveConnection, _ body: () throws -> T) throws -> T {
        commits += 1
        if let failpoint, failpoint.kind == .beforeCommit, failpoint.count == commits {
            // Inside the transaction: the crash loses it, as a kill before COMMIT would.
            try connection.execute(connection.beginWrite)
            _ = try body()
            failpoint.crash()
        }
        let result = try connection.transaction(body)
        if let failpoint, failpoint.kind == .afterCommit, failpoint.count == commits { failpoint.crash() }
        return result
    }
}

let scoreUpsert = "ON CONFLICT (candidate, task, split, metric) DO UPDATE SET value = excluded.value, stderr = excluded.stderr, n = excluded.n"
let candidateColumns = "id, seq, genome, recipe_hash, recipe, status, error, duplicate_of, worker, created, started, finished, baseline"
let objectiveUpsert = "ON CONFLICT (candidate, name) DO UPDATE SET value = excluded.value"

extension SQLArchiveStore {
    // MARK: Writing

    public func setRunInfo(_ info: [String: String]) throws {
        try write {
            for (key, value) in info.sorted(by: { $0.key < $1.key }) {
                try connection.query("INSERT INTO run (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [.text(key), .text(value)])
            }
        }
    }

    /// Records proposals and, with `checkpoint`, the optimizer state after them, in one transaction
    /// (baselines are recorded without one: no optimizer proposed them).
    public func propose(_ candidates: [CandidateRecord], checkpoint: CheckpointRecord?) throws {
        try write {
            for candidate in candidates {
                try connection.query("""
                    INSERT INTO candidate (id, seq, genome, recipe_hash, recipe, status, error, duplicate_of, created, baseline)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.integer(Int64(candidate.id)), .integer(Int64(candidate.seq)), .text(try ArchiveGenome.encode(candidate.genome)),
                          .text(candidate.recipeHash), .text(candidate.recipe), .text(candidate.status.rawValue), SQLValue(candidate.error),
                          SQLValue(candidate.duplicateOf), SQLValue(candidate.created), SQLValue(candidate.baseline)])
                if let original = candidate.duplicateOf { try copyResults(from: original, to: candidate.id) }
            }
            guard let checkpoint else { return }
            try connection.query("INSERT INTO optimizerState (seq, told, state) VALUES (?, ?, ?) ON CONFLICT(seq) DO UPDATE SET told = excluded.told, state = excluded.state",
                               [.integer(Int64(checkpoint.asked)), .integer(Int64(checkpoint.told)), .text(checkpoint.state)])
        }
    }

    /// Copies a finished original's error, scores and objectives to one duplicate (nothing while
    /// the original is still to be evaluated).
    private func copyResults(from original: Int, to duplicate: Int) throws {
        try connection.query("UPDATE candidate SET error = (SELECT error FROM candidate WHERE id = ?1) WHERE id = ?2 AND EXISTS (SELECT 1 FROM candidate WHERE id = ?1 AND status IN ('done', 'failed', 'pruned'))",
                           [.integer(Int64(original)), .integer(Int64(duplicate))])
        try connection.query("INSERT INTO score SELECT CAST(?2 AS BIGINT), task, split, metric, value, stderr, n FROM score WHERE candidate = ?1 " + scoreUpsert,
                           [.integer(Int64(original)), .integer(Int64(duplicate))])
        try connection.query("INSERT INTO objective SELECT CAST(?2 AS BIGINT), name, value FROM objective WHERE candidate = ?1 " + objectiveUpsert,
                           [.integer(Int64(original)), .integer(Int64(duplicate))])
    }

    public func claim(worker: Int, now: Double) throws -> CandidateRecord? {
        try write {
            guard let id = try connection.scalar("SELECT id FROM candidate WHERE status = 'pending' ORDER BY seq LIMIT 1")?.int else { return nil }
            try connection.query("UPDATE candidate SET status = 'running', worker = ?, started = ? WHERE id = ?", [.integer(Int64(worker)), .real(now), .integer(Int64(id))])
            return try candidate(id: id)
        }
    }

    public func start(candidate id: Int, worker: Int, now: Double) throws {
        try write {
            try connection.query("UPDATE candidate SET status = 'running', worker = ?, started = ? WHERE id = ? AND status = 'pending'",
                               [.integer(Int64(worker)), .real(now), .integer(Int64(id))])
            guard connection.changes == 1 else { throw ArchiveError(file: location, "candidate \(id) is not pending, so it cannot start") }
        }
    }

    public func requeue(candidate id: Int) throws {
        try write {
            try connection.query("UPDATE candidate SET status = 'pending', worker = NULL, started = NULL WHERE id = ? AND status = 'running'",
                               [.integer(Int64(id))])
        }
    }

    public func record(candidate id: Int, status: CandidateStatus, error: String?, scores: [ScoreRecord], objectives: [ObjectiveRecord], now: Double) throws {
        guard status.isFinished else { throw ArchiveError(file: location, "a result must be done, failed or pruned, not \(status.rawValue)") }
        try write {
            try connection.query("UPDATE candidate SET status = ?, error = ?, finished = ? WHERE id = ?",
                               [.text(status.rawValue), SQLValue(error), .real(now), .integer(Int64(id))])
            guard connection.changes == 1 else { throw ArchiveError(file: location, "no candidate \(id) to record") }
            try insertScores(scores)
            try connection.insert(into: "objective", columns: ["candidate", "name", "value"],
                                  rows: objectives.map { [.integer(Int64($0.candidate)), .text($0.name), .real($0.value)] }, objectiveUpsert)
            for duplicate in try connection.query("SELECT id FROM candidate WHERE duplicate_of = ?", [.integer(Int64(id))]).compactMap({ $0.first?.int }) {
                try copyResults(from: id, to: duplicate)
            }
        }
    }

    private func insertScores(_ scores: [ScoreRecord]) throws {
        try connection.insert(into: "score", columns: ["candidate", "task", "split", "metric", "value", "stderr", "n"],
                              rows: scores.map { [.integer(Int64($0.candidate)), .text($0.task), .text($0.split.rawValue), .text($0.metric),
                                                  .real($0.value), SQLValue($0.stderr), .integer(Int64($0.n))] }, scoreUpsert)
    }

    /// Adds scores (a front member's holdout split) and, in the same transaction, their per-example values.
    public func addScores(_ scores: [ScoreRecord], examples: [ExampleScoresRecord] = []) throws {
        try write {
            try insertScores(scores)
            try insertExampleScores(examples)
            for candidate in Set(scores.map(\.candidate)) {
                for duplicate in try connection.query("SELECT id FROM candidate WHERE duplicate_of = ?", [.integer(Int64(candidate))]).compactMap({ $0.first?.int }) {
                    try copyResults(from: candidate, to: duplicate)
                }
            }
        }
    }

    private func insertExampleScores(_ records: [ExampleScoresRecord]) throws {
        try connection.insert(into: "exampleScore", columns: ["candidate", "task", "split", "metric", "example", "value"], rows: records.flatMap { record in
            record.values.enumerated().map { example, value -> [SQLValue] in
                [.integer(Int64(record.candidate)), .text(record.task), .text(record.split.rawValue), .text(record.metric), .integer(Int64(example)), .real(value)]
            }
        }, "ON CONFLICT (candidate, task, split, metric, example) DO UPDATE SET value = excluded.value")
    }

    public func addStageScores(_ scores: [StageScoreRecord]) throws {
        try write {
            try connection.insert(into: "stageScore", columns: ["candidate", "stage", "task", "metric", "value", "stderr", "n"], rows: scores.map {
                [.integer(Int64($0.candidate)), .integer(Int64($0.stage)), .text($0.task), .text($0.metric), .real($0.value), SQLValue($0.stderr), .integer(Int64($0.n))]
            }, "ON CONFLICT (candidate, stage, task, metric) DO UPDATE SET value = excluded.value, stderr = excluded.stderr, n = excluded.n")
        }
    }

    public func requeueRunning() throws -> Int {
        try write {
            try connection.query("UPDATE candidate SET status = 'pending', worker = NULL, started = NULL WHERE status = 'running'")
            return connection.changes
        }
    }

    public func log(_ event: EventRecord) throws {
        try write {
            try connection.query("INSERT INTO event (time, kind, message) VALUES (?, ?, ?)", [.real(event.time), .text(event.kind), .text(event.message)])
        }
    }

    // MARK: Reading

    public func runInfo() throws -> [String: String] {
        var info: [String: String] = [:]
        for row in try connection.query("SELECT key, value FROM run") {
            if let key = row[0].string, let value = row[1].string { info[key] = value }
        }
        return info
    }

    public func latestCheckpoint() throws -> CheckpointRecord? {
        guard let row = try connection.query("SELECT seq, told, state FROM optimizerState ORDER BY seq DESC LIMIT 1").first else { return nil }
        guard let asked = row[0].int, let told = row[1].int, let state = row[2].string else {
            throw ArchiveError(file: location, "optimizerState: a malformed row")
        }
        return CheckpointRecord(asked: asked, told: told, state: state)
    }

    public func checkpoints() throws -> [CheckpointRecord] {
        try connection.query("SELECT seq, told, state FROM optimizerState ORDER BY seq").map { row in
            guard let asked = row[0].int, let told = row[1].int, let state = row[2].string else {
                throw ArchiveError(file: location, "optimizerState: a malformed row")
            }
            return CheckpointRecord(asked: asked, told: told, state: state)
        }
    }

    /// (asked, told) of every checkpoint, by asked: each batch of proposals ends at an `asked`
    /// and was proposed after `told` results had been told.
    public func checkpointMarks() throws -> [(asked: Int, told: Int)] {
        try connection.query("SELECT seq, told FROM optimizerState ORDER BY seq").map { row in
            guard let asked = row[0].int, let told = row[1].int else { throw ArchiveError(file: location, "optimizerState: a malformed row") }
            return (asked, told)
        }
    }

    public func stageScores(candidate: Int?) throws -> [StageScoreRecord] {
        let sql = "SELECT candidate, stage, task, metric, value, stderr, n FROM stageScore" + (candidate == nil ? "" : " WHERE candidate = ?")
            + " ORDER BY candidate, stage, task, metric"
        return try connection.query(sql, candidate.map { [.integer(Int64($0))] } ?? []).map { row in
            guard let id = row[0].int, let stage = row[1].int, let task = row[2].string, let metric = row[3].string, let n = row[6].int else {
                throw ArchiveError(file: location, "stageScore: a malformed row")
            }
            return StageScoreRecord(candidate: id, stage: stage, task: task, metric: metric, value: row[4].double ?? .nan, stderr: row[5].double, n: n)
        }
    }

    /// A candidate's per-example values on `split`, one record per task and metric.
    public func exampleScores(candidate: Int, split: ScoreSplit) throws -> [ExampleScoresRecord] {
        var records: [ExampleScoresRecord] = []
        for row in try connection.query("SELECT task, metric, example, value FROM exampleScore WHERE candidate = ? AND split = ? ORDER BY task, metric, example",
                                      [.integer(Int64(candidate)), .text(split.rawValue)]) {
            guard let task = row[0].string, let metric = row[1].string, let example = row[2].int, let value = row[3].double else {
                throw ArchiveError(file: location, "exampleScore: a malformed row")
            }
            if records.last?.task != task || records.last?.metric != metric {
                records.append(ExampleScoresRecord(candidate: candidate, task: task, split: split, metric: metric, values: []))
            }
            guard example == records[records.count - 1].values.count else { throw ArchiveError(file: location, "exampleScore: candidate \(candidate) \(task) misses example \(records[records.count - 1].values.count)") }
            records[records.count - 1].values.append(value)
        }
        return records
    }


    func decodeCandidate(_ row: [SQLValue]) throws -> CandidateRecord {
        guard row.count == 13, let id = row[0].int, let seq = row[1].int, let genomeText = row[2].string, let hash = row[3].string,
              let recipe = row[4].string, let statusText = row[5].string, let status = CandidateStatus(rawValue: statusText) else {
            throw ArchiveError(file: location, "candidate: a malformed row")
        }
        return CandidateRecord(id: id, seq: seq, genome: try ArchiveGenome.decode(genomeText, file: location, id: id), recipeHash: hash, recipe: recipe,
                               status: status, error: row[6].string, duplicateOf: row[7].int, worker: row[8].int,
                               created: row[9].double, started: row[10].double, finished: row[11].double, baseline: row[12].string)
    }

    public func candidates() throws -> [CandidateRecord] {
        try connection.query("SELECT \(candidateColumns) FROM candidate ORDER BY seq").map(decodeCandidate)
    }

    public func candidate(id: Int) throws -> CandidateRecord? {
        try connection.query("SELECT \(candidateColumns) FROM candidate WHERE id = ?", [.integer(Int64(id))]).first.map(decodeCandidate)
    }

    public func original(recipeHash: String) throws -> CandidateRecord? {
        try connection.query("SELECT \(candidateColumns) FROM candidate WHERE recipe_hash = ? AND status != 'duplicate' ORDER BY seq LIMIT 1",
                           [.text(recipeHash)]).first.map(decodeCandidate)
    }

    public func scores(candidate: Int?) throws -> [ScoreRecord] {
        let sql = "SELECT candidate, task, split, metric, value, stderr, n FROM score" + (candidate == nil ? "" : " WHERE candidate = ?") + " ORDER BY candidate, task, split, metric"
        return try connection.query(sql, candidate.map { [.integer(Int64($0))] } ?? []).map { row in
            guard let id = row[0].int, let task = row[1].string, let split = row[2].string.flatMap(ScoreSplit.init(rawValue:)),
                  let metric = row[3].string, let n = row[6].int else { throw ArchiveError(file: location, "score: a malformed row") }
            return ScoreRecord(candidate: id, task: task, split: split, metric: metric, value: row[4].double ?? .nan, stderr: row[5].double, n: n)
        }
    }

    public func objectives(candidate: Int?) throws -> [ObjectiveRecord] {
        let sql = "SELECT candidate, name, value FROM objective" + (candidate == nil ? "" : " WHERE candidate = ?") + " ORDER BY candidate, name"
        return try connection.query(sql, candidate.map { [.integer(Int64($0))] } ?? []).map { row in
            guard let id = row[0].int, let name = row[1].string else { throw ArchiveError(file: location, "objective: a malformed row") }
            return ObjectiveRecord(candidate: id, name: name, value: row[2].double ?? .nan)
        }
    }

    public func events() throws -> [EventRecord] {
        try connection.query("SELECT time, kind, message FROM event ORDER BY id").map { row in
            EventRecord(time: row[0].double ?? 0, kind: row[1].string ?? "", message: row[2].string ?? "")
        }
    }

    public func statusCounts() throws -> [CandidateStatus: Int] {
        var counts: [CandidateStatus: Int] = [:]
        for row in try connection.query("SELECT status, COUNT(*) FROM candidate GROUP BY status") {
            if let status = row[0].string.flatMap(CandidateStatus.init(rawValue:)), let count = row[1].int { counts[status] = count }
        }
        return counts
    }

}

/// A genome as the archive keeps it: a JSON array of doubles printed so they read back exactly.
enum ArchiveGenome {
    /// A genome as a JSON array of doubles printed so they read back exactly.
    static func encode(_ genome: [Double]) throws -> String {
        guard genome.allSatisfy(\.isFinite) else { throw ArchiveError(file: "(genome)", "a genome holds a non-finite number") }
        return "[" + genome.map { "\($0)" }.joined(separator: ",") + "]"
    }

    static func decode(_ text: String, file: String, id: Int) throws -> [Double] {
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
