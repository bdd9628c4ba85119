import Tensors

/// A file named on the command line (not one of the formats a module owns, such as a text file to
/// tokenize or a samples file to write) that cannot be read or written.
struct ArgumentFileError: LocatedError {
    let file: String
    let field: String?
    let message: String

    init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }
}
