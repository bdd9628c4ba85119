import Foundation
import Inference
import Tensors

/// One task's score on one split: the metric's value, its standard error where one is defined
/// (the sample standard deviation over √n, as lm-evaluation-harness reports it), the example
/// count, and per-example detail.
public struct TaskScore: Sendable {
    public let task: String
    public let split: FitnessFile.Split
    public let metric: String
    public let value: Double
    public let stderr: Double?
    public let n: Int
    public let samples: [JSONValue]

    public init(task: String, split: FitnessFile.Split, metric: String, value: Double, stderr: Double?, n: Int, samples: [JSONValue] = []) {
        self.task = task
        self.split = split
        self.metric = metric
        self.value = value
        self.stderr = stderr
        self.n = n
        self.samples = samples
    }
}

/// Scores a model on fitness tasks with the built-in CPU evaluator.
///
/// Choice tasks follow lm-evaluation-harness: context and continuation are tokenized by its
/// `_encode_pair` rule (the context's trailing whitespace moves to the continuation; context +
/// continuation is encoded whole and split at the length of the context's own encoding), special
/// tokens only as the tokenizer's post-processor adds them, an empty context replaced by the EOS
/// token; acc picks the highest summed log-likelihood, acc_norm the highest per character of the
/// choice. The context is run once and its cache reused for every choice; consecutive examples
/// share a pass (`DecoderModel.passes`), which changes no score beyond float rounding.
public struct Evaluator {
    public let model: DecoderModel
    public let tokenizer: Tokenizer
    /// The token an empty context or a perplexity text is conditioned on (lm-eval's EOT).
    public let prefixToken: Int
    /// The model's folder on disk, given to command tasks as `{model}`.
    public let modelPath: String?
    /// Checked between examples (and handed to command tasks): once cancelled, `score` throws
    /// `CancellationError` instead of finishing the task.
    public var cancellation: Cancellation?
    /// Where task files are read and tokenized once for every evaluator sharing it (a run's
    /// workers); by default this evaluator's own.
    public var prepared = PreparedExamples()

    public init(model: DecoderModel, tokenizer: Tokenizer, prefixToken: Int, modelPath: String? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.prefixToken = prefixToken
        self.modelPath = modelPath
    }

    /// Scores `task` on `split`: its first `limit` examples, or with `rows` those examples of the
    /// file (0-based, in that order: a racing stage's share, DESIGN.md §5b). The value is the
    /// mean over the examples scored and `n` their count.
    public func score(_ task: FitnessFile.Task, split: FitnessFile.Split, limit: Int? = nil, rows selection: [Int]? = nil) throws -> TaskScore {
        if task.kind == .command { return try command(task, split) }
        guard let file = task.file(split) else { throw FitnessError(file: task.name, field: split.rawValue, "the task has no \(split.rawValue) file") }
        let key = PreparedExamples.Key(file: file, kind: task.kind, limit: selection == nil ? limit ?? .max : .max)
        func pick<T>(_ all: [T]) throws -> [T] {
            guard let selection else { return all }
            return try selection.map { row in
                guard all.indices.contains(row) else { throw FitnessError(file: file, field: "row \(row + 1)", "the task file has only \(all.count) examples") }
                return all[row]
            }
        }
        /// The file's rows to prepare: the first `limit`, or all of them when `rows` picks some.
        func rows() throws -> (TaskData, [(line: Int, object: JSONObject)]) {
            let data = try TaskData(file: file)
            return (data, Array(data.rows.prefix(selection == nil ? limit ?? .max : .max)))
        }
        switch task.kind {
        case .choice:
            return try choice(task, split, try pick(prepared.examples(key) {
                let (data, rows) = try rows()
                return try rows.map { row in
                    let (context, choices, answer) = try data.choice(row)
                    return PreparedExamples.Choice(line: row.line, choices: choices, answer: answer,
                                                   pairs: choices.map { encodePair(context: context, continuation: $0) })
                }
            }))
        case .perplexity:
            return try perplexity(task, split, try pick(prepared.examples(key) {
                let (data, rows) = try rows()
                return try rows.map { row in
                    let text = try data.string(row, "text")
                    return PreparedExamples.Text(line: row.line, text: text, ids: tokenizer.encode(text))
                }
            }))
        case .generate:
            let (data, rows) = try rows()
            return try generate(task, split, data, try pick(rows))
        case .command: return try command(task, split)
        }
    }

    private func command(_ task: FitnessFile.Task, _ split: FitnessFile.Split) throws -> TaskScore {
        guard let modelPath else { throw FitnessError(file: task.name, field: "run", "command tasks need the model as a folder on disk") }
        return try Self.scoreCommand(task, split: split, modelPath: modelPath, cancellation: cancellation)
    }

