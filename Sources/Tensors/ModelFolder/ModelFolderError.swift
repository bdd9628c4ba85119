/// Why a model folder (its config.json, index or shards taken together) cannot be used.
///
/// `file` is the file or folder at fault, `field` the JSON key path inside it when there is one:
/// `zoo/base/config.json: num_hidden_layers: expected an integer, found a string`.
public typealias ModelFolderError = Located<ModelFolderErrorKind>

/// What `ModelFolderError` is about (its `Located` kind).
public enum ModelFolderErrorKind {}
