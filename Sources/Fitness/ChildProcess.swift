#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization
import Tensors

/// An external command run in a process group of its own, with a deadline, cancellable, and
/// read without ever waiting on a process that is not its own.
///
/// The contract, for evaluators such as lm-eval + vLLM that start worker processes of their own:
/// - The command is spawned (`posix_spawnp`, never a shell) as the leader of a new process group,
///   with the default disposition for every signal (the coordinator ignores SIGINT and SIGTERM;
///   its children must not) and an empty signal mask; stdin is /dev/null.
/// - On timeout or cancellation the whole group gets SIGTERM, then SIGKILL after `grace`
///   seconds if the leader is still alive.
/// - When the leader exits, whatever is left of its group (a background grandchild) is killed
///   before the leader is reaped — while its zombie still holds the group id, so the signal can
///   never reach an unrelated process that reused the id.
/// - Output is read with `poll` until both pipes close or, after the leader's exit, for at most
///   `drain` seconds more: a grandchild that escaped the group and keeps a pipe open cannot hold
///   the reader.
/// - Every live group is registered, so `killAll` (the coordinator's second Ctrl-C, which exits
///   at once) leaves no command behind.
public struct ChildProcess: Sendable {
    public let argv: [String]
    public var timeout: Double
    public var grace = 5.0
    public var drain = 2.0
    /// Bytes of stdout and stderr kept (the last ones when a stream is longer).
    public var outputLimit = 16 << 20

    public struct Result: Sendable {
        /// The exit status, or nil when the leader ended by a signal.
        public let status: Int32?
        public let signal: Int32?
        public let stdout: [UInt8]
        public let stderr: [UInt8]
        public let timedOut: Bool
        public let cancelled: Bool
    }

    /// `posix_spawnp` refused the command (not found, not executable); the system's reason.
    public struct SpawnFailure: Error, Sendable {
        public let reason: String
    }

    public init(argv: [String], timeout: Double) {
        self.argv = argv
        self.timeout = timeout
    }

    private static let live = Mutex<Set<pid_t>>([])
    private static let spawnLock = Mutex(())

    /// SIGKILL to every process group still running: for an immediate exit of the whole process.
    public static func killAll() {
        for group in live.withLock({ $0 }) { kill(-group, SIGKILL) }
    }

