import Foundation
@testable import Tensors

/// Paths and small builders shared by the suites.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let golden = directory + "/golden"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let tinyLlama = repository + "/zoo/tiny-llama"

    /// The bytes of a safetensors file with `header` as its JSON and `data` bytes after it.
    static func safetensors(header: String, data: Int = 0, lengthPrefix: UInt64? = nil) -> [UInt8] {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (lengthPrefix ?? UInt64(json.count)).littleEndian) { Array($0) }
        bytes += json
        bytes += (0..<data).map { UInt8(truncatingIfNeeded: $0) }
        return bytes
    }
}

/// A fresh temporary folder, removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "amalgam-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` in this folder and returns the file's path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
}
