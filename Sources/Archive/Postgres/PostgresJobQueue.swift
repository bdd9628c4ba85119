import Foundation

/// A job for an `amalgam worker`: a candidate to merge and score on one split (or one racing stage).
public struct JobRecord: Sendable, Equatable {
    public var id: Int
    public var candidate: Int
    public var split: ScoreSplit
    /// A racing stage's examples as JSON, or nil for the whole split.
    public var slice: String?
    public var worker: String?
    /// The worker's outcome as JSON, once finished.
    public var outcome: String?

    public init(id: Int, candidate: Int, split: ScoreSplit, slice: String?, worker: String? = nil, outcome: String? = nil) {
        self.id = id
        self.candidate = candidate
        self.split = split
        self.slice = slice
        self.worker = worker
        self.outcome = outcome
    }
}

/// The job queue of a PostgreSQL run (DESIGN.md §6), Optuna's RDB model: the coordinator queues
/// jobs and collects their outcomes; workers claim them with `FOR UPDATE SKIP LOCKED` (no two get
/// the same one, none waits on another's lock), hold a lease they renew by heartbeat, and record
/// the outcome only while they still hold it. A worker that dies stops renewing; once its lease
/// has run out the coordinator puts the job back in the queue (counted in `expired`). Leases are
/// measured on the server's clock, so machines' clocks need not agree.
///
/// Queue operations are single statements (atomic on their own, one round trip each) or plain
/// transactions, never archive commits: `AMALGAM_FAILPOINT` counts only the archive's own writes,
/// so a crash point does not move with how often a coordinator polled or a worker claimed.
extension PostgresArchive {
    static let now = "extract(epoch from clock_timestamp())::float8"

    // MARK: The coordinator's side

    /// Opens a coordinator session: the jobs an earlier coordinator left queued or claimed are
    /// dropped (its engine requeued their candidates, which this one queues again). Returns the
    /// session's number.
    public func beginSession() throws -> Int {
        try connection.transaction {
            try connection.query("UPDATE job SET state = 'dropped' WHERE state IN ('queued', 'claimed', 'finished')")
            return (try connection.scalar("SELECT coalesce(max(session), 0) + 1 FROM job")?.int) ?? 1
        }
    }

    /// Takes the run's coordinator lock for this connection's life (a session-level advisory
    /// lock): a second coordinator of the same run is refused while this one lives.
    public func lockCoordinator() throws {
        let taken = try connection.scalar("SELECT pg_try_advisory_lock(hashtext(?))", [.text(Self.coordinatorLockKey(store))])
        guard taken?.int == 1 else {
            throw ArchiveError(file: location, "run '\(store.run)' already has a coordinator (another `amalgam search` or `resume` holds its lock); stop it first")
        }
    }

    public func enqueue(session: Int, candidate: Int, split: ScoreSplit, slice: String?) throws -> Int {
        guard let id = try connection.scalar("INSERT INTO job (session, candidate, split, slice, state) VALUES (?, ?, ?, ?, 'queued') RETURNING id",
                                             [.integer(Int64(session)), .integer(Int64(candidate)), .text(split.rawValue), SQLValue(slice)])?.int else {
            throw ArchiveError(file: location, "job: no id returned")
        }
        return id
    }

    /// Jobs whose lease ran out back to the queue; returns how many.
    @discardableResult
    public func expireLeases() throws -> Int {
        try connection.query("UPDATE job SET state = 'queued', worker = NULL, lease_until = NULL, expired = expired + 1 WHERE state = 'claimed' AND lease_until < \(Self.now)")
        return connection.changes
    }

    /// The session's finished jobs, now marked collected, by id.
    public func collectFinished(session: Int) throws -> [JobRecord] {
        try connection.query("""
            UPDATE job SET state = 'collected' WHERE session = ? AND state = 'finished'
            RETURNING id, candidate, split, slice, worker, outcome
            """, [.integer(Int64(session))]).map(decodeJob).sorted { $0.id < $1.id }
    }

    /// Drops the session's jobs not yet finished (a stop); returns their ids.
    public func dropUnfinished(session: Int) throws -> [Int] {
        try connection.query("UPDATE job SET state = 'dropped' WHERE session = ? AND state IN ('queued', 'claimed') RETURNING id",
                             [.integer(Int64(session))]).compactMap { $0.first?.int }
    }

    /// Drops the session's jobs no worker has claimed yet; returns their ids.
    public func dropQueued(session: Int) throws -> [Int] {
        try connection.query("UPDATE job SET state = 'dropped' WHERE session = ? AND state = 'queued' RETURNING id",
                             [.integer(Int64(session))]).compactMap { $0.first?.int }
    }

