import Testing
import VDBMUtils
@testable import GRPCNGHTTP2

/// Answers with the span id its call runs under, as hex (what a Milvus call would name as its parent).
private struct SpanProbe: GRPCService {
    var serviceName: String { "test.Spans" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        [
            "Current": .async { _, _ in Array(TraceContext.hex(TraceContext.current?.spanID ?? 0).utf8) },
            "Unavailable": .async { _, _ in throw GRPCStatus(.unavailable, "Milvus is down") },
            "NotFound": .immediate { _, _ throws(GRPCStatus) in throw GRPCStatus(.notFound, "no such collection") },
        ]
    }
}

@Suite struct ServerSpanTests {
    private let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aSampledCallRecordsOneServerSpanThatItsWorkHangsBelow() async throws {
        let recorder = SpanRecorder(sampleRatio: 0)
        let harness = try await ServerHarness(services: [SpanProbe()], spanRecorder: recorder)
        let response = try await harness.call("/test.Spans/Current", [], headers: [("traceparent", parent),
                                                                                   ("x-request-id", "rid-1")])
        let handlerSpan = String(decoding: response.data.dropFirst(5), as: UTF8.self)
        let spans = recorder.take(upTo: 10)
        try #require(spans.count == 1)
        let span = spans[0]
        #expect(TraceContext.hex(span.traceHigh) + TraceContext.hex(span.traceLow) == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(span.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        #expect(TraceContext.hex(span.spanID) == handlerSpan)
        #expect(span.kind == .server && span.name == "test.Spans/Current" && span.error == nil)
        #expect(span.endNanos >= span.startNanos && span.startNanos > 1_700_000_000 * 1_000_000_000)
        let attributes = Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.key, $0.value) })
        #expect(attributes["rpc.system"] == .string("grpc"))
        #expect(attributes["rpc.service"] == .string("test.Spans"))
        #expect(attributes["rpc.method"] == .string("Current"))
        #expect(attributes["rpc.grpc.status_code"] == .int(0))
        #expect(attributes["vdbm.request_id"] == .string("rid-1"))
        #expect(attributes["client.address"] != nil)
    }

    @Test func serverFailuresAreErrorsAndCallerMistakesAreNot() async throws {
        let recorder = SpanRecorder(sampleRatio: 1)
        let harness = try await ServerHarness(services: [SpanProbe()], spanRecorder: recorder)
        _ = try await harness.call("/test.Spans/Unavailable", [])
        _ = try await harness.call("/test.Spans/NotFound", [])
        _ = try await harness.call("/test.Spans/Missing", [])
        let spans = recorder.take(upTo: 10)
        #expect(spans.map(\.name) == ["test.Spans/Unavailable", "test.Spans/NotFound", "test.Spans/Missing"])
        #expect(spans.map(\.error) == ["Milvus is down", nil, spans[2].error])
        #expect(spans[2].error != nil)  // UNIMPLEMENTED: the server has no such method
        #expect(spans.allSatisfy { $0.parentSpanID == 0 && $0.spanID != 0 })  // new traces, sampled at 1.0
    }

    @Test func unsampledCallsAndAServerWithoutTracingRecordNothing() async throws {
        let recorder = SpanRecorder(sampleRatio: 1)
        let harness = try await ServerHarness(services: [SpanProbe()], spanRecorder: recorder)
        let unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
        let response = try await harness.call("/test.Spans/Current", [], headers: [("traceparent", unsampled)])
        #expect(String(decoding: response.data.dropFirst(5), as: UTF8.self) == TraceContext.hex(0))
        #expect(recorder.waitingSpans == 0)

        let untraced = try await ServerHarness(services: [SpanProbe()])
        let plain = try await untraced.call("/test.Spans/Current", [], headers: [("traceparent", parent)])
        #expect(String(decoding: plain.data.dropFirst(5), as: UTF8.self) == TraceContext.hex(0))
    }
}
