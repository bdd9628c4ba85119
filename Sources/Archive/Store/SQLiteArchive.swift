import CSQLite
import Foundation

/// The SQLite `ArchiveStore` (DESIGN.md §3): one file, WAL mode, a busy timeout on every
/// connection, schema migrations by `user_version`.
///
/// A class because it owns its connection. One `SQLiteArchive` opened for writing is the run's
/// only writer (the engine's coordinator; `RunLock` keeps a second process out); `status`,
/// `front` and `export` open their own with `reader: true`, which only reads: under WAL a reader
/// sees the last committed state and neither blocks nor is blocked by the writer.
public final class SQLiteArchive: SQLArchiveStore {
    public let database: SQLiteDatabase
    public var path: String { database.path }
    public var connection: SQLiteDatabase { database }
    public var location: String { database.path }
    private var writer: FailpointWriter

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
        writer = FailpointWriter(failpoint: reader ? nil : Failpoint.fromEnvironment())
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
    public func write<T>(_ body: () throws -> T) throws -> T {
        try writer.write(database, body)
    }

    /// Caps the database at `pages` pages (`PRAGMA max_page_count`, for this connection only): a
    /// write that would grow it further fails with SQLITE_FULL, as on a full disk. For tests
    /// (`AMALGAM_FAULT=archive:SQLITE_FULL:PAGES`); SQLite never caps below the current size.
    public func limitPages(_ pages: Int) throws {
        try database.execute("PRAGMA max_page_count = \(pages)")
    }

    /// `PRAGMA integrity_check`'s verdict ("ok" when the file is sound).
    public func integrityCheck() throws -> String {
        try database.query("PRAGMA integrity_check").compactMap { $0.first?.string }.joined(separator: "; ")
    }
}
