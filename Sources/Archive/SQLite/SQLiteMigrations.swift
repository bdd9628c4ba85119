/// Forward-only schema migrations, tracked by `PRAGMA user_version` (GRDB's `DatabaseMigrator` in
/// miniature): migration i brings the schema from version i to i + 1, each in one transaction
/// together with the version bump, so a crash leaves the schema at a version, never between two.
public struct SQLiteMigrations: Sendable {
    public let steps: [String]

    public init(_ steps: [String]) { self.steps = steps }

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
            try database.transaction {
                try database.execute(steps[version])
                try database.execute("PRAGMA user_version = \(version + 1)")
            }
        }
    }
}
