/// Forward-only schema migrations, tracked by `PRAGMA user_version` (GRDB's `DatabaseMigrator` in
/// miniature): migration i brings the schema from version i to i + 1, each in one transaction
/// together with the version bump, so a crash leaves the schema at a version, never between two.
public struct SQLiteMigrations: Sendable {
    /// One step of the schema, named for what it brings.
    public struct Migration: Sendable {
        public let name: String
        public let sql: String
        /// The step rebuilds a table (SQLite cannot alter a CHECK constraint): it runs with foreign
        /// keys off, as SQLite's "making other kinds of table schema changes" procedure says, and
        /// `PRAGMA foreign_key_check` must find nothing before it commits.
        public let rebuildsTables: Bool

        public init(_ name: String, rebuildsTables: Bool = false, _ sql: String) {
            self.name = name
            self.sql = sql
            self.rebuildsTables = rebuildsTables
        }
    }

    public let steps: [Migration]

    public init(_ steps: [Migration]) { self.steps = steps }

    public var latestVersion: Int { steps.count }

    /// Applies the migrations the database has not reached. A database from a newer Amalgam
    /// (version above ours) is refused rather than misread.
    public func migrate(_ database: SQLiteDatabase) throws {
        let current = try database.userVersion
        guard current <= steps.count else {
            throw SQLiteError(file: database.path, code: 0,
                              message: "the archive has schema version \(current), newer than this Amalgam's \(steps.count); use a newer amalgam")
        }
        for version in current..<steps.count {
            let step = steps[version]
            // PRAGMA foreign_keys is a no-op inside a transaction, so it is switched around it.
            let foreignKeys = try step.rebuildsTables ? (database.scalar("PRAGMA foreign_keys")?.int ?? 0) : 0
            if step.rebuildsTables { try database.execute("PRAGMA foreign_keys = OFF") }
            defer { if step.rebuildsTables && foreignKeys != 0 { try? database.execute("PRAGMA foreign_keys = ON") } }
            try database.transaction {
                try database.execute(step.sql)
                if step.rebuildsTables, let row = try database.query("PRAGMA foreign_key_check").first {
                    throw SQLiteError(file: database.path, code: 0,
                                      message: "migration \(version + 1) (\(step.name)) leaves a dangling reference in \(row.first?.string ?? "a table")")
                }
                try database.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }
}
