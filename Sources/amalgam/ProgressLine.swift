#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A progress line redrawn in place on a terminal (stderr), silent otherwise or with NO_COLOR
/// unset aside: it prints no colour, only `\r` redraws, and nothing at all when stderr is not a TTY.
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
