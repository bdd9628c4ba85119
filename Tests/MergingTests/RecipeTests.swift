import Testing
@testable import Merging
@testable import Tensors

@Suite struct RecipeTests {
    func parse(_ yaml: String) throws(RecipeError) -> Recipe { try Recipe(yaml: yaml, file: "r.yml") }

    func expectError(_ yaml: String, path: String?, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try parse(yaml) } throws: {
            let error = $0 as? RecipeError
            return error?.path == path && error?.message == message && error?.file == "r.yml"
        }
    }

    @Test func everyFormRoundTripsThroughYAML() throws {
        let text = """
            merge_method: ties
            base_model: m/base
            models:
              - model: m/a
                parameters:
                  weight: [0, 0.5, 1]
                  density:
                    - filter: self_attn
                      value: 0.3
                    - value: [0.2, 0.9]
              - model: "weird path: x"
            parameters:
              normalize: false
              lambda: 1e-3
            dtype: float32
            out_dtype: bfloat16
            tokenizer_source: base
            random_seed: 42
            """
        let recipe = try parse(text)
        #expect(recipe.mergeMethod == .ties)
        #expect(recipe.models?[1].model == "weird path: x")
        #expect(recipe.outDType == .bf16 && recipe.dtype == .f32 && recipe.randomSeed == 42 && recipe.tokenizerSource == .base)
        #expect(recipe.parameters["lambda"] == .scalar(.number(0.001)))
        #expect(try parse(recipe.yaml) == recipe)
        let slices = try parse("""
            merge_method: passthrough
            slices:
              - sources:
                  - {model: a, layer_range: [0, 4], parameters: {scale: 0.5}}
              - sources:
                  - model: b
                    layer_range: [2, 6]
            """)
        #expect(slices.slices?[0].sources[0].layerRange == 0..<4)
        #expect(try parse(slices.yaml) == slices)
    }

    /// Paths holding scalars YAML refuses in a stream or reads as line breaks (DEL, C1 controls,
    /// U+2028, U+FEFF): written raw inside quotes, they made the emitted recipe unreadable or read
    /// back as another path (found reading the emitter for tools/fuzz; its recipe round trip trapped).
    @Test func unprintableScalarsAreEscaped() throws {
        for path in ["a\u{85}b", "a\u{80}b", "a\u{2028}b", "a\u{7F}\u{FEFF}b", "é\u{9F}\u{A0}"] {
            let recipe = Recipe(mergeMethod: .linear, models: [Recipe.InputModel(model: path, parameters: ParameterSettings([("weight", .scalar(.number(1)))]))])
            #expect(try parse(recipe.yaml) == recipe, "\(path.debugDescription) as \(recipe.yaml)")
        }
    }

    @Test func gradientsAndFiltersEvaluateAsMergekit() {
        let gradient = ParameterSetting.list([.number(0), .number(0.5), .number(1)])
        #expect(gradient.evaluate(tensorName: "x", t: 0.25) == .number(0.25))
        #expect(gradient.evaluate(tensorName: "x", t: 1) == .number(1))
        let two = ParameterSetting.list([.number(0.2), .number(0.8)])
        #expect(two.evaluate(tensorName: "x", t: 0.5) == .number(0.5))
        let labels = ParameterSetting.list([.string("a"), .string("b"), .string("c")])
        #expect(labels.evaluate(tensorName: "x", t: 0.9) == .string("b"))
        let filtered = ParameterSetting.filtered([
            .init(filter: "self_attn", value: .scalar(.number(1))), .init(filter: "mlp", value: gradient),
        ])
        #expect(filtered.evaluate(tensorName: "model.layers.0.self_attn.q_proj.weight", t: 0) == .number(1))
        #expect(filtered.evaluate(tensorName: "model.layers.0.mlp.up_proj.weight", t: 0.5) == .number(0.5))
        #expect(filtered.evaluate(tensorName: "model.norm.weight", t: 0) == nil)
        let fallback = ParameterSetting.filtered([.init(filter: "mlp", value: .scalar(.number(1))), .init(filter: "*", value: .scalar(.number(2)))])
        #expect(fallback.evaluate(tensorName: "model.norm.weight", t: 0) == .number(2))
    }

    @Test func unknownKeysAndTypesNameTheirPath() {
        expectError("merge_method: ties\nbase_model: b\nmodels: [{model: a}]\nfoo: 1", path: "foo",
                    "unknown key (expected one of: merge_method, base_model, models, slices, parameters, dtype, out_dtype, tokenizer_source, random_seed)")
        expectError("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters: {wieght: 1}", path: "models[0].parameters.wieght",
                    "ties has no parameter 'wieght' (it takes int8_mask, normalize, rescale, lambda, weight, density)")
        expectError("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters: {weight: 1, density: 1.5}", path: "models[0].parameters.density",
                    "1.5 is outside (0, 1]")
        expectError("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters: {weight: 1, density: [0.5, 0]}", path: "models[0].parameters.density",
                    "0 is outside (0, 1]")
        expectError("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\n    parameters: {weight: yes}", path: "models[0].parameters.weight",
                    "expected a number, found true")
        expectError("merge_method: ties\nbase_model: b\nmodels:\n  - model: a\nparameters: {normalize: 3}", path: "parameters.normalize",
                    "expected true or false, found 3")
        expectError("merge_method: frankenstein\nmodels: [{model: a}]", path: "merge_method",
                    "unknown method \"frankenstein\" (supported: linear, task_arithmetic, ties, dare_linear, dare_ties, della, della_linear, breadcrumbs, breadcrumbs_ties, slerp, nuslerp, model_stock, passthrough, sce, multislerp, karcher, nearswap, arcee_fusion, ram, ramplus_tl)")
        expectError("merge_method: ties\nmodels: [{model: a}]", path: "base_model", "ties needs a base_model")
        expectError("merge_method: linear\nmodels: [{model: a}]\ndtype: float8", path: "dtype", "unknown dtype \"float8\" (float32, float16 or bfloat16)")
        expectError("merge_method: passthrough\nslices:\n  - sources:\n      - {model: a, layer_range: [3, 1]}", path: "slices[0].sources[0].layer_range",
                    "[3, 1] is not a non-empty range of layers")
        expectError("merge_method: linear\nmodels: [{model: a}]\nslices: []", path: "slices", "give either models or slices, not both")
        expectError("merge_method: linear", path: nil, "needs either models or slices")
        expectError("merge_method: linear\nmodels: [{model: a}]\nrandom_seed: -1", path: "random_seed", "expected a non-negative integer, found \"-1\"")
    }

    /// mergekit's LoRA references: `BASE+ADAPTER`, and the mapping it serializes them as.
    @Test func adapterReferencesReadAsBasePlusAdapter() throws {
        #expect(try parse("merge_method: linear\nmodels: [{model: base+lora}]").models?.first?.model == "base+lora")
        #expect(try parse("merge_method: linear\nmodels: [{model: {model: {path: base}, lora: {path: lora}}}]").models?.first?.model == "base+lora")
        #expect(try parse("merge_method: linear\nmodels: [{model: {model: base, lora: lora}}]").models?.first?.model == "base+lora")
    }

    /// mergekit 0.1.5's parameters of the methods added after the first thirteen, with their
    /// defaults and the ranges Amalgam checks before any model is opened.
    @Test func newerMethodsTakeMergekitsParameters() throws {
        func names(_ method: MergeMethod) -> [String] { method.parameters.map(\.name) }
        #expect(names(.sce) == ["int8_mask", "select_topk"])
        #expect(names(.multislerp) == ["weight", "normalize_weights", "eps"])
        #expect(names(.karcher) == ["max_iter", "tol"])
        #expect(names(.nearswap) == ["t"] && MergeMethod.nearswap.parameters[0].required)
        #expect(names(.arceeFusion).isEmpty)
        #expect(names(.ram) == ["epsilon"] && names(.ramplusTL) == ["r", "alpha", "epsilon"])
        #expect(MergeMethod.ramplusTL.parameters.map(\.defaultValue) == [.number(0.1), .number(0.2), .number(1e-5)])
        #expect(MergeMethod.karcher.basePolicy == .ignored && MergeMethod.multislerp.basePolicy == .optional)
        for method in [MergeMethod.sce, .nearswap, .arceeFusion, .ram, .ramplusTL] { #expect(method.basePolicy == .required) }

        let recipe = try parse("merge_method: karcher\nmodels: [{model: a}, {model: b}]\nparameters: {max_iter: 4, tol: 1e-6}")
        #expect(try parse(recipe.yaml) == recipe)
        expectError("merge_method: karcher\nmodels: [{model: a}]\nparameters: {max_iter: 2.5}", path: "parameters.max_iter",
                    "expected a whole number, found 2.5")
        expectError("merge_method: karcher\nmodels: [{model: a}]\nparameters: {tol: -1}", path: "parameters.tol", "-1 is outside [0, ∞)")
        expectError("merge_method: sce\nbase_model: b\nmodels: [{model: a}]\nparameters: {select_topk: 1.5}", path: "parameters.select_topk",
                    "1.5 is outside [0, 1]")
        expectError("merge_method: sce\nbase_model: b\nmodels:\n  - model: a\n    parameters: {weight: 1}", path: "models[0].parameters.weight",
                    "sce has no parameter 'weight' (it takes int8_mask, select_topk)")
        expectError("merge_method: nearswap\nbase_model: b\nmodels: [{model: a}]\nparameters: {t: -0.1}", path: "parameters.t", "-0.1 is outside [0, ∞)")
        // nearswap's t is a distance, not slerp's factor in [0, 1].
        #expect(try parse("merge_method: nearswap\nbase_model: b\nmodels: [{model: a}]\nparameters: {t: 2}").parameters["t"] == .scalar(.number(2)))
        expectError("merge_method: ram\nmodels: [{model: a}]", path: "base_model", "ram needs a base_model")
        expectError("merge_method: arcee_fusion\nmodels: [{model: a}]\nparameters: {t: 1}", path: "parameters.t",
                    "arcee_fusion has no parameter 't' (it takes none)")
        expectError("merge_method: multislerp\nmodels: [{model: a}]\nparameters: {eps: -1e-3}", path: "parameters.eps", "-0.001 is outside [0, ∞)")
    }

    @Test func mergekitFeaturesOutsideTheSubsetAreRefused() {
        expectError("merge_method: linear\nmodules: {}", path: "modules", "'modules' (multi-module architectures) is not supported; use models or slices")
        expectError("merge_method: linear\nmodels: [{model: a}]\ntokenizer: {source: union}", path: "tokenizer",
                    "'tokenizer' (vocabulary surgery) is not supported; use tokenizer_source: base or a model")
        expectError("merge_method: linear\nmodels: [{model: a}]\nchat_template: chatml", path: "chat_template",
                    "'chat_template' is not supported; edit tokenizer_config.json of the output instead")
        expectError("merge_method: linear\nmodels: [{model: a}]\ntokenizer_source: union", path: "tokenizer_source",
                    "union is not supported; use base or a model")
        expectError("merge_method: linear\nmodels: [{model: {model: {path: a, revision: main}, lora: {path: b}}}]", path: "models[0].model.model.revision",
                    "is not supported (revisions need the hub); give a local path")
        expectError("merge_method: linear\nmodels: [{model: a+b+c}]", path: "models[0].model",
                    "\"a+b+c\" is neither a folder nor BASE+ADAPTER (one + between a model and a LoRA adapter)")
        expectError("merge_method: passthrough\nslices:\n  - sources: [{model: a, layer_range: [0, 1]}]\n    residual_weight: 0.5",
                    path: "slices[0].residual_weight", "residual_weight is not supported")
    }

    @Test func invalidYAMLIsOneLine() {
        #expect { try parse("merge_method: [unclosed") } throws: {
            guard let error = $0 as? RecipeError else { return false }
            return error.path == nil && error.message.hasPrefix("is not valid YAML") && !error.description.contains("\n")
        }
    }
}
