import Foundation
import Tensors

/// What a recipe means for a set of source models: every output tensor, the source tensors it is
/// computed from, and each parameter resolved for that tensor. Built before any arithmetic, so
/// every input problem (a missing model or tensor, mismatched shapes, a layer range past the
/// model, a parameter out of range for one tensor) is found before an output byte is written.
///
/// Planning follows mergekit's `MergePlanner` (mergekit 0.1.5 `plan.py`, `config.py`,
/// `parameter_resolver.py`): the `models:` form becomes one slice over every layer, the base
/// appended when not listed; pre-layer weights take the first slice's sources, post-layer weights
/// the last slice's, both at t = 0; layer `i` of an `n`-layer slice has `t = i / (n − 1)` (1 for a
/// one-layer slice). A parameter is looked up, first value wins, in the slice source's parameters
/// (for per-model parameters), the slice's, then the recipe's; filters match the output tensor's
/// name for shared parameters and the input tensor's name for per-model ones.
public struct MergePlan: Sendable {
    /// A source model as opened for the plan: a model folder, or a LoRA adapter on its base.
    public struct Model: Sendable {
        /// The path as the recipe writes it (`BASE+ADAPTER` for an adapter named with its base).
        public let reference: String
        /// Where it was opened (the reference resolved against the plan's base directory).
        public let path: String
        public let source: SourceModel
    }

    /// One input of an output tensor.
    public struct Input: Sendable {
        public let model: Int
        public let tensor: String
        public let info: TensorInfo
        public let isBase: Bool
        /// Per-input parameters (weight, density, …) resolved for this tensor.
        public let parameters: [String: ParameterScalar]
    }

    public struct OutputTensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let inputs: [Input]
        /// Shared parameters (normalize, t, lambda, …) resolved for this tensor.
        public let parameters: [String: ParameterScalar]
        public let outDType: DType
        /// The compute dtype inputs are rounded to first, when narrower than they are stored.
        public let computeDType: DType?
        /// One input that passes through unchanged (an optional weight only one model has).
        public let passthrough: Bool

        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let recipe: Recipe
    public let file: String
    public let models: [Model]
    /// Which tensors are merged: the caller's (a model family's), else inferred from the names.
    public let layout: TensorLayout
    public let tensors: [OutputTensor]
    /// Layers of the output model.
    public let layerCount: Int
    /// The layer of the config model (else of its slice's first source) each output layer is
    /// merged from: what per-layer config lists such as `layer_types` follow.
    public let sourceLayers: [Int]
    /// The model whose config.json the output starts from: the base, else the first model named.
    public let configModel: Int

    /// Opens every model the recipe names and plans the merge. Relative paths are taken as
    /// mergekit takes them, from the current directory, unless `baseDirectory` is given. Sources
    /// in `opened` (by resolved reference) are used as they are, so a search opens them once.
    /// `layouts` gives the model family's layout for the first model's config.json when the
    /// caller knows the family (Merging never runs a model, so it takes the value from Inference
    /// through its caller: `ModelFamilies.layout`); when it gives nil the layout is read off the
    /// first model's tensor names. Either way every model must hold the same tensors but the
    /// layout's optional ones.
    public init(recipe: Recipe, file: String, baseDirectory: String? = nil, opened: [String: SourceModel] = [:],
                layouts: (ModelConfig) -> TensorLayout? = { _ in nil }) throws {
        self.recipe = recipe
        self.file = file
        var models: [Model] = []
        let resolve = { (reference: String) in reference.hasPrefix("/") ? reference : baseDirectory.map { $0 + "/" + reference } ?? reference }
        for (reference, field) in Self.modelFields(recipe) {
            // A bare adapter is applied to the base model it is merged with.
            let base = recipe.baseModel.flatMap { $0 == reference ? nil : $0 }
            do {
                let source = try SourceModel.open(reference, resolve: resolve, defaultBase: base, opened: opened)
                models.append(Model(reference: reference, path: resolve(reference), source: source))
            } catch let error as ModelFolderError where error.message.hasPrefix("does not exist") {
                // The reference's own path (or one side of BASE+ADAPTER): the recipe's field is at fault.
                let parts = [reference] + reference.split(separator: "+").map(String.init)
                guard parts.map(resolve).contains(error.file) else { throw error }
                let what = error.message.contains("adapter") ? "adapter folder" : "model folder"
                throw RecipeError(file: file, path: field, "\(what) \(error.file) does not exist")
            }
        }
        self.models = models
        let index = Dictionary(uniqueKeysWithValues: models.enumerated().map { ($0.element.reference, $0.offset) })
        configModel = 0

        // Recipes parsed from YAML never get here without a model (RecipeValidator); built ones may.
        guard let first = models.first else {
            throw RecipeError(file: file, path: recipe.slices != nil ? "slices" : "models", "names no model to merge")
        }
        guard let config = first.source.config else {
            throw ModelFolderError(file: first.reference, "has no config.json; the architecture cannot be known")
        }
        guard let modelType = try config.modelType else {
            throw ModelFolderError(file: config.path, field: "model_type", "is missing")
        }
        let layout = try layouts(config) ?? TensorLayout.inferred(from: first.source.tensorNames, modelType: modelType, file: first.reference)
        self.layout = layout
        var layers: [Int] = []
        for model in models {
            guard let modelConfig = model.source.config else {
                throw ModelFolderError(file: model.reference, "has no config.json")
            }
            let type = try modelConfig.modelType
            guard type == modelType else {
                throw ModelFolderError(
                    file: modelConfig.path, field: "model_type",
                    "is \"\(type ?? "missing")\" but \(first.reference) is \"\(modelType)\"; merged models must share an architecture")
            }
            guard let count = try modelConfig.layerCount, count > 0 else {
                throw ModelFolderError(file: modelConfig.path, field: "num_hidden_layers", "is missing")
            }
            layers.append(count)
        }
        var planner = Planner(recipe: recipe, file: file, models: models, index: index, layers: layers, layout: layout, configModel: configModel)
        tensors = try planner.plan()
        // After planning, whose errors are the more specific (a shape, a tensor the layout needs).
        try Self.checkSameTensors(models, layout: layout)
        layerCount = planner.outputLayers
        sourceLayers = planner.sourceLayers
    }

