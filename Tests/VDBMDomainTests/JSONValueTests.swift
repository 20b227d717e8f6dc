import Testing
import VDBMDomain

@Suite struct JSONValueTests {
    @Test func parsesEveryKindAndWritesItBackCompactly() throws {
        let value = try JSONValue(parsing: #" { "a": [1, -2.5e3, true, false, null], "b": {"c": "x\"y\\z\u00e9\n"}, "n": 12345678901234567890 } "#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("x\"y\\zé\n"))
        // Numbers keep their text: no digit of a large integer is lost.
        #expect(value["n"] == .number("12345678901234567890"))
        #expect(value.text == #"{"a":[1,-2.5e3,true,false,null],"b":{"c":"x\"y\\zé\n"},"n":12345678901234567890}"#)
    }

    @Test func surrogatePairsAndControlCharactersRoundTrip() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude80""#) == .string("🚀"))
        #expect(JSONValue.string("a\u{0}b\u{1f}").text == #""a\u0000b\u001f""#)
        #expect(try JSONValue(parsing: JSONValue.string("a\u{0}b").text) == .string("a\u{0}b"))
    }

    @Test(arguments: [
        (#"{"color":"#, "unexpected end of text at byte 9"),
        ("{'a': 1}", "expected a member name in quotes at byte 1"),
        ("[1, 2", "expected ',' or ']' at byte 5"),
        ("01", "unexpected text after the value at byte 1"),
        ("1.", "expected a digit after '.' at byte 2"),
        ("nul", "expected 'null' at byte 3"),
        (#""\ud800""#, "lone surrogate in \\u escape at byte 7"),
        ("\"a\u{1}\"", "control character in a string at byte 2"),
        ("{} x", "unexpected text after the value at byte 3"),
        ("", "unexpected end of text at byte 0"),
    ])
    func malformedTextSaysWhatAndWhere(text: String, message: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: deep) }
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONValue(parsing: fine) }
    }
}
