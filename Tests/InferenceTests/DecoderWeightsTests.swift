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
            let buffer = arena.buffer(name, count: name == truncated ? count - 1 : count)
            if name == truncated { buffer.update(repeating: 0); continue }
            try file.read(info, into: buffer)
        }
        return arena
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

/// The linear layers are cut into fixed slices whatever the thread count, so logits do not
/// depend on it (a search's thread layout must not change what it proposes).
@Suite struct DecoderThreadingTests {
    @Test func logitsAreBitwiseTheSameOnAnyThreadCount() throws {
        let zoo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/zoo/base"
        BLASThreads.set(1)
        var model = try DecoderModel(folder: ModelFolder(path: zoo))
        #expect(model.configuration.intermediateSize > DecoderModel.sliceWidth)  // several slices, or the test proves nothing
        let tokens = Array(3..<40)
        let reference = try model.session(capacity: tokens.count).forward(tokens)
        for threads in [2, 3, 5] {
            model.threads = threads
            let logits = try model.session(capacity: tokens.count).forward(tokens)
            #expect(logits.map(\.bitPattern) == reference.map(\.bitPattern), "\(threads) threads")
        }
    }
}
