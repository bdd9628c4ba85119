import Foundation
import Tensors

/// Writes a merge of LoRA adapters as one PEFT LoRA adapter of their base, when the merge is
/// linear in the adapters' updates: `linear` (normalized, or with weights summing to 1 per tensor)
/// and `task_arithmetic`, over adapters of one base folder, keeping every layer in place.
///
/// Each tensor's merged update is Σᵢ cᵢ·sᵢ·Bᵢ·Aᵢ with cᵢ the method's coefficient for adapter i
/// on that tensor (task_arithmetic: λ·wᵢ, divided by Σw with `normalize`; linear: wᵢ / Σw). That
/// is exactly B′·A′ with B′ = [c₁s₁B₁ | c₂s₂B₂ | …] and A′ = [A₁; A₂; …]: the ranks concatenate,
/// no SVD truncates anything. Every module gets the same rank R (the largest sum over modules;
/// shorter ones padded with zeros, which add nothing) and lora_alpha = R, so PEFT's scale is 1.
/// Tensors an adapter replaces (modules_to_save, biases) are written whole as the merge computes
/// them, under `modules_to_save` by their module names.
public struct AdapterWriter {
    public let plan: MergePlan
    public let threads: Int

    /// Why the plan cannot be written as an adapter, or nil when it can.
    public static func refusal(_ plan: MergePlan) -> String? {
        let method = plan.recipe.mergeMethod
        switch method.family {
        case .linear: break
        case .taskArithmetic(let traits) where traits.sparsification == nil && !traits.consensus: break
        default:
            return "\(method.rawValue) is not linear in the adapters' updates (it trims, elects signs or interpolates per element), so its merge is not a low-rank update; export the full model instead"
        }
        guard baseFolder(plan) != nil else {
            return "an adapter export needs every source to be a LoRA adapter of one base model (or that base itself)"
        }
        guard plan.sourceLayers == Array(0..<plan.layerCount),
              let layers = try? plan.models[0].source.config?.layerCount, layers == plan.layerCount else {
            return "the merge drops or reorders layers, which an adapter of the base cannot express; export the full model instead"
        }
        if method.family == .linear {
            for tensor in plan.tensors where !tensor.flag("normalize") {
                let total = tensor.inputs.reduce(0.0) { $0 + ($1.number("weight") ?? 0) }
                if abs(total - 1) > 1e-12 {
                    return "linear without normalize scales the base by the sum of weights (\(total) on \(tensor.name)), which an adapter cannot express"
                }
            }
        }
        return nil
    }

    /// The base every source applies to, when all are adapters of one folder or that folder.
    static func baseFolder(_ plan: MergePlan) -> String? {
        let folders = Set(plan.models.map { $0.source.folder.path })
        guard folders.count == 1, plan.models.contains(where: { $0.source.adapter != nil }) else { return nil }
        return folders.first
    }

    public init(plan: MergePlan, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        if let refusal = Self.refusal(plan) { throw RecipeError(file: plan.file, path: nil, refusal) }
        self.plan = plan
        self.threads = max(1, threads)
    }

    /// One module's update: (coefficient × scale, A, B) per contributing adapter.
    struct Term {
        let factor: Float
        let update: SourceModel.LowRank
    }

    /// The coefficient of each input of `tensor` in the merged update.
    func coefficients(_ tensor: MergePlan.OutputTensor) -> [Double] {
        let weights = tensor.inputs.map { $0.number("weight") ?? 0 }
        switch plan.recipe.mergeMethod.family {
        case .linear:
            let total = weights.reduce(0, +)
            return weights.map { tensor.flag("normalize") ? $0 / total : $0 }
        default:
            let lambda = tensor.number("lambda") ?? 1
            var total = zip(tensor.inputs, weights).filter { !$0.0.isBase }.reduce(0) { $0 + $1.1 }
            if abs(total) < 1e-8 { total = 1 }
            return zip(tensor.inputs, weights).map { input, weight in
                input.isBase ? 0 : lambda * (tensor.flag("normalize") ? weight / total : weight)
            }
        }
    }

