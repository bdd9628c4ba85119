import Foundation
import Testing
@testable import Engine
@testable import Fitness
@testable import Tensors

/// The arena holds a candidate only for the built-in evaluator: a space whose tasks are all
/// `command` tasks streams each candidate to its temporary folder and never fills an arena.
@Suite struct WorkbenchArenaTests {
    @Test func commandTasksAloneFillNoArena() throws {
        let folder = try SearchEngineTests.Folder()
        var space = try SearchEngineTests.space(in: folder.path)
        // The task reads the candidate's config.json from its folder: the folder is there and whole.
        space.fitnessInline = """
            tasks:
              - {name: external, kind: command, run: [sh, -c, "grep -q num_hidden_layers {model}/config.json && echo '{\\"results\\": {\\"x\\": 1}}'"], score: results.x, timeout: 60}
            """
        let context = try SearchContext(space: space, threadsPerWorker: 1)
        #expect(context.evaluation == nil)
        let workbench = Workbench(context: context)
        let outcome = workbench.evaluate(try context.codec.decode(context.codec.centre), split: .calibration)
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        #expect(outcome.scores.map(\.value) == [1])
        #expect(workbench.arena.byteCount == 0)

        let other = try SearchEngineTests.Folder()
        let builtIn = Workbench(context: try SearchContext(space: try SearchEngineTests.space(in: other.path), threadsPerWorker: 1))
        let scored = builtIn.evaluate(try context.codec.decode(context.codec.centre), split: .calibration)
        #expect(scored.error == nil && builtIn.arena.byteCount > 0)
    }
}
