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
}
