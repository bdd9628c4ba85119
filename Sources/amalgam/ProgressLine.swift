#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A progress line redrawn in place on stderr when stderr is a terminal; nothing otherwise, so
/// logs and pipes stay clean. It uses no colour, only carriage returns.
final class ProgressLine {
    let label: String
    let total: Int
    private let enabled = isatty(STDERR_FILENO) == 1
    private var lastDraw = Date.distantPast

    init(label: String, total: Int) {
        self.label = label
        self.total = total
    }

    func update(_ done: Int) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 || done == total else { return }
        lastDraw = Date()
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
