import Foundation

/// Runs the release build of `amalgam` (DESIGN.md §5: integration tests drive a release build).
/// `make test` builds it first; `AMALGAM_BIN` points elsewhere.
///
/// Every process a test starts has a deadline: past it the process is killed and the test fails
/// with the last lines it printed (a hung search must fail a test, never hang the suite). Output
/// goes to files, not pipes, so a child (or a grandchild holding its output open) can never block
/// on a full pipe or keep a reader waiting.
enum CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static var binary: String {
        ProcessInfo.processInfo.environment["AMALGAM_BIN"] ?? repository + "/.build/release/amalgam"
    }

    /// The deadline of a command that is expected to finish on its own.
    static let defaultDeadline = 300.0

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// True when the process ended by a signal (`status` is then the signal number).
        var signaled = false
    }

    struct MissingBinary: Error, CustomStringConvertible {
        var description: String { "\(CLI.binary) does not exist: run `swift build -c release --product amalgam` (make test does)" }
    }

    /// A process that outlived its deadline and was killed, with its last output.
    struct DeadlineExceeded: Error, CustomStringConvertible {
        let arguments: [String]
        let seconds: Double
        let lastOutput: String
        var description: String {
            "amalgam \(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s and was killed; its last output:\n\(lastOutput)"
        }
    }

    /// Runs `amalgam` and waits at most `deadline` seconds for it.
    static func run(_ arguments: [String], environment: [String: String] = [:], deadline: Double = defaultDeadline) throws -> Result {
        let launched = try Launched(arguments, environment: environment)
        return try launched.wait(deadline: deadline)
    }

    /// Starts `amalgam` without waiting: for tests that poll, signal or kill a live search.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Launched {
        try Launched(arguments, environment: environment)
    }

    /// A started `amalgam` process whose stdout and stderr go to temporary files.
    final class Launched {
        let arguments: [String]
        let process = Process()
        private let outPath: String
        private let errPath: String
        private let exited = DispatchSemaphore(value: 0)
        private var reaped = false

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            guard FileManager.default.isExecutableFile(atPath: binary) else { throw MissingBinary() }
            self.arguments = arguments
            let stem = NSTemporaryDirectory() + "amalgam-cli-" + UUID().uuidString
            outPath = stem + ".out"
            errPath = stem + ".err"
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: repository)
            var env = ProcessInfo.processInfo.environment
            env["COLUMNS"] = "100"
            for (key, value) in environment { env[key] = value }
            process.environment = env
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            let exited = self.exited
            process.terminationHandler = { _ in exited.signal() }
            try process.run()
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }

        var pid: Int32 { process.processIdentifier }
        var isRunning: Bool { process.isRunning }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// The last lines of both outputs, for a failure message.
        var lastOutput: String {
            let out = stdout.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
            let err = stderr.split(separator: "\n", omittingEmptySubsequences: false).suffix(15).joined(separator: "\n")
            return "stdout:\n\(out)\nstderr:\n\(err)"
        }

        /// Whether the process ended within `seconds` (it is left running otherwise).
        func ended(within seconds: Double) -> Bool {
            if reaped { return true }
            guard exited.wait(timeout: .now() + seconds) == .success else { return false }
            reaped = true
            return true
        }

        /// Waits at most `deadline` seconds; past it the process is killed and the call throws
        /// with its last output.
        func wait(deadline: Double) throws -> Result {
            guard ended(within: deadline) else {
                kill(process.processIdentifier, SIGKILL)
                _ = ended(within: 30)
                throw DeadlineExceeded(arguments: arguments, seconds: deadline, lastOutput: lastOutput)
            }
            return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr,
                          signaled: process.terminationReason == .uncaughtSignal)
        }
    }
}
