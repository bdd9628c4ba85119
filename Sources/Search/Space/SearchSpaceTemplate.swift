import Foundation

/// The commented search space `amalgam init` writes: every setting with its default and a line
/// saying what it does, paths relative to where the file will live.
public enum SearchSpaceTemplate {
    public static func text(name: String, base: String, models: [String], fitness: String?, file: String) -> String {
        let folder = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
        func relative(_ path: String) -> String {
            let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
            let from = URL(fileURLWithPath: folder).pathComponents
            var common = 0
            while common < min(target.count, from.count) && target[common] == from[common] { common += 1 }
            guard common > 1 else { return URL(fileURLWithPath: path).standardizedFileURL.path }
            let parts = Array(repeating: "..", count: from.count - common) + target[common...]
            return parts.isEmpty ? "." : parts.joined(separator: "/")
        }
        func quoted(_ text: String) -> String {
            text.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) } ? text : "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        let modelList = models.map { quoted(relative($0)) }.joined(separator: ", ")
        let fitnessLine = fitness.map { "fitness: \(quoted(relative($0)))" }
            ?? "fitness: ../fitness/tasks.yaml            # write one: tasks of kind choice, perplexity, generate or command"
        let methods = models.count == 1 ? "[ties, task_arithmetic, slerp]" : "[ties, dare_ties, task_arithmetic]"
        return """
            # A search space for `amalgam search` (written by `amalgam init`). Paths are relative to this file.
            name: \(name)                             # the run folder is runs/\(name) unless --run says otherwise
            base_model: \(quoted(relative(base)))
            models: [\(modelList)]
            methods: \(methods)   # one method is fixed; several add a categorical gene
            layer_granularity: 0                     # layers per gene group; 0 = one group for all layers
            # filters: [self_attn, mlp]              # separate genes for tensors whose names contain these
            genes:                                   # value range of each parameter the methods use
              weight: [0.0, 1.5]
              density: [0.1, 1.0]
            # layers: {drop: true}                   # one keep/drop gene per layer (trades accuracy for depth)
            \(fitnessLine)
            objectives:
              - maximize: accuracy                   # weighted mean of the tasks' metrics on the calibration split
              - minimize: density                    # or params, layers, flops, task:NAME[:metric]
            optimizer: {name: cmaes, restarts: ipop, seed: 1}   # cmaes, nsga2 or random; population, sigma
            budget: {evaluations: 200, time: 8h}
            # workers: 2                             # default: as many as memory holds, at most one per core
            # arena: auto                            # merged weights' dtype: auto (the checkpoint's), bfloat16, float16, float32
            # racing: {stages: [0.25, 0.5, 1], confidence: 0.95}   # score in stages, prune what cannot win (README: Racing)

            """
    }
}
