/// A safetensors element type, spelled as in the file header.
///
/// The list is the safetensors library's (0.8): every one can be inspected; F32, F16 and BF16 are
/// the ones read as numbers (`isFloat32Convertible`).
public enum DType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6e2m3 = "F6_E2M3"
    case f6e3m2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8e5m2 = "F8_E5M2"
    case f8e4m3 = "F8_E4M3"
    case f8e8m0 = "F8_E8M0"
    case f8e4m3fnuz = "F8_E4M3FNUZ"
    case f8e5m2fnuz = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bits per element; F4 and F6 pack several elements into a byte.
    public var bitWidth: Int {
        switch self {
        case .f4: 4
        case .f6e2m3, .f6e3m2: 6
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3, .f8e8m0, .f8e4m3fnuz, .f8e5m2fnuz: 8
        case .i16, .u16, .f16, .bf16: 16
        case .i32, .u32, .f32: 32
        case .c64, .f64, .i64, .u64: 64
        }
    }

    /// Whether Amalgam reads this type as numbers (converted to Float32) and can write it.
    public var isFloat32Convertible: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// Bytes per element of the types Amalgam computes with (F32 4, F16 and BF16 2).
    public var byteWidth: Int { bitWidth / 8 }

    /// The dtype named by a recipe or a flag: torch's names (`bfloat16`, `float16`, `float32`),
    /// their short forms (`bf16`, `fp16`, `fp32`) or the header spelling (`BF16`).
    public init?(floatName name: String) {
        switch name.lowercased() {
        case "float32", "fp32", "f32": self = .f32
        case "float16", "fp16", "f16", "half": self = .f16
        case "bfloat16", "bf16": self = .bf16
        default: return nil
        }
    }
}
