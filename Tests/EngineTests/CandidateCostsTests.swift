import Foundation
import Merging
import Testing
@testable import Engine

/// The density cost: what fraction of the task vectors' entries a recipe keeps.
@Suite struct CandidateCostsTests {
    static let zoo = SearchEngineTests.repository + "/zoo"

    func density(_ yaml: String) throws -> Double {
        try CandidateCosts(plan: MergePlan(recipe: Recipe(yaml: yaml, file: "r.yml"), file: "r.yml")).density
    }

    @Test func sparsifiersCountTheirDensityAndSceItsSelection() throws {
        let models = "base_model: \(Self.zoo)/base\nmodels: [{model: \(Self.zoo)/add, parameters: {weight: 1, density: 0.4}}]\n"
        #expect(try abs(density("merge_method: ties\n" + models) - 0.4) < 1e-12)
        #expect(try density("merge_method: task_arithmetic\n" + models.replacingOccurrences(of: ", density: 0.4", with: "")) == 1)
        let sce = "merge_method: sce\nbase_model: \(Self.zoo)/base\nmodels: [{model: \(Self.zoo)/add}, {model: \(Self.zoo)/rev}]\n"
        #expect(try abs(density(sce + "parameters: {select_topk: 0.3}\n") - 0.3) < 1e-12)
        #expect(try density(sce) == 1)
    }
}
