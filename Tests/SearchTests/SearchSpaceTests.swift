import Foundation
import Testing
@testable import Merging
@testable import Search
@testable import Tensors

@Suite struct SearchSpaceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A space file written beside the repository's search-spaces (so `../zoo` resolves).
    func space(_ yaml: String) throws(SearchSpaceError) -> SearchSpace {
        try SearchSpace(yaml: yaml, file: Self.root + "/search-spaces/test.yaml")
    }

    static let minimal = """
        base_model: ../zoo/base
        models: [../zoo/add, ../zoo/rev]
        fitness: ../fitness/demo.yaml

        """

    @Test func readsTheDemoSpace() throws {
        let demo = try SearchSpace(contentsOf: Self.root + "/search-spaces/demo.yaml")
        #expect(demo.name == "demo")
        #expect(demo.baseModel == Self.root + "/zoo/base")
        #expect(demo.models.map { URL(fileURLWithPath: $0).lastPathComponent } == ["add", "rev", "facts"])
        #expect(demo.methods == [.ties, .dareTies, .taskArithmetic])
        #expect(demo.layerCount == 4 && demo.layerGranularity == 0 && demo.filters == ["self_attn", "mlp"])
        #expect(demo.geneRanges == ["weight": 0...1.5, "density": 0.1...1])
        #expect(demo.objectives == [SearchSpace.Objective(.accuracy, maximize: true), SearchSpace.Objective(.density, maximize: false)])
        #expect(demo.optimizer.name == .cmaes && demo.optimizer.population == 8 && demo.optimizer.sigma == 0.25 && demo.optimizer.seed == 1)
        #expect(demo.evaluations == 160 && demo.time == 1800 && demo.workers == 2 && demo.arena == .auto)
    }

    @Test func defaultsWhenOnlyTheEssentialsAreGiven() throws {
        let space = try space(Self.minimal)
        #expect(space.name == "test" && space.methods == [.ties] && space.layerGranularity == 0 && !space.dropLayers)
        #expect(space.geneRanges == ["weight": 0...1, "density": 0.1...1])
        #expect(space.objectives == [SearchSpace.Objective(.accuracy, maximize: true)])
        #expect(space.evaluations == 100 && space.time == nil)
    }

    @Test(arguments: [
        ("colour: red\n", "colour", "unknown key"),
        ("methods: [ties, mystery]\n", "methods[1]", "is not a merge method"),
        ("methods: passthrough\n", "methods", "nothing to search"),
        ("methods: slerp\n", "methods", "exactly one model"),
        ("methods: [ties, nearswap]\n", "methods[1]", "nearswap merges exactly one model with the base"),
        ("methods: arcee_fusion\n", "methods", "exactly one model"),
        ("methods: [ram]\ngenes: {epsilon: [0, 0.1]}\n", "genes.epsilon", "no method of this space uses epsilon"),
        ("methods: sce\ngenes: {select_topk: [0.5, 2]}\n", "genes.select_topk", "[0, 1]"),
        ("genes: {weight: [1, 0]}\n", "genes.weight", "low ≤ high"),
        ("genes: {density: [0, 1]}\n", "genes.density", "(0, 1]"),
        ("genes: {t: [0, 1]}\n", "genes.t", "no method of this space uses t"),
        ("genes: {speed: [0, 1]}\n", "genes.speed", "unknown gene"),
        ("objectives: [{maximize: \"task:\"}]\n", "objectives[0].maximize", "task:NAME"),
        ("objectives: [{maximize: accuracy}, {maximize: accuracy}]\n", "objectives[1].maximize", "listed twice"),
        ("objectives: [{best: accuracy}]\n", "objectives[0]", "maximize"),
        ("optimizer: {name: adam}\n", "optimizer.name", "cmaes, nsga2 or random"),
        ("optimizer: {sigma: 2}\n", "optimizer.sigma", "(0, 1]"),
        ("budget: {time: soon}\n", "budget.time", "duration"),
        ("budget: {evaluations: 0}\n", "budget.evaluations", "≥ 1"),
        ("layers: {drop: maybe}\n", "layers.drop", "true or false"),
        ("layer_granularity: 9\n", "layer_granularity", "more than the model's 4 layers"),
        ("workers: -1\n", "workers", "≥ 0"),
        ("store: mysql://db/x\n", "store", "is not a PostgreSQL store URL"),
        ("smooth: yes please\n", "smooth", "true or false"),
        ("smooth: true\n", "smooth", "at least two layer groups"),
        ("smooth: true\nlayer_granularity: 2\nlayers: {drop: true}\n", "smooth", "layers: {drop: true}"),
        ("baselines: 3\n", "baselines", "true or false"),
        ("arena: double\n", "arena", "not an arena dtype (expected auto, bfloat16, float16, float32)"),
        ("racing: often\n", "racing", "true, false or a mapping"),
        ("racing: {stages: [1]}\n", "racing.stages", "at least two"),
        ("racing: {stages: [0.5, 0.25, 1]}\n", "racing.stages[1]", "does not increase"),
        ("racing: {stages: [0, 1]}\n", "racing.stages[0]", "(0, 1]"),
        ("racing: {stages: [0.25, 0.5]}\n", "racing.stages", "the last stage must be 1"),
        ("racing: {confidence: 1}\n", "racing.confidence", "[0.5, 1)"),
        ("racing: {confidence: 0.2}\n", "racing.confidence", "[0.5, 1)"),
        ("racing: {seed: -3}\n", "racing.seed", "≥ 0"),
        ("racing: {eta: 3}\n", "racing.eta", "unknown key"),
    ])
    func badFieldsAreNamed(_ extra: String, _ field: String, _ message: String) {
        #expect {
            try space(Self.minimal + extra)
        } throws: { error in
            guard let error = error as? SearchSpaceError else { return false }
            return error.field == field && error.message.contains(message)
        }
    }

    @Test func racingIsOffUnlessTheSpaceAsksAndTakesItsDefaults() throws {
        #expect(try space(Self.minimal).racing == nil)
        #expect(try space(Self.minimal + "racing: false\n").racing == nil)
        let defaults = try space(Self.minimal + "racing: true\n")
        #expect(defaults.racing == SearchSpace.Racing() && defaults.racing?.stages == [0.25, 0.5, 1] && defaults.racing?.confidence == 0.95)
        #expect(defaults.racingSeed == defaults.optimizer.seed)
        let given = try space(Self.minimal + "racing: {stages: [0.1, 0.3, 1], confidence: 0.9, seed: 7}\n")
        #expect(given.racing?.stages == [0.1, 0.3, 1] && given.racing?.confidence == 0.9 && given.racingSeed == 7)
    }

    @Test func aFrozenSpaceCarriesItsFitnessInline() throws {
        let space = try space("base_model: ../zoo/base\nmodels: [../zoo/add]\nfitness: ../fitness/gone.yaml\nfitness_inline: |\n  tasks:\n    - {name: add, kind: choice, calibration: add.calib.jsonl}\n")
        #expect(space.fitness == Self.root + "/fitness/gone.yaml")
        #expect(space.fitnessInline == "tasks:\n  - {name: add, kind: choice, calibration: add.calib.jsonl}\n")
    }

    /// Every key of a space, set away from its default, written as a run's frozen space and read
    /// back: equal, field for field (but `store`, which the frozen space never holds).
    @Test(arguments: ["tasks:\n  - {name: add, kind: choice, calibration: add.calib.jsonl}\n",
                      "  indented first line\n\ttab\n\n\nthree newlines at the end\n\n\n", "no newline at the end",
                      "carriage\r\nreturns", "a last line of spaces\n   ", "unicode\u{2028}line\u{85}breaks\u{2029}\n", "controls \u{7f}\u{9f} and a \u{feff} mark"])
    func everyFieldSurvivesTheFrozenSpace(fitnessText: String) throws {
        var space = try space("""
            name: every-key
            base_model: ../zoo/base
            models: [../zoo/add, ../zoo/rev]
            methods: [ties, della]
            layer_granularity: 2
            filters: [self_attn, "mlp: up"]
            genes: {weight: [0.1, 1.25], density: [0.2, 0.9], epsilon: [0.00001, 0.05], lambda: [0.5, 1.25]}
            layers: {drop: false}
            smooth: true
            baselines: false
            fitness: ../fitness/demo.yaml
            objectives: [{maximize: "task:add:acc_norm"}, {minimize: params}]
            optimizer: {name: nsga2, population: 12, sigma: 0.3, restarts: bipop, seed: 18446744073709551615, steady_state: false, sampling: sobol}
            budget: {evaluations: 77, time: 1.5h}
            workers: 3
            store: postgres://db/amalgam?run=r
            arena: bfloat16
            racing: {stages: [0.1, 0.5, 1], confidence: 0.9, seed: 9}

            """)
        space.fitnessInline = fitnessText
        space.fingerprints = [SearchSpace.Fingerprint(path: space.baseModel, hash: "0123"), SearchSpace.Fingerprint(path: "/a \"b\": c", hash: "1e10")]
        #expect(space.layerCount == 4 && space.store != nil)
        let read = try SearchSpace(yaml: space.yaml, file: space.file)
        var expected = space
        expected.store = nil
        #expect(read == expected)
        // The settings alone open no model folder: the same space with its models gone.
        let moved = space.yaml.replacingOccurrences(of: Self.root + "/zoo/", with: "/nonexistent/zoo/")
        #expect(throws: SearchSpaceError.self) { try SearchSpace(yaml: moved, file: space.file) }
        let settings = try SearchSpace(yaml: moved, file: space.file, reading: .settingsOnly)
        #expect(settings.layerCount == 4 && settings.objectives == space.objectives && settings.fitnessInline == fitnessText)
    }

    @Test func aRecordedLayerCountMustMatchTheBase() {
        #expect { try space(Self.minimal + "layer_count: 7\n") } throws: {
            ($0 as? SearchSpaceError)?.field == "layer_count" && "\($0)".contains("is not the base model's 4 layers")
        }
    }

    @Test func missingOrMismatchedModelsAreNamed() {
        #expect { try space("base_model: ../zoo/base\nmodels: [../zoo/nothing]\nfitness: ../fitness/demo.yaml\n") } throws: {
            ($0 as? SearchSpaceError)?.field == "models[0]" && "\($0)".contains("no config.json")
        }
        #expect { try space("base_model: ../zoo/base\nmodels: [../zoo/tiny-llama]\nfitness: ../fitness/demo.yaml\n") } throws: {
            ($0 as? SearchSpaceError)?.field == "models[0]" && "\($0)".contains("the base is a llama with 4")
        }
        #expect { try space("base_model: ../zoo/base\nmodels: [../zoo/add]\nfitness: ../fitness/none.yaml\n") } throws: {
            ($0 as? SearchSpaceError)?.field == "fitness"
        }
        #expect { try space("base_model: ../zoo/base\nmodels: [../zoo/add, ../zoo/add]\nfitness: ../fitness/demo.yaml\n") } throws: {
            ($0 as? SearchSpaceError)?.field == "models[1]"
        }
        #expect { try space("models: [a\n") } throws: { ($0 as? SearchSpaceError)?.message.contains("not valid YAML") == true }
    }
}

