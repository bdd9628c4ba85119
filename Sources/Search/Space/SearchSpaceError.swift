import Tensors

/// A search space file that cannot be used: the file, the field (a key path such as
/// `genes.weight` or `objectives[1].maximize`) and what is wrong with it.
public struct SearchSpaceError: LocatedError, Equatable {
    public let file: String
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
}
