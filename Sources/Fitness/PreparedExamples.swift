import Synchronization
import Tensors

/// Task files read, parsed and tokenized once and shared read-only: every worker's evaluator in a
/// run scores the same examples with the same tokenizer, so the first to need a task's examples
/// prepares them and the others (and every later candidate) reuse them. Preparing is
/// deterministic, so two workers that happen to prepare the same task at once store equal values.
public final class PreparedExamples: Sendable {
    struct Key: Hashable, Sendable {
        let file: String
        let kind: FitnessFile.Kind
        let limit: Int
    }

    /// A choice example: its row, the choices' texts, the answer and each (context, continuation)
    /// pair tokenized by lm-eval's rule.
    struct Choice: Sendable {
        let line: Int
        let choices: [String]
        let answer: Int
        let pairs: [(context: [Int], continuation: [Int])]
    }

    /// A perplexity example: its row, its text and the text's tokens.
    struct Text: Sendable {
        let line: Int
        let text: String
        let ids: [Int]
    }

    private let table = Mutex<[Key: any Sendable]>([:])

    public init() {}

    /// The examples under `key`, prepared by `make` the first time.
    func examples<T: Sendable>(_ key: Key, _ make: () throws -> T) throws -> T {
        if let cached = table.withLock({ $0[key] }) as? T { return cached }
        let made = try make()
        table.withLock { $0[key] = made }
        return made
    }

    /// How many tasks' examples are held (for tests).
    var count: Int { table.withLock { $0.count } }
}