    /// Scores a `command` task on the model folder at `modelPath`. Needs no built-in model, so a
    /// model of any family Amalgam can merge can be scored this way.
    public static func scoreCommand(_ task: FitnessFile.Task, split: FitnessFile.Split, modelPath: String, cancellation: Cancellation? = nil) throws -> TaskScore {
        let value = try CommandTask(task: task, cancellation: cancellation).run(model: modelPath)
        return TaskScore(task: task.name, split: split, metric: task.metric, value: value, stderr: nil, n: 1,
                         samples: [.object(JSONObject(["score": .number(JSONNumber(value))]))])
    }

    /// lm-eval's `_encode_pair`.
    public func encodePair(context: String, continuation: String) -> (context: [Int], continuation: [Int]) {
        var contextScalars = Array(context.unicodeScalars)
        var spaces = 0
        while spaces < contextScalars.count, contextScalars[contextScalars.count - 1 - spaces].properties.isWhitespace { spaces += 1 }
        let moved = String(String.UnicodeScalarView(contextScalars.suffix(spaces)))
        contextScalars.removeLast(spaces)
        let trimmedContext = String(String.UnicodeScalarView(contextScalars))
        let whole = tokenizer.encode(trimmedContext + moved + continuation)
        let contextIDs = tokenizer.encode(trimmedContext)
        return (contextIDs, Array(whole.dropFirst(min(contextIDs.count, whole.count))))
    }

    /// The request scoring `continuations` after `context`, an empty context replaced by the
    /// prefix token (lm-eval's EOT).
    func request(context: [Int], continuations: [[Int]]) -> ScoringRequest {
        ScoringRequest(context: context.isEmpty ? [prefixToken] : context, continuations: continuations)
    }

    /// Summed log-likelihood of `continuations` after a shared `context`: the context runs once,
    /// then every continuation in the same pass as separate branches of its cache.
    func logLikelihoods(context: [Int], continuations: [[Int]]) throws -> [Double] {
        try logLikelihoods([request(context: context, continuations: continuations)])[0]
    }

    /// Every request's log-likelihoods, consecutive requests sharing a pass
    /// (`DecoderModel.passes`); the cancellation is checked between passes.
    func logLikelihoods(_ requests: [ScoringRequest]) throws -> [[Double]] {
        var out: [[Double]] = []
        out.reserveCapacity(requests.count)
        for pass in DecoderModel.passes(requests) {
            try cancellation?.check()
            out += try model.logLikelihoods(requests[pass])
        }
        return out
    }

    static func meanAndStderr(_ values: [Double]) -> (Double, Double?) {
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        guard values.count > 1 else { return (mean, nil) }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (mean, (variance / n).squareRoot())
    }

    private func choice(_ task: FitnessFile.Task, _ split: FitnessFile.Split, _ examples: [PreparedExamples.Choice]) throws -> TaskScore {
        // A continuation listed twice is scored once (as lm-eval scores identical requests once):
        // its copies then tie exactly and the tie rule picks the first, where scoring each copy in
        // its own branch would differ in the last bits (a branch's place in the pass changes how
        // the attention product sums) and make the pick float noise.
        let distinct = examples.map { example in
            var seen: [[Int]: Int] = [:], unique: [[Int]] = []
            let index = example.pairs.map { pair in
                if let known = seen[pair.continuation] { return known }
                seen[pair.continuation] = unique.count
                unique.append(pair.continuation)
                return unique.count - 1
            }
            return (unique: unique, index: index)
        }
        let requests = zip(examples, distinct).map { example, distinct in
            request(context: example.pairs[0].context, continuations: distinct.unique)
        }
        let scored = try logLikelihoods(requests).enumerated().map { e, lls in distinct[e].index.map { lls[$0] } }
        var correct: [Double] = []
        var samples: [JSONValue] = []
        for (example, lls) in zip(examples, scored) {
            let (choices, answer, pairs) = (example.choices, example.answer, example.pairs)
            let scores = task.metric == "acc_norm" ? zip(lls, choices).map { $0 / Double(max(1, $1.unicodeScalars.count)) } : lls
            let pick = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0
            correct.append(pick == answer ? 1 : 0)
            samples.append(.object(JSONObject([
                "line": .number(JSONNumber(example.line)), "pick": .number(JSONNumber(pick)), "answer": .number(JSONNumber(answer)),
                "correct": .bool(pick == answer),
                "choices": .array(zip(lls, pairs).map { ll, pair in
                    .object(JSONObject(["loglikelihood": .number(JSONNumber(ll)), "tokens": .number(JSONNumber(pair.continuation.count))]))
                }),
            ])))
        }
        let (mean, stderr) = Self.meanAndStderr(correct)
        return TaskScore(task: task.name, split: split, metric: task.metric, value: mean, stderr: stderr, n: examples.count, samples: samples)
    }

