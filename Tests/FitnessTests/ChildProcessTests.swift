import Foundation
import Testing
@testable import Fitness
import Tensors

/// External commands in their own process group: timeouts and cancellation kill the whole group,
/// a grandchild holding the output open never holds the reader, nothing is left running.
@Suite struct ChildProcessTests {
    /// The process ids whose process group is `group` (from /proc/*/stat, field 5).
    static func members(of group: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (comm)": state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, pid_t(fields[2]) == group, fields[0] != "Z" else { return nil }
            return pid
        }
    }

    /// Runs `script` under sh, which first prints its own process group (= its pid: it leads a new group).
    func run(_ script: String, timeout: Double, cancellation: Cancellation? = nil) throws -> (ChildProcess.Result, pid_t) {
        let result = try ChildProcess(argv: ["sh", "-c", "echo group $$; " + script], timeout: timeout).run(cancellation: cancellation)
        let text = String(decoding: result.stdout, as: UTF8.self)
        let group = text.split(separator: "\n").first { $0.hasPrefix("group ") }.flatMap { pid_t($0.dropFirst(6)) }
        return (result, try #require(group, "no group line in \(text)"))
    }

    @Test func aTimeoutKillsTheGroupEvenWhenAGrandchildHoldsStdoutOpen() throws {
        let started = Date()
        let (result, group) = try run("sleep 300 & sleep 300", timeout: 1)
        #expect(result.timedOut && !result.cancelled)
        #expect(result.signal == SIGTERM, "the leader ended by \(String(describing: result.signal)), status \(String(describing: result.status))")
        #expect(Self.members(of: group).isEmpty, "left running: \(Self.members(of: group))")
        #expect(!ChildProcess.liveGroups.contains(group))
        // A hang here would be 300 s; the bound is the timeout, the grace period and the drain.
        #expect(Date().timeIntervalSince(started) < 1 + 5 + 2 + 10)
    }

    @Test func aCommandThatIgnoresSIGTERMIsKilledAfterTheGracePeriod() throws {
        var process = ChildProcess(argv: ["sh", "-c", "trap '' TERM; echo group $$; sleep 300 & wait"], timeout: 0.5)
        process.grace = 0.5
        let result = try process.run()
        #expect(result.timedOut && result.signal == SIGKILL)
        let group = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").first.flatMap { pid_t($0.dropFirst(6)) }
        #expect(Self.members(of: try #require(group)).isEmpty)
    }

    @Test func aBackgroundGrandchildOfASuccessfulCommandIsKilledAndItsOutputKept() throws {
        let (result, group) = try run(#"sleep 300 & echo '{"x": 1}'"#, timeout: 60)
        #expect(result.status == 0 && !result.timedOut)
        #expect(String(decoding: result.stdout, as: UTF8.self).contains(#"{"x": 1}"#))
        #expect(Self.members(of: group).isEmpty)
    }

    @Test func cancellationStopsTheGroup() throws {
        let cancellation = Cancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { cancellation.cancel() }
        let (result, group) = try run("sleep 300 & sleep 300", timeout: 600, cancellation: cancellation)
        #expect(result.cancelled && !result.timedOut)
        #expect(Self.members(of: group).isEmpty)
    }

    @Test func theChildDoesNotInheritIgnoredSignals() throws {
        // The search ignores SIGINT and SIGTERM (it handles them through Dispatch); its commands must not.
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        let result = try ChildProcess(argv: ["sh", "-c", "grep SigIgn /proc/self/status"], timeout: 30).run()
        let line = String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16) ?? .max
        #expect(mask & (1 << (UInt64(SIGTERM) - 1)) == 0, "\(line)")
    }

    @Test func aMissingProgramIsASpawnFailure() {
        #expect(throws: ChildProcess.SpawnFailure.self) { try ChildProcess(argv: ["/nonexistent/program"], timeout: 5).run() }
    }
}
