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
