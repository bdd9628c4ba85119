import Foundation
import Testing
@testable import Tensors

@Suite struct SafetensorsWriterTests {
    static let values: [Float] = (0..<300).map { Float($0) * 0.37 - 40 } + [.infinity, -0.0, Float(bitPattern: 1)]

    func write(_ specs: [TensorSpec], maxShardSize: Int = 5_000_000_000, into directory: String, threads: Int = 1) throws -> SafetensorsLayout {
        let layout = SafetensorsLayout(tensors: specs, maxShardSize: maxShardSize)
        let writer = try SafetensorsWriter(directory: directory, layout: layout)
        for spec in specs.reversed() {  // any order works
            let values = (0..<spec.elementCount).map { Self.values[$0 % Self.values.count] }
            try values.withUnsafeBufferPointer { try writer.write(spec.name, values: $0, threads: threads) }
        }
        try writer.finish()
        return layout
    }

    @Test(arguments: [DType.f32, .f16, .bf16])
    func roundTripsEachDType(dtype: DType) throws {
        let directory = try TemporaryDirectory()
        let specs = [TensorSpec(name: "w", dtype: dtype, shape: [3, 101]), TensorSpec(name: "s", dtype: dtype, shape: [])]
        _ = try write(specs, into: directory.path)
        let file = try SafetensorsFile(path: directory.path + "/model.safetensors")
        #expect(file.header.dataOffset % 8 == 0)
        #expect(file.header.metadata.first?.key == "format" && file.header.metadata.first?.value == "pt")
        let w = try file.floats(#require(file.tensor(named: "w")))
        for (got, value) in zip(w, Self.values) {
            let want: Float = switch dtype {
            case .bf16: FloatConversion.float(bf16: FloatConversion.bf16(value))
            case .f16: Float(Float16(value))
            default: value
            }
            #expect(got.bitPattern == want.bitPattern)
        }
        #expect(try file.floats(#require(file.tensor(named: "s"))) == [Self.values[0]].map { dtype == .f32 ? $0 : Float(Float16($0)) })
    }

    @Test func largeParallelWriteMatchesSerial() throws {
        let directory = try TemporaryDirectory()
        let count = 3 * SafetensorsWriter.chunkElements + 17
        let values = (0..<count).map { Float(sin(Double($0))) }
        let layout = SafetensorsLayout(tensors: [TensorSpec(name: "big", dtype: .bf16, shape: [count])], maxShardSize: Int.max)
        let writer = try SafetensorsWriter(directory: directory.path, layout: layout)
        try values.withUnsafeBufferPointer { try writer.write("big", values: $0, threads: 2) }
        try writer.finish()
        let read = try SafetensorsFile(path: directory.path + "/model.safetensors")
        let got = try read.floats(#require(read.tensor(named: "big")))
        #expect(got == values.map { FloatConversion.float(bf16: FloatConversion.bf16($0)) })
    }

    @Test func shardsLikeMergekitAndIndexesLikeTransformers() throws {
        let directory = try TemporaryDirectory()
        // 400, 400, 1200 (over the limit: a shard of its own), 400, 400 bytes with a 1000-byte limit.
        let specs = [100, 100, 300, 100, 100].enumerated().map { TensorSpec(name: "t\($0.offset)", dtype: .f32, shape: [$0.element]) }
        let layout = try write(specs, maxShardSize: 1000, into: directory.path)
        #expect(layout.shards.map { $0.tensors.map(\.name) } == [["t0", "t1"], ["t2"], ["t3", "t4"]])
        let names = (1...3).map { "model-0000\($0)-of-00003.safetensors" }
        #expect(layout.shards.map(\.fileName) == names)
        let contents = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(contents == names + ["model.safetensors.index.json"])

        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.path + "/model.safetensors.index.json"))) as? [String: Any]
        #expect((index?["metadata"] as? [String: Any])?["total_size"] as? Int == 2800)
        #expect((index?["weight_map"] as? [String: String])?["t2"] == names[1])

        let folder = try ModelFolder(path: directory.path)
        #expect(folder.tensorNames == ["t0", "t1", "t2", "t3", "t4"])
        #expect(folder.tensorBytes == 2800)
    }

    @Test func refusesToFinishWithATensorMissing() throws {
        let directory = try TemporaryDirectory()
        let layout = SafetensorsLayout(tensors: [TensorSpec(name: "a", dtype: .f32, shape: [2]), TensorSpec(name: "b", dtype: .f32, shape: [2])], maxShardSize: 100)
        let writer = try SafetensorsWriter(directory: directory.path, layout: layout)
        try [Float(1), 2].withUnsafeBufferPointer { try writer.write("a", values: $0) }
        #expect { try writer.finish() } throws: { ($0 as? SafetensorsError)?.tensor == "b" }
        #expect { try [Float(1)].withUnsafeBufferPointer { try writer.write("b", values: $0) } } throws: {
            ($0 as? SafetensorsError)?.reason == .elementCountMismatch(expected: 2, actual: 1)
        }
    }

    @Test func stagingCommitsAtomicallyAndCleansUpOnFailure() throws {
        let parent = try TemporaryDirectory()
        let destination = parent.path + "/out/model"
        do {
            let staging = try StagingDirectory(destination: destination)
            try Data("x".utf8).write(to: URL(fileURLWithPath: staging.path + "/config.json"))
            // dropped without commit: as if an error was thrown half-way
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path + "/out").isEmpty)

        let staging = try StagingDirectory(destination: destination)
        try Data("1".utf8).write(to: URL(fileURLWithPath: staging.path + "/config.json"))
        try staging.commit()
        #expect(FileManager.default.contents(atPath: destination + "/config.json") == Data("1".utf8))

        let again = try StagingDirectory(destination: destination)
        #expect { try again.commit() } throws: { ($0 as? ModelFolderError)?.message.contains("already exists") == true }
        try Data("2".utf8).write(to: URL(fileURLWithPath: again.path + "/config.json"))
        try again.commit(replacing: true)
        #expect(FileManager.default.contents(atPath: destination + "/config.json") == Data("2".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path + "/out") == ["model"])
    }
}
