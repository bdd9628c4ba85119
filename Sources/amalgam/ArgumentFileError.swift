import Tensors

/// A file named on the command line (not one of the formats a module owns, such as a text file to
/// tokenize or a samples file to write) that cannot be read or written.
typealias ArgumentFileError = Located<ArgumentFileErrorKind>

/// What `ArgumentFileError` is about (its `Located` kind).
enum ArgumentFileErrorKind {}
