/// One tensor's entry in a safetensors header, validated against the file it came from.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data region (`data_offsets`).
    public let dataRange: Range<Int>

    public init(name: String, dtype: DType, shape: [Int], dataRange: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataRange = dataRange
    }

    /// Number of elements (1 for a scalar of shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { dataRange.count }
}

/// The decoded header of a safetensors file: tensors in header order and `__metadata__`.
///
/// Format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of UTF-8
/// JSON, then the data region. Validation follows the reference library and then some: every
/// range inside the data region, byte length equal to shape × dtype size, no overlaps, and every
/// data byte claimed by exactly one tensor; duplicate names refused rather than last-wins.
public struct SafetensorsHeader: Sendable, Equatable {
    /// The reference library's limit; a larger length means the file is not safetensors.
    public static let maxHeaderLength: UInt64 = 100_000_000

    public let tensors: [TensorInfo]
    /// `__metadata__` in header order (string to string, as the format requires).
    public let metadata: [(key: String, value: String)]
    /// N, the length of the JSON header including any padding.
    public let headerLength: Int

    /// Byte offset of the data region from the start of the file.
    public var dataOffset: Int { 8 + headerLength }

    public static func == (a: Self, b: Self) -> Bool {
        a.tensors == b.tensors && a.headerLength == b.headerLength
            && a.metadata.elementsEqual(b.metadata) { $0.key == $1.key && $0.value == $1.value }
    }

    /// Checks the 8-byte length prefix against the file size and returns N.
    public static func headerLength(prefix: UInt64, fileSize: Int, file: String) throws(SafetensorsError) -> Int {
        guard prefix <= maxHeaderLength else {
            throw SafetensorsError(file: file, .headerTooLarge(headerLength: prefix))
        }
        guard prefix <= UInt64(fileSize - 8) else {
            throw SafetensorsError(file: file, .headerLengthBeyondFile(headerLength: prefix, fileSize: fileSize))
        }
        return Int(prefix)
    }

    /// Decodes and validates the JSON header; `dataLength` is the file size minus 8 minus N.
    public init(json bytes: some Collection<UInt8>, dataLength: Int, file: String) throws(SafetensorsError) {
        headerLength = bytes.count
        let root: JSONValue
        do {
            root = try JSONParser().parse(bytes)
        } catch {
            if let name = error.duplicateKey {
                throw SafetensorsError(file: file, tensor: name, .duplicateTensor)
            }
            throw SafetensorsError(file: file, .invalidJSON(error.description))
        }
        guard let object = root.object else {
            throw SafetensorsError(file: file, .invalidHeader("is \(root.kindDescription), not an object"))
        }
        var tensors: [TensorInfo] = []
        var metadata: [(key: String, value: String)] = []
        for member in object.members {
            if member.key == "__metadata__" {
                metadata = try Self.metadata(member.value, file: file)
            } else {
                tensors.append(try Self.tensor(member.key, member.value, dataLength: dataLength, file: file))
            }
        }
        try Self.checkCoverage(tensors, dataLength: dataLength, file: file)
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func metadata(_ value: JSONValue, file: String) throws(SafetensorsError) -> [(key: String, value: String)] {
        guard let object = value.object else {
            throw SafetensorsError(file: file, .invalidHeader("__metadata__ is \(value.kindDescription), not an object"))
        }
        var pairs: [(key: String, value: String)] = []
        for member in object.members {
            guard let string = member.value.string else {
                throw SafetensorsError(
                    file: file, .invalidHeader("__metadata__.\(member.key) is \(member.value.kindDescription), not a string"))
            }
            pairs.append((member.key, string))
        }
        return pairs
    }

    private static func tensor(_ name: String, _ value: JSONValue, dataLength: Int, file: String) throws(SafetensorsError) -> TensorInfo {
        func fail(_ reason: SafetensorsError.Reason) -> SafetensorsError {
            SafetensorsError(file: file, tensor: name, reason)
        }
        guard let entry = value.object else {
            throw fail(.invalidHeader("entry is \(value.kindDescription), not an object"))
        }
        for key in entry.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw fail(.invalidHeader("entry has unknown field '\(key)'"))
        }
        guard let dtypeValue = entry["dtype"] else { throw fail(.invalidHeader("entry has no dtype")) }
        guard let dtypeName = dtypeValue.string else {
            throw fail(.invalidHeader("dtype is \(dtypeValue.kindDescription), not a string"))
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw fail(.unknownDType(dtypeName)) }

        guard let shapeValue = entry["shape"] else { throw fail(.invalidHeader("entry has no shape")) }
        guard let dims = shapeValue.array else {
            throw fail(.invalidShape("shape is \(shapeValue.kindDescription), not an array"))
        }
        var shape: [Int] = []
        var elements = 1
        for dim in dims {
            guard let literal = dim.number?.literal else {
                throw fail(.invalidShape("dimension \(dim.serialized()) is not a number"))
            }
            guard let size = Int(literal) else {
                throw fail(.invalidShape("dimension \(literal) is not an integer in range"))
            }
            guard size >= 0 else { throw fail(.invalidShape("dimension \(size) is negative")) }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw fail(.invalidShape("[\(dims.map { $0.serialized() }.joined(separator: ", "))] has too many elements"))
            }
            elements = product
            shape.append(size)
        }
        let (bits, bitsOverflow) = elements.multipliedReportingOverflow(by: dtype.bitWidth)
        guard !bitsOverflow else { throw fail(.invalidShape("\(shape) of \(dtype.rawValue) has too many elements")) }
        guard bits % 8 == 0 else {
            throw fail(.invalidShape("\(shape) of \(dtype.rawValue) does not fill whole bytes"))
        }

        guard let offsetsValue = entry["data_offsets"] else { throw fail(.invalidHeader("entry has no data_offsets")) }
        guard let offsets = offsetsValue.array, offsets.count == 2,
            let begin = offsets[0].number?.int, let end = offsets[1].number?.int, begin >= 0, end >= 0
        else {
            throw fail(.invalidHeader("data_offsets \(offsetsValue.serialized()) is not a pair of non-negative integers"))
        }
        guard begin <= end else { throw fail(.offsetsBackwards(begin: begin, end: end)) }
        guard end <= dataLength else { throw fail(.offsetsOutsideData(begin: begin, end: end, dataLength: dataLength)) }
        guard end - begin == bits / 8 else { throw fail(.byteLengthMismatch(begin: begin, end: end, expected: bits / 8)) }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
    }

    /// Every data byte belongs to exactly one tensor: sorted by offset, each range starts where
    /// the previous one ended, and the last ends at the end of the data region.
    private static func checkCoverage(_ tensors: [TensorInfo], dataLength: Int, file: String) throws(SafetensorsError) {
        let sorted = tensors.sorted {
            ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound)
        }
        var position = 0
        var previous: TensorInfo?
        for tensor in sorted {
            if tensor.dataRange.lowerBound < position, let previous {
                throw SafetensorsError(file: file, tensor: tensor.name, .overlaps(other: previous.name))
            }
            if tensor.dataRange.lowerBound > position {
                throw SafetensorsError(file: file, .uncoveredBytes(from: position, to: tensor.dataRange.lowerBound))
            }
            position = tensor.dataRange.upperBound
            if !tensor.dataRange.isEmpty { previous = tensor }
        }
        if position < dataLength {
            throw SafetensorsError(file: file, .uncoveredBytes(from: position, to: dataLength))
        }
    }
}
