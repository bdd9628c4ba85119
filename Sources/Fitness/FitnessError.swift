import Tensors

/// Why a fitness file or a task's data cannot be used: the file (with the line for JSONL), the
/// field, and what is wrong.
public struct FitnessError: LocatedError, Equatable {
    public let file: String
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
}
