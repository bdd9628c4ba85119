import Foundation

/// The repository root, found from this file's path (tools/fuzz/Sources/FuzzSupport/), so the
/// targets reach the zoo and the fixtures wherever the clone is.
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<5 { url.deleteLastPathComponent() }
    return url.path
}()

/// libFuzzer's input as a byte array (a null `start` is an empty input).
public func fuzzBytes(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    guard let start, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: start, count: count))
}

/// The input as text, or nil when it is not UTF-8 (the YAML readers take a String).
public func fuzzText(_ start: UnsafePointer<UInt8>?, _ count: Int) -> String? {
    String(validating: fuzzBytes(start, count), as: UTF8.self)
}
