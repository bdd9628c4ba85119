import Foundation
import Testing
@testable import Engine
@testable import Search

/// The frozen space `RunFolder` writes reads back through the space's own parser.
@Suite struct RunFolderTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Two tasks on one data file, and one task whose two splits are one file: each path is
    /// fingerprinted once, so the frozen space's `fingerprints` mapping has no repeated key.
    @Test func sharedTaskFilesAreFingerprintedOnce() throws {
        let folder = NSTemporaryDirectory() + "amalgam-runfolder-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let data = Self.repository + "/fitness/add.calib.jsonl"
        try Data("""
            tasks:
              - {name: one, kind: choice, calibration: \(data), holdout: \(data)}
              - {name: two, kind: choice, calibration: \(data)}

            """.utf8).write(to: URL(fileURLWithPath: folder + "/fitness.yaml"))
        let spaceFile = folder + "/space.yaml"
        let space = try SearchSpace(yaml: "base_model: \(Self.repository)/zoo/base\nmodels: [\(Self.repository)/zoo/add]\nfitness: fitness.yaml\n", file: spaceFile)
        let frozen = try RunFolder.frozen(space)
        let read = try SearchSpace(yaml: frozen, file: spaceFile)
        #expect(read.fingerprints.map(\.path) == [space.baseModel, space.models[0], folder + "/fitness.yaml", data])
        #expect(try RunFolder.verifiedSpace(frozen: frozen, file: spaceFile).fingerprints == read.fingerprints)
    }
}
