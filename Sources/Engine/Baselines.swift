import Foundation
import Merging
import Search

/// The recipes every run scores before its search (DESIGN.md §4), so that its winner is judged
/// against what a user gets without searching:
/// - `base`: the base model alone;
/// - each source alone, named by its folder (an adapter: the base with it folded in);
/// - each listed method's merge of all sources with equal weights: `weight` 1 for every model,
///   slerp's and nuslerp's `t` 0.5, every other parameter at mergekit's default (density 1,
///   `lambda` 1, sce's `select_topk` 1, breadcrumbs' gamma 0.01, della's epsilon 0.15, ramplus_tl's
///   r 0.1 and alpha 0.2); nearswap, whose threshold has no default, has none.
///
/// A baseline the space can express is a point of it: its recipe is the decoded genome
/// (`GenomeCodec.genome(method:value:)`), so a proposal of the same merge is its duplicate and
/// the warm start can begin there. The base alone is task_arithmetic with every weight 0 (b + 0·τ
/// is b exactly); a source alone is linear with weight 1 on it and 0 on the others (exactly the
/// source), else task_arithmetic so (b + (s − b), the source up to Float32 rounding of the
/// difference, which BF16 weights never show); a merge whose defaults lie outside its genes'
/// ranges keeps them at mergekit's default in a recipe of its own.
/// What the space cannot express at all is a `passthrough` of the one model: its weights exactly.
///
/// Baselines are candidates with negative seqs (−B … −1, in this order) and ids 1 … B; the
/// optimizer is never told them. They cost one evaluation each.
public enum Baselines {
    public struct Baseline: Sendable, Equatable {
        public let name: String
        /// What it is, for a person: "the base model", "a source alone", "equal-weight merge".
        public let kind: String
        public let recipe: Recipe
        /// Its genome when the space can express it (the warm start's starting point), else nil.
        public let genome: Genome?
    }

    /// mergekit's defaults for the genes a baseline merge sets (`MergeMethod.parameters`), and
    /// weight 1, slerp's t ½. nearswap's threshold has no default: nearswap has no baseline merge.
    static let defaults: [String: Double] = ["weight": 1, "density": 1, "lambda": 1, "t": 0.5, "select_topk": 1,
                                             "gamma": 0.01, "epsilon": 0.15, "r": 0.1, "alpha": 0.2]

    public static func make(context: SearchContext) -> [Baseline] {
        let space = context.space
        let codec = context.codec
        guard space.baselines else { return [] }
        func alone(_ model: String) -> Recipe {
            Recipe(mergeMethod: .passthrough, models: [Recipe.InputModel(model: model)], dtype: .f32, outDType: codec.outDType, randomSeed: space.optimizer.seed)
        }
        /// The baseline as a point of the space, trying the methods in order, or nil.
        func point(_ methods: [MergeMethod], value: (String, Int?) -> Double?) -> (Recipe, Genome)? {
            for method in methods {
                if let genome = codec.genome(method: method, value: value), let decoded = try? codec.decode(genome) { return (decoded.recipe, genome) }
            }
            return nil
        }
        func baseline(_ name: String, _ kind: String, _ found: (Recipe, Genome)?, otherwise: @autoclosure () -> Recipe) -> Baseline {
            Baseline(name: name, kind: kind, recipe: found?.0 ?? otherwise(), genome: found?.1)
        }
        let base = point([.taskArithmetic]) { name, _ in name == "weight" ? 0 : defaults[name] }
        var list = [baseline("base", "the base model", base, otherwise: alone(space.baseModel))]
        for (index, (path, reference)) in zip(space.models, space.modelReferences).enumerated() {
            let found = point([.linear, .taskArithmetic]) { name, model in name == "weight" ? (model == index ? 1 : 0) : defaults[name] }
            list.append(baseline(URL(fileURLWithPath: path).standardized.lastPathComponent, "a source alone", found, otherwise: alone(reference)))
        }
        for method in space.methods where method != .nearswap {
            let genes = SearchSpace.geneParameters(of: method)
            var values: [String: Double] = [:]
            if genes.perModel.contains("weight") { values["weight"] = 1 }
            if genes.shared.contains("t") { values["t"] = 0.5 }
            let found = point([method]) { name, _ in defaults[name] }
            list.append(baseline(method.rawValue, "equal-weight merge", found, otherwise: codec.uniformRecipe(method: method, values: values)))
        }
        // One baseline per merge: a later one whose recipe equals an earlier one's is left out
        // (one source's equal-weight linear merge is that source alone).
        var hashes: Set<String> = []
        list = list.filter { hashes.insert(GenomeCodec.hash($0.recipe.yaml)).inserted }
        // Names are keys (front --json, the report): a source folder named like a method, `base`
        // or another source gets the first free suffix.
        var used: Set<String> = []
        return list.map { entry in
            var name = entry.name, count = 1
            while used.contains(name) {
                count += 1
                name = "\(entry.name)-\(count)"
            }
            used.insert(name)
            return Baseline(name: name, kind: entry.kind, recipe: entry.recipe, genome: entry.genome)
        }
    }
}
