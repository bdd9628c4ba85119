import Testing
@testable import Tensors

@Suite struct JSONParserTests {
    func parse(_ text: String, nonFinite: Bool = false) throws(JSONError) -> JSONValue {
        try JSONParser(allowNonFinite: nonFinite).parse(Array(text.utf8))
    }

    @Test func keepsKeyOrderAndLiteralNumbers() throws {
        let value = try parse(#" {"b": 1, "a": [true, null, -0.5e3, "x\u00e9\ud83d\ude00\n"], "big": 18446744073709551615} "#)
        let object = try #require(value.object)
        #expect(object.keys == ["b", "a", "big"])
        #expect(object["big"]?.number?.literal == "18446744073709551615")
        #expect(object["big"]?.number?.int == nil)
        #expect(object["a"]?.array?[2].number?.double == -500)
        #expect(object["a"]?.array?[3].string == "xé😀\n")
    }

    @Test func serializesBackToTheSameValue() throws {
        let text = #"{"a":[1,2.5,"q\"\\\t\u0001"],"b":{"c":null,"d":false}}"#
        let value = try parse(text)
        #expect(value.serialized() == text)
        #expect(try parse(value.serialized(indent: 2)) == value)
    }

    @Test(arguments: [
        (#"{"a": 1, "a": 2}"#, "duplicate key \"a\""),
        (#"{"a": 1,}"#, "expected a string key"),
        (#"[1 2]"#, "expected ',' or ']'"),
        (#""\ud800""#, "lone surrogate in \\u escape"),
        ("\"a\u{01}b\"", "control character in string"),
        (#"01"#, "leading zero in number"),
        (#"{} x"#, "unexpected content after the document"),
        (#"NaN"#, "unexpected character 'N'"),
        (#""\q""#, "invalid escape '\\q'"),
        ("", "unexpected end of document"),
    ])
    func rejects(text: String, reason: String) {
        #expect { try parse(text) } throws: { ($0 as? JSONError)?.reason == reason }
    }

    @Test func duplicateKeyIsReported() {
        #expect { try parse(#"{"x": {}, "x": {}}"#) } throws: { ($0 as? JSONError)?.duplicateKey == "x" }
    }

    @Test func invalidUTF8NamesTheOffset() {
        #expect { try JSONParser().parse([UInt8(ascii: "\""), 0x61, 0xC3, 0x28, UInt8(ascii: "\"")]) } throws: {
            ($0 as? JSONError) == JSONError(offset: 2, reason: "invalid UTF-8")
        }
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONError.self) { try parse(text) }
    }

    @Test func pythonNonFiniteOnlyWhenAllowed() throws {
        let value = try parse(#"[NaN, Infinity, -Infinity]"#, nonFinite: true)
        let numbers = try #require(value.array).compactMap { $0.number?.double }
        #expect(numbers.count == 3 && numbers[0].isNaN && numbers[1] == .infinity && numbers[2] == -.infinity)
        #expect(throws: JSONError.self) { try parse("[Infinity]") }
    }
}
