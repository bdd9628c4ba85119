import Foundation
import Testing

@Suite struct InspectCommandTests {
    static let fixtures = CLI.repository + "/Tests/TensorsTests/Fixtures"

    @Test func realLayoutFolderGivesTheScriptsCounts() throws {
        let result = try CLI.run(["inspect", "zoo/tiny-llama", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let got = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let expectedData = try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/tiny-llama.expected.json"))
        let expected = try #require(try JSONSerialization.jsonObject(with: expectedData) as? [String: Any])
        for key in ["model_type", "architecture", "layers", "hidden_size", "vocab_size", "parameters", "tensor_count", "bytes_on_disk"] {
            #expect("\(got[key] ?? "nil")" == "\(expected[key] ?? "missing")", "\(key)")
        }
        #expect(got["shards"] as? [String] == expected["shards"] as? [String])
        #expect(got["dtypes"] as? [String: Int] == expected["dtypes"] as? [String: Int])
        #expect(got["tokenizer_files"] as? [String] == expected["tokenizer_files"] as? [String])
        #expect(got["index"] as? String == "model.safetensors.index.json")
    }

    @Test func textAndTensorListing() throws {
        let result = try CLI.run(["inspect", "zoo/tiny-llama", "--tensors"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("parameters    133,440 (133.44k)"))
        #expect(result.stdout.contains("architecture  LlamaForCausalLM (model_type llama)"))
        #expect(result.stdout.contains("merge         yes (the llama family's layout: 1 + 9 per layer + 2 tensors)"), "\(result.stdout)")
        #expect(result.stdout.contains("evaluate      yes (built-in llama forward pass)"))
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.contains(["model.layers.1.self_attn.k_proj.weight", "BF16", "[32,", "64]", "model-00002-of-00002.safetensors"]))
        let listed = try CLI.run(["inspect", "zoo/tiny-llama", "--tensors", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
        #expect((object?["tensors"] as? [Any])?.count == 21)
    }

    /// An adapter: its rank and scale (rank_pattern and rsLoRA here), what it updates, and its base.
    @Test func anAdapterIsDescribedWithItsBase() throws {
        let adapter = "Tests/MergingTests/Fixtures/lora/adapters/b"
        let result = try CLI.run(["inspect", adapter])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("adapter       PEFT LoRA, r 8, lora_alpha 4.0000 (scale 1.4142, rsLoRA); ranks 2, 8 by rank_pattern"), "\(result.stdout)")
        #expect(result.stdout.contains("updates       9 tensors by s·B·A"))
        #expect(result.stdout.contains("base          Tests/MergingTests/Fixtures/models/base (the adapter fits it)"))
        #expect(result.stdout.contains("evaluate      yes (built-in llama forward pass)"))
        let named = try CLI.run(["inspect", "zoo/base+Tests/MergingTests/Fixtures/lora/adapters/c", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(named.stdout.utf8)) as? [String: Any], "\(named.stderr)")
        #expect(object["replaced_tensors"] as? Int == 7 && object["updated_tensors"] as? Int == 12)
        #expect(object["can_merge"] as? Bool == false, "an adapter of another base: \(object)")
        #expect((object["base"] as? String)?.contains("whose hidden_size is 104, but it is applied to zoo/base, whose hidden_size is 128: the adapter was trained on another model") == true, "\(object)")
    }

    /// Each damaged input: exit 1, nothing on stdout, one line on stderr naming the file and problem.
    @Test(arguments: [
        ([UInt8]([1, 2]), "is 2 bytes long, too short for a safetensors header"),
        ([UInt8](header: "{}", prefix: 1000), "header length 1000 runs past the end of the file"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", data: 8), "tensor 'w': appears twice in the header"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", data: 8), "tensor 'w': data_offsets [0, 8] span 8 bytes but its shape and dtype need 12"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", data: 8), "tensor 'w': data_offsets [0, 16] lie outside the data region (8 bytes)"),
        ([UInt8](header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", data: 12), "tensor 'b': overlaps tensor 'a'"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 8]}}", data: 8), "tensor 'w': invalid shape: dimension -1 is negative"),
        ([UInt8](header: "{\"w\": [}", data: 0), "header is not valid JSON"),
        ([UInt8](header: "{\"w\": \"\u{FF}\"}", data: 0).map { $0 == 0xC3 ? 0xFF : $0 }, "header is not valid JSON: invalid UTF-8"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", data: 8), "tensor 'w': data_offsets [8, 0] run backwards"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 4294967296], \"data_offsets\": [0, 8]}}", data: 8), "tensor 'w': invalid shape: [4294967296, 4294967296, 4294967296] has too many elements"),
        ([UInt8](header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", data: 12), "data bytes 4..<8 belong to no tensor"),
        ([UInt8](header: "{\"w\": {\"dtype\": \"Q4\", \"shape\": [2], \"data_offsets\": [0, 8]}}", data: 8), "tensor 'w': unknown dtype \"Q4\""),
    ])
    func damagedFileIsOneLineAndExitOne(bytes: [UInt8], problem: String) throws {
        let directory = NSTemporaryDirectory() + "amalgam-cli-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        for target in [path, directory] {
            let result = try CLI.run(["inspect", target])
            #expect(result.status == 1)
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("Error: \(path): "), "\(result.stderr)")
            #expect(result.stderr.contains(problem), "\(result.stderr)")
        }
    }

    @Test func missingFolderIsARuntimeError() throws {
        let result = try CLI.run(["inspect", "zoo/no-such-model"])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: zoo/no-such-model: does not exist\n")
    }

    @Test func usageErrorsExitAsArgumentParserReports() throws {
        #expect(try CLI.run(["inspect"]).status == 64)
        #expect(try CLI.run(["inspect", "zoo/tiny-llama", "--no-such-flag"]).status == 64)
        #expect(try CLI.run(["no-such-command"]).status == 64)
    }
}

extension [UInt8] {
    /// A safetensors file: length prefix (or a lying one), JSON header, `data` bytes.
    init(header: String, prefix: UInt64? = nil, data: Int = 0) {
        let json = Array(header.utf8)
        self = Swift.withUnsafeBytes(of: (prefix ?? UInt64(json.count)).littleEndian) { Array($0) } + json + [UInt8](repeating: 7, count: data)
    }
}
