/// The merge methods, with mergekit's names, parameters, defaults and input contracts
/// (mergekit 0.1.5, `mergekit/merge_methods/registry.py` and each method's file).
public enum MergeMethod: String, Sendable, CaseIterable, Codable {
    case linear
    case taskArithmetic = "task_arithmetic"
    case ties
    case dareLinear = "dare_linear"
    case dareTies = "dare_ties"
    case della
    case dellaLinear = "della_linear"
    case breadcrumbs
    case breadcrumbsTies = "breadcrumbs_ties"
    case slerp
    case nuslerp
    case modelStock = "model_stock"
    case passthrough

    /// Which inputs a parameter is resolved for (mergekit's `ParameterScope`).
    public enum Scope: Sendable {
        /// Once per tensor (e.g. `normalize`, slerp's `t`).
        case shared
        /// For every input, the base included (linear's `weight`, passthrough's `scale`).
        case input
        /// For every input but the base (`weight`, `density` of the task-arithmetic family).
        case nonBase
    }

    public enum Kind: Sendable { case number, bool }

    public struct Parameter: Sendable {
        public let name: String
        public let scope: Scope
        public let kind: Kind
        /// nil: required (or, for passthrough's `scale`, optional without a value).
        public let defaultValue: ParameterScalar?
        public let required: Bool
    }

    /// How the task-arithmetic family sparsifies each task vector (mergekit `sparsify.py`).
    public enum Sparsification: Sendable {
        /// Keep the top `density` fraction by magnitude over the whole tensor (TIES).
        case magnitude
        /// Keep each entry with probability `density` (DARE).
        case random
        /// Drop the `gamma` largest, then the smallest, keeping `density` (Model Breadcrumbs).
        case magnitudeOutliers
        /// Row-wise rank-scaled keep probabilities in `density ± epsilon` (DELLA).
        case dellaMagprune
    }

    /// Sparsification, sign consensus and defaults of the generalized task-arithmetic methods;
    /// nil for the others.
    public var taskArithmetic: (sparsification: Sparsification?, consensus: Bool, normalize: Bool, rescale: Bool)? {
        switch self {
        case .taskArithmetic: (nil, false, false, false)
        case .ties: (.magnitude, true, true, false)
        case .dareTies: (.random, true, false, true)
        case .dareLinear: (.random, false, false, true)
        case .breadcrumbs: (.magnitudeOutliers, false, false, false)
        case .breadcrumbsTies: (.magnitudeOutliers, true, false, false)
        case .della: (.dellaMagprune, true, true, true)
        case .dellaLinear: (.dellaMagprune, false, false, true)
        default: nil
        }
    }

    public var parameters: [Parameter] {
        func p(_ name: String, _ scope: Scope, _ kind: Kind, _ value: ParameterScalar?, required: Bool = false) -> Parameter {
            Parameter(name: name, scope: scope, kind: kind, defaultValue: value, required: required)
        }
        if let family = taskArithmetic {
            var list = [
                p("int8_mask", .shared, .bool, .bool(false)),
                p("normalize", .shared, .bool, .bool(family.normalize)),
                p("rescale", .shared, .bool, .bool(family.rescale)),
                p("lambda", .shared, .number, .number(1)),
                p("weight", .nonBase, .number, nil, required: true),
                p("density", .nonBase, .number, .number(1)),
            ]
            if family.sparsification == .magnitudeOutliers { list.append(p("gamma", .nonBase, .number, .number(0.01))) }
            if family.sparsification == .dellaMagprune { list.append(p("epsilon", .nonBase, .number, .number(0.15))) }
            return list
        }
        switch self {
        case .linear: return [p("weight", .input, .number, nil, required: true), p("normalize", .shared, .bool, .bool(true))]
        case .slerp: return [p("t", .shared, .number, nil, required: true)]
        case .nuslerp:
            return [p("weight", .nonBase, .number, nil, required: true),
                    p("nuslerp_row_wise", .shared, .bool, .bool(false)),
                    p("nuslerp_flatten", .shared, .bool, .bool(true))]
        case .modelStock: return [p("filter_wise", .shared, .bool, .bool(false))]
        case .passthrough: return [p("scale", .input, .number, nil)]
        default: return []
        }
    }

    /// Whether a base model must be given (the task-arithmetic family, slerp, model_stock),
    /// may be given (nuslerp), or is not used.
    public var basePolicy: BasePolicy {
        if taskArithmetic != nil { return .required }
        switch self {
        case .slerp, .modelStock: return .required
        case .nuslerp: return .optional
        default: return .ignored
        }
    }

    public enum BasePolicy: Sendable { case required, optional, ignored }

    /// Checks the number of inputs per tensor (mergekit's `InputContract`); the message says what
    /// the method needs.
    func checkInputs(count: Int, hasBase: Bool) -> String? {
        let nonBase = count - (hasBase ? 1 : 0)
        switch self {
        case .slerp where count != 2 || !hasBase:
            return "slerp needs exactly two models, the base and one other (got \(count) inputs)"
        case .nuslerp where nonBase != 2:
            return "nuslerp needs exactly two models besides the optional base (got \(nonBase))"
        case .modelStock where count < 3:
            return "model_stock needs the base and at least two other models (got \(count) inputs)"
        case .passthrough where count != 1:
            return "passthrough takes exactly one model per slice (got \(count)); use slices to stack layers"
        default:
            return nil
        }
    }
}
