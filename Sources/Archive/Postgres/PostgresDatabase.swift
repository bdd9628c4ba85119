import CPostgres
import Foundation

/// One connection to a PostgreSQL server through libpq, in the image of `SQLiteDatabase`: a thin
/// owner of the `PGconn`, statements run with `PQexecParams` (parameters and results as text,
/// which PostgreSQL 12+ prints for doubles in the shortest form that reads back exactly), result
/// statuses turned into `PostgresError`s carrying the server, SQLSTATE, message and statement.
///
/// A class because it owns the connection (closed in `deinit`). A connection is used by one thread
/// at a time, as libpq requires.
///
/// Why libpq and not vapor/postgres-nio: the engine and every command are synchronous and call the
/// archive from one thread; libpq's blocking calls fit them as sqlite3's do, with no event loop
/// threads to start, bridge and shut down, and it is the client every PostgreSQL installation
/// ships (Debian's `libpq-dev`).
public final class PostgresDatabase {
    /// The server and database, without the password: what error messages name.
    public let location: String
    private let handle: OpaquePointer
    private var lastChanges = 0

    /// Connects with a libpq connection string (`postgresql://user@host:port/db?...` or
    /// `host=/tmp dbname=x`). `timeout` bounds the connection attempt (libpq's connect_timeout).
    public init(conninfo: String, location: String, timeout: Int = 10) throws(PostgresError) {
        self.location = location
        let keywords = ["dbname", "connect_timeout", "application_name"]
        let values = [conninfo, String(max(2, timeout)), "amalgam"]
        // expand_dbname = 1: the first "dbname" is a whole connection string or URI.
        guard let conn = withCStrings(keywords, { k in withCStrings(values, { v in PQconnectdbParams(k, v, 1) }) }) else {
            throw PostgresError(location: location, state: nil, message: "libpq could not allocate a connection")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw PostgresError(location: location, state: nil, message: message.isEmpty ? "cannot connect" : message)
        }
        handle = conn
        try execute("SET client_min_messages = warning; SET extra_float_digits = 3; SET TIME ZONE 'UTC'")
    }

    deinit {
        PQfinish(handle)
    }

    /// Runs one or more statements that take no parameters (PQexec: a multi-statement string runs
    /// in one implicit transaction unless it holds its own BEGIN/COMMIT).
    public func execute(_ sql: String) throws(PostgresError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    /// Runs one statement with `arguments` bound to its `?` (in order) or `?N` parameters, returning
    /// every row. `?` outside quotes becomes `$n`, so the archive's SQL reads the same on both stores.
    @discardableResult
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresError) -> [[SQLValue]] {
        let text = Self.numberedParameters(sql)
        let strings: [String?] = arguments.map(\.postgresText)
        let result = withOptionalCStrings(strings) { values in
            PQexecParams(handle, text, Int32(strings.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql)
        lastChanges = Int(String(cString: PQcmdTuples(result))) ?? 0
        let rows = Int(PQntuples(result)), columns = Int(PQnfields(result))
        let kinds = (0..<columns).map { PQftype(result, Int32($0)) }
        return (0..<rows).map { row in
            (0..<columns).map { column -> SQLValue in
                guard PQgetisnull(result, Int32(row), Int32(column)) == 0 else { return .null }
                let value = String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                switch kinds[column] {
                case 20, 21, 23: return Int64(value).map(SQLValue.integer) ?? .text(value)  // int8, int2, int4
                case 700, 701, 1700: return Double(value).map(SQLValue.real) ?? .text(value)  // float4, float8, numeric
                case 16: return .integer(value == "t" ? 1 : 0)  // bool
                default: return .text(value)
                }
            }
        }
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresError) -> SQLValue? {
        try query(sql, arguments).first?.first
    }

    /// Rows changed (or returned) by the last `query`.
    public var changes: Int { lastChanges }

    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) {
        guard let result else {
            throw PostgresError(location: location, state: nil, message: String(cString: PQerrorMessage(handle)), sql: sql)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw PostgresError(location: location, state: state, message: message, sql: sql)
        }
    }

    /// `?` → `$1, $2, …` in order and `?N` → `$N`, outside single-quoted literals and double-quoted
    /// identifiers.
    static func numberedParameters(_ sql: String) -> String {
        var out = "", next = 0, quote: Character?
        var characters = sql.makeIterator(), pending: Character? = characters.next()
        while let character = pending {
            pending = characters.next()
            if let open = quote {
                out.append(character)
                if character == open { quote = nil }
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                out.append(character)
            } else if character == "?" {
                var digits = ""
                while let digit = pending, digit.isASCII, digit.isNumber {
                    digits.append(digit)
                    pending = characters.next()
                }
                if digits.isEmpty {
                    next += 1
                    out += "$\(next)"
                } else {
                    out += "$" + digits
                }
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// A failed libpq call: the server, the SQLSTATE (`40P01`, `23505`, …), the server's message and
/// the statement, in one sentence.
public struct PostgresError: Error, Equatable, CustomStringConvertible {
    public let location: String
    public let state: String?
    public let message: String
    public let sql: String?

    public init(location: String, state: String?, message: String, sql: String? = nil) {
        self.location = location
        self.state = state
        self.message = message
        self.sql = sql
    }

    public var description: String {
        var text = "\(location): PostgreSQL error" + (state.map { " \($0)" } ?? "") + ": \(message)"
        if let sql { text += " (in: \(sql.split(separator: "\n").joined(separator: " ").prefix(200)))" }
        return text
    }
}

extension SQLValue {
    /// The value as PostgreSQL's text input reads it (nil for NULL). Doubles print in Swift's
    /// shortest exact form, infinities as PostgreSQL spells them, and NaN as NULL, as SQLite
    /// stores it, so both stores keep (and refuse, in a NOT NULL column) the same values.
    var postgresText: String? {
        switch self {
        case .null: nil
        case .integer(let v): String(v)
        case .real(let v): v.isNaN ? nil : v.isInfinite ? (v < 0 ? "-Infinity" : "Infinity") : "\(v)"
        case .text(let v): v
        case .blob(let v): "\\x" + v.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
    }
}

/// Calls `body` with a C array of C strings that lives as long as the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStrings(strings.map { Optional($0) }, body)
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