    /// Workers seen within `within` seconds.
    public func liveWorkers(within seconds: Double) throws -> Int {
        try connection.scalar("SELECT count(*) FROM worker WHERE seen > \(Self.now) - ?", [.real(seconds)])?.int ?? 0
    }

    /// How many leases ran out over the run (workers that died or stalled mid-job).
    public func expiredLeases() throws -> Int {
        try connection.scalar("SELECT coalesce(sum(expired), 0)::bigint FROM job")?.int ?? 0
    }

    // MARK: The worker's side

    /// Registers (or re-registers) a worker and what it offers (`resources`, JSON).
    public func register(worker: String, resources: String) throws {
        try connection.query("""
            INSERT INTO worker (name, resources, started, seen) VALUES (?, ?, \(Self.now), \(Self.now))
            ON CONFLICT (name) DO UPDATE SET resources = excluded.resources, started = excluded.started, seen = excluded.seen
            """, [.text(worker), .text(resources)])
    }

    /// The oldest queued job, now claimed by `worker` with a lease of `lease` seconds; nil when none is queued.
    public func claimJob(worker: String, lease: Double) throws -> JobRecord? {
        // One statement: the heartbeat and the claim.
        try connection.query("""
            WITH seen AS (UPDATE worker SET seen = \(Self.now) WHERE name = ?1)
            UPDATE job SET state = 'claimed', worker = ?1, lease_until = \(Self.now) + ?2
            WHERE id = (SELECT id FROM job WHERE state = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id, candidate, split, slice, worker, outcome
            """, [.text(worker), .real(lease)]).first.map(decodeJob)
    }

    /// Renews the lease (and the worker's heartbeat); false when the job is no longer this
    /// worker's (its lease ran out and it went back to the queue, or the coordinator dropped it).
    public func renew(job: Int, worker: String, lease: Double) throws -> Bool {
        try connection.query("""
            WITH seen AS (UPDATE worker SET seen = \(Self.now) WHERE name = ?3)
            UPDATE job SET lease_until = \(Self.now) + ?1 WHERE id = ?2 AND worker = ?3 AND state = 'claimed'
            """, [.real(lease), .integer(Int64(job)), .text(worker)])
        return connection.changes == 1
    }

    /// Records the outcome while the job is still this worker's; false (nothing written) otherwise.
    /// A coordinator waiting in `waitForFinishedJobs` is notified when the outcome commits.
    public func finish(job: Int, worker: String, outcome: String) throws -> Bool {
        // One statement: the outcome, the worker's count and the notification, when the outcome was taken.
        try connection.query("""
            WITH done AS (UPDATE job SET state = 'finished', outcome = ?1, lease_until = NULL WHERE id = ?2 AND worker = ?3 AND state = 'claimed' RETURNING id),
                 counted AS (UPDATE worker SET jobs = jobs + 1, seen = \(Self.now) WHERE name = ?3 AND EXISTS (SELECT 1 FROM done))
            SELECT count(*) FROM (SELECT pg_notify(?4, '') FROM done) AS notified
            """, [.text(outcome), .integer(Int64(job)), .text(worker), .text(finishedChannel)]).first?.first?.int == 1
    }

    /// The notification channel of the run's finished jobs (the schema's name: one per run).
    var finishedChannel: String { store.schema }

    /// From now on, this connection hears of every job a worker finishes (`waitForFinishedJobs`).
    public func listenForFinishedJobs() throws {
        try connection.execute("LISTEN " + store.schemaIdentifier)
    }

    /// Waits until a worker finishes a job (after `listenForFinishedJobs`) or `timeout` seconds
    /// pass; true when one did. Costs no statement while nothing happens.
    public func waitForFinishedJobs(timeout: Double) throws -> Bool {
        try connection.waitForNotification(timeout: timeout)
    }

    /// Gives a claimed job back to the queue at once (a worker asked to stop).
    public func release(job: Int, worker: String) throws {
        try connection.query("UPDATE job SET state = 'queued', worker = NULL, lease_until = NULL WHERE id = ? AND worker = ? AND state = 'claimed'",
                             [.integer(Int64(job)), .text(worker)])
    }

    private func decodeJob(_ row: [SQLValue]) throws -> JobRecord {
        guard row.count == 6, let id = row[0].int, let candidate = row[1].int, let split = row[2].string.flatMap(ScoreSplit.init(rawValue:)) else {
            throw ArchiveError(file: location, "job: a malformed row")
        }
        return JobRecord(id: id, candidate: candidate, split: split, slice: row[3].string, worker: row[4].string, outcome: row[5].string)
    }
}
