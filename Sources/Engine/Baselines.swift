import Foundation
import Merging
import Search

/// The recipes every run scores before its search (DESIGN.md §4), so that its winner is judged
/// against what a user gets without searching:
/// - `base`: the base model alone;
/// - each source alone, named by its folder (an adapter: the base with it folded in);
/// - each listed method's merge of all sources with equal weights: `weight` 1 for every model,
///   slerp's and nuslerp's `t` 0.5, every other parameter at mergekit's default (density 1, no
///   `lambda`, …), written as the codec writes a genome's recipe, so a proposal that decodes to
///   the same merge is a duplicate of the baseline.
/// The first two are `passthrough` recipes of one model, so they are that model's weights exactly
/// (in the run's output dtype). Baselines are candidates with negative seqs (−B … −1, in this
/// order) and ids 1 … B; the optimizer never hears of them. They cost one evaluation each.
public enum Baselines {
    public struct Baseline: Sendable, Equatable {
        public let name: String
        /// What it is, for a person: "the base model", "a source alone", "equal-weight merge".
        public let kind: String
        public let recipe: Recipe
    }

    public static func make(context: SearchContext) -> [Baseline] {
        let space = context.space
        guard space.baselines else { return [] }
        let outDType = context.codec.outDType
        func alone(_ model: String) -> Recipe {
            Recipe(mergeMethod: .passthrough, models: [Recipe.InputModel(model: model)], dtype: .f32, outDType: outDType, randomSeed: space.optimizer.seed)
        }
        var list = [Baseline(name: "base", kind: "the base model", recipe: alone(space.baseModel))]
        for (path, reference) in zip(space.models, space.modelReferences) {
            list.append(Baseline(name: URL(fileURLWithPath: path).standardized.lastPathComponent, kind: "a source alone", recipe: alone(reference)))
        }
        for method in space.methods {
            let genes = SearchSpace.geneParameters(of: method)
            var values: [String: Double] = [:]
            if genes.perModel.contains("weight") { values["weight"] = 1 }
            if genes.shared.contains("t") { values["t"] = 0.5 }
            list.append(Baseline(name: method.rawValue, kind: "equal-weight merge", recipe: context.codec.uniformRecipe(method: method, values: values)))
        }
        // Names are keys (front --json, the report): a source folder named like a method or `base` gets a suffix.
        var seen: [String: Int] = [:]
        return list.map { baseline in
            seen[baseline.name, default: 0] += 1
            let count = seen[baseline.name] ?? 1
            return count == 1 ? baseline : Baseline(name: "\(baseline.name)-\(count)", kind: baseline.kind, recipe: baseline.recipe)
        }
    }
}
