import ArgumentParser
import Foundation
import Inference
import Merging
import Tensors

extension Amalgam {
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge models by a mergekit recipe into a Hugging Face folder.",
            discussion: """
                RECIPE is mergekit YAML (merge_method, base_model, models or slices, parameters, \
                dtype, out_dtype, tokenizer_source, plus Amalgam's random_seed). Model paths are \
                relative to the current directory, as in mergekit; a model may be a PEFT LoRA \
                adapter, as BASE+ADAPTER or as a bare adapter folder of base_model. The output \
                appears under its name only when complete.
                """
        )

        @Argument(help: "The recipe file (mergekit YAML).", completion: .file(extensions: ["yml", "yaml"]))
        var recipe: String

        @Option(help: "The folder to create.", completion: .directory)
        var out: String

        @Option(help: "Stored dtype of the output: float32, float16 or bfloat16 (overrides out_dtype).")
        var outDtype: String?

        @Option(help: "Largest shard before splitting, e.g. 5GB (10⁹ bytes), 512MiB or mergekit's 5B.")
        var shardSize = "5GB"

        @Option(help: "Seed of the random sparsifiers (overrides the recipe's random_seed).")
        var seed: UInt64?

        @Option(help: "Threads to merge with (default: every core).")
        var threads: Int?

        @Flag(help: "Replace the output folder if it exists.")
        var force = false

        @Flag(help: "Write the merge as one PEFT LoRA adapter of the base (linear and task_arithmetic merges of adapters) instead of a full model.")
        var adapter = false

        func validate() throws {
            if let outDtype, DType(floatName: outDtype) == nil {
                throw ValidationError("--out-dtype must be float32, float16 or bfloat16, not \"\(outDtype)\"")
            }
            if parseByteCount(shardSize) == nil {
                throw ValidationError("--shard-size: cannot read \"\(shardSize)\" as a size (e.g. 5GB, 512MiB)")
            }
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            var parsed = try Recipe(contentsOf: recipe)
            if let outDtype { parsed.outDType = DType(floatName: outDtype) }
            let plan = try MergePlan(recipe: parsed, file: recipe, layouts: ModelFamilies.layout)
            if adapter {
                try AdapterWriter(plan: plan, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount).write(to: out, replacing: force)
                print("\(out): a LoRA adapter of \(plan.models[0].source.folder.path), \(parsed.mergeMethod.rawValue)")
                return
            }
            let materializer = Materializer(plan: plan, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, seed: seed)
            let writer = MergedModelWriter(materializer: materializer, maxShardSize: parseByteCount(shardSize) ?? SafetensorsLayout.defaultMaxShardSize)
            let progress = ProgressLine(label: "merging", total: plan.tensors.count)
            let started = Date()
            do {
                try writer.write(to: out, replacing: force) { done, _ in progress.update(done) }
            } catch {
                progress.finish()  // the error's one line starts on a clean line
                throw error
            }
            progress.finish()
            let seconds = Date().timeIntervalSince(started)
            print("\(out): \(plan.tensors.count) tensors, \(plan.layerCount) layers, \(parsed.mergeMethod.rawValue), \(Format.fixed(seconds, digits: 1)) s")
        }
    }
}
