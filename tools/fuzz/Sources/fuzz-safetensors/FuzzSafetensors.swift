import FuzzSupport
import Tensors

/// A whole safetensors file as bytes, read the way `SafetensorsFile` reads one: the length
/// prefix checked against the size, the JSON header decoded and validated, then every numeric
/// tensor converted from the data region (the ranges the header promised must hold).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ start: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let bytes = fuzzBytes(start, count)
    let file = "fuzz.safetensors"
    guard bytes.count >= 8 else { return 0 }
    let prefix = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    do {
        let length = try SafetensorsHeader.headerLength(prefix: prefix, fileSize: bytes.count, file: file)
        let header = try SafetensorsHeader(json: bytes[8..<8 + length], dataLength: bytes.count - 8 - length, file: file)
        bytes.withUnsafeBytes { raw in
            for tensor in header.tensors {
                // Unsafe buffers are not bounds-checked in release builds: check the promise here.
                if header.dataOffset + tensor.dataRange.upperBound > raw.count { fatalError("\(tensor.name) ends past the file") }
                if tensor.elementCount * tensor.dtype.bitWidth != tensor.byteCount * 8 { fatalError("\(tensor.name) has the wrong length") }
                guard tensor.dtype.isFloat32Convertible else { continue }
                let data = UnsafeRawBufferPointer(rebasing: raw[header.dataOffset + tensor.dataRange.lowerBound..<header.dataOffset + tensor.dataRange.upperBound])
                var values = [Float](repeating: 0, count: tensor.elementCount)
                values.withUnsafeMutableBufferPointer { FloatConversion.decode(tensor.dtype, from: data, into: $0) }
            }
        }
        _ = header.tensors.reduce(0) { $0 &+ $1.elementCount &+ $1.byteCount }
    } catch {
        _ = error.description
    }
    return 0
}
