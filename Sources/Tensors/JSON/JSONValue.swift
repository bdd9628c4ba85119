/// A JSON document as written, keys in file order and numbers as their literal text.
///
/// Why not Foundation's JSONSerialization: safetensors headers must be distrusted, and that means
/// rejecting duplicate keys (Foundation keeps the last), reading 64-bit offsets exactly (Foundation
/// goes through Double past 2⁵³) and rewriting config.json without reordering a user's keys.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The object's members, or nil when this is not an object.
    public var object: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }

    /// The array's elements, or nil when this is not an array.
    public var array: [JSONValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The string, or nil when this is not a string.
    public var string: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The number, or nil when this is not a number.
    public var number: JSONNumber? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// The Boolean, or nil when this is not a Boolean.
    public var bool: Bool? {
        if case .bool(let bool) = self { return bool }
        return nil
    }

    /// A short name of the value's kind, for error messages ("a string", "an array").
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a Boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A JSON number kept as its literal text, so that integers of any size read back exactly.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The text as it stands in the document (`12`, `-0.5`, `1e-6`, or Python's `NaN`/`Infinity`).
    public let literal: String

    /// A number from its literal text; the parser guarantees the grammar.
    init(literal: String) { self.literal = literal }

    /// An integer number.
    public init(_ value: Int) { literal = String(value) }

    /// A floating-point number, written as Python's `json` writes it (`1.0`, `NaN`, `-Infinity`).
    public init(_ value: Double) {
        if value.isNaN {
            literal = "NaN"
        } else if value.isInfinite {
            literal = value < 0 ? "-Infinity" : "Infinity"
        } else {
            literal = String(value)
        }
    }

    /// The value as an `Int` when the literal is an integer that fits, else nil (no rounding).
    public var int: Int? { Int(literal) }

    /// The value as a `Double` (nearest), including Python's non-finite literals.
    public var double: Double? {
        switch literal {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(literal)
        }
    }

    public var description: String { literal }
}

/// A JSON object's members in document order; keys are unique (the parser refuses duplicates).
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var members: [Member]

    public init(_ members: [Member] = []) { self.members = members }

    /// Members from key/value pairs; a later duplicate key replaces the earlier value in place.
    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        members = []
        for (key, value) in pairs { self[key] = value }
    }

    public var keys: [String] { members.map(\.key) }
    public var count: Int { members.count }

    /// The value for `key` (compared byte for byte, not by canonical equivalence); setting nil
    /// removes the member, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value }
        set {
            let index = members.firstIndex { $0.key.utf8.elementsEqual(key.utf8) }
            switch (index, newValue) {
            case (let i?, let value?): members[i].value = value
            case (let i?, nil): members.remove(at: i)
            case (nil, let value?): members.append(Member(key: key, value: value))
            case (nil, nil): break
            }
        }
    }
}
