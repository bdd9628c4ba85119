import FuzzSupport
import Merging

/// A mergekit recipe as YAML text: parsed and validated; a recipe that reads is written back as
/// YAML (`Recipe.yaml`), which must read again to the same recipe, as the emitter promises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecipe(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let text = fuzzText(start, count) else { return 0 }
    let recipe: Recipe
    do {
        recipe = try Recipe(yaml: text, file: "recipe.yml")
    } catch {
        _ = error.description
        return 0
    }
    let emitted = recipe.yaml
    do {
        guard try Recipe(yaml: emitted, file: "emitted.yml") == recipe else {
            fatalError("the emitted recipe reads back as another recipe:\n\(emitted)")
        }
    } catch {
        fatalError("the emitted recipe does not read back (\(error)):\n\(emitted)")
    }
    return 0
}
