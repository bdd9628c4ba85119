import Archive
import Foundation
import Testing

/// DESIGN.md §4 "Bad input", for every subcommand: a damaged recipe, search space, fitness file,
/// JSONL row, safetensors header, index, tokenizer.json, config.json or run folder ends the command
/// with exit status 1 (64 for usage errors, as swift-argument-parser reports them), never a signal,
/// and exactly one line on standard error that names the file and, where there is one, the field,
/// in the `file: field: message` form every located error prints. Nothing is left behind: no
/// stdout, no merged or exported folder (nor its hidden `.NAME.partial-*` staging folder), no run
/// folder from a search that was refused.
///
/// Each case writes its fixtures (copies of zoo/ and fitness/, then damaged) into a temporary
/// folder of its own, removed afterwards. Most fail before any model is run; the few that need a
/// finished run (resume, export) make one with a one-evaluation search over two-example tasks.
@Suite struct BadInputCorpusTests {
    @Test(arguments: BadInput.corpus)
    func refusesWithOneLocatedLine(_ input: BadInput) throws {
        let workspace = try Workspace()
        let arguments = try input.prepare(workspace)
        let before = workspace.snapshot(input.unchanged)
        let result = try CLI.run(arguments, environment: ["NO_COLOR": "1"], deadline: 120)
        let lines = result.stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let context = "amalgam \(arguments.joined(separator: " "))\nstatus \(result.status)\nstderr:\n\(result.stderr)\nstdout:\n\(result.stdout)"

        #expect(!result.signaled, "killed by signal \(result.status): \(context)")
        #expect(result.status == input.status, "exit status: \(context)")
        #expect(lines.count == 1, "stderr must be one line: \(context)")
        for trace in ["Stack dump", "Fatal error", "Current stack trace", "Illegal instruction", "backtrace", "Backtracing", "Program crashed"] {
            #expect(!result.stderr.contains(trace), "\(trace): \(context)")
        }
        #expect(result.stdout.isEmpty, "stdout must stay empty: \(context)")
        let line = lines.first ?? ""
        #expect(line.hasPrefix("Error: "), "\(context)")
        switch (input.file.map(workspace.path), input.field) {
        case (let file?, let field?): #expect(line.contains(file + ": " + field), "must name \(file) and \(field): \(context)")
        case (let file?, nil): #expect(line.contains(file), "must name \(file): \(context)")
        case (nil, let field?): #expect(line.contains(field), "must name \(field): \(context)")
        case (nil, nil): break
        }
        for name in input.absent {
            #expect(!FileManager.default.fileExists(atPath: workspace.path(name)), "\(name) must not exist: \(context)")
            let partial = "." + URL(fileURLWithPath: name).lastPathComponent + ".partial-"
            let parent = URL(fileURLWithPath: workspace.path(name)).deletingLastPathComponent().path
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: parent))?.filter { $0.hasPrefix(partial) } ?? []
            #expect(leftovers.isEmpty, "staging folders left: \(leftovers): \(context)")
        }
        #expect(workspace.snapshot(input.unchanged) == before, "\(input.unchanged) changed: \(context)")
    }

    /// The boundary of "damaged": a search killed after writing space.yaml but before its archive
    /// existed (or while creating it, leaving an empty file) recorded nothing, so resume starts it
    /// rather than refusing a run folder nothing else can continue.
    @Test(arguments: [nil, [UInt8]()])
    func aRunKilledBeforeItsArchiveResumes(_ archive: [UInt8]?) throws {
        let workspace = try Workspace()
        let run = try workspace.finishedRun()
        try workspace.removeArchive()
        if let archive { try workspace.write("run/archive.sqlite", bytes: archive) }
        let resumed = try CLI.run(["resume", run, "--evaluations", "1"], deadline: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let status = try CLI.run(["status", run, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(object?["evaluations"] as? Int == 1, "\(status.stdout)\(status.stderr)")
    }

    /// A search killed before its archive recorded the budget given on the command line resumes
    /// with that budget, not the space file's: the frozen space carries it (the signal soak's
    /// SIGKILL chains once resumed such a run to the file's 160 evaluations instead of 24).
    @Test func aRunKilledBeforeItsArchiveKeepsItsCommandLineBudget() throws {
        let workspace = try Workspace()
        let space = try workspace.space(replacing: ["budget: {evaluations: 1}": "budget: {evaluations: 5}"])
        let first = try CLI.run(["search", space, "--run", workspace.path("run"), "--evaluations", "2"], deadline: 120)
        #expect(first.status == 0, "\(first.stderr)")
        try workspace.removeArchive()
        let resumed = try CLI.run(["resume", workspace.path("run")], deadline: 120)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let status = try CLI.run(["status", workspace.path("run"), "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(object?["evaluations"] as? Int == 2 && object?["budget"] as? Int == 2, "\(status.stdout)\(status.stderr)")
    }
}

/// One bad input: how to make it, and what the refusal must say.
struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    let status: Int32
    /// The file the message names, relative to the workspace (a JSONL file with its `:line`).
    let file: String?
    /// The field named right after the file (`file: field: …`), or alone for usage errors.
    let field: String?
    /// Outputs that must not exist afterwards (merge --out, export --model, a refused run folder).
    var absent: [String] = []
    /// Files that must be byte for byte the same afterwards (a damaged archive is not "repaired").
    var unchanged: [String] = []
    /// Writes the fixtures and returns the arguments.
    let prepare: @Sendable (Workspace) throws -> [String]

    var testDescription: String { name }

    init(_ name: String, status: Int32 = 1, file: String?, field: String? = nil, absent: [String] = [], unchanged: [String] = [],
         _ prepare: @escaping @Sendable (Workspace) throws -> [String]) {
        self.name = name
        self.status = status
        self.file = file
        self.field = field
        self.absent = absent
        self.unchanged = unchanged
        self.prepare = prepare
    }
}

/// A temporary folder for one case, removed when the case ends.
final class Workspace: Sendable {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "amalgam-bad-input-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ name: String) -> String { root + "/" + name }

    /// Copies a file or folder of the repository (zoo/base, fitness/add.calib.jsonl) into the workspace.
    @discardableResult
    func copy(_ repositoryPath: String, as name: String) throws -> String {
        try FileManager.default.copyItem(atPath: CLI.repository + "/" + repositoryPath, toPath: path(name))
        return path(name)
    }

    /// Writes `text`, with `{ws}` replaced by the workspace's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, bytes: Array(text.replacingOccurrences(of: "{ws}", with: root).utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let url = URL(fileURLWithPath: path(name))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return path(name)
    }

    /// Keeps the first `count` bytes of a file.
    func truncate(_ name: String, to count: Int) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name)))
        try data.prefix(count).write(to: URL(fileURLWithPath: path(name)))
    }

    func remove(_ name: String) throws { try FileManager.default.removeItem(atPath: path(name)) }

    /// Edits a JSON object file (config.json, tokenizer.json, an index).
    func editJSON(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: path(name))
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
    }

    /// The bytes of each file (nil when absent), to compare before and after a command.
    func snapshot(_ names: [String]) -> [Data?] {
        names.map { FileManager.default.contents(atPath: path($0)) }
    }

    // MARK: Fixtures

    /// The LoRA adapter fixtures (tools/make_lora_goldens.py), of a base other than zoo/base.
    static let adapters = "Tests/MergingTests/Fixtures/lora/adapters"

    /// zoo/base and zoo/add as `base` and `add`.
    func models() throws {
        try copy("zoo/base", as: "base")
        try copy("zoo/add", as: "add")
    }

    /// A recipe over the workspace's models (`{ws}` is the workspace).
    func recipe(_ text: String) throws -> [String] {
        try models()
        return ["merge", try write("recipe.yml", text), "--out", path("out")]
    }

    /// A fitness file (`fitness.yaml`) over two-example task files copied from fitness/.
    func fitness(_ text: String = "tasks:\n  - {name: add, kind: choice, calibration: add.jsonl, holdout: add.test.jsonl}\n") throws -> String {
        try write("add.jsonl", String(try String(contentsOfFile: CLI.repository + "/fitness/add.calib.jsonl", encoding: .utf8)
            .split(separator: "\n").prefix(2).joined(separator: "\n")) + "\n")
        try write("add.test.jsonl", String(try String(contentsOfFile: CLI.repository + "/fitness/add.test.jsonl", encoding: .utf8)
            .split(separator: "\n").prefix(2).joined(separator: "\n")) + "\n")
        return try write("fitness.yaml", text)
    }

    /// `eval base --fitness fitness.yaml` with the fitness text given.
    func eval(_ fitnessText: String) throws -> [String] {
        try copy("zoo/base", as: "base")
        return ["eval", path("base"), "--fitness", try fitness(fitnessText)]
    }

    /// `eval base` over one choice task reading `data.jsonl` with the rows given.
    func evalRows(_ rows: String, kind: String = "choice") throws -> [String] {
        try write("data.jsonl", rows)
        return try eval("tasks:\n  - {name: t, kind: \(kind), calibration: data.jsonl}\n")
    }

    /// A search space over base and add (`space.yaml`): `extra` settings appended, then each
    /// `replacing` pair applied to the text.
    func space(_ extra: String = "", replacing: KeyValuePairs<String, String> = [:], fitness fitnessText: String? = nil,
               fitnessLine: String = "fitness: fitness.yaml\n") throws -> String {
        try models()
        if let fitnessText { _ = try fitness(fitnessText) } else { _ = try fitness() }
        var text = "name: bad\nbase_model: base\nmodels: [add]\nmethods: [linear]\n" + fitnessLine
            + "optimizer: {name: random, seed: 1}\nbudget: {evaluations: 1}\nworkers: 1\n" + extra
        for (old, new) in replacing { text = text.replacingOccurrences(of: old, with: new) }
        return try write("space.yaml", text)
    }

    /// A finished one-evaluation search in `run`: what resume, status, front and export read
    /// (without baselines, so that its one evaluation is a merge of both models).
    func finishedRun() throws -> String {
        let space = try self.space("objectives: [{maximize: accuracy}, {minimize: params}]\nbaselines: false\n")
        let result = try CLI.run(["search", space, "--run", path("run")], deadline: 120)
        guard result.status == 0 else { throw RunFailed(output: result.stderr) }
        return path("run")
    }

    struct RunFailed: Error, CustomStringConvertible {
        let output: String
        var description: String { "the fixture search failed: \(output)" }
    }

    /// Removes the run's archive with its WAL and shared-memory files.
    func removeArchive() throws {
        for name in ["run/archive.sqlite", "run/archive.sqlite-wal", "run/archive.sqlite-shm"] where FileManager.default.fileExists(atPath: path(name)) {
            try remove(name)
        }
    }

    /// Replaces the run's archive (and its WAL) by `bytes`.
    func replaceArchive(_ bytes: [UInt8]) throws {
        try removeArchive()
        try write("run/archive.sqlite", bytes: bytes)
    }

    /// A run folder holding only a (minimal) space.yaml and the archive `bytes`: enough for
    /// status, front and export, which read the archive first.
    func bareRun(archive bytes: [UInt8]) throws -> String {
        try write("run/space.yaml", "objectives:\n  - maximize: \"accuracy\"\n")
        try write("run/archive.sqlite", bytes: bytes)
        return path("run")
    }

    /// An SQLite database that is not an Amalgam archive.
    func foreignDatabase(_ name: String) throws {
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path(name)).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let database = try SQLiteDatabase(path: path(name))
        try database.execute("CREATE TABLE recipe (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO recipe (text) VALUES ('x')")
    }
}

