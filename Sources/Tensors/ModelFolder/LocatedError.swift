/// An input error that names where it is: the file, the field inside it when there is one, and
/// what is wrong — printed as one line, `file: field: message`. Each module keeps its own error
/// type (ModelFolderError, RecipeError, TokenizerError, ModelError); they share this form.
public protocol LocatedError: Error, Sendable, CustomStringConvertible {
    var file: String { get }
    var field: String? { get }
    var message: String { get }
}

extension LocatedError {
    public var description: String {
        [file, field, message].compactMap { $0 }.joined(separator: ": ")
    }
}

/// A `LocatedError` of one module: the file, the field and the message, with `Kind` (a caseless
/// enum) telling the modules' errors apart, so `FitnessError` and `ModelError` stay distinct types
/// — caught, thrown and tested each as its own — without each writing these fields again.
public struct Located<Kind>: LocatedError, Equatable {
    public let file: String
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
}
