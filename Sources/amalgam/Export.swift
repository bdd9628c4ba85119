import ArgumentParser
import Engine

extension Amalgam {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a candidate's mergekit recipe and merged model.")

        @OptionGroup var runFolder: RunFolderArgument

        @Flag(help: "Export the best finished candidate.")
        var best = false

        @Option(help: "With --best: the objective to rank by (default: the first).")
        var objective: String?

        @Option(help: "Export this candidate id.")
        var candidate: Int?

        @Option(help: "Write the recipe here (default: RUN/exports/ID/recipe.yml).", completion: .file())
        var recipe: String?

        @Option(help: "Write the merged model folder here (default: RUN/exports/ID/ unless only --recipe is given).", completion: .directory)
        var model: String?

        @Flag(help: "Also write the candidate as one PEFT LoRA adapter of the base (RUN/exports/ID-adapter/, or --adapter-out): for linear and task_arithmetic merges of adapters.")
        var adapter = false

        @Option(help: "With --adapter: write the adapter folder here.", completion: .directory)
        var adapterOut: String?

        func validate() throws {
            if best == (candidate != nil) { throw ValidationError("give exactly one of --best and --candidate ID") }
            if objective != nil && !best { throw ValidationError("--objective goes with --best") }
            if adapterOut != nil && !adapter { throw ValidationError("--adapter-out goes with --adapter") }
        }

        func run() throws {
            let folder = runFolder.folder
            let chosen = try Exporter.choose(folder: folder, id: candidate, objective: objective)
            // The adapter first: a candidate that cannot be one is refused before anything is written.
            let adapterPath = adapter ? try Exporter.exportAdapter(folder: folder, candidate: chosen, adapterPath: adapterOut) : nil
            let result = try Exporter.export(folder: folder, candidate: chosen, recipePath: recipe, modelPath: model)
            print("candidate #\(result.id): recipe \(result.recipePath)" + (result.modelPath.map { ", model \($0)" } ?? "") + (adapterPath.map { ", adapter \($0)" } ?? ""))
        }
    }
}
