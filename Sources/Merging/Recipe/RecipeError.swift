/// Why a recipe cannot be merged, naming the recipe file and the key path at fault:
/// `merge.yml: models[1].parameters.density: 1.5 is outside (0, 1]`.
import Tensors

public struct RecipeError: LocatedError, Equatable {
    public let file: String
    /// The key path inside the recipe (`slices[0].sources[1].layer_range`), or nil for the whole file.
    public let path: String?
    public var field: String? { path }
    public let message: String

    public init(file: String, path: String? = nil, _ message: String) {
        self.file = file
        self.path = path
        self.message = message
    }

}
