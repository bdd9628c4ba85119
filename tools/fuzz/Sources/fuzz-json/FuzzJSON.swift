import FuzzSupport
import Tensors

/// The JSON parser, strict and with Python's non-finite numbers; a parsed document is written
/// back, compact and indented, and must parse again to the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = fuzzBytes(start, count)
    for allowNonFinite in [false, true] {
        do {
            let value = try JSONParser(allowNonFinite: allowNonFinite).parse(bytes)
            for indent in [nil, 2] {
                let text = value.serialized(indent: indent)
                let again = try JSONParser(allowNonFinite: allowNonFinite).parse(Array(text.utf8))
                if again != value { fatalError("JSON round trip changed the document: \(text)") }
            }
        } catch {
            _ = error.description
        }
    }
    return 0
}
