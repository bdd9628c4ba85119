/// Why a safetensors file (or one tensor in it) cannot be used, with the file and tensor named.
///
/// The description is one sentence a user can act on:
/// `model.safetensors: tensor 'lm_head.weight': data_offsets [0, 96] span 96 bytes but shape [4, 8] of F32 needs 128`.
public struct SafetensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The operating system refused to open, stat or map the file.
        case unreadable(String)
        /// Fewer than the 8 bytes of the header length.
        case tooShort(fileSize: Int)
        /// The header length points past the end of the file.
        case headerLengthBeyondFile(headerLength: UInt64, fileSize: Int)
        /// Over the safetensors library's limit of 100 MB for a header.
        case headerTooLarge(headerLength: UInt64)
        /// The header is not valid UTF-8 JSON (the parser's reason).
        case invalidJSON(String)
        /// The header is JSON but not of the safetensors shape (a field missing or mistyped).
        case invalidHeader(String)
        /// The same tensor name appears twice in the header.
        case duplicateTensor
        case unknownDType(String)
        /// A dimension that is negative, not an integer, or a shape whose size overflows.
        case invalidShape(String)
        /// `data_offsets` with `begin > end`.
        case offsetsBackwards(begin: Int, end: Int)
        /// `data_offsets` past the end of the data region.
        case offsetsOutsideData(begin: Int, end: Int, dataLength: Int)
        /// The byte range does not equal shape × dtype size.
        case byteLengthMismatch(begin: Int, end: Int, expected: Int)
        /// Two tensors claim overlapping bytes.
        case overlaps(other: String)
        /// Bytes of the data region that no tensor claims (the format requires full coverage).
        case uncoveredBytes(from: Int, to: Int)
        /// A dtype that Amalgam cannot read as numbers, where numbers are needed.
        case notNumeric(DType)
        /// The destination buffer does not hold exactly the tensor's elements.
        case elementCountMismatch(expected: Int, actual: Int)
        /// A writer failure (disk full, permission), with the system's reason.
        case writeFailed(String)
    }

    public let file: String
    public let tensor: String?
    public let reason: Reason

    public init(file: String, tensor: String? = nil, _ reason: Reason) {
        self.file = file
        self.tensor = tensor
        self.reason = reason
    }

    public var description: String {
        let subject = tensor.map { "\(file): tensor '\($0)'" } ?? file
        return "\(subject): \(reasonText)"
    }

    private var reasonText: String {
        switch reason {
        case .unreadable(let why): "cannot be read (\(why))"
        case .tooShort(let size): "is \(size) bytes long, too short for a safetensors header"
        case .headerLengthBeyondFile(let length, let size):
            "header length \(length) runs past the end of the file (\(size) bytes); the file is truncated or not safetensors"
        case .headerTooLarge(let length): "header length \(length) exceeds the 100 MB limit; the file is not safetensors"
        case .invalidJSON(let why): "header is not valid JSON: \(why)"
        case .invalidHeader(let why): "header \(why)"
        case .duplicateTensor: "appears twice in the header"
        case .unknownDType(let name): "unknown dtype \"\(name)\""
        case .invalidShape(let why): "invalid shape: \(why)"
        case .offsetsBackwards(let begin, let end): "data_offsets [\(begin), \(end)] run backwards"
        case .offsetsOutsideData(let begin, let end, let length):
            "data_offsets [\(begin), \(end)] lie outside the data region (\(length) bytes)"
        case .byteLengthMismatch(let begin, let end, let expected):
            "data_offsets [\(begin), \(end)] span \(end - begin) bytes but its shape and dtype need \(expected)"
        case .overlaps(let other): "overlaps tensor '\(other)'"
        case .uncoveredBytes(let from, let to): "data bytes \(from)..<\(to) belong to no tensor"
        case .notNumeric(let dtype): "has dtype \(dtype.rawValue); only F32, F16 and BF16 can be read as numbers"
        case .elementCountMismatch(let expected, let actual):
            "has \(expected) elements but the destination holds \(actual)"
        case .writeFailed(let why): "could not be written (\(why))"
        }
    }
}
