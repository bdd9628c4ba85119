/// A tensor to be written: its name, stored dtype and shape.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount * dtype.bitWidth / 8 }
}

/// Where every tensor of a model goes: which shard, at which file offset. Planned before any
/// byte is written, so tensors can then be written in any order, from any thread.
///
/// Sharding follows mergekit's `TensorWriter`: tensors in the given order fill a shard until the
/// next one would push it past `maxShardSize` (tensor bytes only); a tensor larger than the limit
/// gets a shard of its own. One shard is `model.safetensors`; several are
/// `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json`, as transformers names them.
public struct SafetensorsLayout: Sendable {
    public struct Shard: Sendable {
        public let fileName: String
        public let tensors: [TensorSpec]
        /// The complete header: length prefix, JSON, space padding to a multiple of 8.
        public let headerBytes: [UInt8]
        public var dataOffset: Int { headerBytes.count }
        public let dataLength: Int
    }

    public struct Location: Sendable {
        public let shard: Int
        public let spec: TensorSpec
        /// Absolute byte offset in the shard file.
        public let fileOffset: Int
    }

    public static let indexFileName = "model.safetensors.index.json"
    /// mergekit's default `--max-shard-size` (`5B`, five billion bytes).
    public static let defaultMaxShardSize = 5_000_000_000

    public let shards: [Shard]
    public let locations: [String: Location]
    public let totalSize: Int

    /// Plans `tensors` (names must be unique) into shards of at most `maxShardSize` bytes.
    public init(tensors: [TensorSpec], maxShardSize: Int = defaultMaxShardSize, metadata: [(key: String, value: String)] = [("format", "pt")]) {
        var groups: [[TensorSpec]] = []
        var current: [TensorSpec] = []
        var currentSize = 0
        for tensor in tensors {
            if !current.isEmpty, currentSize + tensor.byteCount > maxShardSize {
                groups.append(current)
                current = []
                currentSize = 0
            }
            current.append(tensor)
            currentSize += tensor.byteCount
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }

        var shards: [Shard] = []
        var locations: [String: Location] = [:]
        for (index, group) in groups.enumerated() {
            let name = groups.count == 1
                ? "model.safetensors"
                : "model-\(Self.fiveDigits(index + 1))-of-\(Self.fiveDigits(groups.count)).safetensors"
            var header = JSONObject()
            if !metadata.isEmpty {
                var meta = JSONObject()
                for (key, value) in metadata { meta[key] = .string(value) }
                header["__metadata__"] = .object(meta)
            }
            var offset = 0
            for tensor in group {
                header[tensor.name] = .object(JSONObject([
                    "dtype": .string(tensor.dtype.rawValue),
                    "shape": .array(tensor.shape.map { .number(JSONNumber($0)) }),
                    "data_offsets": .array([.number(JSONNumber(offset)), .number(JSONNumber(offset + tensor.byteCount))]),
                ]))
                offset += tensor.byteCount
            }
            var json = Array(JSONValue.object(header).serialized().utf8)
            while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
            var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
            bytes += json
            var position = bytes.count
            for tensor in group {
                locations[tensor.name] = Location(shard: index, spec: tensor, fileOffset: position)
                position += tensor.byteCount
            }
            shards.append(Shard(fileName: name, tensors: group, headerBytes: bytes, dataLength: offset))
        }
        self.shards = shards
        self.locations = locations
        totalSize = tensors.reduce(0) { $0 + $1.byteCount }
    }

    /// The index file's JSON (nil for a single shard): `metadata.total_size` and `weight_map`
    /// with names sorted, as transformers writes it.
    public var indexJSON: String? {
        guard shards.count > 1 else { return nil }
        var weightMap = JSONObject()
        for name in locations.keys.sorted() {
            if let location = locations[name] { weightMap[name] = .string(shards[location.shard].fileName) }
        }
        let index = JSONObject([
            "metadata": .object(JSONObject(["total_size": .number(JSONNumber(totalSize))])),
            "weight_map": .object(weightMap),
        ])
        return JSONValue.object(index).serialized(indent: 2) + "\n"
    }

    private static func fiveDigits(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}
