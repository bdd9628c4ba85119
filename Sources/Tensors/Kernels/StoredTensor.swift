/// A tensor's elements as stored, in one of the dtypes Amalgam computes with (F32, F16, BF16):
/// a view of memory someone else owns (an arena, a model's weights), read as Float32 by exact
/// widening (`FloatConversion`). Weights kept at their stored width take half the memory of
/// Float32 copies; the forward pass widens them tile by tile as it multiplies.
///
/// `@unchecked Sendable`: a read-only view (a raw pointer is not Sendable); the memory's owner
/// keeps it alive and unchanged while any view is read (`TensorArena`'s loans, `DecoderWeights`).
public struct StoredTensor: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let dtype: DType
    public let count: Int

    public init(base: UnsafeRawPointer, dtype: DType, count: Int) {
        precondition(dtype.isFloat32Convertible, "StoredTensor holds F32, F16 or BF16")
        self.base = base
        self.dtype = dtype
        self.count = count
    }

    public init(_ floats: UnsafeBufferPointer<Float>) {
        self.init(base: UnsafeRawPointer(floats.baseAddress ?? Self.empty), dtype: .f32, count: floats.count)
    }

    /// Where an empty tensor points (never read, never written: `nonisolated(unsafe)` is only
    /// for the pointer type).
    nonisolated(unsafe) private static let empty = UnsafePointer<Float>(UnsafeMutablePointer<Float>.allocate(capacity: 1))

    public var byteCount: Int { count * dtype.byteWidth }

    /// The elements themselves when stored as Float32 (no copy).
    public var floats: UnsafePointer<Float>? {
        dtype == .f32 ? base.assumingMemoryBound(to: Float.self) : nil
    }

    /// Rows `rows` of a row-major matrix whose rows are `width` long (a fused tensor's part).
    public func rows(_ rows: Range<Int>, width: Int) -> StoredTensor {
        StoredTensor(base: base + rows.lowerBound * width * dtype.byteWidth, dtype: dtype, count: rows.count * width)
    }

    /// Widens elements `range` into `destination` (exact for every bit pattern).
    public func decode(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let width = dtype.byteWidth
        FloatConversion.decode(dtype, from: UnsafeRawBufferPointer(start: base + range.lowerBound * width, count: range.count * width),
                               into: UnsafeMutableBufferPointer(start: destination, count: range.count), threads: threads)
    }
}
