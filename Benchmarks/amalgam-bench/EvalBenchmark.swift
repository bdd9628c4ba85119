import ArgumentParser
import CBLAS
import Fitness
import Foundation
import Inference
import Tensors

/// `amalgam-bench eval`: a choice task (64-token contexts, four 4-token continuations) scored on
/// random models of real shapes — Qwen2-0.5B, Qwen3-0.6B, Gemma-2-2B — against OpenBLAS's sgemm
/// peak measured in the same run and, where transformers + torch are installed, against
/// transformers scoring the same examples lm-eval style on the same threads. Targets (issues 4
/// and 11): ≥ 50% of sgemm peak; ≥ 1.0× torch on qwen2 and ≥ 2× on qwen3 and gemma2; peak
/// anonymous memory ≤ 3 GB on qwen2 (Float32 weights: ~4 bytes a parameter).
struct EvalBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a choice task on real-shaped random models; compare with sgemm peak and transformers."
    )

    @Option(help: "Model shapes to score (repeat the option; default: all).")
    var shape: [SyntheticModels.Shape] = [.qwen2, .qwen3, .gemma2]

    @Option(help: "Folder prefix for the generated models (one folder per shape, kept for later runs; qwen2's is shared with `merge`).")
    var models = NSTemporaryDirectory() + "amalgam-bench-"

    @Option(help: "Threads (default: every core).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Examples to score.")
    var examples = 24

    @Option(help: "Python with transformers for the comparison (default: tools/.venv/bin/python when present).")
    var python: String?

    func run() throws {
        BLASThreads.set(threads)
        var sgemm = sgemmPeak()
        print("sgemm 2048³: \(Measure.gb(sgemm)) GFLOP/s on \(threads) threads")
        var summary = JSONObject(["bench": .string("eval"), "threads": .int(threads), "sgemm_gflops": .double(sgemm), "examples": .int(examples)])
        var table = ["| shape | GFLOP/s | of sgemm peak | transformers | speedup | max Δ log-likelihood | peak RssAnon |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for shape in shape {
            let row = try measure(shape, sgemm: &sgemm)
            summary[shape.rawValue] = .object(row)
            func number(_ key: String) -> Double? { row[key]?.number?.double }
            let speedup = number("speedup").map { Measure.gb($0) + "×" } ?? "–"
            let theirs = number("transformers_seconds").map { Measure.gb($0) + " s" } ?? "–"
            let difference = number("max_loglikelihood_difference").map { Format.scientific($0, digits: 1) } ?? "–"
            table.append("| \(shape.rawValue) | \(Measure.gb(number("gflops") ?? 0)) | \(Int(((number("sgemm_ratio") ?? 0) * 100).rounded()))% | \(theirs) | \(speedup) | \(difference) | \(Measure.gb((number("peak_rss_anon") ?? 0) / 1e9)) GB |")
        }
        print(table.joined(separator: "\n"))
        print(JSONValue.object(summary).serialized())
    }

    /// One shape: generate (or find) the model, score the examples, then — with the model
    /// released, so the two never hold their Float32 weights at once — the same in transformers.
    /// `sgemm` is the highest peak measured so far; it is measured again right after the
    /// scoring and the higher of the two is the one compared with (this shared VM's speed
    /// drifts; a peak caught in a fast moment only makes the ratio stricter).
    func measure(_ shape: SyntheticModels.Shape, sgemm: inout Double) throws -> JSONObject {
        let folder = models + shape.rawValue + "/base"
        BLASThreads.set(threads)
        let generation = try Measure.seconds { try SyntheticModels.write(shape, variant: 0, to: folder, threads: threads) }
        print("\(shape.rawValue): model in \(folder) (\(Measure.gb(generation)) s to generate or find)")
        let peak = Measure.PeakMemory()
        var state: UInt64 = 42
        let initial = state
        let (ours, seconds, flops, loadSeconds, cases) = try score(folder, state: &state)
        let rate = flops / seconds / 1e9
        BLASThreads.set(threads)
        let after = sgemmPeak()
        sgemm = max(sgemm, after)
        print("  sgemm 2048³ again: \(Measure.gb(after)) GFLOP/s; the peak compared with: \(Measure.gb(sgemm))")
        let lmEvalTokens = Double(examples * 4 * 68)
        let speedTarget = shape == .qwen2 ? 1.0 : 2.0
        print("  amalgam: \(examples) examples in \(Measure.gb(seconds)) s (load \(Measure.gb(loadSeconds)) s), \(Measure.gb(rate)) GFLOP/s = \(Int((rate / sgemm * 100).rounded()))% of sgemm peak (target ≥ 50%)")
        print("           \(Int((lmEvalTokens / seconds).rounded())) lm-eval tokens/s (4 × 68 per example), \(Int((Double(examples * 76) / seconds).rounded())) rows computed/s")
        let peakBytes = peak.stop()
        print("  peak RssAnon: \(Measure.gb(Double(peakBytes) / 1e9)) GB" + (shape == .qwen2 ? " (target ≤ 3 GB)" : ""))
        // BF16 weights (as read, widened tile by tile) against the same weights widened to
        // Float32 up front, interleaved: BF16, Float32, BF16 again, the faster BF16 compared.
        var again = initial
        let (wideScores, wide, _, _, _) = try score(folder, state: &again, widened: true)
        again = initial
        let second = try score(folder, state: &again).1
        let narrow = min(seconds, second)
        let narrowRatio = narrow / wide
        print("  BF16 weights \(Measure.gb(narrow)) s, the same widened to Float32 \(Measure.gb(wide)) s: \(Measure.gb(narrowRatio))× (target ≤ 1.15); scores equal: \(wideScores == ours)")

        var row: [(String, JSONValue)] = [
            ("seconds", .double(seconds)), ("gflops", .double(rate)), ("sgemm_gflops", .double(sgemm)),
            ("sgemm_ratio", .double(rate / sgemm)), ("sgemm_target_met", .bool(rate / sgemm >= 0.5)),
            ("lm_eval_tokens_per_s", .double(lmEvalTokens / seconds)), ("peak_rss_anon", .int(peakBytes)),
            ("float32_seconds", .double(wide)), ("bf16_over_float32", .double(narrowRatio)),
        ]
        if shape == .qwen2 { row.append(("memory_target_met", .bool(peakBytes <= 3_000_000_000))) }
        if let python = findPython() {
            let file = NSTemporaryDirectory() + "amalgam-bench-eval-\(ProcessInfo.processInfo.processIdentifier).json"
            let payload = JSONValue.array(cases.map { example in
                .object(JSONObject(["context": .array(example.context.map { .int($0) }),
                                    "continuations": .array(example.continuations.map { .array($0.map { .int($0) }) })]))
            })
            try Data(payload.serialized().utf8).write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let script = FileManager.default.currentDirectoryPath + "/tools/bench_transformers_eval.py"
            let output = try runProcess([python, script, folder, String(threads), file])
            if let line = output.split(separator: "\n").last, let value = try? JSONParser().parse(Array(line.utf8)),
               let theirs = value.object?["seconds"]?.number?.double,
               let lls = value.object?["loglikelihoods"]?.array?.map({ $0.array?.compactMap { $0.number?.double } ?? [] }) {
                let difference = zip(ours.flatMap { $0 }, lls.flatMap { $0 }).map { abs($0 - $1) }.max() ?? .infinity
                print("  transformers: \(Measure.gb(theirs)) s for the same examples: amalgam is \(Measure.gb(theirs / seconds))× faster (target ≥ \(Measure.gb(speedTarget))×); max |log-likelihood difference| \(Format.scientific(difference, digits: 2))")
                row += [("transformers_seconds", .double(theirs)), ("speedup", .double(theirs / seconds)),
                        ("speedup_target_met", .bool(theirs / seconds >= speedTarget)), ("max_loglikelihood_difference", .double(difference, digits: 6))]
            } else {
                print("  transformers: no result (\(output.suffix(200)))")
            }
        } else {
            print("  transformers: not found; skipping the comparison")
        }
        var object = JSONObject()
        for (key, value) in row { object[key] = value }
        return object
    }

    typealias Example = (context: [Int], continuations: [[Int]])

    /// Loads the model, scores seeded examples, and lets the model go when it returns.
    func score(_ path: String, state: inout UInt64, widened: Bool = false) throws -> ([[Double]], Double, Double, Double, [Example]) {
        let folder = try ModelFolder(path: path)
        var loaded: DecoderModel?
        // The folder's weights as read (BF16 matrices, as a BF16 arena holds them), or widened to
        // Float32 (as a Float32 arena holds them).
        let arena = TensorArena()
        let loadSeconds = try Measure.seconds {
            guard widened else { loaded = try DecoderModel(folder: folder); return }
            guard let config = folder.config else { throw ValidationError("\(path) has no config.json") }
            for name in folder.tensorNames {
                guard let (file, info) = folder.tensor(name) else { continue }
                try file.read(info, into: try arena.buffer(name, count: info.elementCount), threads: threads)
            }
            let configuration = try DecoderConfiguration(config)
            loaded = DecoderModel(configuration: configuration, weights: try DecoderWeights(arena: arena, configuration: configuration))
        }
        guard var model = loaded else { throw ValidationError("\(path): the model did not load") }
        // The evaluator's own partition of the linear layers over the threads, OpenBLAS single-threaded.
        model.threads = threads
        BLASThreads.set(1)
        defer { BLASThreads.set(threads) }
        let c = model.configuration
        var seed = state
        func token() -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33) % c.vocabularySize
        }
        let cases: [Example] = (0..<examples).map { _ in (context: (0..<64).map { _ in token() }, continuations: (0..<4).map { _ in (0..<4).map { _ in token() } }) }
        state = seed
        var ours: [[Double]] = []
        // The evaluator's own path: consecutive examples share a pass (`DecoderModel.passes`).
        let requests = cases.map { ScoringRequest(context: $0.context, continuations: $0.continuations) }
        let seconds = try Measure.seconds {
            for pass in DecoderModel.passes(requests) { ours += try model.logLikelihoods(requests[pass]) }
        }
        // The products done: every row through the layers, the head for the last context row and the branches.
        let head = 2 * Double(c.hiddenSize) * Double(c.vocabularySize)
        let flops = Double(examples) * ((flopsPerRow(c, attended: 32) - head) * 64 + head + flopsPerRow(c, attended: 66) * 12)
        return (ours, seconds, flops, loadSeconds, cases)
    }

    /// Matrix-product FLOPs of one row through the model, attending to `attended` positions.
    func flopsPerRow(_ c: DecoderConfiguration, attended: Int) -> Double {
        let h = Double(c.hiddenSize), q = Double(c.headCount * c.headDimension), kv = Double(c.keyValueHeadCount * c.headDimension)
        let layer = 2 * h * (q + 2 * kv) + 2 * q * h + 6 * h * Double(c.intermediateSize) + 4 * q * Double(attended)
        return Double(c.layerCount) * layer + 2 * h * Double(c.vocabularySize)
    }

    func sgemmPeak() -> Double {
        let n = 2048
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var out = [Float](repeating: 0, count: n * n)
        let time = Measure.best(of: 3) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &out, Int32(n))
        }
        return 2 * Double(n * n * n) / time / 1e9
    }

    func findPython() -> String? {
        if let python { return python }
        let local = FileManager.default.currentDirectoryPath + "/tools/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }

}
