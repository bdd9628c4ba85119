import ArgumentParser
import Fitness
import Foundation
import Search
import Tensors

extension Amalgam {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a commented search space for a base model and its fine-tunes.",
            discussion: "Edit it, check it with `amalgam search FILE --dry-run`, then run the search."
        )

        @Option(help: "The base model folder.", completion: .directory)
        var base: String

        @Option(parsing: .upToNextOption, help: "The fine-tuned model folders, or PEFT LoRA adapter folders of the base.", completion: .directory)
        var models: [String]

        @Option(help: "The fitness file with the calibration tasks.", completion: .file(extensions: ["yaml", "yml"]))
        var fitness: String?

        @Option(help: "Where to write the space (default: search-spaces/NAME.yaml).", completion: .file(extensions: ["yaml"]))
        var out: String?

        @Option(help: "The space's name, which names its run folder.")
        var name = "search"

        @Flag(help: "Overwrite an existing file.")
        var force = false

        func validate() throws {
            if models.isEmpty { throw ValidationError("--models needs at least one fine-tuned model folder") }
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.isEmpty else {
                throw ValidationError("--name must be letters, digits, '-', '_' or '.'")
            }
        }

        func run() throws {
            let file = out ?? "search-spaces/\(name).yaml"
            if FileManager.default.fileExists(atPath: file) && !force {
                throw SearchSpaceError(file: file, "exists; pass --force to overwrite it")
            }
            // Refuse what `search` would refuse, before a space is written around it.
            // A LoRA adapter must fit the base it is listed with.
            let baseFolder = try ModelFolder(path: base)
            for model in models {
                _ = try SourceModel.open(model, resolve: { $0 }, defaultBase: base, opened: [base: SourceModel(folder: baseFolder)])
            }
            if let fitness { _ = try FitnessFile(contentsOf: fitness) }
            let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
            let text = SearchSpaceTemplate.text(name: name, base: base, models: models, fitness: fitness, file: absolute)
            if fitness != nil { _ = try SearchSpace(yaml: text, file: absolute) }
            try Disk.writeAtomically(Array(text.utf8), to: absolute)
            print("wrote \(file); check it with: amalgam search \(file) --dry-run")
        }
    }
}
