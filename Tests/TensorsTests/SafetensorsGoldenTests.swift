import Foundation
import Testing
@testable import Tensors

/// Reads files written by the safetensors library (tools/make_fixtures.py) and compares every
/// value bit for bit with what numpy/ml_dtypes say the stored elements are.
@Suite struct SafetensorsGoldenTests {
    struct Expected: Decodable {
        let dtype: String
        let shape: [Int]
        let bits: [UInt32]?
        let shard: String?
    }

    static let golden: [String: [String: Expected]] = {
        let url = URL(fileURLWithPath: Fixture.golden + "/golden.json")
        return (try? JSONDecoder().decode([String: [String: Expected]].self, from: Data(contentsOf: url))) ?? [:]
    }()

    @Test(arguments: ["f32.safetensors", "f16.safetensors", "bf16.safetensors"])
    func readsEveryValueExactly(file: String) throws {
        let expected = try #require(Self.golden[file])
        let safetensors = try SafetensorsFile(path: Fixture.golden + "/" + file)
        // The library writes __metadata__ from a hash map: compare without order.
        let metadata = Dictionary(uniqueKeysWithValues: safetensors.header.metadata.map { ($0.key, $0.value) })
        #expect(metadata == ["format": "pt", "fixture": file])
        #expect(Set(safetensors.tensors.map(\.name)) == Set(expected.keys))
        for tensor in safetensors.tensors {
            let want = try #require(expected[tensor.name])
            #expect(tensor.dtype.rawValue == want.dtype)
            #expect(tensor.shape == want.shape)
            let values = try safetensors.floats(tensor)
            #expect(values.map(\.bitPattern) == want.bits, "\(file) \(tensor.name)")
        }
    }

    @Test func otherDtypesAreInspectableButNotNumbers() throws {
        let file = try SafetensorsFile(path: Fixture.golden + "/mixed.safetensors")
        let dtypes = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0.dtype) })
        #expect(dtypes == ["ids": .i64, "mask": .bool, "bytes": .u8, "double": .f64, "half": .f16])
        let ids = try #require(file.tensor(named: "ids"))
        #expect(ids.shape == [2, 3] && ids.byteCount == 48)
        #expect(throws: SafetensorsError(file: file.path, tensor: "ids", .notNumeric(.i64))) { try file.floats(ids) }
        #expect(try file.floats(#require(file.tensor(named: "half"))) == [1.5, 2.0])
    }

    @Test func shardedFolderReadsThroughTheIndex() throws {
        let expected = try #require(Self.golden["sharded"])
        let folder = try ModelFolder(path: Fixture.golden + "/sharded")
        #expect(folder.shards.count == 2)
        #expect(folder.indexPath != nil)
        #expect(Set(folder.tensorNames) == Set(expected.keys))
        for (name, want) in expected {
            let (file, info) = try #require(folder.tensor(name))
            #expect(file.path.hasSuffix("/" + (want.shard ?? "")))
            #expect(try file.floats(info).map(\.bitPattern) == want.bits)
        }
    }

    @Test func tinyLlamaCountsMatchWhatTheScriptMade() throws {
        struct Counts: Decodable {
            let parameters: Int
            let tensor_count: Int
            let bytes_on_disk: Int
            let layers: Int
            let hidden_size: Int
            let vocab_size: Int
            let shards: [String]
        }
        let url = URL(fileURLWithPath: Fixture.directory + "/tiny-llama.expected.json")
        let counts = try JSONDecoder().decode(Counts.self, from: Data(contentsOf: url))
        let folder = try ModelFolder(path: Fixture.tinyLlama)
        #expect(folder.parameterCount == counts.parameters)
        #expect(folder.tensorNames.count == counts.tensor_count)
        #expect(folder.bytesOnDisk == counts.bytes_on_disk)
        #expect(folder.shards.map { URL(fileURLWithPath: $0.path).lastPathComponent } == counts.shards)
        #expect(try folder.config?.layerCount == counts.layers)
        #expect(folder.layersInTensorNames == counts.layers)
        #expect(try folder.config?.hiddenSize == counts.hidden_size)
        #expect(try folder.config?.vocabularySize == counts.vocab_size)
        #expect(folder.tokenizerFiles == ["tokenizer.json", "tokenizer_config.json"])
    }
}