@Suite struct GenomeCodecTests {
    func codec(_ yaml: String) throws -> GenomeCodec {
        GenomeCodec(space: try SearchSpace(yaml: yaml, file: SearchSpaceTests.root + "/search-spaces/test.yaml"), outDType: .bf16)
    }

    @Test func theDemoLayout() throws {
        let codec = GenomeCodec(space: try SearchSpace(contentsOf: SearchSpaceTests.root + "/search-spaces/demo.yaml"), outDType: .bf16)
        // 1 method gene + 1 group × 3 filter groups × (weight, density) × 3 models.
        #expect(codec.dimension == 1 + 3 * 2 * 3)
        #expect(codec.genes.first == .categorical(count: 3))
        #expect(codec.label(codec.slots[1]) == "weight[g0,self_attn,add]")
        #expect(codec.label(codec.slots[4]) == "density[g0,self_attn,add]")
    }

    /// Every method's centre recipe reads back as the same recipe and plans against the zoo.
    @Test(arguments: ["ties", "dare_ties", "dare_linear", "task_arithmetic", "linear", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "model_stock",
                      "sce", "multislerp", "karcher", "ram", "ramplus_tl"])
    func centreRecipesPlan(_ method: String) throws {
        for layout in ["", "layer_granularity: 2\nfilters: [self_attn, mlp]\nlayers: {drop: true}\n"] {
            let codec = try codec(SearchSpaceTests.minimal + "methods: [\(method)]\n" + layout)
            var genome = codec.centre
            if let drop = codec.slots.firstIndex(where: { $0.role == .keepLayer(1) }) { genome[drop] = 0 }
            let candidate = try codec.decode(genome)
            let file = SearchSpaceTests.root + "/search-spaces/recipe.yml"
            #expect(try Recipe(yaml: candidate.yaml, file: file) == candidate.recipe)
            let plan = try MergePlan(recipe: candidate.recipe, file: file)
            if !layout.isEmpty {
                #expect(candidate.keptLayers == [0, 2, 3])
                #expect(candidate.recipe.slices?.map { $0.sources[0].layerRange } == [0..<1, 2..<4])
                #expect(plan.tensors.contains { $0.name.hasPrefix("model.layers.2.") } && !plan.tensors.contains { $0.name.hasPrefix("model.layers.3.") })
            }
        }
    }

