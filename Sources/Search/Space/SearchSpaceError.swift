import Tensors

/// A search space file that cannot be used: the file, the field (a key path such as
/// `genes.weight` or `objectives[1].maximize`) and what is wrong with it.
public typealias SearchSpaceError = Located<SearchSpaceErrorKind>

/// What `SearchSpaceError` is about (its `Located` kind).
public enum SearchSpaceErrorKind {}
