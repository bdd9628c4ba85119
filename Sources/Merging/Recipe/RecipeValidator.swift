/// Checks what can be checked without the models: parameter names against the method, their
/// types, and the ranges of every number a setting lists (interpolation never leaves that hull).
struct RecipeValidator {
    let file: String

    func validate(_ recipe: Recipe) throws(RecipeError) {
        let method = recipe.mergeMethod
        // An empty list would leave the plan without a model to take the architecture from.
        if recipe.models?.isEmpty == true { throw RecipeError(file: file, path: "models", "is an empty list; name at least one model") }
        if recipe.slices?.isEmpty == true { throw RecipeError(file: file, path: "slices", "is an empty list; give at least one slice") }
        try check(recipe.parameters, "parameters", method)
        for (i, model) in (recipe.models ?? []).enumerated() {
            try check(model.parameters, "models[\(i)].parameters", method)
        }
        for (i, slice) in (recipe.slices ?? []).enumerated() {
            try check(slice.parameters, "slices[\(i)].parameters", method)
            for (j, source) in slice.sources.enumerated() {
                try check(source.parameters, "slices[\(i)].sources[\(j)].parameters", method)
            }
        }
        let everySliceHasBase = recipe.slices.map { $0.allSatisfy { $0.baseModel != nil } } ?? false
        if method.basePolicy == .required, recipe.baseModel == nil, !everySliceHasBase {
            throw RecipeError(file: file, path: "base_model", "\(method.rawValue) needs a base_model")
        }
    }

    private func check(_ settings: ParameterSettings, _ path: String, _ method: MergeMethod) throws(RecipeError) {
        let known = method.parameters
        for (name, setting) in settings.entries {
            let keyPath = "\(path).\(name)"
            guard let parameter = known.first(where: { $0.name == name }) else {
                let names = known.map(\.name).joined(separator: ", ")
                throw RecipeError(file: file, path: keyPath, "\(method.rawValue) has no parameter '\(name)' (it takes \(names.isEmpty ? "none" : names))")
            }
            for scalar in setting.listedScalars {
                try checkScalar(scalar, parameter, method, keyPath)
            }
        }
    }

    private func checkScalar(_ scalar: ParameterScalar, _ parameter: MergeMethod.Parameter, _ method: MergeMethod, _ path: String) throws(RecipeError) {
        switch parameter.kind {
        case .bool:
            guard case .bool = scalar else { throw RecipeError(file: file, path: path, "expected true or false, found \(describeScalar(scalar))") }
        case .number, .integer:
            guard let value = number(scalar) else { throw RecipeError(file: file, path: path, "expected a number, found \(describeScalar(scalar))") }
            guard value.isFinite else { throw RecipeError(file: file, path: path, "\(value) is not a finite number") }
            if parameter.kind == .integer, value != value.rounded() {
                throw RecipeError(file: file, path: path, "expected a whole number, found \(format(value))")
            }
            let nonNegative = (0...Double.greatestFiniteMagnitude, "[0, ∞)")
            let range: (ClosedRange<Double>, String)? = switch parameter.name {
            case "density": (Double.leastNonzeroMagnitude...1, "(0, 1]")
            case "gamma", "select_topk": (0...1, "[0, 1]")
            case "epsilon": (0...1, "[0, 1)")
            // nearswap's t is a distance threshold, slerp's an interpolation factor.
            case "t": method == .nearswap ? nonNegative : (0...1, "[0, 1]")
            case "eps", "tol", "max_iter", "alpha": nonNegative
            default: nil
            }
            if let (bounds, text) = range, !bounds.contains(value) || (parameter.name == "epsilon" && value == 1) {
                throw RecipeError(file: file, path: path, "\(format(value)) is outside \(text)")
            }
        }
    }

    func describeScalar(_ scalar: ParameterScalar) -> String {
        switch scalar {
        case .number(let n): format(n)
        case .bool(let b): String(b)
        case .string(let s): "\"\(s)\""
        }
    }
}

/// A parameter scalar read as a number: numbers, and strings that spell one (YAML 1.1 reads `1e-3`
/// as a string; mergekit's validation turns it into a float, so does Amalgam).
func number(_ scalar: ParameterScalar) -> Double? {
    switch scalar {
    case .number(let n): n
    case .string(let s): Double(s)
    case .bool: nil
    }
}

/// `0.5`, `1`, `1e-06` → the shortest text that reads back as the same double, integers without `.0`.
func format(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return String(value)
}
