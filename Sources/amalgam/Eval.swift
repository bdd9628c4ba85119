import ArgumentParser
import Fitness
import Foundation
import Inference
import Merging
import Tensors

extension Amalgam {
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a model folder on the tasks of a fitness file with the built-in CPU evaluator.",
            discussion: """
                Choice tasks report acc or acc_norm as lm-evaluation-harness defines them, \
                perplexity tasks token, word or byte perplexity, generate tasks exact match of \
                the greedy output. Every score carries its standard error and example count.
                """
        )

        enum Split: String, ExpressibleByArgument, CaseIterable {
            case calibration, holdout
        }

        @Argument(help: "The model folder (config.json, safetensors weights, tokenizer.json), a PEFT LoRA adapter folder whose base_model_name_or_path is a local folder, or BASE+ADAPTER.", completion: .directory)
        var model: String

        @Option(help: "The fitness file listing the tasks.", completion: .file(extensions: ["yaml", "yml"]))
        var fitness: String

        @Option(help: "Which examples to score: calibration or holdout.")
        var split: Split = .calibration

        @Option(help: "Score at most this many examples per task.")
        var limit: Int?

        @Option(help: "Write per-example detail to this JSONL file.", completion: .file())
        var samples: String?

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            let source = try SourceModel.open(model, resolve: { $0 })
            let file = try FitnessFile(contentsOf: fitness)
            let chosen = split == .calibration ? FitnessFile.Split.calibration : .holdout
            // Command tasks bring their own data: they run with the calibration split.
            let tasks = file.tasks.filter { $0.file(chosen) != nil || ($0.kind == .command && chosen == .calibration) }
            // An adapter is folded on its base in memory (and on disk only for command tasks,
            // which score a folder), as a search folds a candidate.
            var modelPath = model
            var temporary: String?
            defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
            var arena: TensorArena?
            if source.adapter != nil {
                let plan = try Self.foldPlan(model, source: source)
                let materializer = Materializer(plan: plan)
                if tasks.contains(where: { $0.kind != .command }) {
                    let folded = TensorArena()
                    try materializer.materialize(into: folded)
                    arena = folded
                }
                if tasks.contains(where: { $0.kind == .command }) {
                    let path = NSTemporaryDirectory() + "amalgam-eval-\(UUID().uuidString)"
                    try MergedModelWriter(materializer: materializer).write(to: path)
                    temporary = path
                    modelPath = path
                }
            }
            // The built-in evaluator is loaded only for built-in tasks: command tasks score a
            // model of any family on its folder.
            var evaluator: Evaluator?
            if tasks.contains(where: { $0.kind != .command }) {
                var decoder: DecoderModel
                if let arena, let config = source.config {
                    let configuration = try DecoderConfiguration(config)
                    decoder = DecoderModel(configuration: configuration, weights: try DecoderWeights(arena: arena, configuration: configuration))
                } else {
                    decoder = try DecoderModel(folder: source.folder)
                }
                // Linear layers cut the same way whatever the thread count: scores equal the search's.
                decoder.threads = ProcessInfo.processInfo.activeProcessorCount
                // An adapter's model has its base's tokenizer.
                let tokenizer = try Tokenizer(folder: source.folder.path)
                guard let prefix = Evaluator.endOfTextToken(config: source.config, tokenizer: tokenizer) else {
                    throw ModelError(file: source.folder.path + "/config.json", field: "eos_token_id", "is missing; the evaluator needs an end-of-text token")
                }
                evaluator = Evaluator(model: decoder, tokenizer: tokenizer, prefixToken: prefix, modelPath: temporary ?? model)
            }
            let signals = tasks.contains { $0.kind == .command } ? ChildProcess.killAllOnSignals() : []
            defer { signals.forEach { $0.cancel() } }
            var scores: [TaskScore] = []
            for task in tasks {
                if let evaluator {
                    scores.append(try evaluator.score(task, split: chosen, limit: limit))
                } else {
                    scores.append(try Evaluator.scoreCommand(task, split: chosen, modelPath: modelPath))
                }
            }
            if let samples {
                var lines = ""
                for score in scores {
                    for sample in score.samples {
                        var object = sample.object ?? JSONObject()
                        object["task"] = .string(score.task)
                        lines += JSONValue.object(object).serialized() + "\n"
                    }
                }
                do {
                    try Disk.writeAtomically(Array(lines.utf8), to: samples)
                } catch {
                    throw ArgumentFileError(file: samples, field: "--samples", "\(error.failure) (\(error.error))" + (error.file == samples ? "" : ": \(error.file)"))
                }
            }
            if json {
                var tasks = JSONObject()
                for score in scores {
                    tasks[score.task] = .object(JSONObject([
                        "metric": .string(score.metric), "value": .number(JSONNumber(score.value)),
                        "stderr": score.stderr.map { .number(JSONNumber($0)) } ?? .null, "n": .number(JSONNumber(score.n)),
                    ]))
                }
                print(JSONValue.object(JSONObject(["model": .string(model), "split": .string(chosen.rawValue), "tasks": .object(tasks)])).serialized(indent: 2))
            } else {
                let width = scores.map(\.task.count).max() ?? 4
                for score in scores {
                    let stderr = score.stderr.map { " ± " + Format.fixed($0, digits: 4) } ?? ""
                    print("\(score.task.padding(to: width))  \(score.metric.padding(to: 16))  \(Format.fixed(score.value, digits: 4))\(stderr)  n=\(score.n)")
                }
            }
        }

        /// The plan that folds an adapter on its base: a one-model linear merge, rounded to the
        /// base's dtype as a search's candidates are.
        static func foldPlan(_ reference: String, source: SourceModel) throws -> MergePlan {
            var parameters = ParameterSettings()
            parameters["weight"] = .scalar(.number(1))
            let stored = source.tensorNames.first.flatMap { source.folder.tensor($0)?.info.dtype } ?? .f32
            let recipe = Recipe(mergeMethod: .linear, models: [Recipe.InputModel(model: reference, parameters: parameters)], dtype: .f32,
                                outDType: stored.isFloat32Convertible ? stored : .f32)
            return try MergePlan(recipe: recipe, file: reference, opened: [reference: source], layouts: ModelFamilies.layout)
        }
    }
}
