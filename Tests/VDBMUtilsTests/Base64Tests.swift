import Testing
import VDBMUtils

@Suite struct Base64Tests {
    @Test func decodesPaddedAndUnpaddedForms() {
        #expect(Base64.decode("aGk=") == Array("hi".utf8))
        #expect(Base64.decode("aGk") == Array("hi".utf8))
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("-_8") == [0xFB, 0xFF])
    }

    @Test func rejectsCharactersOutsideTheAlphabets() {
        #expect(Base64.decode("a b") == nil)
        #expect(Base64.decode("a*") == nil)
    }

    @Test func encodeRoundTripsEveryLength() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8($0 * 29 % 256) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("hi".utf8)) == "aGk")
        #expect(Base64.encode(Array("hi".utf8), padded: true) == "aGk=")
        #expect(Base64.encode(Array("root:Milvus".utf8), padded: true) == "cm9vdDpNaWx2dXM=")
    }
}
