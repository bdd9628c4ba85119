import Testing
@testable import Tensors

/// Every way a header can lie, each refused with a `SafetensorsError` naming file and tensor.
@Suite struct CorruptSafetensorsTests {
    func open(_ bytes: [UInt8]) throws -> (String, Result<SafetensorsFile, SafetensorsError>) {
        let directory = try TemporaryDirectory()
        let path = try directory.write("model.safetensors", bytes)
        do {
            return (path, .success(try SafetensorsFile(path: path)))
        } catch {
            return (path, .failure(error))
        }
    }

    func expectError(_ bytes: [UInt8], tensor: String? = nil, _ reason: SafetensorsError.Reason, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (path, result) = try open(bytes)
        guard case .failure(let error) = result else {
            Issue.record("opened a corrupt file", sourceLocation: sourceLocation)
            return
        }
        #expect(error == SafetensorsError(file: path, tensor: tensor, reason), sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix(path), sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    }

    func entry(_ name: String, _ dtype: String = "F32", _ shape: String = "[2]", _ offsets: String = "[0, 8]") -> String {
        "\"\(name)\": {\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": \(offsets)}"
    }

    @Test func tooShortForTheLength() throws {
        try expectError([1, 0, 0], .tooShort(fileSize: 3))
    }

    @Test func headerLengthBeyondFile() throws {
        try expectError(Fixture.safetensors(header: "{}", lengthPrefix: 500), .headerLengthBeyondFile(headerLength: 500, fileSize: 10))
    }

    @Test func absurdHeaderLength() throws {
        try expectError(Fixture.safetensors(header: "{}", lengthPrefix: UInt64.max), .headerTooLarge(headerLength: UInt64.max))
    }

    @Test func invalidUTF8() throws {
        var bytes = Fixture.safetensors(header: "{\"a\": 1}")
        bytes[10] = 0xFF
        try expectError(bytes, .invalidJSON("invalid UTF-8 at byte 2"))
    }

    @Test func invalidJSON() throws {
        try expectError(Fixture.safetensors(header: "{\"a\": "), .invalidJSON("unexpected end of document at byte 6"))
    }

    @Test func headerNotAnObject() throws {
        try expectError(Fixture.safetensors(header: "[1]"), .invalidHeader("is an array, not an object"))
    }

    @Test func duplicateNames() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w")), \(entry("w"))}", data: 8), tensor: "w", .duplicateTensor)
    }

    @Test func unknownDType() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F128"))}", data: 8), tensor: "w", .unknownDType("F128"))
    }

    @Test func negativeDimension() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", "[-2]"))}", data: 8), tensor: "w",
                        .invalidShape("dimension -2 is negative"))
    }

    @Test func fractionalDimension() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", "[2.5]"))}", data: 8), tensor: "w",
                        .invalidShape("dimension 2.5 is not an integer in range"))
    }

    @Test func absurdDimensions() throws {
        let shape = "[4294967296, 4294967296, 4294967296]"
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", shape))}", data: 8), tensor: "w",
                        .invalidShape("[4294967296, 4294967296, 4294967296] has too many elements"))
    }

    @Test func shapeNotAnArray() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", "\"2\""))}", data: 8), tensor: "w",
                        .invalidShape("shape is a string, not an array"))
    }

    @Test func offsetsBackwards() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", "[2]", "[8, 0]"))}", data: 8), tensor: "w",
                        .offsetsBackwards(begin: 8, end: 0))
    }

    @Test func offsetsOutsideTheDataRegion() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", "[4]", "[0, 16]"))}", data: 8), tensor: "w",
                        .offsetsOutsideData(begin: 0, end: 16, dataLength: 8))
    }

    @Test func offsetsBeyondAnyInteger() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F32", "[2]", "[0, 99999999999999999999]"))}", data: 8), tensor: "w",
                        .invalidHeader("data_offsets [0,99999999999999999999] is not a pair of non-negative integers"))
    }

    @Test func byteLengthDisagreesWithShape() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "BF16", "[2]", "[0, 8]"))}", data: 8), tensor: "w",
                        .byteLengthMismatch(begin: 0, end: 8, expected: 4))
    }

    @Test func overlappingRanges() throws {
        let header = "{\(entry("a", "F32", "[2]", "[0, 8]")), \(entry("b", "F32", "[2]", "[4, 12]"))}"
        try expectError(Fixture.safetensors(header: header, data: 12), tensor: "b", .overlaps(other: "a"))
    }

    @Test func gapBetweenTensors() throws {
        let header = "{\(entry("a", "F32", "[1]", "[0, 4]")), \(entry("b", "F32", "[1]", "[8, 12]"))}"
        try expectError(Fixture.safetensors(header: header, data: 12), .uncoveredBytes(from: 4, to: 8))
    }

    @Test func trailingBytesNoTensorClaims() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("a"))}", data: 12), .uncoveredBytes(from: 8, to: 12))
    }

    @Test func missingField() throws {
        try expectError(Fixture.safetensors(header: #"{"w": {"dtype": "F32", "shape": [2]}}"#, data: 8), tensor: "w",
                        .invalidHeader("entry has no data_offsets"))
    }

    @Test func unknownField() throws {
        let header = #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "stride": [1]}}"#
        try expectError(Fixture.safetensors(header: header, data: 8), tensor: "w", .invalidHeader("entry has unknown field 'stride'"))
    }

    @Test func metadataValuesMustBeStrings() throws {
        let header = #"{"__metadata__": {"format": 1}}"#
        try expectError(Fixture.safetensors(header: header), .invalidHeader("__metadata__.format is a number, not a string"))
    }

    @Test func subByteTypesMustFillBytes() throws {
        try expectError(Fixture.safetensors(header: "{\(entry("w", "F4", "[3]", "[0, 2]"))}", data: 2), tensor: "w",
                        .invalidShape("[3] of F4 does not fill whole bytes"))
    }

    @Test func validEdgeCasesOpen() throws {
        // Zero-size tensors, a scalar, space padding after the JSON, F4 packing: all legal.
        let header = "{\(entry("empty", "F32", "[0, 3]", "[0, 0]")), \(entry("s", "F32", "[]", "[0, 4]")), \(entry("p", "F4", "[4]", "[4, 6]"))}    "
        let (_, result) = try open(Fixture.safetensors(header: header, data: 6))
        let file = try result.get()
        #expect(file.tensors.map(\.elementCount) == [0, 1, 4])
        #expect(try file.floats(#require(file.tensor(named: "empty"))) == [])
    }

    @Test func emptyHeaderAndNoData() throws {
        let (_, result) = try open(Fixture.safetensors(header: "{}"))
        #expect(try result.get().tensors.isEmpty)
    }

    @Test func directoryIsNotAFile() throws {
        let directory = try TemporaryDirectory()
        #expect { try SafetensorsFile(path: directory.path) } throws: {
            ($0 as? SafetensorsError)?.reason == .unreadable("not a regular file")
        }
        #expect { try SafetensorsFile(path: directory.path + "/absent.safetensors") } throws: {
            ($0 as? SafetensorsError)?.reason == .unreadable("No such file or directory")
        }
    }
}