    /// mergekit-evolve's `smooth`: the groups' genes are the points of one gradient per parameter
    /// over all layers, which mergekit interpolates (t = layer / (layers − 1) on 4 layers: group 0's
    /// value at layer 0, ⅔·g0 + ⅓·g1 at layer 1, ⅓·g0 + ⅔·g1 at layer 2, group 1's at layer 3).
    @Test func smoothGroupsAreTheGradientsPoints() throws {
        let codec = try codec(SearchSpaceTests.minimal + "methods: [task_arithmetic]\nlayer_granularity: 2\nsmooth: true\nfilters: [mlp]\ngenes: {weight: [0, 1.5]}\n")
        // 2 groups × (mlp, other) × 2 models.
        #expect(codec.dimension == 2 * 2 * 2)
        // weight range [0, 1.5]: u 0.2 → 0.3 in group 0, u 0.6 → 0.9 in group 1 (every filter and model).
        let genome = codec.slots.map { slot -> Double in
            guard case .parameter(_, let group, _, _) = slot.role else { return 0.5 }
            return group == 0 ? 0.2 : 0.6
        }
        let candidate = try codec.decode(genome)
        #expect(candidate.recipe.slices == nil && candidate.recipe.models?.count == 2)
        let first = try #require(candidate.recipe.models?.first?.parameters["weight"])
        guard case .filtered(let entries) = first else { Issue.record("weight is not a filter list"); return }
        #expect(entries.map(\.filter) == ["mlp", nil])
        #expect(entries.allSatisfy { $0.value == .list([.number(0.2 * 1.5), .number(0.6 * 1.5)]) })
        let file = SearchSpaceTests.root + "/search-spaces/recipe.yml"
        #expect(try Recipe(yaml: candidate.yaml, file: file) == candidate.recipe)
        let plan = try MergePlan(recipe: candidate.recipe, file: file)
        func weight(_ layer: Int) -> Double? {
            let tensor = plan.tensors.first { $0.name == "model.layers.\(layer).mlp.up_proj.weight" }
            if case .number(let value)? = tensor?.inputs.first(where: { !$0.isBase })?.parameters["weight"] { return value }
            return nil
        }
        let (g0, g1) = (0 + 0.2 * 1.5, 0 + 0.6 * 1.5)
        for (layer, t) in [(0, 0.0), (1, 1.0 / 3), (2, 2.0 / 3), (3, 1.0)] {
            let expected = (1 - t) * g0 + t * g1
            #expect(abs((weight(layer) ?? .nan) - expected) < 1e-12, "layer \(layer)")
        }
    }

