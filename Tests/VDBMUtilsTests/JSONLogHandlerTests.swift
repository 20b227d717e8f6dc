import Logging
import Synchronization
import Testing
@testable import VDBMUtils

@Suite struct JSONLogHandlerTests {
    @Test func formatWritesFixedFieldsThenSortedMetadata() {
        let line = JSONLogHandler.format(
            timestamp: "2026-01-01T00:00:00.000Z", level: .info, message: "rpc", label: "vdbm",
            metadata: ["status": "OK", "duration_ms": .stringConvertible(1.5), "count": .stringConvertible(3)])
        #expect(line == #"{"ts":"2026-01-01T00:00:00.000Z","level":"info","msg":"rpc","logger":"vdbm","count":3,"duration_ms":1.5,"status":"OK"}"# + "\n")
    }

    @Test func formatEscapesQuotesNewlinesAndControlCharacters() {
        let line = JSONLogHandler.format(timestamp: "t", level: .error, message: "a \"b\"\n\u{01}", label: "l",
                                         metadata: ["k\\": "tab\there"])
        #expect(line.contains(#""msg":"a \"b\"\n\u0001""#))
        #expect(line.contains(#""k\\":"tab\there""#))
    }

    @Test func formatKeepsNestedArraysAndDictionaries() {
        let line = JSONLogHandler.format(timestamp: "t", level: .debug, message: "m", label: "l",
                                         metadata: ["list": ["a", .stringConvertible(true)], "map": ["x": "1"]])
        #expect(line.contains(#""list":["a",true]"#))
        #expect(line.contains(#""map":{"x":"1"}"#))
    }

    @Test func metadataCannotOverwriteTheFixedFields() {
        let line = JSONLogHandler.format(timestamp: "t", level: .info, message: "m", label: "l", metadata: ["msg": "evil"])
        #expect(!line.contains("evil"))
    }

    @Test func handlerMergesLoggerAndCallMetadataIntoOneLine() {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "test") { label in
            JSONLogHandler(label: label, level: .info) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "request_id"] = "r1"
        logger.debug("hidden")
        logger.info("shown", metadata: ["method": "/a/b"])
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        #expect(written[0].hasSuffix(#""logger":"test","method":"/a/b","request_id":"r1"}"# + "\n"))
    }

    @Test func timestampIsRFC3339UTCWithMilliseconds() {
        let stamp = JSONLogHandler.timestamp()
        #expect(stamp.count == 24)
        #expect(stamp.hasSuffix("Z"))
        #expect(Array(stamp)[10] == "T")
    }
}

@Suite struct JSONStringTests {
    @Test func quotesPlainTextUnchanged() {
        #expect(JSONString.quote("plain text é ✓") == "\"plain text é ✓\"")
    }

    @Test func escapesEveryCharacterJSONRequires() {
        #expect(JSONString.quote("\"\\\n\r\t\u{0}\u{1f}") == #""\"\\\n\r\t\u0000\u001f""#)
    }
}
