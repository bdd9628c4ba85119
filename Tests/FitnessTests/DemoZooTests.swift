import Foundation
import Testing
@testable import Fitness
@testable import Inference
@testable import Tensors

/// The committed demo (zoo/ and fitness/demo.yaml) stays loadable and consistent: every task file
/// parses, splits are disjoint and large enough, and every zoo model shares one tokenizer.
@Suite struct DemoZooTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func fitnessFileAndSplits() throws {
        let fitness = try FitnessFile(contentsOf: Self.repository + "/fitness/demo.yaml")
        #expect(fitness.tasks.map(\.name) == ["add", "rev", "facts"])
        for task in fitness.tasks {
            let calibration = try TaskData(file: try #require(task.calibration))
            let holdout = try TaskData(file: try #require(task.holdout))
            #expect(calibration.rows.count >= 100 && holdout.rows.count >= 100, "\(task.name)")
            let contexts = Set(try calibration.rows.map { try calibration.string($0, "context") })
            #expect(try holdout.rows.allSatisfy { !contexts.contains(try holdout.string($0, "context")) }, "\(task.name): splits overlap")
        }
    }

    @Test func zooModelsLoadWithOneTokenizer() throws {
        let tokenizer = try String(contentsOfFile: Self.repository + "/zoo/base/tokenizer.json", encoding: .utf8)
        var total = 0
        for name in ["base", "add", "rev", "facts"] {
            let folder = try ModelFolder(path: Self.repository + "/zoo/" + name)
            _ = try DecoderModel(folder: folder)
            #expect(try String(contentsOfFile: folder.path + "/tokenizer.json", encoding: .utf8) == tokenizer)
            total += folder.bytesOnDisk
        }
        #expect(total <= 8_000_000)
    }
}