    @Test func slerpTakesTFromTheGenome() throws {
        let codec = try codec("base_model: ../zoo/base\nmodels: [../zoo/add]\nfitness: ../fitness/demo.yaml\nmethods: [slerp, nuslerp]\ngenes: {t: [0.2, 0.6]}\n")
        #expect(codec.dimension == 2)
        let slerp = try codec.decode([0, 0.25])
        #expect(slerp.recipe.parameters["t"] == .scalar(.number(0.3)))
        let nuslerp = try codec.decode([1, 0.25])
        #expect(nuslerp.recipe.models?.map { $0.parameters["weight"] } == [.scalar(.number(0.7)), .scalar(.number(0.3))])
        for candidate in [slerp, nuslerp] { _ = try MergePlan(recipe: candidate.recipe, file: SearchSpaceTests.root + "/x.yml") }
    }

    /// The genes of the newer methods: sce's select_topk, ramplus_tl's r and alpha (shared), and
    /// multislerp's per-model weight; karcher and ram have none and karcher merges the fine-tunes alone.
    @Test func newerMethodsTakeTheirGenes() throws {
        let codec = try codec(SearchSpaceTests.minimal + "methods: [sce, ramplus_tl, multislerp, karcher, ram]\ngenes: {select_topk: [0.2, 0.6], alpha: [0, 1]}\n")
        // method, weight × 2 models, select_topk, r, alpha.
        #expect(codec.dimension == 6)
        #expect(codec.slots.map { codec.label($0) } == ["method", "weight[g0,add]", "weight[g0,rev]", "select_topk[g0]", "r[g0]", "alpha[g0]"])
        let file = SearchSpaceTests.root + "/x.yml"
        let sce = try codec.decode([0, 0.5, 0.5, 0.25, 0.5, 0.5])
        #expect(sce.recipe.parameters["select_topk"] == .scalar(.number(0.3)) && sce.recipe.baseModel != nil)
        #expect(sce.recipe.models?.allSatisfy { $0.parameters.entries.isEmpty } == true)
        let ramplus = try codec.decode([1, 0.5, 0.5, 0.25, 0.5, 0.25])
        #expect(ramplus.recipe.parameters["r"] == .scalar(.number(0.25)) && ramplus.recipe.parameters["alpha"] == .scalar(.number(0.25)))
        let multislerp = try codec.decode([2, 0.2, 0.8, 0.25, 0.5, 0.25])
        #expect(multislerp.recipe.models?.map { $0.parameters["weight"] } == [.scalar(.number(0.2)), .scalar(.number(0.8))])
        #expect(multislerp.recipe.parameters.entries.isEmpty && multislerp.recipe.baseModel != nil)
        let karcher = try codec.decode([3, 0.2, 0.8, 0.25, 0.5, 0.25])
        #expect(karcher.recipe.baseModel == nil && karcher.recipe.models?.count == 2)
        #expect(try codec.decode([4, 0.2, 0.8, 0.9, 0.1, 0.3]).recipe.parameters.entries.isEmpty)
        for candidate in [sce, ramplus, multislerp, karcher] { _ = try MergePlan(recipe: candidate.recipe, file: file) }
    }

