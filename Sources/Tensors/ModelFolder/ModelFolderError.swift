/// Why a model folder (its config.json, index or shards taken together) cannot be used.
///
/// `file` is the file or folder at fault, `field` the JSON key path inside it when there is one:
/// `zoo/base/config.json: num_hidden_layers: expected an integer, found a string`.
public struct ModelFolderError: LocatedError, Equatable {
    public let file: String
    public let field: String?
    public let message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

}
