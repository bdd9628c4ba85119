import ArgumentParser
import Foundation
import Tensors

/// `amalgam-bench io`: BF16 safetensors → Float32 against memcpy, both counted as bytes read plus
/// bytes written, file warm in the page cache, destination buffers allocated once and reused
/// (as a worker's arena is), all cores. Target (issue 2): conversion ≥ 70% of memcpy.
struct IOBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "io",
        abstract: "Write a BF16 safetensors file, read it back as Float32, compare with memcpy."
    )

    @Option(help: "Bytes of BF16 data to write and read (decimal units: 1GB = 10⁹ bytes).")
    var size = "1GB"

    @Option(help: "Threads for conversion and memcpy (default: every core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed repetitions; the fastest counts.")
    var runs = 5

    @Option(help: "Folder for the temporary model (removed afterwards).")
    var directory = NSTemporaryDirectory()

    func run() throws {
        guard let bytes = parseByteCount(size) else { throw ValidationError("--size: cannot read \"\(size)\" as a size") }
        let tensorCount = 8
        let elements = bytes / 2 / tensorCount
        let specs = (0..<tensorCount).map { TensorSpec(name: "layers.\($0).weight", dtype: .bf16, shape: [elements]) }
        let totalBF16 = Double(elements * tensorCount * 2)
        print("io: \(tensorCount) BF16 tensors, \(Measure.gb(totalBF16 / 1e9)) GB, \(threads) threads")

        let peak = Measure.PeakMemory()
        let output = directory + "/amalgam-bench-io-\(ProcessInfo.processInfo.processIdentifier)"
        let staging = try StagingDirectory(destination: output)
        defer { try? FileManager.default.removeItem(atPath: output) }

        // One Float32 source reused for every tensor: the write measures conversion + I/O, not generation.
        var source = [Float](repeating: 0, count: elements)
        for i in source.indices { source[i] = Float(i % 4099) * 0.001 - 2 }
        let layout = SafetensorsLayout(tensors: specs, maxShardSize: Int.max)
        let writeSeconds = try Measure.seconds {
            let writer = try SafetensorsWriter(directory: staging.path, layout: layout)
            for spec in specs {
                try source.withUnsafeBufferPointer { try writer.write(spec.name, values: $0, threads: threads) }
            }
            try writer.finish()
            try staging.commit()
        }
        source = []
        let writeRate = (totalBF16 * 3) / writeSeconds / 1e9
        print("write F32→BF16 file:  \(Measure.gb(writeRate)) GB/s (read F32 + write BF16, fsync included)")

        let memcpyRate = Measure.memcpyBandwidth(bytes: bytes, threads: threads, runs: runs)
        print("memcpy:               \(Measure.gb(memcpyRate)) GB/s (read + write)")

        let file = try SafetensorsFile(path: output + "/model.safetensors")
        let arena = (0..<tensorCount).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: elements) }
        defer { for buffer in arena { buffer.deallocate() } }
        for buffer in arena { buffer.initialize(repeating: 0) }
        let tensors = file.tensors
        func convertAll() throws {
            for (tensor, buffer) in zip(tensors, arena) { try file.read(tensor, into: buffer, threads: threads) }
        }
        let converted = totalBF16 * 3  // 2 bytes read + 4 bytes written per element
        let firstRate = converted / (try Measure.seconds(convertAll)) / 1e9
        print("BF16→F32 first pass:  \(Measure.gb(firstRate)) GB/s (maps the file's pages)")
        let warmRate = converted / (try Measure.best(of: runs, convertAll)) / 1e9
        let ratio = warmRate / memcpyRate
        print("BF16→F32 warm:        \(Measure.gb(warmRate)) GB/s = \(Int((ratio * 100).rounded()))% of memcpy (target ≥ 70%)")

        var sum: Float = 0
        for buffer in arena { sum += buffer[elements / 2] }
        let peakBytes = peak.stop()
        print("peak RssAnon:         \(Measure.gb(Double(peakBytes) / 1e9)) GB (arena \(Measure.gb(totalBF16 * 2 / 1e9)) GB); checksum \(sum)")
        print(summaryLine([
            "bench": .string("io"), "bytes": .int(Int(totalBF16)), "threads": .int(threads),
            "memcpy_gbs": .double(memcpyRate), "bf16_to_f32_gbs": .double(warmRate),
            "bf16_to_f32_first_pass_gbs": .double(firstRate), "write_gbs": .double(writeRate),
            "ratio": .double(ratio), "target": .double(0.7), "met": .bool(ratio >= 0.7),
            "peak_rss_anon": .int(peakBytes),
        ]))
    }
}