    /// For commands without a graceful stop (`amalgam eval`): SIGINT or SIGTERM kills every
    /// command still running (their groups are not the terminal's, so Ctrl-C does not reach
    /// them) and exits with status 130. Keep the returned sources alive while it should hold.
    public static func killAllOnSignals() -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                killAll()
                _exit(130)
            }
            source.resume()
            return source
        }
    }

    /// The process groups currently running (for tests).
    public static var liveGroups: Set<pid_t> { live.withLock { $0 } }

    public func run(cancellation: Cancellation? = nil) throws(SpawnFailure) -> Result {
        guard !argv.isEmpty else { throw SpawnFailure(reason: "the command is empty") }
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1], wake: [Int32] = [-1, -1]
        let pid: pid_t
        do throws(SpawnFailure) {
            // Pipes are made close-on-exec and the child spawned under one lock, so a command that
            // another worker spawns at the same moment never inherits this one's pipes.
            pid = try Self.spawnLock.withLock { _ throws(SpawnFailure) -> pid_t in
                guard pipe(&out) == 0, pipe(&err) == 0, pipe(&wake) == 0 else {
                    throw SpawnFailure(reason: String(cString: strerror(errno)))
                }
                for fd in out + err + wake { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                _ = fcntl(wake[0], F_SETFL, O_NONBLOCK)
                _ = fcntl(wake[1], F_SETFL, O_NONBLOCK)
                return try spawn(stdout: out[1], stderr: err[1])
            }
        } catch {
            for fd in out + err + wake where fd >= 0 { close(fd) }
            throw error
        }
        close(out[1])
        close(err[1])
        Self.live.withLock { _ = $0.insert(pid) }
        defer { Self.live.withLock { _ = $0.remove(pid) } }

        // The waiter only learns that the leader exited (WNOWAIT leaves it a zombie); the reader
        // loop below kills the rest of the group and then reaps it.
        // Writers of the wake pipe go through this lock, so none writes after it is closed.
        let wakeWriter = Mutex<Int32>(wake[1])
        @Sendable func wakeUp() {
            wakeWriter.withLock { fd in
                var byte: UInt8 = 1
                if fd >= 0 { _ = write(fd, &byte, 1) }
            }
        }
        let exited = Atomic<Bool>(false)
        let waiterDone = DispatchSemaphore(value: 0)
        Thread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
            exited.store(true, ordering: .sequentiallyConsistent)
            wakeUp()
            waiterDone.signal()
        }.start()
        let cancelKey = cancellation?.onCancel { wakeUp() }

        var streams: [(fd: Int32, bytes: [UInt8])] = [(out[0], []), (err[0], [])]
        var timedOut = false, cancelled = false
        var terminatedAt: Double?, exitedAt: Double?
        var rawStatus: Int32 = 0
        let deadline = Self.now() + timeout
        while true {
            let now = Self.now()
            if exitedAt == nil, exited.load(ordering: .sequentiallyConsistent) {
                kill(-pid, SIGKILL)  // leftovers of the group; the zombie leader still holds its id
                while waitpid(pid, &rawStatus, 0) < 0 && errno == EINTR {}
                exitedAt = now
            }
            if exitedAt == nil && terminatedAt == nil {
                if now >= deadline { timedOut = true }
                if cancellation?.isCancelled == true { cancelled = true }
                if timedOut || cancelled {
                    kill(-pid, SIGTERM)
                    terminatedAt = now
                }
            }
            if exitedAt == nil, let terminatedAt, now >= terminatedAt + grace { kill(-pid, SIGKILL) }
            let open = streams.indices.filter { streams[$0].fd >= 0 }
            if let exitedAt, open.isEmpty || now >= exitedAt + drain { break }

            var until = exitedAt.map { $0 + drain } ?? terminatedAt.map { $0 + grace } ?? deadline
            until = max(until, now)
            var fds = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            fds.append(pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0))
            let milliseconds = Int32(min(Double(Int32.max), ((until - now) * 1000).rounded(.up)))
            let ready = poll(&fds, nfds_t(fds.count), max(0, milliseconds))
            guard ready > 0 else { continue }
            for (slot, index) in open.enumerated() where fds[slot].revents != 0 {
                if !Self.readSome(&streams[index], limit: outputLimit) {
                    close(streams[index].fd)
                    streams[index].fd = -1
                }
            }
            if fds[fds.count - 1].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wake[0], &sink, sink.count) > 0 {}
            }
        }
        for stream in streams where stream.fd >= 0 { close(stream.fd) }
        // The leader was reaped, so the waiter has returned from waitid and is about to finish.
        waiterDone.wait()
        cancellation?.remove(cancelKey)
        wakeWriter.withLock { fd in
            close(fd)
            fd = -1
        }
        close(wake[0])
        let signalled = rawStatus & 0x7f
        return Result(status: signalled == 0 ? (rawStatus >> 8) & 0xff : nil, signal: signalled == 0 ? nil : signalled,
                      stdout: streams[0].bytes, stderr: streams[1].bytes, timedOut: timedOut, cancelled: cancelled)
    }

    /// Reads what is available; false at end of file or on an error.
    private static func readSome(_ stream: inout (fd: Int32, bytes: [UInt8]), limit: Int) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let n = read(stream.fd, &buffer, buffer.count)
        if n < 0 { return errno == EINTR || errno == EAGAIN }
        if n == 0 { return false }
        stream.bytes.append(contentsOf: buffer[0..<n])
        if stream.bytes.count > limit { stream.bytes.removeFirst(stream.bytes.count - limit) }
        return true
    }

    private func spawn(stdout: Int32, stderr: Int32) throws(SpawnFailure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let arguments = argv.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        let status = posix_spawnp(&pid, argv[0], &actions, &attributes, arguments, environ)
        guard status == 0 else { throw SpawnFailure(reason: String(cString: strerror(status))) }
        return pid
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