    /// Every model holds the first model's tensors, but the layout's optional ones and buffers.
    static func checkSameTensors(_ models: [Model], layout: TensorLayout) throws(ModelFolderError) {
        let optional = Set((layout.preWeights + layout.postWeights).filter(\.optional).map(\.name))
        func names(_ model: Model) -> Set<String> {
            Set(model.source.tensorNames.filter { !optional.contains($0) && !TensorLayout.isBuffer($0) })
        }
        guard let first = models.first else { return }
        let reference = names(first)
        for model in models.dropFirst() where model.path != first.path {
            let own = names(model)
            if let extra = model.source.tensorNames.first(where: { own.contains($0) && !reference.contains($0) }) {
                throw ModelFolderError(file: model.reference, "has tensor '\(extra)', which \(first.reference) has not; merged models must hold the same tensors")
            }
            if let missing = first.source.tensorNames.first(where: { reference.contains($0) && !own.contains($0) }) {
                throw ModelFolderError(file: model.reference, "has no tensor '\(missing)', which \(first.reference) has; merged models must hold the same tensors")
            }
        }
    }

    /// Each model path with the recipe field that first names it.
    static func modelFields(_ recipe: Recipe) -> [(String, String)] {
        var fields: [(String, String)] = []
        func add(_ model: String?, _ field: String) {
            if let model, !fields.contains(where: { $0.0 == model }) { fields.append((model, field)) }
        }
        add(recipe.baseModel, "base_model")
        for (i, model) in (recipe.models ?? []).enumerated() { add(model.model, "models[\(i)].model") }
        for (i, slice) in (recipe.slices ?? []).enumerated() {
            add(slice.baseModel, "slices[\(i)].base_model")
            for (j, source) in slice.sources.enumerated() { add(source.model, "slices[\(i)].sources[\(j)].model") }
        }
        if case .model(let path) = recipe.tokenizerSource { add(path, "tokenizer_source") }
        return fields
    }

    /// Bytes of every source tensor the plan reads, as stored.
    public var sourceBytes: Int {
        tensors.reduce(0) { $0 + $1.inputs.reduce(0) { $0 + $1.info.byteCount } }
    }

    public func model(_ input: Input) -> Model { models[input.model] }
}

/// The mutable walk of `MergePlan.init`.
private struct Planner {
    let recipe: Recipe
    let file: String
    let models: [MergePlan.Model]
    let index: [String: Int]
    let layers: [Int]
    let layout: TensorLayout
    let configModel: Int
    var outputLayers = 0
    var sourceLayers: [Int] = []

    struct Slice {
        let sources: [Recipe.InputSlice]
        let base: String?
        let parameters: ParameterSettings
        let path: String
    }

    func fail(_ path: String?, _ message: String) -> RecipeError {
        RecipeError(file: file, path: path, message)
    }

