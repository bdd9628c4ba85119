import Foundation
@testable import Merging
@testable import Tensors

enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let models = directory + "/models"

    static func recipe(_ name: String) throws -> Recipe {
        try Recipe(contentsOf: directory + "/recipes/\(name).yml")
    }

    /// Plans a recipe whose model paths are relative to the repository root.
    static func plan(_ recipe: Recipe, file: String = "test.yml") throws -> MergePlan {
        try MergePlan(recipe: recipe, file: file, baseDirectory: repository)
    }

    /// Merges every tensor of `plan` as Float32 (not rounded to the output dtype).
    static func merge(_ plan: MergePlan, threads: Int = 2, seed: UInt64? = nil) throws -> [String: [Float]] {
        let materializer = Materializer(plan: plan, threads: threads, seed: seed)
        var out: [String: [Float]] = [:]
        for tensor in plan.tensors {
            var values = [Float](repeating: .nan, count: tensor.elementCount)
            try values.withUnsafeMutableBufferPointer { try materializer.merge(tensor, into: $0) }
            out[tensor.name] = values
        }
        return out
    }

    static func recipe(yaml: String) throws -> Recipe {
        try Recipe(yaml: yaml, file: "test.yml")
    }
}

/// A fresh temporary folder, removed when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "amalgam-merge-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
