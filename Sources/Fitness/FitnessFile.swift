import Foundation
import Tensors
import Yams

/// The calibration tasks of fitness/*.yaml (DESIGN.md §3): per task its kind, data files (paths
/// relative to the fitness file), primary metric and weight in the `accuracy` objective.
public struct FitnessFile: Sendable {
    public enum Kind: String, Sendable { case choice, perplexity, generate, command }
    public enum Split: String, Sendable, CaseIterable { case calibration, holdout }

    public struct Task: Sendable {
        public let name: String
        public let kind: Kind
        public let calibration: String?
        public let holdout: String?
        public let metric: String
        public let weight: Double
        public let maxTokens: Int
        public let stop: [String]
        /// For command tasks: the argv, with `{model}` and `{out}` placeholders.
        public var run: [String] = []
        /// For command tasks: a glob (`**` allowed) for the score file, newest match; nil = stdout.
        public var scoreFile: String?
        /// For command tasks: the dotted JSON path of the score (a key may contain commas).
        public var scorePath: String = ""
        /// For command tasks: seconds before the command is stopped.
        public var timeout: Double = 7200

        public init(name: String, kind: Kind, calibration: String?, holdout: String?, metric: String, weight: Double, maxTokens: Int, stop: [String]) {
            self.name = name
            self.kind = kind
            self.calibration = calibration
            self.holdout = holdout
            self.metric = metric
            self.weight = weight
            self.maxTokens = maxTokens
            self.stop = stop
        }

        /// The same task reporting another metric (acc_norm of an acc choice task), with weight 0.
        public func reporting(_ metric: String) -> Task {
            var copy = Task(name: name, kind: kind, calibration: calibration, holdout: holdout, metric: metric, weight: 0, maxTokens: maxTokens, stop: stop)
            copy.run = run
            copy.scoreFile = scoreFile
            copy.scorePath = scorePath
            copy.timeout = timeout
            return copy
        }

        public func file(_ split: Split) -> String? { split == .calibration ? calibration : holdout }
    }

    public let path: String
    public let tasks: [Task]

    static let metrics: [Kind: [String]] = [
        .choice: ["acc", "acc_norm"], .perplexity: ["token_perplexity", "word_perplexity", "byte_perplexity"],
        .generate: ["exact_match"], .command: ["score"],
    ]

