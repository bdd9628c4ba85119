import Tensors

/// Why a fitness file or a task's data cannot be used: the file (with the line for JSONL), the
/// field, and what is wrong.
public typealias FitnessError = Located<FitnessErrorKind>

/// What `FitnessError` is about (its `Located` kind).
public enum FitnessErrorKind {}
