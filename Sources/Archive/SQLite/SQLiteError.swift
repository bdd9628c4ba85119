import CSQLite

/// A failed SQLite call: the database file, the result code, SQLite's message and the statement
/// that failed, in one sentence a user can act on.
public struct SQLiteError: Error, Equatable, CustomStringConvertible {
    public let file: String
    /// The extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …).
    public let code: Int32
    public let message: String
    public let sql: String?

    public init(file: String, code: Int32, message: String, sql: String? = nil) {
        self.file = file
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low byte of the extended code).
    public var primaryCode: Int32 { code & 0xFF }

    public var description: String {
        var text = "\(file): SQLite error \(code): \(message)"
        if let sql { text += " (in: \(sql.split(separator: "\n").joined(separator: " ").prefix(200)))" }
        return text
    }
}
