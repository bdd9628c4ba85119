import Foundation

/// A PEFT LoRA adapter folder (`adapter_config.json` + `adapter_model.safetensors`), read as the
/// edits it makes to its base model's tensors (PEFT `tuners/lora/layer.py`, `merge_and_unload`):
///
/// - a low-rank update of a linear or embedding weight, ΔW = s · B·A with s = lora_alpha / r
///   (`use_rslora`: lora_alpha / √r; `rank_pattern` and `alpha_pattern` per module), transposed
///   for embeddings (`lora_embedding_A` is [r, vocab]) and for Conv1D-shaped weights under
///   `fan_in_fan_out`;
/// - a replacement of a whole tensor: `modules_to_save`, and the biases trained with
///   `bias: all` or `lora_only`.
///
/// `lora_dropout` matters only in training and is ignored. DoRA, LoRA on the bias, trainable
/// token deltas, layer replication and every PEFT method but LoRA are refused, naming the field.
public struct LoRAAdapter: Sendable {
    public static let configFileName = "adapter_config.json"
    public static let weightsFileName = "adapter_model.safetensors"
    /// The prefix PEFT's saved keys carry before the base model's own tensor names.
    public static let keyPrefix = "base_model.model."

    public enum Edit: Sendable, Equatable {
        /// ΔW = scale · B·A, or (B·A)ᵀ when `transposed` (B is [out, r], A is [r, in]).
        case lowRank(a: TensorInfo, b: TensorInfo, scale: Float, transposed: Bool)
        /// The base tensor is replaced by this one.
        case replacement(TensorInfo)
    }

    public let path: String
    public let configPath: String
    public let file: SafetensorsFile
    /// `r` and `lora_alpha` of the config (modules may differ through the patterns).
    public let rank: Int
    public let alpha: Double
    public let rsLoRA: Bool
    public let fanInFanOut: Bool
    /// `base_model_name_or_path`: a hub id or a path, as PEFT wrote it.
    public let baseModelNameOrPath: String?
    /// Edits keyed by the base model's tensor name, in adapter-file order.
    public let edits: [String: Edit]
    public let editOrder: [String]

