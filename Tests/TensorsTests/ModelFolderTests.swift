import Foundation
import Testing
@testable import Tensors

/// The index is distrusted like a header; folders without one fall back to model*.safetensors.
@Suite struct ModelFolderTests {
    static let shard1 = Fixture.safetensors(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: 4)
    static let shard2 = Fixture.safetensors(header: #"{"b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#, data: 4)

    func folder(index: String?, shards: [String: [UInt8]] = ["s1.safetensors": shard1, "s2.safetensors": shard2]) throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for (name, bytes) in shards { try directory.write(name, bytes) }
        if let index { try directory.write("model.safetensors.index.json", index) }
        return directory
    }

    func expectFolderError(_ directory: TemporaryDirectory, file: String, field: String?, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) { try ModelFolder(path: directory.path) } throws: {
            $0 as? ModelFolderError == ModelFolderError(file: directory.path + "/" + file, field: field, message)
        }
    }

    @Test func indexedFolderOpens() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#)
        let model = try ModelFolder(path: directory.path)
        #expect(model.tensorNames == ["a", "b"])
        #expect(model.parameterCount == 2)
        #expect(model.bytesOnDisk == Self.shard1.count + Self.shard2.count)
    }

    @Test func weightMapReadsFromBytes() throws {
        let map = try ModelFolder.weightMap(json: Array(#"{"metadata": {}, "weight_map": {"b": "s2.safetensors", "a": "s1.safetensors"}}"#.utf8), file: "index.json")
        #expect(map.map(\.tensor) == ["b", "a"] && map.map(\.shard) == ["s2.safetensors", "s1.safetensors"])
        #expect { try ModelFolder.weightMap(json: Array(#"{"weight_map": {"a": 1}}"#.utf8), file: "index.json") } throws: {
            $0 as? ModelFolderError == ModelFolderError(file: "index.json", field: "weight_map.a", "is a number, not a file name")
        }
    }

    @Test func indexListsATensorItsShardLacks() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors", "c": "s2.safetensors"}}"#)
        expectFolderError(directory, file: "s2.safetensors", field: nil,
                          "has no tensor 'c', which model.safetensors.index.json lists in it")
    }

    @Test func shardHasATensorTheIndexOmits() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "s1.safetensors"}, "metadata": {}}"#,
                                   shards: ["s1.safetensors": Fixture.safetensors(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "z": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: 8)])
        expectFolderError(directory, file: "model.safetensors.index.json", field: "weight_map",
                          "does not list tensor 'z' of s1.safetensors")
    }

    @Test func tensorInTwoShards() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "s2.safetensors", "b": "s2.safetensors"}}"#,
                                   shards: ["s1.safetensors": Self.shard1, "s2.safetensors": Fixture.safetensors(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: 8)])
        // s1 is never named by the index, so only s2 is opened: consistent.
        #expect(try ModelFolder(path: directory.path).tensorNames == ["a", "b"])
        let clash = try folder(index: #"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#,
                               shards: ["s1.safetensors": Self.shard1, "s2.safetensors": Fixture.safetensors(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: 8)])
        expectFolderError(clash, file: "model.safetensors.index.json", field: "weight_map.a",
                          "names s1.safetensors, but the tensor is also in s2.safetensors")
    }

    @Test func indexNamesAMissingShard() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "s1.safetensors", "b": "gone.safetensors"}}"#)
        expectFolderError(directory, file: "model.safetensors.index.json", field: "weight_map",
                          "names shard gone.safetensors, which does not exist")
    }

    @Test func indexCannotLeaveTheFolder() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "../s1.safetensors"}}"#)
        expectFolderError(directory, file: "model.safetensors.index.json", field: "weight_map.a",
                          "names \"../s1.safetensors\", which is not a file in the folder")
    }

    @Test func indexWithoutWeightMap() throws {
        let directory = try folder(index: #"{"metadata": {"total_size": 8}}"#)
        expectFolderError(directory, file: "model.safetensors.index.json", field: "weight_map", "is missing")
    }

    @Test func corruptShardIsNamed() throws {
        let directory = try folder(index: #"{"weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}}"#,
                                   shards: ["s1.safetensors": Self.shard1, "s2.safetensors": [1, 2, 3]])
        #expect { try ModelFolder(path: directory.path) } throws: {
            $0 as? SafetensorsError == SafetensorsError(file: directory.path + "/s2.safetensors", .tooShort(fileSize: 3))
        }
    }

    @Test func unindexedFolderUsesModelFiles() throws {
        let directory = try folder(index: nil, shards: ["model-a.safetensors": Self.shard1, "model-b.safetensors": Self.shard2, "other.safetensors": Self.shard1])
        #expect(try ModelFolder(path: directory.path).tensorNames == ["a", "b"])
    }

    @Test func unindexedDuplicatesAreAmbiguous() throws {
        let directory = try folder(index: nil, shards: ["model-a.safetensors": Self.shard1, "model-b.safetensors": Self.shard1])
        expectFolderError(directory, file: "model-b.safetensors", field: nil,
                          "tensor 'a' is also in model-a.safetensors; add a model.safetensors.index.json to say which counts")
    }

    @Test func folderWithoutWeights() throws {
        let directory = try folder(index: nil, shards: ["pytorch_model.bin": [0]])
        #expect { try ModelFolder(path: directory.path) } throws: {
            ($0 as? ModelFolderError)?.message == "has no model.safetensors, model.safetensors.index.json or model*.safetensors (only PyTorch pickles found; convert them to safetensors)"
        }
    }

    @Test func configFieldsAreTyped() throws {
        let directory = try folder(index: nil, shards: ["model.safetensors": Self.shard1])
        try directory.write("config.json", #"{"num_hidden_layers": "two", "hidden_size": 8, "rope_scaling": NaN}"#)
        let model = try ModelFolder(path: directory.path)
        let config = try #require(model.config)
        #expect(try config.hiddenSize == 8)
        #expect { try config.layerCount } throws: {
            $0 as? ModelFolderError == ModelFolderError(file: directory.path + "/config.json", field: "num_hidden_layers", "expected an integer, found \"two\"")
        }
    }

    @Test func brokenConfigIsNamed() throws {
        let directory = try folder(index: nil, shards: ["model.safetensors": Self.shard1])
        try directory.write("config.json", #"{"a": }"#)
        #expect { try ModelFolder(path: directory.path) } throws: {
            ($0 as? ModelFolderError)?.file == directory.path + "/config.json"
        }
    }
}
