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
    ///
    /// Over TCP, a server or network that goes silent ends the connection with an error instead of
    /// leaving a worker or coordinator blocked in a read forever: TCP keepalives after 30 s idle,
    /// every 10 s, 3 unanswered probes, and unacknowledged writes given up after 60 s
    /// (`tcp_user_timeout`); a connection string that sets any of these keeps its own.
    public init(conninfo: String, location: String, timeout: Int = 10) throws(PostgresError) {
        self.location = location
        // Before "dbname", so the expanded connection string overrides them; after it what we insist on.
        let keywords = ["keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                        "dbname", "connect_timeout", "application_name"]
        let values = ["1", "30", "10", "3", "60000", conninfo, String(max(2, timeout)), "amalgam"]
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
    /// in one implicit transaction unless it holds its own BEGIN/COMMIT). Deferred statements go
    /// first, in the same round trip.
    public func execute(_ sql: String) throws(PostgresError) {
        let text = (deferred + [sql]).joined(separator: "; ")
        deferred = []
        let result = PQexec(handle, text)
        defer { PQclear(result) }
        try check(result, sql: text)
    }

    /// Runs one statement with `arguments` bound to its `?` (in order) or `?N` parameters, returning
    /// every row. `?` outside quotes becomes `$n`, so the archive's SQL reads the same on both stores.
    @discardableResult
    public func query(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresError) -> [[SQLValue]] {
        guard deferred.isEmpty else { return try pipeline([(sql, arguments)]) }
        let text = Self.numberedParameters(sql)
        let strings: [String?] = arguments.map(\.postgresText)
        let result = withOptionalCStrings(strings) { values in
            PQexecParams(handle, text, Int32(strings.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        try check(result, sql: sql)
        return rows(of: result)
    }

    /// Waits until a notification arrives on a channel this connection LISTENs to, or `timeout`
    /// seconds pass, on the connection's socket (no statement, no CPU while waiting); true when one
    /// came. Notifications that arrived during earlier statements count at once; all are consumed.
    public func waitForNotification(timeout: Double) throws(PostgresError) -> Bool {
        if takeNotifications() { return true }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw connectionError(sql: "LISTEN") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, min(timeout, 60)) * 1000))
        if ready > 0 { guard PQconsumeInput(handle) == 1 else { throw connectionError(sql: "LISTEN") } }
        return takeNotifications()
    }

    /// Consumes the notifications libpq holds; true when there was one.
    private func takeNotifications() -> Bool {
        var any = false
        while let notification = PQnotifies(handle) {
            PQfreemem(notification)
            any = true
        }
        return any
    }

    /// The first column of the first row, or nil when there is no row.
    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws(PostgresError) -> SQLValue? {
        try query(sql, arguments).first?.first
    }

    /// Rows changed (or returned) by the last `query`.
    public var changes: Int { lastChanges }

    /// Parameterless statements (a transaction's BEGIN) sent ahead of the next statement, in its
    /// round trip, their results checked with it: `transaction` costs no round trip of its own.
    private var deferred: [String] = []

    /// Runs `sql` ahead of the next statement, in its round trip.
    func deferUntilNextStatement(_ sql: String) {
        deferred.append(sql)
    }

    /// Takes back the statements deferred since there were `count`; true when there were any (then
    /// nothing of them reached the server).
    func cancelDeferred(since count: Int) -> Bool {
        guard deferred.count > count else { return false }
        deferred.removeSubrange(count...)
        return true
    }

    var deferredCount: Int { deferred.count }

    /// Sends the deferred statements and `statements` in one round trip (libpq's pipeline mode,
    /// PostgreSQL 14+) and returns the last statement's rows; `changes` is the last one's. A
    /// statement that fails aborts the rest of the pipeline (the server skips them up to the sync
    /// point); its error is thrown once every result has been read, so the connection stays usable.
    @discardableResult
    private func pipeline(_ statements: [(sql: String, arguments: [SQLValue])]) throws(PostgresError) -> [[SQLValue]] {
        let all = deferred.map { (sql: $0, arguments: [SQLValue]()) } + statements
        deferred = []
        guard let first = all.first else { return [] }
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError(sql: first.sql) }
        var failure: PostgresError?
        var sent = 0
        for statement in all {
            let strings: [String?] = statement.arguments.map(\.postgresText)
            let queued = withOptionalCStrings(strings) { values in
                PQsendQueryParams(handle, Self.numberedParameters(statement.sql), Int32(strings.count), nil, values, nil, nil, 0)
            }
            guard queued == 1 else {
                failure = connectionError(sql: statement.sql)
                break
            }
            sent += 1
        }
        if PQpipelineSync(handle) != 1 { failure = failure ?? connectionError(sql: first.sql) }
        var rows: [[SQLValue]] = []
        reading: for index in 0..<sent {
            guard let result = PQgetResult(handle) else {
                failure = failure ?? connectionError(sql: all[index].sql)
                break reading
            }
            defer { PQclear(result) }
            if PQresultStatus(result) != PGRES_PIPELINE_ABORTED {
                do throws(PostgresError) {
                    try check(result, sql: all[index].sql)
                    if index == sent - 1 { rows = self.rows(of: result) }
                } catch {
                    failure = failure ?? error
                }
            }
            // Each statement's results end with a NULL.
            if let extra = PQgetResult(handle) {
                PQclear(extra)
                failure = failure ?? PostgresError(location: location, state: nil, message: "more than one result for one statement in a pipeline", sql: all[index].sql)
                break reading
            }
        }
        // The sync point, then back to one statement at a time.
        if let sync = PQgetResult(handle) { PQclear(sync) }
        if PQexitPipelineMode(handle) != 1 { failure = failure ?? connectionError(sql: first.sql) }
        if let failure { throw failure }
        return rows
    }

    private func connectionError(sql: String) -> PostgresError {
        PostgresError(location: location, state: nil, message: String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines), sql: sql)
    }

    /// A result's rows as values (integers, doubles and booleans by column type, the rest as text);
    /// sets `changes`.
    private func rows(of result: OpaquePointer?) -> [[SQLValue]] {
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
