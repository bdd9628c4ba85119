import Foundation
import Testing
@testable import Engine
@testable import Fitness
@testable import Inference
@testable import Merging
@testable import Search
@testable import Tensors

/// A worker's arena holds exactly what `export` writes (BF16 for the BF16 zoo, 2 bytes per
/// parameter), and its scores are those of the exported model read back from disk; the workspace
/// is allocated once and reused by every later candidate.
@Suite struct ArenaStorageTests {
    /// The centre candidate of the demo space with `arena`, its workbench and its outcome.
    func scored(_ arena: ArenaSetting, in folder: SearchEngineTests.Folder) throws -> (SearchContext, Workbench, GenomeCodec.Candidate, EvaluationOutcome) {
        var space = try SearchEngineTests.space(in: folder.path)
        space.arena = arena
        let context = try SearchContext(space: space, threadsPerWorker: 2)
        let workbench = Workbench(context: context)
        let candidate = try context.codec.decode(context.codec.centre)
        let outcome = workbench.evaluate(candidate, split: .calibration)
        #expect(outcome.error == nil, "\(outcome.error ?? "")")
        return (context, workbench, candidate, outcome)
    }

    func parameters(_ context: SearchContext, _ candidate: GenomeCodec.Candidate) throws -> Int {
        try MergePlan(recipe: candidate.recipe, file: "candidate recipe", opened: context.folders, layouts: { [layout = context.layout] _ in layout })
            .tensors.reduce(0) { $0 + $1.elementCount }
    }

    /// The candidate written by the streaming writer and scored from disk by a fresh evaluator.
    func scoresFromDisk(_ context: SearchContext, _ candidate: GenomeCodec.Candidate) throws -> [TaskScore] {
        let plan = try MergePlan(recipe: candidate.recipe, file: "candidate recipe", opened: context.folders, layouts: { [layout = context.layout] _ in layout })
        let path = NSTemporaryDirectory() + "amalgam-arena-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try MergedModelWriter(materializer: Materializer(plan: plan, threads: 2)).write(to: path)
        var model = try DecoderModel(folder: ModelFolder(path: path))
        model.threads = 2
        let evaluation = try #require(context.evaluation)
        let evaluator = Evaluator(model: model, tokenizer: evaluation.tokenizer, prefixToken: evaluation.endOfText)
        return try context.tasks(.calibration).map { try evaluator.score($0, split: .calibration) }
    }

    @Test(arguments: [ArenaSetting.auto, .float16])
    func theArenaScoresAsTheExportedModelReadFromDisk(_ arena: ArenaSetting) throws {
        let folder = try SearchEngineTests.Folder()
        let (context, workbench, candidate, outcome) = try scored(arena, in: folder)
        let expected: DType = arena == .float16 ? .f16 : .bf16
        #expect(candidate.recipe.outDType == expected)
        #expect(workbench.arena.byteCount == 2 * (try parameters(context, candidate)))
        #expect(workbench.arena.names.allSatisfy { workbench.arena[$0]?.dtype == expected })
        let fromDisk = try scoresFromDisk(context, candidate)
        #expect(outcome.scores.map(\.value) == fromDisk.map(\.value))
        // Every example's log-likelihoods, bit for bit.
        #expect(outcome.scores.map(\.samples) == fromDisk.map(\.samples))
    }

    @Test func aFloat32ArenaHoldsTheSameValuesAtTwiceTheBytes() throws {
        let folder = try SearchEngineTests.Folder(), other = try SearchEngineTests.Folder()
        let (context, narrow, candidate, outcome) = try scored(.auto, in: folder)
        let (_, wide, _, wideOutcome) = try scored(.float32, in: other)
        #expect(wide.arena.byteCount == 4 * (try parameters(context, candidate)))
        #expect(wide.arena.byteCount == 2 * narrow.arena.byteCount)
        #expect(outcome.scores.map(\.samples) == wideOutcome.scores.map(\.samples))
    }

    @Test func theWorkspaceIsAllocatedOnceAndReused() throws {
        let folder = try SearchEngineTests.Folder()
        let (context, workbench, _, first) = try scored(.auto, in: folder)
        let held = workbench.workspace.byteCount
        #expect(held > 0)
        // Another candidate (other weights, same shapes) allocates nothing more, and scores as a
        // fresh workbench does.
        var genome = context.codec.centre
        for (i, slot) in context.codec.slots.enumerated() {
            if case .continuous = slot.gene { genome[i] = min(1, genome[i] + 0.1) }
        }
        let other = try context.codec.decode(genome)
        let reused = workbench.evaluate(other, split: .calibration)
        #expect(workbench.workspace.byteCount == held)
        let fresh = Workbench(context: context).evaluate(other, split: .calibration)
        #expect(reused.error == nil && reused.scores.map(\.samples) == fresh.scores.map(\.samples))
        #expect(first.scores.map(\.samples) != reused.scores.map(\.samples))
    }
}

/// Workers are planned against the memory the machine offers before a run starts.
@Suite struct MemoryPlanTests {
    func plan(offering bytes: Int) throws -> (MemoryPlan, Int) {
        let folder = try SearchEngineTests.Folder()
        let context = try SearchContext(space: try SearchEngineTests.space(in: folder.path), threadsPerWorker: 1)
        let candidate = try context.codec.decode(context.codec.centre)
        let parameters = try MergePlan(recipe: candidate.recipe, file: "r", opened: context.folders, layouts: { [layout = context.layout] _ in layout })
            .tensors.reduce(0) { $0 + $1.elementCount }
        return (try MemoryPlan(context: context, machine: (bytes, "test")), parameters)
    }

    @Test func aWorkerNeedsItsBFloat16ArenaAndItsWorkspace() throws {
        let (plan, parameters) = try plan(offering: 1 << 40)
        let one = plan.worker(1)
        #expect(one.arena == 2 * parameters)
        #expect(one.workspace > 0 && one.merge > 0)
        #expect(plan.fitting == plan.cores)
        #expect(try plan.workers(nil, origin: "x") == plan.cores)
    }

    @Test func workersThatDoNotFitAreRefusedWithBothNumbers() throws {
        let (probe, _) = try plan(offering: 1 << 40)
        let each = probe.worker(1).total
        // Room for exactly one worker with one thread (threads per worker change the workspace).
        let (tight, _) = try plan(offering: (each + 1) * 10 / 9 + 10)
        #expect(tight.fitting == 1)
        #expect(try tight.workers(nil, origin: "x") == 1)
        #expect { try tight.workers(16, origin: "--workers 16") } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("--workers 16: 16 workers need ") && text.contains("this machine offers") && text.contains("at most 1 worker fits")
        }
        let (none, _) = try plan(offering: 1024)
        #expect(none.fitting == 0)
        #expect { try none.workers(nil, origin: "space.yaml") } throws: { "\($0)".contains("one worker needs") }
    }

    @Test func byteCountsParseWithSuffixes() {
        #expect(MachineMemory.parseBytes("512M") == 512 << 20)
        #expect(MachineMemory.parseBytes("16G") == 16 << 30)
        #expect(MachineMemory.parseBytes("1.5GiB") == 3 << 29)
        #expect(MachineMemory.parseBytes("123") == 123)
        #expect(MachineMemory.parseBytes("-1") == nil && MachineMemory.parseBytes("lots") == nil)
    }
}
