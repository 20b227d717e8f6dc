import Testing
@testable import GRPCNGHTTP2

@Suite struct PercentEncodingTests {
    @Test func plainASCIIStaysAsItIs() {
        #expect(PercentEncoding.encode("unknown service x.Y") == "unknown service x.Y")
    }

    @Test func encodesPercentControlAndNonASCIIBytes() {
        #expect(PercentEncoding.encode("100%\n") == "100%25%0A")
        #expect(PercentEncoding.encode("é") == "%C3%A9")
    }

    @Test func decodeInvertsEncode() {
        for text in ["a%b", "line\nbreak", "日本語", "", "%", "tab\t"] {
            #expect(PercentEncoding.decode(PercentEncoding.encode(text)) == text)
        }
    }

    @Test func decodeKeepsMalformedSequences() {
        #expect(PercentEncoding.decode("50%") == "50%")
        #expect(PercentEncoding.decode("%zz%4") == "%zz%4")
        #expect(PercentEncoding.decode("%41%62") == "Ab")
    }
}
