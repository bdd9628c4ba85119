import Foundation
import Tensors

/// A task's examples from JSONL, each line one JSON object; errors name the file, line and field.
struct TaskData {
    let file: String
    let rows: [(line: Int, object: JSONObject)]

    init(file: String) throws(FitnessError) {
        self.file = file
        guard let data = FileManager.default.contents(atPath: file) else { throw FitnessError(file: file, "cannot be read") }
        var rows: [(Int, JSONObject)] = []
        for (index, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }
            if trimmed.isEmpty { continue }
            do {
                guard let object = try JSONParser().parse(line).object else { throw FitnessError(file: "\(file):\(index + 1)", "is not a JSON object") }
                rows.append((index + 1, object))
            } catch let error as FitnessError {
                throw error
            } catch {
                throw FitnessError(file: "\(file):\(index + 1)", "is not valid JSON: \(error)")
            }
        }
        guard !rows.isEmpty else { throw FitnessError(file: file, "has no examples") }
        self.rows = rows
    }

    func string(_ row: (line: Int, object: JSONObject), _ key: String) throws(FitnessError) -> String {
        guard let value = row.object[key]?.string else { throw FitnessError(file: "\(file):\(row.line)", field: key, "expected a string") }
        return value
    }

    /// A choice example: `{"context": "...", "choices": ["..", ".."], "answer": 1}`.
    func choice(_ row: (line: Int, object: JSONObject)) throws(FitnessError) -> (context: String, choices: [String], answer: Int) {
        let context = try string(row, "context")
        guard let list = row.object["choices"]?.array, case let choices = list.compactMap(\.string), choices.count >= 2, choices.count == list.count else {
            throw FitnessError(file: "\(file):\(row.line)", field: "choices", "expected a list of at least two strings")
        }
        guard let answer = row.object["answer"]?.number?.int, choices.indices.contains(answer) else {
            throw FitnessError(file: "\(file):\(row.line)", field: "answer", "expected the index of the right choice (0..<\(choices.count))")
        }
        return (context, choices, answer)
    }

    /// Checks that every row has the fields a task of `kind` reads.
    func check(_ kind: FitnessFile.Kind) throws(FitnessError) {
        for row in rows {
            switch kind {
            case .choice: _ = try choice(row)
            case .perplexity: _ = try string(row, "text")
            case .generate:
                _ = try string(row, "prompt")
                _ = try string(row, "answer")
            case .command: break
            }
        }
    }
}