extension BadInput {
    /// 4 KB that no SQLite header starts with.
    static let garbage: [UInt8] = (0..<4096).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }

    static let corpus: [BadInput] = inspect + merge + tokenize + eval + initialize + search + runFolders

    // MARK: inspect: safetensors headers, index files, config.json

    static let inspect: [BadInput] = [
        BadInput("inspect: truncated safetensors", file: "base/model.safetensors") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.truncate("base/model.safetensors", to: 1000)
            return ["inspect", ws.path("base")]
        },
        BadInput("inspect: safetensors header is not JSON", file: "x.safetensors") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: "{not json!}"))]
        },
        BadInput("inspect: overlapping data_offsets", file: "x.safetensors", field: "tensor 'b'") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: 12))]
        },
        BadInput("inspect: unknown dtype", file: "x.safetensors", field: "tensor 'a'") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: #"{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}"#, data: 8))]
        },
        BadInput("inspect: data_offsets past the data", file: "x.safetensors", field: "tensor 'a'") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: 4))]
        },
        BadInput("inspect: shape and offsets disagree", file: "x.safetensors", field: "tensor 'a'") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8))]
        },
        BadInput("inspect: tensor twice in a header", file: "x.safetensors", field: "tensor 'a'") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4))]
        },
        BadInput("inspect: shorter than a header length", file: "x.safetensors") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [1, 2, 3])]
        },
        BadInput("inspect: header length past 100 MB", file: "x.safetensors") { ws in
            ["inspect", try ws.write("x.safetensors", bytes: [UInt8](header: "{}", prefix: 1 << 40))]
        },
        BadInput("inspect: index names a missing shard", file: "m/model.safetensors.index.json", field: "weight_map") { ws in
            try ws.copy("zoo/tiny-llama", as: "m")
            try ws.remove("m/model-00002-of-00002.safetensors")
            return ["inspect", ws.path("m")]
        },
        BadInput("inspect: index lists a tensor twice", file: "m/model.safetensors.index.json") { ws in
            try ws.copy("zoo/tiny-llama", as: "m")
            let index = try String(contentsOfFile: ws.path("m/model.safetensors.index.json"), encoding: .utf8)
            try ws.write("m/model.safetensors.index.json", index.replacingOccurrences(
                of: #""lm_head.weight": "model-00002-of-00002.safetensors","#,
                with: #""lm_head.weight": "model-00002-of-00002.safetensors", "lm_head.weight": "model-00001-of-00002.safetensors","#))
            return ["inspect", ws.path("m")]
        },
        BadInput("inspect: index puts a tensor in the wrong shard", file: "m/model.safetensors.index.json", field: "weight_map.lm_head.weight") { ws in
            try ws.copy("zoo/tiny-llama", as: "m")
            try ws.editJSON("m/model.safetensors.index.json") { index in
                var map = index["weight_map"] as? [String: Any] ?? [:]
                map["lm_head.weight"] = "model-00001-of-00002.safetensors"
                index["weight_map"] = map
            }
            return ["inspect", ws.path("m")]
        },
        BadInput("inspect: index entry is not a file name", file: "m/model.safetensors.index.json", field: "weight_map.lm_head.weight") { ws in
            try ws.copy("zoo/tiny-llama", as: "m")
            try ws.editJSON("m/model.safetensors.index.json") { index in
                var map = index["weight_map"] as? [String: Any] ?? [:]
                map["lm_head.weight"] = 5
                index["weight_map"] = map
            }
            return ["inspect", ws.path("m")]
        },
        BadInput("inspect: index is not JSON", file: "m/model.safetensors.index.json") { ws in
            try ws.copy("zoo/tiny-llama", as: "m")
            try ws.write("m/model.safetensors.index.json", #"{"weight_map": "#)
            return ["inspect", ws.path("m")]
        },
        BadInput("inspect: config.json is not JSON", file: "base/config.json") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.write("base/config.json", "{")
            return ["inspect", ws.path("base")]
        },
        BadInput("inspect: num_hidden_layers is a string", file: "base/config.json", field: "num_hidden_layers") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.editJSON("base/config.json") { $0["num_hidden_layers"] = "four" }
            return ["inspect", ws.path("base")]
        },
        BadInput("inspect: no such folder", file: "missing") { ws in ["inspect", ws.path("missing")] },
        BadInput("inspect: a folder without weights", file: "empty") { ws in
            try FileManager.default.createDirectory(atPath: ws.path("empty"), withIntermediateDirectories: true)
            return ["inspect", ws.path("empty")]
        },
        BadInput("inspect: no MODEL argument", status: 64, file: nil, field: "<model>") { _ in ["inspect"] },
    ]

    // MARK: merge: recipes and the models they name

    static let merge: [BadInput] = [
        BadInput("merge: YAML syntax error", file: "recipe.yml", absent: ["out"]) { ws in
            try ws.recipe("merge_method: ties\nbase_model: {ws}/base\nmodels: [\n")
        },
        BadInput("merge: unknown method", file: "recipe.yml", field: "merge_method", absent: ["out"]) { ws in
            try ws.recipe("merge_method: average\nmodels: [{model: {ws}/add}]\n")
        },
        BadInput("merge: ties without base_model", file: "recipe.yml", field: "base_model", absent: ["out"]) { ws in
            try ws.recipe("merge_method: ties\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: a weight that is not a number", file: "recipe.yml", field: "models[0].parameters.weight", absent: ["out"]) { ws in
            try ws.recipe("merge_method: ties\nbase_model: {ws}/base\nmodels: [{model: {ws}/add, parameters: {weight: heavy}}]\n")
        },
        BadInput("merge: density out of range", file: "recipe.yml", field: "models[0].parameters.density", absent: ["out"]) { ws in
            try ws.recipe("merge_method: ties\nbase_model: {ws}/base\nmodels: [{model: {ws}/add, parameters: {weight: 1, density: 1.5}}]\n")
        },
        BadInput("merge: a parameter the method does not take", file: "recipe.yml", field: "parameters.t", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\nparameters: {t: 0.5}\n")
        },
        BadInput("merge: models: [] with a base", file: "recipe.yml", field: "models", absent: ["out"]) { ws in
            try ws.recipe("merge_method: ties\nbase_model: {ws}/base\nmodels: []\n")
        },
        BadInput("merge: models: [] without a base", file: "recipe.yml", field: "models", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: []\n")
        },
        BadInput("merge: slices: []", file: "recipe.yml", field: "slices", absent: ["out"]) { ws in
            try ws.recipe("merge_method: passthrough\nslices: []\n")
        },
        BadInput("merge: a slice without sources", file: "recipe.yml", field: "slices[0].sources", absent: ["out"]) { ws in
            try ws.recipe("merge_method: passthrough\nslices: [{sources: []}]\n")
        },
        BadInput("merge: layer_range past the model", file: "recipe.yml", field: "slices[0].sources[0].layer_range", absent: ["out"]) { ws in
            try ws.recipe("merge_method: passthrough\nslices: [{sources: [{model: {ws}/base, layer_range: [0, 9]}]}]\n")
        },
        BadInput("merge: modules (unsupported)", file: "recipe.yml", field: "modules", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodules: {text: {}}\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: tokenizer_source: union (unsupported)", file: "recipe.yml", field: "tokenizer_source", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\ntokenizer_source: union\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: a LoRA adapter that does not exist", file: "recipe.yml", field: "models[0].model", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/add+{ws}/lora, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: BASE+ADAPTER where ADAPTER is a model", file: "add", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/base+{ws}/add, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: an adapter of another base", file: "other", absent: ["out"]) { ws in
            try ws.copy(Workspace.adapters + "/other", as: "other")
            return try ws.recipe("merge_method: task_arithmetic\nbase_model: {ws}/base\nmodels: [{model: {ws}/other, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: a DoRA adapter", file: "dora/adapter_config.json", field: "use_dora", absent: ["out"]) { ws in
            try ws.copy(Workspace.adapters + "/dora", as: "dora")
            return try ws.recipe("merge_method: task_arithmetic\nbase_model: {ws}/base\nmodels: [{model: {ws}/base+{ws}/dora, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: an adapter without adapter_model.safetensors", file: "lora", absent: ["out"]) { ws in
            try ws.write("lora/adapter_config.json", try String(contentsOfFile: CLI.repository + "/" + Workspace.adapters + "/a/adapter_config.json", encoding: .utf8))
            return try ws.recipe("merge_method: task_arithmetic\nbase_model: {ws}/base\nmodels: [{model: {ws}/lora, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: an adapter whose lora_A and lora_B ranks differ", file: "bad/adapter_model.safetensors",
                 field: "base_model.model.model.layers.1.mlp.up_proj", absent: ["out"]) { ws in
            try ws.copy(Workspace.adapters + "/bad_rank", as: "bad")
            return try ws.recipe("merge_method: task_arithmetic\nbase_model: {ws}/base\nmodels: [{model: {ws}/base+{ws}/bad, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: residual_weight (unsupported)", file: "recipe.yml", field: "slices[0].residual_weight", absent: ["out"]) { ws in
            try ws.recipe("merge_method: passthrough\nslices: [{sources: [{model: {ws}/base, layer_range: [0, 2]}], residual_weight: 0.5}]\n")
        },
        BadInput("merge: an unknown key", file: "recipe.yml", field: "merge_methods", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmerge_methods: ties\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: a model folder that does not exist", file: "recipe.yml", field: "models[0].model", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/gone, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: models with different layer counts", file: "recipe.yml", field: "models", absent: ["out"]) { ws in
            try ws.copy("zoo/tiny-llama", as: "tiny")
            return try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/base, parameters: {weight: 1}}, {model: {ws}/tiny, parameters: {weight: 1}}]\n")
        },
        BadInput("merge: config.json without model_type", file: "base/config.json", field: "model_type", absent: ["out"]) { ws in
            let arguments = try ws.recipe("merge_method: ties\nbase_model: {ws}/base\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n")
            try ws.editJSON("base/config.json") { $0["model_type"] = nil }
            return arguments
        },
        BadInput("merge: a source with truncated weights", file: "add/model.safetensors", absent: ["out"]) { ws in
            let arguments = try ws.recipe("merge_method: ties\nbase_model: {ws}/base\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n")
            try ws.truncate("add/model.safetensors", to: 4096)
            return arguments
        },
        BadInput("merge: a recipe that does not exist", file: "none.yml", absent: ["out"]) { ws in
            ["merge", ws.path("none.yml"), "--out", ws.path("out")]
        },
        BadInput("merge: a recipe that is not UTF-8", file: "recipe.yml", absent: ["out"]) { ws in
            ["merge", try ws.write("recipe.yml", bytes: [0xFF, 0xFE, 0x00]), "--out", ws.path("out")]
        },
        BadInput("merge: --threads 0", status: 64, file: nil, field: "--threads", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n") + ["--threads", "0"]
        },
        BadInput("merge: --out-dtype float8", status: 64, file: nil, field: "--out-dtype", absent: ["out"]) { ws in
            try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n") + ["--out-dtype", "float8"]
        },
        BadInput("merge: no --out", status: 64, file: nil, field: "--out") { ws in
            Array(try ws.recipe("merge_method: linear\nmodels: [{model: {ws}/add, parameters: {weight: 1}}]\n").prefix(2))
        },
    ]

    // MARK: tokenize: tokenizer.json and the text file

    static let tokenize: [BadInput] = [
        BadInput("tokenize: tokenizer.json is not JSON", file: "base/tokenizer.json") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.write("base/tokenizer.json", "nope")
            return ["tokenize", ws.path("base"), "hello"]
        },
        BadInput("tokenize: unknown model type", file: "base/tokenizer.json", field: "model.type") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.editJSON("base/tokenizer.json") { tokenizer in
                var model = tokenizer["model"] as? [String: Any] ?? [:]
                model["type"] = "Unigram"
                tokenizer["model"] = model
            }
            return ["tokenize", ws.path("base"), "hello"]
        },
        BadInput("tokenize: unknown pre_tokenizer", file: "base/tokenizer.json", field: "pre_tokenizer.type") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.editJSON("base/tokenizer.json") { $0["pre_tokenizer"] = ["type": "UnicodeScripts"] }
            return ["tokenize", ws.path("base"), "hello"]
        },
        BadInput("tokenize: a merge that is not a pair", file: "base/tokenizer.json", field: "model.merges[0]") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.editJSON("base/tokenizer.json") { tokenizer in
                var model = tokenizer["model"] as? [String: Any] ?? [:]
                model["merges"] = [5]
                tokenizer["model"] = model
            }
            return ["tokenize", ws.path("base"), "hello"]
        },
        BadInput("tokenize: no tokenizer.json", file: "base/tokenizer.json") { ws in
            try ws.copy("zoo/base", as: "base")
            try ws.remove("base/tokenizer.json")
            return ["tokenize", ws.path("base"), "hello"]
        },
        BadInput("tokenize: --file that does not exist", file: "lines.txt", field: "--file") { ws in
            try ws.copy("zoo/base", as: "base")
            return ["tokenize", ws.path("base"), "--file", ws.path("lines.txt")]
        },
        BadInput("tokenize: TEXT and --file", status: 64, file: nil, field: "--file") { ws in
            ["tokenize", ws.path("base"), "hello", "--file", ws.path("lines.txt")]
        },
    ]

    // MARK: eval: fitness files, JSONL rows, config.json

    static let eval: [BadInput] = [
        BadInput("eval: an adapter of another base", file: "other") { ws in
            try ws.copy(Workspace.adapters + "/other", as: "other")
            var arguments = try ws.eval("tasks:\n  - {name: add, kind: choice, calibration: add.jsonl}\n")
            arguments[1] = ws.path("base") + "+" + ws.path("other")
            return arguments
        },
        BadInput("eval: tasks: []", file: "fitness.yaml", field: "tasks") { ws in try ws.eval("tasks: []\n") },
        BadInput("eval: tasks is not a list", file: "fitness.yaml", field: "tasks") { ws in try ws.eval("tasks: 3\n") },
        BadInput("eval: fitness YAML syntax error", file: "fitness.yaml") { ws in try ws.eval("tasks: [\n") },
        BadInput("eval: unknown task kind", file: "fitness.yaml", field: "tasks[0].kind") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: quiz, calibration: add.jsonl}\n")
        },
        BadInput("eval: a task without a name", file: "fitness.yaml", field: "tasks[0].name") { ws in
            try ws.eval("tasks:\n  - {kind: choice, calibration: add.jsonl}\n")
        },
        BadInput("eval: an unknown task key", file: "fitness.yaml", field: "tasks[0].colour") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl, colour: red}\n")
        },
        BadInput("eval: a metric of another kind", file: "fitness.yaml", field: "tasks[0].metric") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl, metric: exact_match}\n")
        },
        BadInput("eval: a negative weight", file: "fitness.yaml", field: "tasks[0].weight") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl, weight: -1}\n")
        },
        BadInput("eval: max_tokens that is not a number", file: "fitness.yaml", field: "tasks[0].max_tokens") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: generate, calibration: add.jsonl, max_tokens: many}\n")
        },
        BadInput("eval: a bad command timeout", file: "fitness.yaml", field: "tasks[0].timeout") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: command, run: [echo, '{}'], score: x, timeout: soon}\n")
        },
        BadInput("eval: a command without run", file: "fitness.yaml", field: "tasks[0].run") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: command, score: x}\n")
        },
        BadInput("eval: a calibration file that does not exist", file: "fitness.yaml", field: "tasks[0].calibration") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: missing.jsonl}\n")
        },
        BadInput("eval: a holdout file that does not exist", file: "fitness.yaml", field: "tasks[0].holdout") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl, holdout: gone.jsonl}\n")
        },
        BadInput("eval: a fitness file that does not exist", file: "none.yaml") { ws in
            try ws.copy("zoo/base", as: "base")
            return ["eval", ws.path("base"), "--fitness", ws.path("none.yaml")]
        },
        BadInput("eval: a JSONL row that is not JSON", file: "data.jsonl:1") { ws in try ws.evalRows("not json\n") },
        BadInput("eval: a JSONL row that is a list", file: "data.jsonl:1") { ws in try ws.evalRows("[1, 2]\n") },
        BadInput("eval: a choice row without context", file: "data.jsonl:1", field: "context") { ws in
            try ws.evalRows(#"{"choices": ["2", "3"], "answer": 0}"# + "\n")
        },
        BadInput("eval: a choice row whose answer is out of range", file: "data.jsonl:2", field: "answer") { ws in
            try ws.evalRows(#"{"context": "1+1=", "choices": ["2", "3"], "answer": 0}"# + "\n" + #"{"context": "1+2=", "choices": ["3", "4"], "answer": 5}"# + "\n")
        },
        BadInput("eval: a choice row with one choice", file: "data.jsonl:1", field: "choices") { ws in
            try ws.evalRows(#"{"context": "1+1=", "choices": ["2"], "answer": 0}"# + "\n")
        },
        BadInput("eval: a perplexity row without text", file: "data.jsonl:1", field: "text") { ws in
            try ws.evalRows(#"{"txt": "abc"}"# + "\n", kind: "perplexity")
        },
        BadInput("eval: a generate row whose prompt is a number", file: "data.jsonl:1", field: "prompt") { ws in
            try ws.evalRows(#"{"prompt": 3, "answer": "x"}"# + "\n", kind: "generate")
        },
        BadInput("eval: an empty JSONL file", file: "data.jsonl") { ws in try ws.evalRows("") },
        BadInput("eval: config.json without model_type", file: "base/config.json", field: "model_type") { ws in
            let arguments = try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n")
            try ws.editJSON("base/config.json") { $0["model_type"] = nil }
            return arguments
        },
        BadInput("eval: an unsupported model_type", file: "base/config.json", field: "model_type") { ws in
            let arguments = try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n")
            try ws.editJSON("base/config.json") { $0["model_type"] = "gpt9" }
            return arguments
        },
        BadInput("eval: num_hidden_layers negative", file: "base/config.json", field: "num_hidden_layers") { ws in
            let arguments = try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n")
            try ws.editJSON("base/config.json") { $0["num_hidden_layers"] = -1 }
            return arguments
        },
        BadInput("eval: hidden_size that the weights contradict", file: "base/model.safetensors", field: "tensor 'model.embed_tokens.weight'") { ws in
            let arguments = try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n")
            try ws.editJSON("base/config.json") { $0["hidden_size"] = 64 }
            return arguments
        },
        BadInput("eval: --samples inside a path whose parent is a file", file: "add.jsonl/samples.jsonl", field: "--samples") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n") + ["--samples", ws.path("add.jsonl/samples.jsonl")]
        },
        BadInput("eval: --limit 0", status: 64, file: nil, field: "--limit") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n") + ["--limit", "0"]
        },
        BadInput("eval: --split test", status: 64, file: nil, field: "--split") { ws in
            try ws.eval("tasks:\n  - {name: a, kind: choice, calibration: add.jsonl}\n") + ["--split", "test"]
        },
    ]

    // MARK: init

    static let initialize: [BadInput] = [
        BadInput("init: an adapter of another base", file: "other", absent: ["space.yaml"]) { ws in
            try ws.models()
            try ws.copy(Workspace.adapters + "/other", as: "other")
            return ["init", "--base", ws.path("base"), "--models", ws.path("other"), "--out", ws.path("space.yaml")]
        },
        BadInput("init: a fitness file with tasks: []", file: "fitness.yaml", field: "tasks", absent: ["space.yaml"]) { ws in
            try ws.models()
            return ["init", "--base", ws.path("base"), "--models", ws.path("add"), "--fitness", try ws.fitness("tasks: []\n"), "--out", ws.path("space.yaml")]
        },
        BadInput("init: a base folder that does not exist", file: "gone", absent: ["space.yaml"]) { ws in
            try ws.models()
            return ["init", "--base", ws.path("gone"), "--models", ws.path("add"), "--out", ws.path("space.yaml")]
        },
        BadInput("init: a fine-tune with another layer count", file: "space.yaml", field: "models[0]", absent: ["space.yaml"]) { ws in
            try ws.models()
            try ws.copy("zoo/tiny-llama", as: "tiny")
            return ["init", "--base", ws.path("base"), "--models", ws.path("tiny"), "--fitness", try ws.fitness(), "--out", ws.path("space.yaml")]
        },
        BadInput("init: the space exists", file: "space.yaml", unchanged: ["space.yaml"]) { ws in
            try ws.models()
            try ws.write("space.yaml", "name: mine\n")
            return ["init", "--base", ws.path("base"), "--models", ws.path("add"), "--out", ws.path("space.yaml")]
        },
        BadInput("init: no --models", status: 64, file: nil, field: "--models", absent: ["space.yaml"]) { ws in
            ["init", "--base", ws.path("base"), "--out", ws.path("space.yaml")]
        },
        BadInput("init: a --name with a space", status: 64, file: nil, field: "--name", absent: ["space.yaml"]) { ws in
            ["init", "--base", ws.path("base"), "--models", ws.path("add"), "--name", "a b", "--out", ws.path("space.yaml")]
        },
    ]

    // MARK: search: spaces, and the inputs they name

    static let search: [BadInput] = [
        BadInput("search --dry-run: a gene range out of bounds", file: "space.yaml", field: "genes.weight") { ws in
            ["search", try ws.space("genes: {weight: [0, 20]}\n"), "--dry-run"]
        },
        BadInput("search --dry-run: baselines that are not true or false", file: "space.yaml", field: "baselines") { ws in
            ["search", try ws.space("baselines: some\n"), "--dry-run"]
        },
        BadInput("report: a folder that holds no run", file: "nowhere/archive.sqlite", absent: ["nowhere/report.html"]) { ws in
            ["report", ws.path("nowhere")]
        },
        BadInput("search --dry-run: an unknown gene", file: "space.yaml", field: "genes.height") { ws in
            ["search", try ws.space("genes: {height: [0, 1]}\n"), "--dry-run"]
        },
        BadInput("search --dry-run: an unknown objective", file: "space.yaml", field: "objectives[0].maximize") { ws in
            ["search", try ws.space("objectives: [{maximize: beauty}]\n"), "--dry-run"]
        },
        BadInput("search --dry-run: an objective on a task the fitness file lacks", file: "space.yaml", field: "objectives[0]") { ws in
            ["search", try ws.space("objectives: [{maximize: \"task:nothere\"}]\n"), "--dry-run"]
        },
        BadInput("search --dry-run: zero evaluations", file: "space.yaml", field: "budget.evaluations") { ws in
            ["search", try ws.space(replacing: ["evaluations: 1": "evaluations: 0"]), "--dry-run"]
        },
        BadInput("search --dry-run: a budget time that is not a duration", file: "space.yaml", field: "budget.time") { ws in
            ["search", try ws.space(replacing: ["evaluations: 1": "evaluations: 1, time: forever"]), "--dry-run"]
        },
        BadInput("search --dry-run: no fitness", file: "space.yaml", field: "fitness") { ws in
            ["search", try ws.space(fitnessLine: ""), "--dry-run"]
        },
        BadInput("search --dry-run: a fitness file that does not exist", file: "space.yaml", field: "fitness") { ws in
            ["search", try ws.space(fitnessLine: "fitness: none.yaml\n"), "--dry-run"]
        },
        BadInput("search --dry-run: a fitness file with tasks: []", file: "fitness.yaml", field: "tasks") { ws in
            ["search", try ws.space(fitness: "tasks: []\n"), "--dry-run"]
        },
        BadInput("search --dry-run: an unknown method", file: "space.yaml", field: "methods[1]") { ws in
            ["search", try ws.space(replacing: ["methods: [linear]": "methods: [linear, magic]"]), "--dry-run"]
        },
        BadInput("search --dry-run: an unknown optimizer", file: "space.yaml", field: "optimizer.name") { ws in
            ["search", try ws.space(replacing: ["name: random": "name: sgd"]), "--dry-run"]
        },
        BadInput("search --dry-run: slerp with two fine-tunes", file: "space.yaml", field: "methods[0]") { ws in
            try ws.copy("zoo/rev", as: "rev")
            return ["search", try ws.space(replacing: ["methods: [linear]": "methods: [slerp]", "models: [add]": "models: [add, rev]"]), "--dry-run"]
        },
        BadInput("search --dry-run: space YAML syntax error", file: "space.yaml") { ws in
            try ws.models()
            return ["search", try ws.write("space.yaml", "name: bad\nmodels: [add\n"), "--dry-run"]
        },
        BadInput("search --dry-run: a damaged base tokenizer", file: "base/tokenizer.json") { ws in
            let space = try ws.space()
            try ws.write("base/tokenizer.json", "{")
            return ["search", space, "--dry-run"]
        },
        BadInput("search: a JSONL row without answer, before any run folder", file: "add.jsonl:1", field: "answer", absent: ["run"]) { ws in
            let space = try ws.space()
            try ws.write("add.jsonl", #"{"context": "1+1=", "choices": ["2", "3"]}"# + "\n")
            return ["search", space, "--run", ws.path("run"), "--evaluations", "1"]
        },
        BadInput("search: an adapter of another base, before any run folder", file: "space.yaml", field: "models[0]", absent: ["run"]) { ws in
            let space = try ws.space(replacing: ["models: [add]": "models: [other]"])
            try ws.copy(Workspace.adapters + "/other", as: "other")
            return ["search", space, "--run", ws.path("run"), "--evaluations", "1"]
        },
        BadInput("search: truncated base weights, before any run folder", file: "base/model.safetensors", absent: ["run"]) { ws in
            let space = try ws.space()
            try ws.truncate("base/model.safetensors", to: 2000)
            return ["search", space, "--run", ws.path("run"), "--evaluations", "1"]
        },
        BadInput("search: the run folder holds a run", file: "run", unchanged: ["run/space.yaml"]) { ws in
            let space = try ws.space()
            try ws.write("run/space.yaml", "name: earlier\n")
            return ["search", space, "--run", ws.path("run"), "--evaluations", "1"]
        },
        BadInput("search: --workers 0", status: 64, file: nil, field: "--workers", absent: ["run"]) { ws in
            ["search", try ws.space(), "--run", ws.path("run"), "--workers", "0"]
        },
        BadInput("search: --time past any budget", status: 64, file: nil, field: "--time", absent: ["run"]) { ws in
            ["search", try ws.space(), "--run", ws.path("run"), "--time", "1e300h"]
        },
        BadInput("search: a space that does not exist", file: "none.yaml") { ws in ["search", ws.path("none.yaml"), "--dry-run"] },
    ]

    // MARK: resume, status, front, export: run folders

    static let runFolders: [BadInput] = [
        BadInput("status: garbage bytes in archive.sqlite", file: "run/archive.sqlite", unchanged: ["run/archive.sqlite"]) { ws in
            ["status", try ws.bareRun(archive: garbage)]
        },
        BadInput("status: an empty archive.sqlite", file: "run/archive.sqlite") { ws in
            ["status", try ws.bareRun(archive: [])]
        },
        BadInput("status: a folder that is not a run", file: "run/archive.sqlite") { ws in
            try FileManager.default.createDirectory(atPath: ws.path("run"), withIntermediateDirectories: true)
            return ["status", ws.path("run")]
        },
        BadInput("status --json: a non-Amalgam SQLite database", file: "run/archive.sqlite") { ws in
            try ws.write("run/space.yaml", "objectives:\n  - maximize: \"accuracy\"\n")
            try ws.foreignDatabase("run/archive.sqlite")
            return ["status", ws.path("run"), "--json"]
        },
        BadInput("status: no space.yaml", file: "run/space.yaml") { ws in
            let run = try ws.finishedRun()
            try ws.remove("run/space.yaml")
            return ["status", run]
        },
        BadInput("front: a truncated archive", file: "run/archive.sqlite") { ws in
            let run = try ws.finishedRun()
            let archive = try Data(contentsOf: URL(fileURLWithPath: ws.path("run/archive.sqlite")))
            try ws.replaceArchive(Array(archive.prefix(3000)))
            return ["front", run]
        },
        BadInput("front --json: no space.yaml", file: "run/space.yaml") { ws in
            let run = try ws.finishedRun()
            try ws.remove("run/space.yaml")
            return ["front", run, "--json"]
        },
        BadInput("front: garbage bytes in archive.sqlite", file: "run/archive.sqlite") { ws in
            ["front", try ws.bareRun(archive: garbage)]
        },
        BadInput("resume: garbage bytes in archive.sqlite", file: "run/archive.sqlite", unchanged: ["run/archive.sqlite"]) { ws in
            let run = try ws.finishedRun()
            try ws.replaceArchive(garbage)
            return ["resume", run, "--evaluations", "2"]
        },
        BadInput("resume: a non-Amalgam SQLite database", file: "run/archive.sqlite") { ws in
            let run = try ws.finishedRun()
            try ws.removeArchive()
            try ws.foreignDatabase("run/archive.sqlite")
            return ["resume", run, "--evaluations", "2"]
        },
        BadInput("resume: no space.yaml", file: "run/space.yaml") { ws in
            let run = try ws.finishedRun()
            try ws.remove("run/space.yaml")
            return ["resume", run, "--evaluations", "2"]
        },
        BadInput("resume: space.yaml that is not YAML", file: "run/space.yaml") { ws in
            try ws.write("run/space.yaml", "name: [\n")
            try ws.write("run/archive.sqlite", bytes: [])
            return ["resume", ws.path("run"), "--evaluations", "2"]
        },
        BadInput("resume: a task file changed since the run began", file: "add.jsonl", unchanged: ["run/archive.sqlite"]) { ws in
            let run = try ws.finishedRun()
            let rows = try String(contentsOfFile: ws.path("add.jsonl"), encoding: .utf8)
            try ws.write("add.jsonl", rows + rows)
            return ["resume", run, "--evaluations", "2"]
        },
        BadInput("resume: --evaluations 0", status: 64, file: nil, field: "--evaluations") { ws in
            ["resume", ws.path("run"), "--evaluations", "0"]
        },
        BadInput("export: garbage bytes in archive.sqlite", file: "run/archive.sqlite", absent: ["exported"]) { ws in
            ["export", try ws.bareRun(archive: garbage), "--best", "--model", ws.path("exported")]
        },
        BadInput("export: no space.yaml", file: "run/space.yaml", absent: ["exported"]) { ws in
            let run = try ws.finishedRun()
            try ws.remove("run/space.yaml")
            return ["export", run, "--best", "--model", ws.path("exported")]
        },
        BadInput("export: a candidate that does not exist", file: "run/archive.sqlite", absent: ["exported", "run/exports"]) { ws in
            ["export", try ws.finishedRun(), "--candidate", "99", "--model", ws.path("exported")]
        },
        BadInput("export: an objective the run lacks", file: "run/space.yaml", absent: ["exported", "run/exports"]) { ws in
            ["export", try ws.finishedRun(), "--best", "--objective", "flops", "--model", ws.path("exported")]
        },
        BadInput("export: a source model damaged since the run", file: "add/model.safetensors", absent: ["exported", "run/exports"]) { ws in
            let run = try ws.finishedRun()
            try ws.truncate("add/model.safetensors", to: 4096)
            return ["export", run, "--best", "--model", ws.path("exported")]
        },
        BadInput("export: neither --best nor --candidate", status: 64, file: nil, field: "--best", absent: ["exported"]) { ws in
            ["export", ws.path("run"), "--model", ws.path("exported")]
        },
    ]
}