    private func perplexity(_ task: FitnessFile.Task, _ split: FitnessFile.Split, _ texts: [PreparedExamples.Text]) throws -> TaskScore {
        var total = 0.0, tokens = 0, words = 0, bytes = 0
        var samples: [JSONValue] = []
        let scored = try logLikelihoods(texts.map { request(context: [prefixToken], continuations: [$0.ids]) })
        for (example, lls) in zip(texts, scored) {
            let (text, ids) = (example.text, example.ids)
            let ll = lls[0]
            // Python's len(re.split(r"\s+", text)), as lm-eval counts words: 1 + whitespace runs.
            var wordCount = 1, inWhitespace = false
            for scalar in text.unicodeScalars {
                let space = scalar.properties.isWhitespace
                if space && !inWhitespace { wordCount += 1 }
                inWhitespace = space
            }
            total += ll
            tokens += ids.count
            words += wordCount
            bytes += text.utf8.count
            samples.append(.object(JSONObject(["line": .number(JSONNumber(example.line)), "loglikelihood": .number(JSONNumber(ll)),
                                               "tokens": .number(JSONNumber(ids.count))])))
        }
        let denominator = switch task.metric {
        case "word_perplexity": Double(words)
        case "byte_perplexity": Double(bytes)
        default: Double(tokens)
        }
        return TaskScore(task: task.name, split: split, metric: task.metric, value: exp(-total / max(1, denominator)),
                         stderr: nil, n: texts.count, samples: samples)
    }

    /// Greedy decoding as transformers' `generate(do_sample=False)`: the arg-max token (the lowest
    /// id among equal maxima), until the EOS token, `maxTokens` new tokens, or the first stop
    /// string in the decoded text (the text is cut before it; the ids keep the token that made it).
    public func greedy(prompt: String, maxTokens: Int, stop: [String] = []) throws -> (ids: [Int], text: String) {
        let vocabulary = model.configuration.vocabularySize
        var ids = tokenizer.encode(prompt)
        if ids.isEmpty { ids = [prefixToken] }
        let session = model.session(capacity: ids.count + maxTokens)
        var logits = try session.forward(ids, lastOnly: true)
        var generated: [Int] = []
        var text = ""
        for _ in 0..<maxTokens {
            let last = logits[(logits.count - vocabulary)...]
            let next = last.indices.max { last[$0] < last[$1] || (last[$0] == last[$1] && $0 > $1) }.map { $0 - last.startIndex } ?? 0
            if next == prefixToken { break }
            generated.append(next)
            text = tokenizer.decode(generated, skipSpecialTokens: true)
            if let range = stop.compactMap({ text.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
                text = String(text[..<range.lowerBound])
                break
            }
            if generated.count < maxTokens { logits = try session.forward([next]) }
        }
        return (generated, text)
    }

    private func generate(_ task: FitnessFile.Task, _ split: FitnessFile.Split, _ data: TaskData, _ rows: [(line: Int, object: JSONObject)]) throws -> TaskScore {
        var matches: [Double] = []
        var samples: [JSONValue] = []
        for row in rows {
            try cancellation?.check()
            let prompt = try data.string(row, "prompt")
            let answer = try data.string(row, "answer")
            let text = try greedy(prompt: prompt, maxTokens: task.maxTokens, stop: task.stop).text
            let match = text.trimmingCharacters(in: .whitespacesAndNewlines) == answer.trimmingCharacters(in: .whitespacesAndNewlines)
            matches.append(match ? 1 : 0)
            samples.append(.object(JSONObject(["line": .number(JSONNumber(row.line)), "output": .string(text), "correct": .bool(match)])))
        }
        let (mean, stderr) = Self.meanAndStderr(matches)
        return TaskScore(task: task.name, split: split, metric: task.metric, value: mean, stderr: stderr, n: rows.count, samples: samples)
    }
}

extension Evaluator {
    /// The end-of-text token the evaluator conditions empty contexts on and stops generation at:
    /// config.json's `eos_token_id` (the first, when a list), else a conventional EOS token the
    /// tokenizer knows.
    public static func endOfTextToken(config: ModelConfig?, tokenizer: Tokenizer) -> Int? {
        if let value = config?.json["eos_token_id"] {
            if let id = value.number?.int { return id }
            if let id = value.array?.first?.number?.int { return id }
        }
        return ["</s>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>"].lazy.compactMap { tokenizer.id(of: $0) }.first
    }
}
