import Archive
import ArgumentParser
import Engine
import Foundation
import Inference
import Search
import Tensors

/// `amalgam-bench search-scale` (issue 13): searches of random models of real shapes (Qwen2-0.5B,
/// Qwen2-1.5B, and a Qwen2.5-3B run to show it fits this machine) with three perturbed sources and
/// one choice task. Per shape: peak RssAnon with 1 and 2 workers (per parameter, against the
/// 2.5 bytes target of a BF16 arena), seconds per candidate split into merge / score / other, and
/// candidates per hour with 2 workers; at 0.5B also the Float32 arena's score time (same scores,
/// target: BF16 within 15 %) and the peer pipeline a user would build — mergekit-yaml then
/// transformers, one candidate at a time, on the same recipes and examples in the same run
/// (`tools/bench_peer_search.py`; target ≥ 10× its candidates per hour).
struct SearchScaleBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-scale",
        abstract: "Search random real-shaped models: memory per worker, time per candidate, candidates per hour, against mergekit + transformers."
    )

    @Option(help: "Shapes to search (repeat; default: qwen2-0.5b and qwen2-1.5b).")
    var shape: [SyntheticModels.Shape] = [.qwen2, .qwen2Large]

    @Flag(help: "Also run a short search of the Qwen2.5-3B shape (25 GB of models on disk).")
    var threeB = false

    @Flag(help: "Also search a Llama-3-8B shape truncated to 4 layers with a `command` task (15 GB of models on disk).")
    var command8B = false

    @Flag(help: "Only the Llama-3-8B-shaped command-task search (implies --command-8b).")
    var commandOnly = false

    @Option(help: "Folder for the generated models (kept for later runs).")
    var models = NSTemporaryDirectory() + "amalgam-bench-search-scale"

    @Option(help: "Choice examples in the task.")
    var examples = 16

    @Option(help: "Evaluations per search with two workers (one worker runs half).")
    var evaluations = 8

    @Option(help: "Candidates the peer pipeline scores (each takes minutes).")
    var peerCandidates = 2

    @Flag(help: "Skip the mergekit + transformers comparison.")
    var skipPeer = false

    @Option(help: "Python with mergekit and transformers (default: tools/.venv/bin/python when present).")
    var python: String?

    func run() throws {
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var rows: [JSONObject] = []
        for shape in commandOnly ? [] : shape + (threeB ? [.qwen25x3] : []) {
            rows.append(try measure(shape, threads: threads, short: shape == .qwen25x3))
        }
        if command8B || commandOnly { rows.append(try commandSearch(threads: threads)) }
        print(summaryLine(["bench": .string("search-scale"), "shapes": .array(rows.map(JSONValue.object))]))
    }

    /// The base, three sources (base + noise), the tokenizer and the task of `shape`.
    func prepare(_ shape: SyntheticModels.Shape, threads: Int) throws -> (folder: String, examples: [Example]) {
        let folder = models + "/" + shape.rawValue
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (variant, name) in ["base", "a", "b", "c"].enumerated() {
            try SyntheticModels.write(shape, variant: variant, to: folder + "/" + name, threads: threads)
        }
        try Data(ByteLevelTokenizer.json.utf8).write(to: URL(fileURLWithPath: folder + "/base/tokenizer.json"))
        // Contexts of 64 letters, four continuations of 4: byte-level, one token per character.
        var state: UInt64 = 7
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        func letters(_ count: Int) -> String { String((0..<count).map { _ in Character(UnicodeScalar(UInt8(97 + next() % 26))) }) }
        var list: [Example] = []
        var lines: [String] = []
        for _ in 0..<examples {
            let context = letters(63) + ":", choices = (0..<4).map { _ in " " + letters(3) }, answer = Int(next() % 4)
            list.append(Example(context: context, choices: choices, answer: answer))
            lines.append(JSONValue.object(JSONObject(["context": .string(context), "choices": .array(choices.map(JSONValue.string)),
                                                      "answer": .number(JSONNumber(answer))])).serialized())
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: folder + "/task.jsonl"))
        try Data("tasks:\n  - {name: task, kind: choice, calibration: task.jsonl, metric: acc}\n".utf8)
            .write(to: URL(fileURLWithPath: folder + "/fitness.yaml"))
        return (folder, list)
    }

    struct Example {
        let context: String
        let choices: [String]
        let answer: Int
    }

    struct Figures {
        var peak = 0
        var wall = 0.0
        var candidates = 0
        var merge = 0.0
        var score = 0.0
        var other = 0.0
        var perHour: Double { wall > 0 ? Double(candidates) / wall * 3600 : 0 }
    }

    /// One search of the shape's space with `workers` workers and `arena`, in process.
    func search(_ folder: String, workers: Int, evaluations: Int, arena: ArenaSetting, run: String) throws -> Figures {
        let text = """
            name: scale
            base_model: base
            models: [a, b, c]
            methods: [task_arithmetic, ties]
            layer_granularity: 0
            genes: {weight: [0.0, 1.0], density: [0.3, 1.0]}
            fitness: fitness.yaml
            objectives: [{maximize: accuracy}]
            optimizer: {name: cmaes, population: 4, sigma: 0.25, seed: 1}
            budget: {evaluations: \(evaluations)}
            workers: \(workers)
            arena: \(arena.rawValue)
            baselines: false

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/space.yaml"))
        let space = try SearchSpace(contentsOf: folder + "/space.yaml")
        let runFolder = try RunFolder.create(path: run, space: space, force: true)
        let idle = Measure.rssAnon()
        let peak = Measure.PeakMemory()
        let (_, statistics) = try SearchSession.run(folder: runFolder, space: space, workers: workers, evaluations: evaluations, time: nil,
                                                   stop: Cancellation()) { _ in }
        var figures = Figures()
        figures.peak = max(0, peak.stop() - idle)
        figures.wall = statistics.wall
        figures.candidates = statistics.jobs
        let n = Double(max(1, statistics.jobs))
        figures.merge = statistics.workerMerging / n
        figures.score = (statistics.workerBusy - statistics.workerMerging) / n
        figures.other = max(0, statistics.wall * Double(workers) - statistics.workerBusy) / n
        return figures
    }

    func measure(_ shape: SyntheticModels.Shape, threads: Int, short: Bool) throws -> JSONObject {
        print("\(shape.rawValue): writing or reusing the models …")
        let (folder, examples) = try prepare(shape, threads: threads)
        let parameters = try shape.tensors().reduce(0) { $0 + $1.elementCount }
        let runs = folder + "/runs"
        defer { try? FileManager.default.removeItem(atPath: runs) }
        func describe(_ label: String, _ f: Figures) {
            print("  \(label): \(f.candidates) candidates in \(Measure.gb(f.wall)) s = \(Format.fixed(f.perHour, digits: 0))/h; per candidate merge \(Measure.gb(f.merge)) s, score \(Measure.gb(f.score)) s, other \(Measure.gb(f.other)) s (per worker); peak RssAnon \(Measure.gb(Double(f.peak) / 1e9)) GB = \(Measure.gb(Double(f.peak) / Double(parameters))) bytes/parameter")
        }
        var object = JSONObject(["shape": .string(shape.rawValue), "parameters": .int(parameters)])
        if short {
            let f = try search(folder, workers: 1, evaluations: 2, arena: .auto, run: runs + "/three")
            describe("1 worker, BF16 arena", f)
            object["one_worker"] = figuresJSON(f, parameters)
            return object
        }
        let one = try search(folder, workers: 1, evaluations: max(2, evaluations / 2), arena: .auto, run: runs + "/one")
        describe("1 worker, BF16 arena", one)
        let two = try search(folder, workers: 2, evaluations: evaluations, arena: .auto, run: runs + "/two")
        describe("2 workers, BF16 arena", two)
        object["one_worker"] = figuresJSON(one, parameters)
        object["two_workers"] = figuresJSON(two, parameters)
        let perWorker = Double(two.peak) / 2 / Double(parameters)
        print("  peak RssAnon per worker (2 workers): \(Measure.gb(perWorker)) bytes/parameter (target ≤ 2.5 with a BF16 arena, plus activations)")
        object["bytes_per_parameter_per_worker"] = .double(perWorker)
        guard shape == .qwen2 else { return object }

        let wide = try search(folder, workers: 2, evaluations: evaluations, arena: .float32, run: runs + "/f32")
        describe("2 workers, Float32 arena", wide)
        let ratio = two.score / max(1e-9, wide.score)
        print("  BF16 arena score time \(Measure.gb(ratio))× the Float32 arena's (target ≤ 1.15)")
        object["float32_arena"] = figuresJSON(wide, parameters)
        object["bf16_score_time_ratio"] = .double(ratio)
        guard !skipPeer, let python = python ?? findPython() else {
            print("  peer: skipped (no tools/.venv/bin/python)")
            return object
        }
        // The same recipes the search scored, the same examples as token ids.
        let archive = try SQLiteArchive(path: runs + "/two/archive.sqlite", reader: true)
        let recipes = try archive.candidates().filter { $0.status == .done }.prefix(peerCandidates)
        var files: [String] = []
        for (i, candidate) in recipes.enumerated() {
            let file = runs + "/peer-\(i).yml"
            try Data(candidate.recipe.utf8).write(to: URL(fileURLWithPath: file))
            files.append(file)
        }
        let tokenizer = try Tokenizer(folder: folder + "/base")
        let encoded: [JSONValue] = examples.map { example in
            let context = tokenizer.encode(example.context)
            let continuations = example.choices.map { Array(tokenizer.encode(example.context + $0).dropFirst(context.count)) }
            return .object(JSONObject(["context": .array(context.map { .number(JSONNumber($0)) }),
                                       "continuations": .array(continuations.map { .array($0.map { .number(JSONNumber($0)) }) }),
                                       "answer": .number(JSONNumber(example.answer))]))
        }
        try Data(JSONValue.array(encoded).serialized().utf8).write(to: URL(fileURLWithPath: runs + "/examples.json"))
        print("  peer: mergekit-yaml + transformers on \(files.count) of the same candidates …")
        let start = Date()
        let output = try runProcess([python, "tools/bench_peer_search.py", "\(threads)", runs + "/examples.json"] + files)
        let peerWall = Date().timeIntervalSince(start)
        guard let line = output.split(separator: "\n").last, let parsed = try? JSONParser().parse(Array(line.utf8)),
              let candidates = parsed.object?["candidates"]?.array, !candidates.isEmpty else {
            print("  peer: no result (\(output.prefix(200)))")
            return object
        }
        func mean(_ key: String) -> Double {
            let values: [Double] = candidates.compactMap { $0.object?[key]?.number?.double }
            return values.reduce(0, +) / Double(max(1, values.count))
        }
        let peerMerge = mean("merge_s"), peerScore = mean("score_s")
        let peerPerHour = Double(candidates.count) / peerWall * 3600
        let accuracies: [Double] = candidates.compactMap { $0.object?["acc"]?.number?.double }
        let ours = try archive.scores(candidate: nil).filter { $0.split == .calibration }
        let oursByRecipe = recipes.map { candidate in ours.first { $0.candidate == candidate.id }?.value ?? .nan }
        print("  peer: per candidate merge \(Measure.gb(peerMerge)) s + load and score \(Measure.gb(peerScore)) s = \(Format.fixed(peerPerHour, digits: 0))/h; Amalgam \(Format.fixed(two.perHour, digits: 0))/h = \(Measure.gb(two.perHour / peerPerHour))× (target ≥ 10×)")
        print("  acc of the same candidates: peer \(accuracies.map { Measure.gb($0) }.joined(separator: " ")), Amalgam \(oursByRecipe.map { Measure.gb($0) }.joined(separator: " "))")
        object["peer"] = .object(JSONObject(["merge_s": .double(peerMerge), "score_s": .double(peerScore), "per_hour": .double(peerPerHour),
                                             "acc": .array(accuracies.map { JSONValue.double($0) }), "amalgam_acc": .array(oursByRecipe.map { JSONValue.double($0) })]))
        object["speedup_over_peer"] = .double(two.perHour / peerPerHour)
        return object
    }

    /// A search scored only by a `command` task (a stand-in for lm-eval on GPUs that prints a
    /// score): each candidate is streamed to its temporary folder, no arena is allocated; the
    /// search process's peak RssAnon (target ≤ 3 GB for a Llama-3-8B-shaped model of 4 layers).
    func commandSearch(threads: Int) throws -> JSONObject {
        let shape = SyntheticModels.Shape.llama3x8Truncated
        print("\(shape.rawValue) with a command task: writing or reusing the models …")
        let folder = models + "/" + shape.rawValue
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (variant, name) in ["base", "a", "b", "c"].enumerated() {
            try SyntheticModels.write(shape, variant: variant, to: folder + "/" + name, threads: threads)
        }
        // The external evaluator reads the candidate's config.json: the folder is there and whole.
        try Data("""
            tasks:
              - {name: external, kind: command, run: [sh, -c, "grep -q num_hidden_layers {model}/config.json && echo '{\\"results\\": {\\"x\\": 0.5}}'"], score: results.x, timeout: 10m}

            """.utf8).write(to: URL(fileURLWithPath: folder + "/fitness.yaml"))
        let parameters = try shape.tensors().reduce(0) { $0 + $1.elementCount }
        let runs = folder + "/runs"
        defer { try? FileManager.default.removeItem(atPath: runs) }
        let f = try search(folder, workers: 1, evaluations: 3, arena: .auto, run: runs + "/command")
        print("  1 worker: \(f.candidates) candidates in \(Measure.gb(f.wall)) s; per candidate merge to disk \(Measure.gb(f.merge)) s, score \(Measure.gb(f.score)) s; peak RssAnon of the search \(Measure.gb(Double(f.peak) / 1e9)) GB (target ≤ 3 GB; the model is \(Measure.gb(Double(parameters) * 2 / 1e9)) GB in BF16)")
        var object = JSONObject(["shape": .string(shape.rawValue), "parameters": .int(parameters), "task": .string("command")])
        object["one_worker"] = figuresJSON(f, parameters)
        object["peak_target_met"] = .bool(f.peak <= 3_000_000_000)
        return object
    }

    func figuresJSON(_ f: Figures, _ parameters: Int) -> JSONValue {
        .object(JSONObject(["candidates": .int(f.candidates), "wall_s": .double(f.wall), "per_hour": .double(f.perHour),
                            "merge_s": .double(f.merge), "score_s": .double(f.score), "other_s": .double(f.other),
                            "peak_rss_anon": .int(f.peak), "bytes_per_parameter": .double(Double(f.peak) / Double(parameters))]))
    }

    func findPython() -> String? {
        let local = FileManager.default.currentDirectoryPath + "/tools/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: local) ? local : nil
    }
}

/// A byte-level BPE tokenizer.json with no merges (GPT-2's byte alphabet, one token per byte) and
/// `<|endoftext|>` as id 256: enough for random-weight models, which any ids suit.
enum ByteLevelTokenizer {
    static var json: String {
        // GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + n.
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var mapping: [Int: Int] = [:]
        for byte in printable { mapping[byte] = byte }
        var extra = 0
        for byte in 0..<256 where mapping[byte] == nil {
            mapping[byte] = 256 + extra
            printable.append(byte)
            extra += 1
        }
        var vocab = JSONObject()
        for byte in 0..<256 {
            if let scalar = UnicodeScalar(mapping[byte] ?? byte) { vocab[String(Character(scalar))] = .number(JSONNumber(byte)) }
        }
        let tokenizer = JSONObject([
            "version": .string("1.0"), "truncation": .null, "padding": .null,
            "added_tokens": .array([.object(JSONObject(["id": .number(JSONNumber(256)), "content": .string("<|endoftext|>"), "single_word": .bool(false),
                                                        "lstrip": .bool(false), "rstrip": .bool(false), "normalized": .bool(false), "special": .bool(true)]))]),
            "normalizer": .null,
            "pre_tokenizer": .object(JSONObject(["type": .string("ByteLevel"), "add_prefix_space": .bool(false), "trim_offsets": .bool(true), "use_regex": .bool(true)])),
            "post_processor": .null,
            "decoder": .object(JSONObject(["type": .string("ByteLevel"), "add_prefix_space": .bool(true), "trim_offsets": .bool(true), "use_regex": .bool(true)])),
            "model": .object(JSONObject(["type": .string("BPE"), "dropout": .null, "unk_token": .null, "continuing_subword_prefix": .null,
                                         "end_of_word_suffix": .null, "fuse_unk": .bool(false), "byte_fallback": .bool(false), "ignore_merges": .bool(false),
                                         "vocab": .object(vocab), "merges": .array([])])),
        ])
        return JSONValue.object(tokenizer).serialized()
    }
}
