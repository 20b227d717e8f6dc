import CVDBMProtos
import Testing
import VDBMUtils
@testable import VDBMProtobuf

@Suite struct OTLPTraceExportTests {
    private func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        data.len == 0 ? [] : Array(UnsafeBufferPointer(start: data.data, count: data.len))
    }

    private func text(_ data: ProtobufCBinaryData) -> String { String(decoding: bytes(data), as: UTF8.self) }

    @Test func spansEncodeAsOTLPReadsThem() throws {
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "a=b",
                                 requestID: nil, fallbackRequestID: "r")
        let server = SpanRecord(trace: trace, spanID: 0x1122_3344_5566_7788, parentSpanID: 0x00f0_67aa_0ba9_02b7,
                                name: "vdbm.v1.VectorDB/Search", kind: .server, startNanos: 10, endNanos: 25,
                                attributes: [("rpc.method", .string("Search")), ("rpc.grpc.status_code", .int(14)),
                                             ("vdbm.milvus.retry", .bool(true))],
                                error: "Milvus is down")
        let batch = SpanRecord(trace: trace, spanID: 9, parentSpanID: 0, name: "vdbm.search.batch", kind: .internal,
                               startNanos: 11, endNanos: 20,
                               links: [SpanRecord.Link(traceHigh: 1, traceLow: 2, spanID: 3)])
        let request = OTLPTraceExport.request([server, batch],
                                              from: .init(serviceName: "vdbm", serviceVersion: "0.4.0", attributes: ["k": "v"]))

        let message = try #require(request.withUnsafeBufferPointer {
            opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(nil, $0.count, $0.baseAddress)
        })
        defer { opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(message, nil) }
        try #require(message.pointee.n_resource_spans == 1)
        let resourceSpans = try #require(message.pointee.resource_spans[0])
        let resource = try #require(resourceSpans.pointee.resource)
        let resourceAttributes = (0..<resource.pointee.n_attributes).map { index -> (String, String) in
            let pair = resource.pointee.attributes[index]!.pointee
            return (text(pair.key), text(pair.value!.pointee.string_value))
        }
        #expect(resourceAttributes.map(\.0) == ["service.name", "service.version", "k"])
        #expect(resourceAttributes.map(\.1) == ["vdbm", "0.4.0", "v"])
        let scopeSpans = try #require(resourceSpans.pointee.scope_spans[0])
        #expect(text(scopeSpans.pointee.scope!.pointee.name) == "vdbm")
        try #require(scopeSpans.pointee.n_spans == 2)

        let first = scopeSpans.pointee.spans[0]!.pointee
        #expect(bytes(first.trace_id) == [0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                          0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36])
        #expect(bytes(first.span_id) == [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88])
        #expect(bytes(first.parent_span_id) == [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        #expect(text(first.trace_state) == "a=b")
        #expect(text(first.name) == "vdbm.v1.VectorDB/Search")
        #expect(first.kind == 2 && first.start_time_unix_nano == 10 && first.end_time_unix_nano == 25)
        #expect(first.status?.pointee.code == 2 && text(first.status!.pointee.message) == "Milvus is down")
        try #require(first.n_attributes == 3)
        let values = (0..<3).map { first.attributes[$0]!.pointee.value!.pointee }
        #expect(text(values[0].string_value) == "Search")
        #expect(values[1].value_case == OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__ANY_VALUE__VALUE_INT_VALUE
                && values[1].int_value == 14)
        #expect(values[2].value_case == OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__ANY_VALUE__VALUE_BOOL_VALUE
                && values[2].bool_value != 0)

        let second = scopeSpans.pointee.spans[1]!.pointee
        #expect(second.parent_span_id.len == 0 && second.status == nil && second.kind == 1)
        try #require(second.n_links == 1)
        let link = second.links[0]!.pointee
        #expect(bytes(link.trace_id) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])
        #expect(bytes(link.span_id) == [0, 0, 0, 0, 0, 0, 0, 3])
    }

    @Test func theCollectorsAnswerSaysWhatItRefused() throws {
        #expect(try OTLPTraceExport.rejected(inResponse: []) == (0, ""))
        // partial_success { rejected_spans: 2, error_message: "full" }
        let answer: [UInt8] = [0x0A, 0x08, 0x08, 0x02, 0x12, 0x04] + Array("full".utf8)
        #expect(try OTLPTraceExport.rejected(inResponse: answer) == (2, "full"))
        #expect(throws: ProtobufDecodingError.self) { try OTLPTraceExport.rejected(inResponse: [0x0A, 0x09, 0x08]) }
    }
}