    /// Whether `path` is an adapter folder (holds `adapter_config.json`).
    public static func isAdapter(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + configFileName)
    }

    public init(path: String) throws {
        self.path = path
        let configFile = path + "/" + Self.configFileName
        configPath = configFile
        let config = try ModelConfig(contentsOf: configFile)
        func fail(_ field: String?, _ message: String) -> ModelFolderError {
            ModelFolderError(file: configFile, field: field, message)
        }
        let type = try config.string("peft_type") ?? "LORA"
        guard type == "LORA" else {
            throw fail("peft_type", "is \(type); Amalgam reads LoRA adapters only (peft_type LORA)")
        }
        if try config.bool("use_dora") == true {
            throw fail("use_dora", "is true: DoRA rescales each column by a learned magnitude, which is not a low-rank update Amalgam can merge; fold it with PEFT's merge_and_unload first")
        }
        if try config.bool("lora_bias") == true {
            throw fail("lora_bias", "is true; Amalgam reads adapters without a bias on lora_B")
        }
        // Variants whose update is not W + s·B·A, or that change the model's structure.
        for field in ["layer_replication", "trainable_token_indices", "alora_invocation_tokens", "arrow_config", "kasa_config",
                      "velora_config", "monteclora_config", "use_bdlora"] {
            if let value = config.json[field], value != .null, value != .bool(false), value != .array([]), value != .object(JSONObject()) {
                throw fail(field, "is set; Amalgam reads plain LoRA adapters without \(field)")
            }
        }
        if let value = config.json["target_parameters"], value != .null, value != .array([]) {
            throw fail("target_parameters", "is set; Amalgam reads LoRA on modules (target_modules), not on parameters")
        }
        guard let r = try config.int("r"), r > 0 else { throw fail("r", "is missing or not a positive integer") }
        rank = r
        guard let alphaValue = config.json["lora_alpha"]?.number?.double ?? (config.json["lora_alpha"] == nil ? 8 : nil) else {
            throw fail("lora_alpha", "expected a number")
        }
        alpha = alphaValue
        rsLoRA = try config.bool("use_rslora") ?? false
        fanInFanOut = try config.bool("fan_in_fan_out") ?? false
        baseModelNameOrPath = try config.string("base_model_name_or_path")
        let rankPattern = try Self.pattern(config, "rank_pattern", file: configFile)
        let alphaPattern = try Self.pattern(config, "alpha_pattern", file: configFile)

        let weights = path + "/" + Self.weightsFileName
        guard FileManager.default.fileExists(atPath: weights) else {
            let hint = FileManager.default.fileExists(atPath: path + "/adapter_model.bin") ? " (only adapter_model.bin found; save it with safe_serialization)" : ""
            throw ModelFolderError(file: path, "has no \(Self.weightsFileName)\(hint)")
        }
        file = try SafetensorsFile(path: weights)

        // Pair lora_A with lora_B per module; everything else replaces a base tensor.
        var a: [String: TensorInfo] = [:], b: [String: TensorInfo] = [:]
        var order: [String] = []
        var edits: [String: Edit] = [:]
        let suffixes = [(".lora_A.weight", true), (".lora_B.weight", false), (".lora_embedding_A", true), (".lora_embedding_B", false)]
        for tensor in file.tensors {
            guard tensor.name.hasPrefix(Self.keyPrefix) else {
                throw ModelFolderError(file: weights, field: tensor.name, "does not start with \(Self.keyPrefix), as PEFT saves a LoRA adapter's tensors")
            }
            let name = String(tensor.name.dropFirst(Self.keyPrefix.count))
            guard tensor.dtype.isFloat32Convertible else {
                throw SafetensorsError(file: weights, tensor: tensor.name, .notNumeric(tensor.dtype))
            }
            if name.contains("lora_magnitude_vector") {
                throw ModelFolderError(file: weights, field: tensor.name, "is a DoRA magnitude; Amalgam merges plain LoRA adapters")
            }
            if let (suffix, isA) = suffixes.first(where: { name.hasSuffix($0.0) }) {
                let module = String(name.dropLast(suffix.count))
                // Embedding updates are keyed by the embedding's weight, too.
                let target = module + ".weight"
                if !order.contains(target) { order.append(target) }
                if isA { a[target] = tensor } else { b[target] = tensor }
                continue
            }
            if name.contains("lora_") || name.contains(".modules_to_save.") || name.contains("token_adapter") {
                throw ModelFolderError(file: weights, field: tensor.name, "is a tensor Amalgam does not know how to apply")
            }
            edits[name] = .replacement(tensor)
            order.append(name)
        }
        for target in order where edits[target] == nil {
            let module = String(target.dropLast(".weight".count))
            guard let ta = a[target], let tb = b[target] else {
                let missing = a[target] == nil ? "lora_A" : "lora_B"
                throw ModelFolderError(file: weights, field: Self.keyPrefix + module, "has no \(missing) beside its \(missing == "lora_A" ? "lora_B" : "lora_A")")
            }
            let embedding = (a[target]?.name ?? "").hasSuffix("lora_embedding_A")
            guard ta.shape.count == 2, tb.shape.count == 2 else {
                throw ModelFolderError(file: weights, field: ta.name, "lora_A and lora_B must be matrices (shapes \(ta.shape), \(tb.shape))")
            }
            // Linear: A [r, in], B [out, r]. Embedding: A [r, vocab], B [hidden, r].
            let moduleRank = Self.match(rankPattern, module).map { Int($0) } ?? r
            guard ta.shape[0] == tb.shape[1] else {
                throw ModelFolderError(file: weights, field: Self.keyPrefix + module,
                                       "lora_A has rank \(ta.shape[0]) (shape \(ta.shape)) but lora_B has rank \(tb.shape[1]) (shape \(tb.shape))")
            }
            guard ta.shape[0] == moduleRank else {
                throw ModelFolderError(file: weights, field: ta.name,
                                       "has rank \(ta.shape[0]) but \(Self.configFileName) gives r = \(moduleRank) for \(module)")
            }
            let moduleAlpha = Self.match(alphaPattern, module) ?? alphaValue
            let scale = rsLoRA ? moduleAlpha / Double(moduleRank).squareRoot() : moduleAlpha / Double(moduleRank)
            edits[target] = .lowRank(a: ta, b: tb, scale: Float(scale), transposed: embedding)
        }
        self.edits = edits
        editOrder = order
    }

    /// `rank_pattern` / `alpha_pattern`: module-name patterns to numbers.
    static func pattern(_ config: ModelConfig, _ field: String, file: String) throws(ModelFolderError) -> [(String, Double)] {
        guard let value = config.json[field], value != .null else { return [] }
        guard let object = value.object else { throw ModelFolderError(file: file, field: field, "expected an object") }
        var list: [(String, Double)] = []
        for member in object.members {
            guard let number = member.value.number?.double else {
                throw ModelFolderError(file: file, field: "\(field).\(member.key)", "expected a number")
            }
            list.append((member.key, number))
        }
        return list
    }

    /// The first pattern matching `module` as PEFT matches them (`(.*\.)?KEY$` from the start).
    static func match(_ patterns: [(String, Double)], _ module: String) -> Double? {
        for (key, value) in patterns {
            guard let regex = try? NSRegularExpression(pattern: "^(.*\\.)?(\(key))$") else { continue }
            if regex.firstMatch(in: module, range: NSRange(module.startIndex..., in: module)) != nil { return value }
        }
        return nil
    }

    /// Checks every edit against the base it is applied to: each edited tensor exists there with
    /// a shape the update fits (a Conv1D-shaped [in, out] weight under `fan_in_fan_out` is
    /// updated transposed, as PEFT does; an `nn.Linear` one ignores the flag, as PEFT does).
    /// Returns the edits with their final orientation.
    public func edits(for base: ModelFolder, reference: String) throws(ModelFolderError) -> [String: Edit] {
        var result: [String: Edit] = [:]
        for name in editOrder {
            guard let edit = edits[name] else { continue }
            guard let (_, info) = base.tensor(name) else {
                throw ModelFolderError(file: path, "changes tensor '\(name)', which the base \(reference) has not; is this an adapter of another model?")
            }
            switch edit {
            case .replacement(let tensor):
                guard tensor.shape == info.shape else {
                    throw ModelFolderError(file: path, "replaces tensor '\(name)' with shape \(tensor.shape) but the base \(reference) has \(info.shape); is this an adapter of another model?")
                }
                result[name] = edit
            case .lowRank(let a, let b, let scale, let transposed):
                let direct = [b.shape[0], a.shape[1]], flipped = [a.shape[1], b.shape[0]]
                let orientation: Bool? = transposed
                    ? (info.shape == flipped ? true : nil)
                    : info.shape == direct ? false : (fanInFanOut && info.shape == flipped ? true : nil)
                guard let orientation else {
                    throw ModelFolderError(file: path, "updates tensor '\(name)' with lora_B \(b.shape) · lora_A \(a.shape), which does not fit its shape \(info.shape) in the base \(reference); is this an adapter of another model?")
                }
                result[name] = .lowRank(a: a, b: b, scale: scale, transposed: orientation)
            }
        }
        return result
    }
}
