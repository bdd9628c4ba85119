import Tensors

/// Why a model cannot be loaded or run: the file (config.json, a weight) and what is wrong.
public struct ModelError: LocatedError, Equatable {
    public let file: String
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

}
