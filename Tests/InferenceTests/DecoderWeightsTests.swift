import Foundation
import Testing
@testable import Inference
@testable import Tensors

/// Weights borrowed from an arena (how a worker scores an in-memory candidate) against the same
/// weights read from the folder.
@Suite struct DecoderWeightsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/models").path

    func arena(of folder: ModelFolder, skipping skipped: String? = nil, truncating truncated: String? = nil) throws -> TensorArena {
        let arena = TensorArena()
        for name in folder.tensorNames where name != skipped {
            let (file, info) = try #require(folder.tensor(name))
            let count = info.shape.reduce(1, *)
            let buffer = try arena.buffer(name, count: name == truncated ? count - 1 : count)
            if name == truncated { buffer.update(repeating: 0); continue }
            try file.read(info, into: buffer)
        }
        return arena
    }

    /// While weights borrow an arena, none of its buffers moves: a reallocation is refused, filling
    /// in place is not; once the weights are gone the arena reallocates again.
    @Test func aLentArenaKeepsItsBuffersWhereTheyAre() throws {
        let folder = try ModelFolder(path: Self.fixtures + "/llama")
        let configuration = try DecoderModel(folder: folder).configuration
        let arena = try arena(of: folder)
        let name = try #require(folder.tensorNames.first)
        let stored = try #require(arena[name])
        do {
            let weights = try DecoderWeights(arena: arena, configuration: configuration)
            #expect(arena.loans == 1)
            #expect(throws: ArenaLentError(tensor: name, loans: 1)) { try arena.buffer(name, count: stored.count + 1) }
            #expect(try arena.storage(name, count: stored.count, dtype: stored.dtype).baseAddress == UnsafeMutableRawPointer(mutating: stored.base))
            #expect(try arena.buffer("a new tensor", count: 4).count == 4)  // a new name moves nothing
            withExtendedLifetime(weights) {}
        }
        #expect(arena.loans == 0)
        #expect(try arena.buffer(name, count: stored.count + 1).count == stored.count + 1)
        // Weights that fail to build take no loan.
        let truncated = try self.arena(of: folder, truncating: name)
        #expect(throws: ModelError.self) { try DecoderWeights(arena: truncated, configuration: configuration) }
        #expect(truncated.loans == 0)
    }

    @Test(arguments: ["llama", "mistral", "qwen2"])
    func arenaWeightsGiveTheFolderLogits(_ name: String) throws {
        let folder = try ModelFolder(path: Self.fixtures + "/" + name)
        let fromFolder = try DecoderModel(folder: folder)
        let configuration = fromFolder.configuration
        let fromArena = DecoderModel(configuration: configuration, weights: try DecoderWeights(arena: arena(of: folder), configuration: configuration))
        let tokens = [1, 5, 9, 2, 7, 3]
        let expected = try fromFolder.session(capacity: tokens.count).forward(tokens)
        let actual = try fromArena.session(capacity: tokens.count).forward(tokens)
        #expect(actual == expected)
    }

    @Test func aMissingOrMisshapedTensorNamesIt() throws {
        let folder = try ModelFolder(path: Self.fixtures + "/llama")
        let configuration = try DecoderModel(folder: folder).configuration
        let missing = "model.layers.1.mlp.up_proj.weight"
        #expect { try DecoderWeights(arena: arena(of: folder, skipping: missing), configuration: configuration) } throws: {
            "\($0)".contains("has no tensor '\(missing)'")
        }
        #expect { try DecoderWeights(arena: arena(of: folder, truncating: missing), configuration: configuration) } throws: {
            "\($0)".contains("tensor '\(missing)' has")
        }
    }
}

/// A forward pass is cut into fixed pieces whatever the thread count (product tiles, attention
/// per sequence and head, rows), so logits and scores do not depend on it (a search's thread
/// layout must not change what it proposes).
@Suite struct DecoderThreadingTests {
    @Test func logitsAndScoresAreBitwiseTheSameOnAnyThreadCount() throws {
        let zoo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/zoo/base"
        BLASThreads.set(1)
        var model = try DecoderModel(folder: ModelFolder(path: zoo))
        let c = model.configuration
        // Several tiles per product, or the test proves nothing: every product in column slices,
        // the narrow ones of a batch in row blocks too; several sequences and heads for attention.
        model.tiling = .init(sliceWidth: 48, narrowOutputs: c.hiddenSize, rowBlock: 32)
        #expect(c.hiddenSize > model.tiling.sliceWidth && c.intermediateSize > c.hiddenSize && c.headCount > 1)
        let tokens = Array(3..<40)
        let requests = (0..<8).map { r in
            ScoringRequest(context: (0..<40).map { (r * 41 + $0 * 7) % c.vocabularySize }, continuations: (0..<4).map { k in (0..<4).map { (r + k * 13 + $0 * 5) % c.vocabularySize } })
        }
        #expect(requests.reduce(0) { $0 + $1.rows } >= 4 * model.tiling.rowBlock && DecoderModel.passes(requests).count == 1)
        let reference = try model.session(capacity: tokens.count).forward(tokens)
        let referenceScores = try model.logLikelihoods(requests[...])
        for threads in [2, 3, 5] {
            model.threads = threads
            let logits = try model.session(capacity: tokens.count).forward(tokens)
            let differentLogits = zip(logits, reference).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(logits.count == reference.count && differentLogits == 0, "\(threads) threads: \(differentLogits) logits differ")
            let scores = try model.logLikelihoods(requests[...]).flatMap { $0 }
            let differentScores = zip(scores, referenceScores.flatMap { $0 }).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differentScores == 0, "\(threads) threads: \(differentScores) of \(scores.count) log-likelihoods differ")
        }
    }
}
