import Testing
@testable import GRPCNGHTTP2

@Suite struct RequestHeadersTests {
    private func headers(_ fields: [(String, String)], limit: Int = 16 * 1024) -> RequestHeaders {
        var headers = RequestHeaders()
        for (name, value) in fields { headers.add(name: name, value: value, limit: limit) }
        return headers
    }

    private let valid: [(String, String)] = [
        (":method", "POST"), (":scheme", "http"), (":path", "/a.B/C"), (":authority", "x"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ]

    @Test func acceptsAStandardGRPCRequest() {
        #expect(headers(valid).validate() == .valid)
        #expect(headers(valid).path == "/a.B/C")
    }

    @Test(arguments: ["application/grpc", "application/grpc+proto", "application/grpc;charset=utf-8"])
    func acceptsProtoContentTypes(contentType: String) {
        #expect(headers(valid.filter { $0.0 != "content-type" } + [("content-type", contentType)]).validate() == .valid)
    }

    @Test func otherMethodsAre405() {
        let fields = valid.map { $0.0 == ":method" ? (":method", "GET") : $0 }
        #expect(headers(fields).validate() == .httpError(status: 405))
    }

    @Test(arguments: ["text/plain", "application/json", ""])
    func nonGRPCContentTypesAre415(contentType: String) {
        let fields = valid.map { $0.0 == "content-type" ? ("content-type", contentType) : $0 }
        #expect(headers(fields).validate() == .httpError(status: 415))
    }

    @Test func missingContentTypeIs415() {
        #expect(headers(valid.filter { $0.0 != "content-type" }).validate() == .httpError(status: 415))
    }

    @Test func otherGRPCSubtypesAreUnimplemented() {
        let fields = valid.map { $0.0 == "content-type" ? ("content-type", "application/grpc+json") : $0 }
        guard case .grpcError(let status) = headers(fields).validate() else { Issue.record("expected a gRPC error"); return }
        #expect(status.code == .unimplemented)
    }

    @Test func unsupportedEncodingIsReported() {
        #expect(headers(valid + [("grpc-encoding", "gzip")]).validate() == .unsupportedEncoding("gzip"))
        #expect(headers(valid + [("grpc-encoding", "identity")]).validate() == .valid)
    }

    @Test func malformedTimeoutIsInternal() {
        guard case .grpcError(let status) = headers(valid + [("grpc-timeout", "soon")]).validate() else {
            Issue.record("expected a gRPC error"); return
        }
        #expect(status.code == .internal)
        #expect(headers(valid + [("grpc-timeout", "5S")]).timeout == "5S")
    }

    @Test func oversizedHeaderListIsResourceExhausted() {
        let big = headers(valid + [("x-big", String(repeating: "a", count: 2000))], limit: 1024)
        guard case .grpcError(let status) = big.validate() else { Issue.record("expected a gRPC error"); return }
        #expect(status.code == .resourceExhausted)
    }

    @Test func customMetadataIsKeptAndReservedHeadersAreNot() {
        let parsed = headers(valid + [("x-tenant", "blue"), ("trace-bin", "AQI="), ("grpc-accept-encoding", "gzip"),
                                      ("user-agent", "ua"), ("x-request-id", "r-1")])
        #expect(parsed.metadata[text: "x-tenant"] == "blue")
        #expect(parsed.metadata.entries.contains { $0.key == "trace-bin" && $0.value == .binary([1, 2]) })
        #expect(parsed.metadata.entries.map(\.key) == ["x-tenant", "trace-bin", "x-request-id"])
        #expect(parsed.requestID == "r-1")
    }

    @Test func invalidBinaryMetadataIsRejected() {
        guard case .grpcError(let status) = headers(valid + [("trace-bin", "!!")]).validate() else {
            Issue.record("expected a gRPC error"); return
        }
        #expect(status.code == .internal)
    }
}
