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
    case sce
    case multislerp
    case karcher
    case nearswap
    case arceeFusion = "arcee_fusion"
    case ram
    case ramplusTL = "ramplus_tl"

    /// Which inputs a parameter is resolved for (mergekit's `ParameterScope`).
    public enum Scope: Sendable {
        /// Once per tensor (e.g. `normalize`, slerp's `t`).
        case shared
        /// For every input, the base included (linear's `weight`, passthrough's `scale`).
        case input
        /// For every input but the base (`weight`, `density` of the task-arithmetic family).
        case nonBase
    }

    /// `integer`: a number that must be whole (mergekit's `int` parameters, karcher's `max_iter`).
    public enum Kind: Sendable { case number, integer, bool }

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

    /// How a task-arithmetic method treats its task vectors: sparsification, sign consensus and
    /// the defaults of `normalize` and `rescale` (mergekit `generalized_task_arithmetic.py`).
    public struct TaskArithmetic: Sendable, Equatable {
        public let sparsification: Sparsification?
        public let consensus: Bool
        public let normalize: Bool
        public let rescale: Bool
    }

    /// The kind of merge a method is: what it is planned with and which kernel computes it. Every
    /// switch over methods goes through this exhaustive mapping, so a new method (or family) fails
    /// to compile until each of them says what it does with it.
    public enum Family: Sendable, Equatable {
        case linear
        case taskArithmetic(TaskArithmetic)
        case slerp
        case nuslerp
        case modelStock
        case passthrough
        case sce
        case multislerp
        case karcher
        case nearswap
        case arceeFusion
        /// RAM, or RAM+ (tensor-local) when `plus`.
        case ram(plus: Bool)
    }

    /// Whether the merge reads each source once per tensor, combining as it goes (no statistics
    /// pass first): a LoRA source is then folded chunk by chunk as it is read. Methods that read
    /// their sources several times (thresholds, norms, iterations) fold each adapted source once
    /// per tensor into a Float32 copy of that tensor instead of redoing its GEMMs every pass.
    public var readsSourcesOnce: Bool {
        switch family {
        case .linear, .passthrough, .nearswap: true
        case .taskArithmetic(let traits): traits.sparsification == nil
        case .slerp, .nuslerp, .modelStock, .sce, .multislerp, .karcher, .arceeFusion, .ram: false
        }
    }

    public var family: Family {
        func family(_ sparsification: Sparsification?, consensus: Bool, normalize: Bool, rescale: Bool) -> Family {
            .taskArithmetic(TaskArithmetic(sparsification: sparsification, consensus: consensus, normalize: normalize, rescale: rescale))
        }
        return switch self {
        case .linear: .linear
        case .taskArithmetic: family(nil, consensus: false, normalize: false, rescale: false)
        case .ties: family(.magnitude, consensus: true, normalize: true, rescale: false)
        case .dareTies: family(.random, consensus: true, normalize: false, rescale: true)
        case .dareLinear: family(.random, consensus: false, normalize: false, rescale: true)
        case .breadcrumbs: family(.magnitudeOutliers, consensus: false, normalize: false, rescale: false)
        case .breadcrumbsTies: family(.magnitudeOutliers, consensus: true, normalize: false, rescale: false)
        case .della: family(.dellaMagprune, consensus: true, normalize: true, rescale: true)
        case .dellaLinear: family(.dellaMagprune, consensus: false, normalize: false, rescale: true)
        case .slerp: .slerp
        case .nuslerp: .nuslerp
        case .modelStock: .modelStock
        case .passthrough: .passthrough
        case .sce: .sce
        case .multislerp: .multislerp
        case .karcher: .karcher
        case .nearswap: .nearswap
        case .arceeFusion: .arceeFusion
        case .ram: .ram(plus: false)
        case .ramplusTL: .ram(plus: true)
        }
    }

    /// The task-arithmetic traits of the generalized task-arithmetic methods; nil for the others.
    public var taskArithmetic: TaskArithmetic? {
        if case .taskArithmetic(let traits) = family { return traits }
        return nil
    }

    public var parameters: [Parameter] {
        func p(_ name: String, _ scope: Scope, _ kind: Kind, _ value: ParameterScalar?, required: Bool = false) -> Parameter {
            Parameter(name: name, scope: scope, kind: kind, defaultValue: value, required: required)
        }
        switch family {
        case .taskArithmetic(let traits):
            var list = [
                p("int8_mask", .shared, .bool, .bool(false)),
                p("normalize", .shared, .bool, .bool(traits.normalize)),
                p("rescale", .shared, .bool, .bool(traits.rescale)),
                p("lambda", .shared, .number, .number(1)),
                p("weight", .nonBase, .number, nil, required: true),
                p("density", .nonBase, .number, .number(1)),
            ]
            if traits.sparsification == .magnitudeOutliers { list.append(p("gamma", .nonBase, .number, .number(0.01))) }
            if traits.sparsification == .dellaMagprune { list.append(p("epsilon", .nonBase, .number, .number(0.15))) }
            return list
        case .linear: return [p("weight", .input, .number, nil, required: true), p("normalize", .shared, .bool, .bool(true))]
        case .slerp: return [p("t", .shared, .number, nil, required: true)]
        case .nuslerp:
            return [p("weight", .nonBase, .number, nil, required: true),
                    p("nuslerp_row_wise", .shared, .bool, .bool(false)),
                    p("nuslerp_flatten", .shared, .bool, .bool(true))]
        case .modelStock: return [p("filter_wise", .shared, .bool, .bool(false))]
        case .passthrough: return [p("scale", .input, .number, nil)]
        case .sce: return [p("int8_mask", .shared, .bool, .bool(false)), p("select_topk", .shared, .number, .number(1))]
        case .multislerp:
            return [p("weight", .nonBase, .number, nil, required: true),
                    p("normalize_weights", .shared, .bool, .bool(true)),
                    p("eps", .shared, .number, .number(1e-8))]
        case .karcher: return [p("max_iter", .shared, .integer, .number(10)), p("tol", .shared, .number, .number(1e-5))]
        case .nearswap: return [p("t", .shared, .number, nil, required: true)]
        case .arceeFusion: return []
        case .ram(let plus):
            let epsilon = p("epsilon", .shared, .number, .number(1e-5))
            return plus ? [p("r", .shared, .number, .number(0.1)), p("alpha", .shared, .number, .number(0.2)), epsilon] : [epsilon]
        }
    }

    /// Whether a base model must be given (the task-arithmetic family, slerp, model_stock, sce,
    /// nearswap, arcee_fusion, ram), may be given (nuslerp, multislerp), or is not used (linear,
    /// passthrough, karcher: a base given anyway is one more input to them).
    public var basePolicy: BasePolicy {
        switch family {
        case .taskArithmetic, .slerp, .modelStock, .sce, .nearswap, .arceeFusion, .ram: .required
        case .nuslerp, .multislerp: .optional
        case .linear, .passthrough, .karcher: .ignored
        }
    }

    public enum BasePolicy: Sendable { case required, optional, ignored }

    /// Checks the number of inputs per tensor (mergekit's `InputContract`); the message says what
    /// the method needs.
    func checkInputs(count: Int, hasBase: Bool) -> String? {
        let nonBase = count - (hasBase ? 1 : 0)
        switch family {
        case .slerp:
            return count != 2 || !hasBase ? "slerp needs exactly two models, the base and one other (got \(count) inputs)" : nil
        case .nuslerp:
            return nonBase != 2 ? "nuslerp needs exactly two models besides the optional base (got \(nonBase))" : nil
        case .modelStock:
            return count < 3 ? "model_stock needs the base and at least two other models (got \(count) inputs)" : nil
        case .passthrough:
            return count != 1 ? "passthrough takes exactly one model per slice (got \(count)); use slices to stack layers" : nil
        case .nearswap, .arceeFusion:
            return count != 2 || !hasBase ? "\(rawValue) needs exactly two models, the base and one other (got \(count) inputs)" : nil
        case .multislerp:
            return nonBase < 1 ? "multislerp needs at least one model besides the optional base (got \(nonBase))" : nil
        case .linear, .taskArithmetic, .sce, .karcher, .ram:
            return nil
        }
    }
}
