import Foundation
import FuzzSupport
import Tensors

/// A `model.safetensors.index.json`: its weight map parsed from bytes and, when it parses, the
/// whole folder opened with that index beside the two shards of the sharded golden fixture, so
/// the cross-checks between index and shards run too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndex(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = fuzzBytes(start, count)
    let indexPath = folder + "/" + SafetensorsLayout.indexFileName
    do {
        _ = try ModelFolder.weightMap(json: bytes, file: indexPath)
    } catch {
        _ = error.description
        return 0
    }
    guard FileManager.default.createFile(atPath: indexPath, contents: Data(bytes)) else { return 0 }
    do {
        let model = try ModelFolder(path: folder)
        _ = (model.tensors, model.parameterCount, model.layersInTensorNames)
    } catch {
        _ = String(describing: error)
    }
    return 0
}

/// A folder of this process's own holding the fixture's shards (copied once); the index is
/// rewritten for every input.
let folder: String = {
    let path = NSTemporaryDirectory() + "amalgam-fuzz-index-\(ProcessInfo.processInfo.processIdentifier)"
    let shards = repositoryRoot + "/Tests/TensorsTests/Fixtures/golden/sharded"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for name in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
        try? FileManager.default.removeItem(atPath: path + "/" + name)
        try? FileManager.default.copyItem(atPath: shards + "/" + name, toPath: path + "/" + name)
    }
    return path
}()