    /// nearswap's threshold is its own gene (a distance, not slerp's t) and becomes the recipe's t.
    @Test func nearswapTakesItsThresholdFromTheGenome() throws {
        let codec = try codec("base_model: ../zoo/base\nmodels: [../zoo/add]\nfitness: ../fitness/demo.yaml\nmethods: [nearswap, arcee_fusion, slerp]\n")
        #expect(codec.slots.map { codec.label($0) } == ["method", "t[g0]", "threshold[g0]"])
        let nearswap = try codec.decode([0, 0.9, 0.5])
        #expect(nearswap.recipe.parameters["t"] == .scalar(.number(0.005)))
        let fusion = try codec.decode([1, 0.9, 0.5])
        #expect(fusion.recipe.parameters.entries.isEmpty && fusion.recipe.models?.count == 1)
        for candidate in [nearswap, fusion] { _ = try MergePlan(recipe: candidate.recipe, file: SearchSpaceTests.root + "/x.yml") }
    }

    @Test func inactiveGenesDoNotChangeTheRecipe() throws {
        let codec = try codec(SearchSpaceTests.minimal + "methods: [task_arithmetic, ties]\n")
        // Layout: method, weight×2, density×2. Under task_arithmetic the densities are inactive.
        let a = try codec.decode([0, 0.5, 0.5, 0.1, 0.9]), b = try codec.decode([0, 0.5, 0.5, 0.7, 0.2])
        #expect(a.hash == b.hash && a.yaml == b.yaml)
        let c = try codec.decode([1, 0.5, 0.5, 0.1, 0.9]), d = try codec.decode([1, 0.5, 0.5, 0.7, 0.2])
        #expect(c.hash != d.hash && c.hash != a.hash)
        #expect(c.recipe.models?.first?.parameters["density"] == .scalar(.number(0.1 + 0.1 * 0.9)))
    }

    @Test func invalidGenomesAreRefused() throws {
        let codec = try codec(SearchSpaceTests.minimal + "methods: [task_arithmetic, ties]\nlayers: {drop: true}\n")
        #expect(throws: SearchSpaceError.self) { try codec.decode([0, 0.5]) }
        var genome = codec.centre
        genome[0] = 2
        #expect(throws: SearchSpaceError.self) { try codec.decode(genome) }
        genome = codec.centre
        genome[1] = 1.5
        #expect(throws: SearchSpaceError.self) { try codec.decode(genome) }
        genome = codec.centre
        for (i, slot) in codec.slots.enumerated() where slot.gene == .boolean { genome[i] = 0 }
        #expect { try codec.decode(genome) } throws: { "\($0)".contains("drops every layer") }
    }
}

@Suite struct SearchSpaceTemplateTests {
    /// What `amalgam init` writes reads back as a space with the models it was given.
    @Test func theTemplateIsAValidSpace() throws {
        let root = SearchSpaceTests.root
        let file = root + "/search-spaces/template-test.yaml"
        let text = SearchSpaceTemplate.text(name: "zoo", base: root + "/zoo/base", models: [root + "/zoo/add", root + "/zoo/rev"],
                                            fitness: root + "/fitness/demo.yaml", file: file)
        #expect(text.contains("base_model: ../zoo/base"))
        let space = try SearchSpace(yaml: text, file: file)
        #expect(space.name == "zoo" && space.models == [root + "/zoo/add", root + "/zoo/rev"] && space.methods == [.ties, .dareTies, .taskArithmetic])
        let single = SearchSpaceTemplate.text(name: "one", base: root + "/zoo/base", models: [root + "/zoo/add"], fitness: root + "/fitness/demo.yaml", file: file)
        #expect(try SearchSpace(yaml: single, file: file).methods.contains(.slerp))
    }
}