    public init(contentsOf path: String) throws(FitnessError) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw FitnessError(file: path, "cannot be read")
        }
        try self.init(yaml: text, path: path)
    }

    /// Parses fitness YAML as if read from `path` (task files are relative to its folder): how a
    /// run's frozen space, which holds the fitness file inline, is read back.
    public init(yaml text: String, path: String) throws(FitnessError) {
        self.path = path
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw FitnessError(file: path, "is empty") }
            root = node
        } catch let error as FitnessError {
            throw error
        } catch {
            throw FitnessError(file: path, "is not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard let list = root.mapping?["tasks"]?.sequence else { throw FitnessError(file: path, field: "tasks", "expected a list of tasks") }
        // No task scores nothing: eval would print nothing and a search would rank every candidate alike.
        guard !list.isEmpty else { throw FitnessError(file: path, field: "tasks", "is an empty list; list at least one task") }
        var tasks: [Task] = []
        for (i, node) in list.enumerated() {
            let field = "tasks[\(i)]"
            guard let task = node.mapping else { throw FitnessError(file: path, field: field, "expected a mapping") }
            let allowed: Set<String> = ["name", "kind", "calibration", "holdout", "metric", "weight", "max_tokens", "stop", "run", "score_file", "score", "timeout"]
            for key in task.keys.compactMap(\.string) where !allowed.contains(key) {
                throw FitnessError(file: path, field: "\(field).\(key)", "unknown key")
            }
            guard let name = task["name"]?.string, !name.isEmpty else { throw FitnessError(file: path, field: "\(field).name", "is missing") }
            guard let kindName = task["kind"]?.string, let kind = Kind(rawValue: kindName) else {
                throw FitnessError(file: path, field: "\(field).kind", "expected choice, perplexity, generate or command")
            }
            if tasks.contains(where: { $0.name == name }) { throw FitnessError(file: path, field: "\(field).name", "\"\(name)\" appears twice") }
            /// A task file's path, resolved against the fitness file's folder.
            func file(_ key: String) throws(FitnessError) -> String? {
                guard let node = task[Node(key)] else { return nil }
                guard let relative = node.scalar?.string, !relative.isEmpty else {
                    throw FitnessError(file: path, field: "\(field).\(key)", "expected the path of a JSONL file")
                }
                return relative.hasPrefix("/") ? relative : folder + "/" + relative
            }
            let calibration = try file("calibration")
            let holdout = try file("holdout")
            if kind != .command, calibration == nil { throw FitnessError(file: path, field: "\(field).calibration", "is missing") }
            let metric = task["metric"]?.string ?? (Self.metrics[kind]?.first ?? "")
            guard Self.metrics[kind]?.contains(metric) == true else {
                throw FitnessError(file: path, field: "\(field).metric", "\"\(metric)\" is not a \(kind.rawValue) metric (\(Self.metrics[kind]?.joined(separator: ", ") ?? ""))")
            }
            let weight = task["weight"].map { $0.float ?? Double($0.int ?? -1) } ?? (kind == .perplexity ? 0 : 1)
            guard weight >= 0, weight.isFinite else { throw FitnessError(file: path, field: "\(field).weight", "expected a non-negative number") }
            let maxTokens = try task["max_tokens"].map { node throws(FitnessError) -> Int in
                guard let count = node.int, count > 0 else { throw FitnessError(file: path, field: "\(field).max_tokens", "expected a positive integer") }
                return count
            } ?? 32
            let stop = try task["stop"].map { node throws(FitnessError) -> [String] in
                if let text = node.scalar?.string { return [text] }
                let texts: [String]? = node.sequence?.compactMap(\.scalar?.string)
                guard let texts, texts.count == node.sequence?.count else {
                    throw FitnessError(file: path, field: "\(field).stop", "expected a string or a list of strings")
                }
                return texts
            } ?? []
            // The task's own fields first, then the files they name.
            for (key, file) in [("calibration", calibration), ("holdout", holdout)] {
                guard let file, !FileManager.default.fileExists(atPath: file) else { continue }
                throw FitnessError(file: path, field: "\(field).\(key)", "\(file) does not exist")
            }
            var entry = Task(name: name, kind: kind, calibration: calibration, holdout: holdout, metric: metric,
                             weight: weight, maxTokens: maxTokens, stop: stop)
            if kind == .command {
                guard let run = task["run"]?.sequence?.compactMap(\.string), !run.isEmpty, run.count == task["run"]?.sequence?.count else {
                    throw FitnessError(file: path, field: "\(field).run", "expected an argument list such as [lm_eval, --model, vllm, …]")
                }
                guard let score = task["score"]?.string, !score.isEmpty else {
                    throw FitnessError(file: path, field: "\(field).score", "expected the dotted JSON path of the score")
                }
                entry.run = run
                entry.scorePath = score
                entry.scoreFile = task["score_file"]?.string
                if let text = task["timeout"]?.string ?? task["timeout"]?.int.map(String.init) {
                    guard let seconds = parseDuration(text) else {
                        throw FitnessError(file: path, field: "\(field).timeout", "\"\(text)\" is not a duration such as 90s, 30m or 2h")
                    }
                    entry.timeout = seconds
                }
            }
            tasks.append(entry)
        }
        self.tasks = tasks
    }

    /// How many examples `task` has on `split` (0 when it has no file there).
    public func exampleCount(_ task: Task, split: Split) throws(FitnessError) -> Int {
        guard let file = task.file(split) else { return 0 }
        return try TaskData(file: file).rows.count
    }

    /// Reads every task file and checks that each example has the fields its kind needs: a search
    /// calls it before its first candidate, so bad data is one error rather than a run of failures.
    public func checkData() throws(FitnessError) {
        for task in tasks where task.kind != .command {
            for split in Split.allCases {
                guard let file = task.file(split) else { continue }
                try TaskData(file: file).check(task.kind)
            }
        }
    }
}