    /// Writes the adapter folder (adapter_config.json, adapter_model.safetensors) atomically.
    public func write(to destination: String, replacing: Bool = false) throws {
        guard let basePath = Self.baseFolder(plan) else { throw RecipeError(file: plan.file, path: nil, "no adapter sources") }
        var lowRank: [(module: String, embedding: Bool, terms: [Term], shape: [Int])] = []
        var replaced: [MergePlan.OutputTensor] = []
        for tensor in plan.tensors {
            var terms: [Term] = []
            var replacement = false
            for (input, c) in zip(tensor.inputs, coefficients(tensor)) {
                let source = plan.models[input.model].source
                switch source.edit(input.tensor) {
                case .replacement?: replacement = true
                case .lowRank?:
                    if let update = source.tensor(input.tensor)?.lowRank, c != 0 {
                        terms.append(Term(factor: Float(c) * update.scale, update: update))
                    }
                case nil: break
                }
            }
            if replacement {
                replaced.append(tensor)
            } else if !terms.isEmpty {
                let module = String(tensor.name.dropLast(".weight".count))
                lowRank.append((module, terms[0].update.transposed && terms[0].update.aInfo.name.hasSuffix("lora_embedding_A"), terms, tensor.shape))
            }
        }
        let rank = max(1, lowRank.map { $0.terms.reduce(0) { $0 + $1.update.rank } }.max() ?? 1)
        let prefix = LoRAAdapter.keyPrefix
        var specs: [TensorSpec] = []
        var fill: [String: (UnsafeMutableBufferPointer<Float>) throws -> Void] = [:]
        for entry in lowRank {
            // B′ [outer, R] and A′ [R, inner] of ΔW = B′·A′ (embeddings: ΔW = (B′·A′)ᵀ).
            let update = entry.terms[0].update
            let outer = update.bInfo.shape[0], inner = update.aInfo.shape[1]
            let (aName, bName) = entry.embedding
                ? (prefix + entry.module + ".lora_embedding_A", prefix + entry.module + ".lora_embedding_B")
                : (prefix + entry.module + ".lora_A.weight", prefix + entry.module + ".lora_B.weight")
            specs.append(TensorSpec(name: aName, dtype: .f32, shape: [rank, inner]))
            specs.append(TensorSpec(name: bName, dtype: .f32, shape: [outer, rank]))
            let terms = entry.terms
            fill[aName] = { out in
                out.update(repeating: 0)
                var row = 0
                for term in terms {
                    let a = term.update.floats.a
                    for (i, value) in a.enumerated() { out[row * inner + i] = value }
                    row += term.update.rank
                }
            }
            fill[bName] = { out in
                out.update(repeating: 0)
                var column = 0
                for term in terms {
                    let b = term.update.floats.b, r = term.update.rank
                    for o in 0..<outer {
                        for k in 0..<r { out[o * rank + column + k] = term.factor * b[o * r + k] }
                    }
                    column += r
                }
            }
        }
        let materializer = Materializer(plan: plan, threads: threads)
        for tensor in replaced {
            let name = prefix + tensor.name
            specs.append(TensorSpec(name: name, dtype: .f32, shape: tensor.shape))
            fill[name] = { out in try materializer.merge(tensor, into: out) }
        }
        guard !specs.isEmpty else { throw RecipeError(file: plan.file, path: nil, "the merge changes no tensor of the base, so there is no adapter to write") }

        if FileManager.default.fileExists(atPath: destination), !replacing {
            throw ModelFolderError(file: destination, "already exists; choose another folder or remove it")
        }
        let staging = try StagingDirectory(destination: destination)
        let layout = SafetensorsLayout(tensors: specs, maxShardSize: Int.max)
        let writer = try SafetensorsWriter(directory: staging.path, layout: layout, reportedDirectory: destination)
        let largest = specs.map(\.elementCount).max() ?? 1
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: largest)
        defer { buffer.deallocate() }
        for spec in specs {
            let out = UnsafeMutableBufferPointer(rebasing: buffer[0..<spec.elementCount])
            try fill[spec.name]?(out)
            try writer.write(spec.name, values: UnsafeBufferPointer(out))
        }
        try writer.finish()
        let written = layout.shards[0].fileName
        do {
            try FileManager.default.moveItem(atPath: staging.path + "/" + written, toPath: staging.path + "/" + LoRAAdapter.weightsFileName)
        } catch {
            throw ModelFolderError(file: staging.finalPath(LoRAAdapter.weightsFileName), "cannot be written (\(error.localizedDescription))")
        }
        let modules = lowRank.map(\.module)
        let saved = replaced.map { String($0.name.split(separator: ".").dropLast().joined(separator: ".")) }
        let config = JSONObject([
            "peft_type": .string("LORA"),
            "task_type": .string("CAUSAL_LM"),
            // Absolute, so the adapter finds its base from anywhere.
            "base_model_name_or_path": .string(URL(fileURLWithPath: basePath).standardizedFileURL.path),
            "r": .number(JSONNumber(rank)),
            "lora_alpha": .number(JSONNumber(rank)),
            "lora_dropout": .number(JSONNumber(0)),
            "use_rslora": .bool(false),
            "use_dora": .bool(false),
            "fan_in_fan_out": .bool(false),
            "bias": .string("none"),
            "target_modules": .array(modules.map(JSONValue.string)),
            "modules_to_save": saved.isEmpty ? .null : .array(saved.map(JSONValue.string)),
            "rank_pattern": .object(JSONObject()),
            "alpha_pattern": .object(JSONObject()),
            "inference_mode": .bool(true),
        ])
        try Disk.writeFile(Array((JSONValue.object(config).serialized(indent: 2) + "\n").utf8),
                           to: staging.path + "/" + LoRAAdapter.configFileName, reportedAs: staging.finalPath(LoRAAdapter.configFileName))
        try staging.commit(replacing: replacing)
    }
}
