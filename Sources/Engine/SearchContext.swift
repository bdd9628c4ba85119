import Fitness
import Foundation
import Inference
import Merging
import Search
import Tensors

/// What every worker of a search shares, read-only: the space and its codec, the fitness tasks,
/// the source model folders (memory-mapped once), the base's tokenizer and config.
public struct SearchContext: Sendable {
    public let space: SearchSpace
    public let codec: GenomeCodec
    public let fitness: FitnessFile
    /// Opened sources by the reference recipes use (absolute paths; `BASE+ADAPTER` for an
    /// adapter), handed to every `MergePlan`.
    public let folders: [String: SourceModel]
    public let baseConfig: ModelConfig
    /// Which tensors a candidate merges: the base's family layout when the evaluator knows the
    /// family, else read off the base's tensor names (any Hugging Face decoder).
    public let layout: TensorLayout
    /// What the built-in evaluator needs; nil when every task is a `command` task, which scores
    /// the candidate's folder and needs no built-in model, so any mergeable model can be searched.
    public let evaluation: Evaluation?

    public struct Evaluation: Sendable {
        public let tokenizer: Tokenizer
        public let endOfText: Int
        /// Task files read and tokenized once for the run, shared by every worker.
        public let examples = PreparedExamples()
    }
    /// Threads each worker's merge uses (the run's BLAS threads per worker).
    public let threadsPerWorker: Int
    /// How a worker's arena stores a candidate (the space's `arena`): in the recipes' output
    /// dtype, which the codec sets to the arena's dtype when the space names a narrow one, so
    /// the arena always holds what `export` writes.
    public let arenaStorage: Materializer.ArenaStorage
    /// Which examples each racing stage scores; nil when racing is off.
    public let racing: RacingSchedule?

    public init(space: SearchSpace, threadsPerWorker: Int) throws {
        self.space = space
        self.threadsPerWorker = max(1, threadsPerWorker)
        fitness = try space.fitnessFile()
        try fitness.checkData()
        let weighted = fitness.tasks.filter { $0.weight > 0 }
        if space.objectives.contains(where: { $0.quantity == .accuracy }) && weighted.isEmpty {
            throw SearchSpaceError(file: space.fitness, field: "tasks", "no task has a positive weight, so accuracy is undefined")
        }
        for (i, objective) in space.objectives.enumerated() {
            if case .task(let name, let metric) = objective.quantity {
                guard let task = fitness.tasks.first(where: { $0.name == name }) else {
                    throw SearchSpaceError(file: space.file, field: "objectives[\(i)]", "the fitness file has no task \"\(name)\" (tasks: \(fitness.tasks.map(\.name).joined(separator: ", ")))")
                }
                if let metric, task.kind != .choice || !["acc", "acc_norm"].contains(metric), metric != task.metric {
                    throw SearchSpaceError(file: space.file, field: "objectives[\(i)]", "task \"\(name)\" reports \(task.metric), not \(metric)")
                }
            }
        }
        var folders: [String: SourceModel] = [:]
        let baseFolder = try ModelFolder(path: space.baseModel)
        folders[space.baseModel] = SourceModel(folder: baseFolder)
        for (i, reference) in space.modelReferences.enumerated() {
            do {
                folders[reference] = try SourceModel.open(space.models[i], resolve: { $0 }, defaultBase: space.baseModel, opened: folders)
            } catch let error as ModelFolderError {
                throw SearchSpaceError(file: space.file, field: "models[\(i)]", "\(error)")
            }
        }
        self.folders = folders
        let base = baseFolder
        guard let config = base.config else {
            throw SearchSpaceError(file: space.file, field: "base_model", "\(space.baseModel) has no config.json")
        }
        baseConfig = config
        layout = try ModelFamilies.layout(config)
            ?? TensorLayout.inferred(from: base.tensorNames, modelType: config.json["model_type"]?.string ?? "?", file: space.baseModel)
        if let builtIn = fitness.tasks.first(where: { $0.kind != .command }) {
            do {
                _ = try DecoderConfiguration(config)
            } catch {
                let type = config.json["model_type"]?.string ?? "?"
                guard !ModelFamilies.canEvaluate(type) else { throw error }
                throw SearchSpaceError(
                    file: space.file, field: "base_model",
                    "\(space.baseModel) is a \(type) model, which Amalgam can merge but its built-in evaluator cannot run (it runs \(ModelFamilies.modelTypes.joined(separator: ", "))), and task \"\(builtIn.name)\" of \(space.fitness) is a built-in \(builtIn.kind.rawValue) task; score this family with `command` tasks (lm-eval-harness, say) instead")
            }
            let tokenizer = try Tokenizer(folder: space.baseModel)
            guard let eos = Evaluator.endOfTextToken(config: config, tokenizer: tokenizer) else {
                throw ModelError(file: config.path, field: "eos_token_id", "is missing; the evaluator needs an end-of-text token")
            }
            evaluation = Evaluation(tokenizer: tokenizer, endOfText: eos)
        } else {
            evaluation = nil
        }
        let stored = base.tensorNames.first.flatMap { base.tensor($0)?.info.dtype } ?? .f32
        let outDType: DType = switch space.arena {
        case .auto, .float32: stored.isFloat32Convertible ? stored : .f32
        case .bfloat16: .bf16
        case .float16: .f16
        }
        codec = GenomeCodec(space: space, outDType: outDType)
        arenaStorage = space.arena == .float32 ? .dtype(.f32) : .outputDType
        racing = try RacingSchedule.make(space: space, fitness: fitness)
    }

    /// The tasks scored on `split` (command tasks bring their own data and run on calibration only).
    public func tasks(_ split: FitnessFile.Split) -> [FitnessFile.Task] {
        fitness.tasks.filter { $0.file(split) != nil || ($0.kind == .command && split == .calibration) }
    }
}

extension SearchSpace {
    /// The space's fitness file: its inlined text in a run's frozen space (`fitness_inline`),
    /// else the file it names.
    public func fitnessFile() throws(FitnessError) -> FitnessFile {
        if let text = fitnessInline { return try FitnessFile(yaml: text, path: fitness) }
        return try FitnessFile(contentsOf: fitness)
    }
}
