import Foundation
import Testing

/// Help text is part of the interface: snapshot it (STYLE.md). After an intended change, run the
/// tests with AMALGAM_UPDATE_SNAPSHOTS=1 and review the diff of Tests/AmalgamCLITests/Snapshots.
@Suite struct HelpSnapshotTests {
    static let snapshots = CLI.repository + "/Tests/AmalgamCLITests/Snapshots"

    @Test(arguments: [["--help"], ["inspect", "--help"], ["merge", "--help"], ["tokenize", "--help"], ["eval", "--help"], ["init", "--help"], ["search", "--help"], ["resume", "--help"], ["worker", "--help"], ["status", "--help"], ["front", "--help"], ["export", "--help"], ["report", "--help"]])
    func helpMatchesSnapshot(arguments: [String]) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 0)
        let name = (arguments.count == 1 ? "amalgam" : arguments[0]) + ".help.txt"
        let path = Self.snapshots + "/" + name
        if ProcessInfo.processInfo.environment["AMALGAM_UPDATE_SNAPSHOTS"] == "1" {
            try Data(result.stdout.utf8).write(to: URL(fileURLWithPath: path))
        }
        let snapshot = try String(contentsOfFile: path, encoding: .utf8)
        #expect(result.stdout == snapshot)
    }
}