    /// The recipe as slices (mergekit's `normalize_config`).
    func slices() throws(RecipeError) -> [Slice] {
        if let inputs = recipe.models {
            var sources = inputs.map { input in
                Recipe.InputSlice(model: input.model, layerRange: 0..<(layers[index[input.model] ?? 0]), parameters: input.parameters)
            }
            if let base = recipe.baseModel, !inputs.contains(where: { $0.model == base }) {
                sources.append(Recipe.InputSlice(model: base, layerRange: 0..<(layers[index[base] ?? 0])))
            }
            let counts = Set(sources.map(\.layerRange.count))
            guard counts.count == 1 else {
                let detail = sources.map { "\($0.model): \($0.layerRange.count)" }.joined(separator: ", ")
                throw fail("models", "the models have different numbers of layers (\(detail)); use slices")
            }
            return [Slice(sources: sources, base: recipe.baseModel, parameters: ParameterSettings(), path: "models")]
        }
        return (recipe.slices ?? []).enumerated().map { i, slice in
            Slice(sources: slice.sources, base: slice.baseModel ?? recipe.baseModel, parameters: slice.parameters, path: "slices[\(i)]")
        }
    }

    mutating func plan() throws -> [MergePlan.OutputTensor] {
        let slices = try slices()
        for slice in slices {
            guard !slice.sources.isEmpty else { throw fail("\(slice.path).sources", "is an empty list") }
            for (j, source) in slice.sources.enumerated() {
                let available = layers[index[source.model] ?? 0]
                guard source.layerRange.upperBound <= available else {
                    throw fail("\(slice.path).sources[\(j)].layer_range",
                               "[\(source.layerRange.lowerBound), \(source.layerRange.upperBound)] runs past \(source.model), which has \(available) layers")
                }
            }
            guard Set(slice.sources.map(\.layerRange.count)).count == 1 else {
                throw fail("\(slice.path).sources", "every source of a slice must cover the same number of layers")
            }
        }
        var tensors: [MergePlan.OutputTensor] = []
        guard let first = slices.first, let last = slices.last else { throw fail("slices", "is an empty list") }
        for weight in layout.preWeights {
            let inputs = first.sources.map { ($0.model, weight.name) }
            if let tensor = try planTensor(weight.name, optional: weight.optional, inputs: inputs, slice: first, t: 0) {
                tensors.append(tensor)
            }
        }
        for slice in slices {
            let count = slice.sources[0].layerRange.count
            let configSource = slice.sources.first { index[$0.model] == configModel } ?? slice.sources[0]
            for offset in 0..<count {
                sourceLayers.append(configSource.layerRange.lowerBound + offset)
                let t = count > 1 ? Double(offset) / Double(count - 1) : 1
                for suffix in layout.layerWeights {
                    let inputs = slice.sources.map { ($0.model, layout.layerTensor($0.layerRange.lowerBound + offset, suffix)) }
                    if let tensor = try planTensor(layout.layerTensor(outputLayers, suffix), optional: false, inputs: inputs, slice: slice, t: t) {
                        tensors.append(tensor)
                    }
                }
                outputLayers += 1
            }
        }
        for weight in layout.postWeights {
            // mergekit pairs the first slice's source count with the last slice's models.
            let inputs = last.sources.prefix(first.sources.count).map { ($0.model, weight.name) }
            if let tensor = try planTensor(weight.name, optional: weight.optional, inputs: Array(inputs), slice: last, t: 0) {
                tensors.append(tensor)
            }
        }
        return tensors
    }

