import Foundation
import Tensors

/// Why an external evaluator gave no score: non-zero exit, timeout, or output without the score.
/// `lastErrors` holds the command's last stderr lines.
public struct CommandFailure: LocatedError, Equatable {
    public let file: String
    public let field: String?
    public let message: String
    public let lastErrors: [String]
}

/// The `command` task kind: an external evaluator (lm-eval-harness + vLLM on GPUs, say) run as an
/// argument vector — never through a shell — with `{model}` replaced by the model folder and
/// `{out}` by a fresh temporary folder that is removed afterwards, whatever happens. The score is
/// read at a dotted JSON path from the newest file matching `score_file` (globs with `**`), or
/// from the last JSON object the command printed on stdout.
struct CommandTask {
    let task: FitnessFile.Task
    /// Cancelling it stops the command (its whole process group); `run` then throws `CancellationError`.
    var cancellation: Cancellation?

    init(task: FitnessFile.Task, cancellation: Cancellation? = nil) {
        self.task = task
        self.cancellation = cancellation
    }

    func run(model: String) throws -> Double {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("amalgam-\(task.name)-\(UUID().uuidString)").path
        try Disk.makeDirectories(out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let argv = task.run.map { $0.replacingOccurrences(of: "{model}", with: model).replacingOccurrences(of: "{out}", with: out) }
        let result: ChildProcess.Result
        do {
            result = try ChildProcess(argv: argv, timeout: task.timeout).run(cancellation: cancellation)
        } catch {
            throw CommandFailure(file: task.name, field: "run", message: "\(argv[0]) cannot be started (\(error.reason))", lastErrors: [])
        }
        if result.cancelled { throw CancellationError() }
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        let lastErrors = String(decoding: result.stderr, as: UTF8.self).split(separator: "\n").suffix(5).map(String.init)
        func fail(_ message: String) -> CommandFailure {
            CommandFailure(file: task.name, field: "run", message: message + (lastErrors.isEmpty ? "" : "; stderr: " + lastErrors.joined(separator: " | ")), lastErrors: lastErrors)
        }
        if result.timedOut { throw fail("\(argv[0]) timed out after \(formatDuration(task.timeout)) and was stopped") }
        if let signal = result.signal { throw fail("\(argv[0]) was killed by signal \(signal)") }
        guard result.status == 0 else { throw fail("\(argv[0]) exited with status \(result.status ?? -1)") }
        let document: JSONValue
        if let pattern = task.scoreFile {
            let glob = pattern.replacingOccurrences(of: "{out}", with: out).replacingOccurrences(of: "{model}", with: model)
            guard let file = Self.newestMatch(glob), let data = FileManager.default.contents(atPath: file) else {
                throw fail("no file matches score_file \(glob)")
            }
            do { document = try JSONParser(allowNonFinite: true).parse(data) } catch { throw fail("\(file) is not JSON (\(error))") }
        } else {
            guard let last = Self.lastJSONObject(stdout) else { throw fail("\(argv[0]) printed no JSON object on stdout") }
            document = last
        }
        guard let value = Self.lookup(task.scorePath, in: document) else { throw fail("the output has no number at \(task.scorePath)") }
        return value
    }

    /// The number at a dotted path; keys may contain commas (`results.gsm8k.exact_match,strict-match`).
    static func lookup(_ path: String, in document: JSONValue) -> Double? {
        var node = document
        for key in path.split(separator: ".", omittingEmptySubsequences: false) {
            guard let next = node.object?[String(key)] else { return nil }
            node = next
        }
        return node.number?.double
    }

    /// The last top-level JSON object printed in `text` (log lines around it are ignored).
    static func lastJSONObject(_ text: String) -> JSONValue? {
        let bytes = Array(text.utf8)
        var last: JSONValue?
        var start = 0
        while start < bytes.count {
            guard bytes[start] == UInt8(ascii: "{"), let end = balancedEnd(bytes, from: start),
                  let value = try? JSONParser(allowNonFinite: true).parse(bytes[start...end]), value.object != nil else {
                start += 1
                continue
            }
            last = value
            start = end + 1
        }
        return last
    }

    /// The index of the `}` closing the object opened at `start`, strings and escapes respected.
    static func balancedEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var depth = 0, inString = false, escaped = false
        for index in start..<bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
        }
        return nil
    }

    /// The most recently modified file matching `glob` (`*`, `?`, and `**` for any depth).
    static func newestMatch(_ glob: String) -> String? {
        let components = glob.split(separator: "/", omittingEmptySubsequences: false)
        let fixed = components.prefix { !$0.contains("*") && !$0.contains("?") }
        let root = fixed.joined(separator: "/")
        let rest = components.dropFirst(fixed.count).joined(separator: "/")
        guard !rest.isEmpty else { return FileManager.default.fileExists(atPath: root) ? root : nil }
        var pattern = "^"
        var characters = Substring(rest)
        while let c = characters.first {
            if characters.hasPrefix("**/") { pattern += "(.*/)?"; characters = characters.dropFirst(3); continue }
            if characters.hasPrefix("**") { pattern += ".*"; characters = characters.dropFirst(2); continue }
            switch c {
            case "*": pattern += "[^/]*"
            case "?": pattern += "[^/]"
            case ".", "(", ")", "[", "]", "{", "}", "+", "^", "$", "|", "\\": pattern += "\\" + String(c)
            default: pattern.append(c)
            }
            characters = characters.dropFirst()
        }
        guard let regex = try? Regex(pattern + "$"), let walker = FileManager.default.enumerator(atPath: root.isEmpty ? "/" : root) else { return nil }
        var best: (path: String, date: Date)?
        while let relative = walker.nextObject() as? String {
            guard (try? regex.wholeMatch(in: relative)) != nil else { continue }
            let full = root + "/" + relative
            let date = (try? FileManager.default.attributesOfItem(atPath: full)[.modificationDate] as? Date) ?? .distantPast
            if let current = best, current.date >= date { continue }
            best = (full, date)
        }
        return best?.path
    }
}
