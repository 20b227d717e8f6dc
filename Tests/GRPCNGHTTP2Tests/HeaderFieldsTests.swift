import CNGHTTP2
import Testing
@testable import GRPCNGHTTP2

@Suite struct HeaderFieldsTests {
    @Test func aFieldAddedUnindexedReachesNGHTTP2WithNoIndex() {
        var headers = HeaderFields([(":status", "200")])
        headers.add("x-request-id", "c1-7", indexed: false)
        let flags = headers.withNameValueArray { fields, count in (0..<count).map { fields![$0].flags } }
        #expect(flags == [UInt8(NGHTTP2_NV_FLAG_NONE.rawValue), UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue)])
        #expect(headers.pairs.map(\.value) == ["200", "c1-7"])
    }

    @Test func theRequestIDBesideAStaticBlockIsNeverIndexed() {
        let block = StaticHeaderBlock([(":status", "200"), ("content-type", "application/grpc")])
        let headers = StaticHeaderBlockAndField(block: block, name: "x-request-id", value: "rid-1")
        let fields = headers.withNameValueArray { fields, count in
            (0..<count).map { index in
                let field = fields![index]
                let name = String(decoding: UnsafeBufferPointer(start: field.name, count: field.namelen), as: UTF8.self)
                let value = String(decoding: UnsafeBufferPointer(start: field.value, count: field.valuelen), as: UTF8.self)
                return (name, value, field.flags)
            }
        }
        #expect(fields.map(\.0) == [":status", "content-type", "x-request-id"])
        #expect(fields[2].1 == "rid-1" && fields[2].2 == UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue))
    }
}
