#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Tensors

/// Timing, memory sampling and the machine's reference bandwidth, shared by the subcommands.
enum Measure {
    /// Seconds taken by `body`.
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let elapsed = try clock.measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// The fastest of `runs` timings: the figure least disturbed by the rest of the machine.
    static func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var fastest = Double.infinity
        for _ in 0..<runs { fastest = min(fastest, try seconds(body)) }
        return fastest
    }

    /// memcpy bandwidth in GB/s, counted as bytes read plus bytes written, with `threads`
    /// threads each copying its own slice of a `bytes`-sized buffer (destination pre-faulted).
    static func memcpyBandwidth(bytes: Int, threads: Int, runs: Int = 5) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 1, bytes)
        memset(destination, 0, bytes)
        nonisolated(unsafe) let src = source, dst = destination
        let slice = (bytes / threads + 4095) / 4096 * 4096
        let time = best(of: runs) {
            DispatchQueue.concurrentPerform(iterations: threads) { i in
                let start = i * slice
                let count = max(0, min(bytes, start + slice) - start)
                memcpy(dst + start, src + start, count)
            }
        }
        return 2 * Double(bytes) / time / 1e9
    }

    /// Bandwidth of a merge-like triad, out = a + 0.5·b + 0.25·c over Float32 arrays of
    /// `bytes` each, in GB/s counted as 3 reads + 1 write, `threads` threads (ANCHORS.md's figure).
    static func triadBandwidth(bytes: Int, threads: Int, runs: Int = 5) -> Double {
        let count = bytes / 4
        let arrays = (0..<4).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count) }
        defer { for array in arrays { array.deallocate() } }
        // Non-zero data: zero pages can be shared or cheap on a VM and would inflate the figure.
        for (k, array) in arrays.enumerated() { array.initialize(repeating: Float(k) + 1.5, count: count) }
        nonisolated(unsafe) let (a, b, c, out) = (arrays[0], arrays[1], arrays[2], arrays[3])
        let slices = threads * 4
        let time = best(of: runs) {
            DispatchQueue.concurrentPerform(iterations: slices) { s in
                for i in (count * s / slices)..<(count * (s + 1) / slices) { out[i] = a[i] + 0.5 * b[i] + 0.25 * c[i] }
            }
        }
        return 4 * Double(count) * 4 / time / 1e9
    }

    /// The process's anonymous resident memory (RssAnon) in bytes; 0 where /proc is absent.
    static func rssAnon() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    /// Samples RssAnon every 10 ms on a background thread until `stop`; `peak` is the highest seen.
    final class PeakMemory: @unchecked Sendable {
        private let lock = NSLock()
        private var highest = 0
        private var running = true
        private let done = DispatchSemaphore(value: 0)

        init() {
            Thread.detachNewThread { [self] in
                while lock.withLock({ running }) {
                    let now = Measure.rssAnon()
                    lock.withLock { highest = max(highest, now) }
                    usleep(10_000)
                }
                done.signal()
            }
        }

        /// Stops sampling and returns the peak in bytes.
        func stop() -> Int {
            let now = Measure.rssAnon()
            lock.withLock { running = false; highest = max(highest, now) }
            done.wait()
            return lock.withLock { highest }
        }
    }

    static func gb(_ value: Double) -> String { Format.fixed(value, digits: 2) }
}

/// One JSON object on one line, keys in the order given.
func summaryLine(_ pairs: KeyValuePairs<String, JSONValue>) -> String {
    JSONValue.object(JSONObject(pairs)).serialized()
}

extension JSONValue {
    static func double(_ value: Double, digits: Int = 3) -> JSONValue {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return .number(JSONNumber((value * scale).rounded() / scale))
    }

    static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }
}

/// Runs `argv` to its end and returns its standard output (standard error discarded).
func runProcess(_ argv: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: argv[0])
    process.arguments = Array(argv.dropFirst())
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
