import Foundation

/// Runs the release build of `amalgam` (DESIGN.md §5: integration tests drive a release build).
/// `make test` builds it first; `AMALGAM_BIN` points elsewhere.
enum CLI {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static var binary: String {
        ProcessInfo.processInfo.environment["AMALGAM_BIN"] ?? repository + "/.build/release/amalgam"
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    struct MissingBinary: Error, CustomStringConvertible {
        var description: String { "\(CLI.binary) does not exist: run `swift build -c release --product amalgam` (make test does)" }
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw MissingBinary() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repository)
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "100"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a full pipe never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while reader.isExecuting || !reader.isFinished { usleep(1000) }
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `amalgam` without waiting (output discarded): for tests that poll or kill a live search.
    static func start(_ arguments: [String]) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw MissingBinary() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repository)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
