import Archive
import Foundation
import Inference
import Merging
import Tensors

/// `amalgam export`: a candidate's recipe (mergekit YAML) and, optionally, its merged model as a
/// Hugging Face folder — the same plan and code the search evaluated, so the tensors are those
/// that were scored.
public enum Exporter {
    public struct Result: Sendable {
        public let id: Int
        public let recipePath: String
        public let modelPath: String?
        public var adapterPath: String?
    }

    /// Writes the candidate as one PEFT LoRA adapter of the base (`AdapterWriter`), to
    /// `adapterPath` (default `exports/ID-adapter/`); a candidate whose merge is not linear in
    /// the adapters' updates is refused with the reason.
    public static func exportAdapter(folder: RunFolder, candidate: CandidateRecord, adapterPath: String?) throws -> String {
        let path = adapterPath ?? folder.path + "/exports/\(candidate.id)-adapter"
        let file = folder.spacePath
        let plan = try MergePlan(recipe: try Recipe(yaml: candidate.recipe, file: file), file: file, layouts: ModelFamilies.layout)
        if let refusal = AdapterWriter.refusal(plan) {
            throw ArchiveError(file: folder.spacePath, "candidate \(candidate.id) cannot be exported as an adapter: \(refusal)")
        }
        try AdapterWriter(plan: plan).write(to: path, replacing: true)
        return path
    }

    /// The candidate to export: `id`, or the best finished one by `objective` (default: the first).
    public static func choose(folder: RunFolder, id: Int?, objective: String?) throws -> CandidateRecord {
        let archive = try folder.openArchive(reader: true)
        if let id {
            guard let candidate = try archive.candidate(id: id) else { throw ArchiveError(file: archive.location, "no candidate \(id)") }
            guard candidate.status == .done || candidate.status == .duplicate, !candidate.recipe.isEmpty else {
                throw ArchiveError(file: archive.location, "candidate \(id) is \(candidate.status.rawValue); only evaluated candidates can be exported")
            }
            // A duplicate shares its original's result; a pruned one was never scored in full.
            if let original = candidate.duplicateOf, try archive.candidate(id: original)?.status == .pruned {
                throw ArchiveError(file: archive.location, "candidate \(id) repeats candidate \(original), which racing pruned; only fully scored candidates can be exported")
            }
            return candidate
        }
        let order = try RunStatus.objectiveOrder(folder: folder)
        guard let (name, maximize) = objective.map({ wanted in order.first { $0.0 == wanted } }) ?? order.first else {
            throw ArchiveError(file: folder.spacePath, "has no objective \(objective ?? "") (objectives: \(order.map(\.0).joined(separator: ", ")))")
        }
        let values = try archive.objectives(candidate: nil).filter { $0.name == name && $0.value.isFinite }
        let candidates = Dictionary(uniqueKeysWithValues: try archive.candidates().map { ($0.id, $0) })
        let best = values.filter { candidates[$0.candidate]?.status == .done }.min { a, b in
            let (x, y) = maximize ? (-a.value, -b.value) : (a.value, b.value)
            return (x, candidates[a.candidate]?.seq ?? 0) < (y, candidates[b.candidate]?.seq ?? 0)
        }
        guard let best, let candidate = candidates[best.candidate] else { throw ArchiveError(file: archive.location, "no candidate has finished yet") }
        return candidate
    }

    /// Writes the recipe (default `exports/ID/recipe.yml`) and, when `modelPath` is given or no
    /// recipe path is, the merged model (default `exports/ID/`). A recipe that goes inside the
    /// model folder is written with the model, so the folder appears whole or not at all; any
    /// other recipe file is replaced in one step. A full or read-only disk leaves no partial file
    /// or folder and is reported with the path and the errno.
    public static func export(folder: RunFolder, candidate: CandidateRecord, recipePath: String?, modelPath: String?) throws -> Result {
        let directory = folder.path + "/exports/\(candidate.id)"
        let recipeFile = recipePath ?? directory + "/recipe.yml"
        let model = modelPath ?? (recipePath == nil ? directory : nil)
        let recipeURL = URL(fileURLWithPath: recipeFile)
        if let model {
            let plan = try MergePlan(recipe: try Recipe(yaml: candidate.recipe, file: recipeFile), file: recipeFile, layouts: ModelFamilies.layout)
            let inside = recipeURL.deletingLastPathComponent().standardizedFileURL.path == URL(fileURLWithPath: model).standardizedFileURL.path
            try MergedModelWriter(materializer: Materializer(plan: plan))
                .write(to: model, replacing: true, extraFiles: inside ? [(recipeURL.lastPathComponent, candidate.recipe)] : [])
            if inside { return Result(id: candidate.id, recipePath: recipeFile, modelPath: model) }
        }
        try Disk.writeAtomically(Array(candidate.recipe.utf8), to: recipeFile)
        return Result(id: candidate.id, recipePath: recipeFile, modelPath: model)
    }
}
