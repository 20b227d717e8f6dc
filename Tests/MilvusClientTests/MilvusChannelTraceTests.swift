import GRPCNGHTTP2
import Logging
import NIOPosix
import Synchronization
import Testing
import VDBMUtils
@testable import MilvusClient

/// Stands in for Milvus only to record the metadata a call arrives with (the transport under
/// test is ours; what Milvus does with a `traceparent` is not in question here).
private final class RecordingMilvus: GRPCService, Sendable {
    let seen = Mutex<[[String: String]]>([])
    var serviceName: String { "milvus.proto.milvus.MilvusService" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        ["GetVersion": .immediate { [self] _, context throws(GRPCStatus) in
            var headers: [String: String] = [:]
            for name in ["traceparent", "tracestate", "authorization"] { headers[name] = context.metadata[text: name] }
            seen.withLock { $0.append(headers) }
            return []
        }]
    }
}

@Suite struct MilvusChannelTraceTests {
    @Test func aCallInsideATracedCallSendsAChildTraceparent() async throws {
        let milvus = RecordingMilvus()
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await startStubServer([milvus])
        let connection = try await GRPCClientConnection.connect(host: "127.0.0.1", port: server.tcpPort!, group: group,
                                                                logger: Logger(label: "test"))
        let channel = MilvusChannel(connection: connection, credentials: .token("t"))
        let trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                 tracestate: "a=b", requestID: nil, fallbackRequestID: "x")
        try await TraceContext.$current.withValue(trace) {
            _ = try await channel.call("GetVersion", [], deadline: .after(.seconds(5)))
            _ = try await channel.call("GetVersion", [], deadline: .after(.seconds(5)))
        }
        _ = try await channel.call("GetVersion", [], deadline: .after(.seconds(5)))  // outside any call
        await connection.close()
        await server.shutdown(grace: .milliseconds(100))

        let seen = milvus.seen.withLock { $0 }
        #expect(seen.count == 3)
        let spans = seen.prefix(2).compactMap { $0["traceparent"] }
        #expect(spans.count == 2)
        for span in spans {
            #expect(span.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-") && span.hasSuffix("-01"))
            #expect(!span.contains("00f067aa0ba902b7"))  // a child span, not the caller's
        }
        #expect(spans[0] != spans[1])  // one span per Milvus call
        #expect(seen[0]["tracestate"] == "a=b")
        #expect(seen.allSatisfy { $0["authorization"] != nil })
        #expect(seen[2]["traceparent"] == nil)
    }
}
