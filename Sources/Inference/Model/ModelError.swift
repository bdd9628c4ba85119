import Tensors

/// Why a model cannot be loaded or run: the file (config.json, a weight) and what is wrong.
public typealias ModelError = Located<ModelErrorKind>

/// What `ModelError` is about (its `Located` kind).
public enum ModelErrorKind {}
