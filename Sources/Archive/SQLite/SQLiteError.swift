import CSQLite

/// A failed SQLite call: the database file, the result code, SQLite's message and the statement
/// that failed, in one sentence a user can act on.
public struct SQLiteError: Error, Equatable, CustomStringConvertible {
    public let file: String
    /// The extended result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, …).
    public let code: Int32
    public let message: String
    public let sql: String?
    /// The `errno` of the system call behind an SQLITE_IOERR or SQLITE_CANTOPEN
    /// (`sqlite3_system_errno`, which SQLite sets for those codes only), else 0. SQLITE_FULL
    /// carries none: SQLite turns ENOSPC into it.
    public let systemErrno: Int32

    public init(file: String, code: Int32, message: String, sql: String? = nil, systemErrno: Int32 = 0) {
        self.file = file
        self.code = code
        self.message = message
        self.sql = sql
        self.systemErrno = [SQLITE_IOERR, SQLITE_CANTOPEN].contains(code & 0xFF) ? systemErrno : 0
    }

    /// The primary result code (the low byte of the extended code).
    public var primaryCode: Int32 { code & 0xFF }

    /// The primary code's symbolic name, `SQLITE_FULL`, as SQLite's documentation spells it.
    public var codeName: String {
        let names: [Int32: String] = [
            SQLITE_ERROR: "SQLITE_ERROR", SQLITE_PERM: "SQLITE_PERM", SQLITE_ABORT: "SQLITE_ABORT", SQLITE_BUSY: "SQLITE_BUSY",
            SQLITE_LOCKED: "SQLITE_LOCKED", SQLITE_NOMEM: "SQLITE_NOMEM", SQLITE_READONLY: "SQLITE_READONLY",
            SQLITE_IOERR: "SQLITE_IOERR", SQLITE_CORRUPT: "SQLITE_CORRUPT", SQLITE_FULL: "SQLITE_FULL",
            SQLITE_CANTOPEN: "SQLITE_CANTOPEN", SQLITE_CONSTRAINT: "SQLITE_CONSTRAINT", SQLITE_NOTADB: "SQLITE_NOTADB",
        ]
        return names[primaryCode] ?? "SQLite error \(code)"
    }

    /// The disk refused a write: full (SQLITE_FULL), failing (SQLITE_IOERR) or read-only
    /// (SQLITE_READONLY). SQLite has rolled the transaction back; the file is intact.
    public var isDiskFailure: Bool {
        [SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY].contains(primaryCode)
    }

    public var description: String {
        var text = "\(file): SQLite error \(code): \(message)"
        if let sql { text += " (in: \(sql.split(separator: "\n").joined(separator: " ").prefix(200)))" }
        return text
    }
}