    func planTensor(_ name: String, optional: Bool, inputs requested: [(String, String)], slice: Slice, t: Double) throws -> MergePlan.OutputTensor? {
        let method = recipe.mergeMethod
        var present: [(model: Int, tensor: String, info: TensorInfo)] = []
        for (reference, tensorName) in requested {
            let modelIndex = index[reference] ?? 0
            if let tensor = models[modelIndex].source.tensor(tensorName) {
                present.append((modelIndex, tensorName, tensor.info))
            } else if !optional {
                throw ModelFolderError(file: reference, "has no tensor '\(tensorName)', which the \(layout.modelType) layout needs")
            }
        }
        if present.isEmpty { return nil }
        let baseIndex = slice.base.flatMap { index[$0] }
        var passthrough = false
        if optional && present.count < requested.count {
            let onlyBase = present.count == 1 && present[0].model == baseIndex
            switch method {
            case .slerp where present.count == 1, .nuslerp where present.count == 1: passthrough = true
            // mergekit's PASSTHROUGH_SINGLETON (arcee_fusion) and PASSTHROUGH_BASE_SINGLETON (nearswap).
            case .arceeFusion where present.count == 1, .nearswap where onlyBase: passthrough = true
            case .modelStock where present.count < 3:
                if onlyBase { passthrough = true } else { return nil }
            default: break
            }
        }
        let hasBase = present.contains { $0.model == baseIndex }
        if !passthrough {
            if let problem = method.checkInputs(count: present.count, hasBase: hasBase) {
                throw fail(slice.path, "tensor '\(name)': \(problem)")
            }
            if method.basePolicy == .required && !hasBase {
                throw fail(slice.path, "tensor '\(name)': \(method.rawValue) needs the base model among the inputs")
            }
        }
        let reference = present.first { $0.model == baseIndex } ?? present[0]
        guard reference.info.elementCount < Int(UInt32.max) else {
            // Rank windows pack (magnitude, element index) into 64 bits.
            throw ModelFolderError(file: models[reference.model].reference,
                                   "tensor '\(reference.tensor)' has \(reference.info.elementCount) elements; Amalgam merges tensors of fewer than 2³² elements")
        }
        for input in present {
            guard input.info.dtype.isFloat32Convertible else {
                throw SafetensorsError(file: models[input.model].reference, tensor: input.tensor, .notNumeric(input.info.dtype))
            }
            guard input.info.shape == reference.info.shape else {
                throw ModelFolderError(
                    file: models[input.model].reference,
                    "tensor '\(input.tensor)' has shape \(input.info.shape) but '\(reference.tensor)' of \(models[reference.model].reference) has \(reference.info.shape)")
            }
        }

        // Parameters, mergekit's precedence: source → slice → recipe.
        let shared = try resolve(method.parameters.filter { $0.scope == .shared }, scopes: [slice.parameters, recipe.parameters],
                                 tensorName: name, t: t, location: name)
        var resolvedInputs: [MergePlan.Input] = []
        for input in present {
            let isBase = input.model == baseIndex
            let wanted = method.parameters.filter { $0.scope == .input || ($0.scope == .nonBase && !isBase) }
            let sourceScopes = slice.sources.filter { index[$0.model] == input.model }.map(\.parameters)
            let parameters = try resolve(wanted, scopes: sourceScopes + [slice.parameters, recipe.parameters],
                                         tensorName: input.tensor, t: t, location: "\(models[input.model].reference).\(input.tensor)")
            if method.taskArithmetic?.sparsification == .dellaMagprune, !isBase,
               case .number(let density)? = parameters["density"], case .number(let epsilon)? = parameters["epsilon"],
               density < 1, density - epsilon <= 0 || density + epsilon >= 1 {
                throw fail(slice.path, "tensor '\(input.tensor)' of \(models[input.model].reference): della needs density ± epsilon inside (0, 1), got density \(format(density)) and epsilon \(format(epsilon))")
            }
            resolvedInputs.append(MergePlan.Input(model: input.model, tensor: input.tensor, info: input.info, isBase: isBase, parameters: parameters))
        }
        if passthrough { resolvedInputs = [resolvedInputs[0]] }

        let stored = present.map(\.info.dtype)
        let outDType = recipe.outDType ?? recipe.dtype ?? promoted(stored)
        // mergekit casts every input to `dtype`; only a cast to a 16-bit type changes values.
        let compute = recipe.dtype.flatMap { dtype in dtype != .f32 && stored.contains { $0 != dtype } ? dtype : nil }
        return MergePlan.OutputTensor(
            name: name, shape: reference.info.shape, inputs: resolvedInputs, parameters: shared,
            outDType: outDType, computeDType: compute, passthrough: passthrough)
    }

    /// torch's type promotion among stored float types: equal types stay, F16 with BF16 gives F32.
    func promoted(_ dtypes: [DType]) -> DType {
        guard let first = dtypes.first else { return .f32 }
        return dtypes.allSatisfy { $0 == first } ? first : .f32
    }

    func resolve(_ parameters: [MergeMethod.Parameter], scopes: [ParameterSettings], tensorName: String, t: Double, location: String) throws(RecipeError) -> [String: ParameterScalar] {
        var values: [String: ParameterScalar] = [:]
        for parameter in parameters {
            var found: ParameterScalar?
            for scope in scopes {
                if let setting = scope[parameter.name], let value = setting.evaluate(tensorName: tensorName, t: t) {
                    found = value
                    break
                }
            }
            if let value = found ?? parameter.defaultValue {
                switch parameter.kind {
                case .number:
                    guard let n = number(value) else { throw fail(parameter.name, "\(location): expected a number") }
                    values[parameter.name] = .number(n)
                case .integer:
                    guard let n = number(value), n == n.rounded() else { throw fail(parameter.name, "\(location): expected a whole number") }
                    values[parameter.name] = .number(n)
                case .bool:
                    values[parameter.name] = value
                }
            } else if parameter.required {
                throw fail(nil, "missing required parameter \(parameter.name) for \(location)")
            }
        }
        return values
    }
}
