import GRPCNGHTTP2
import Logging
import MilvusClient
import NIOPosix
import Synchronization
import Testing
import VDBMUtils

/// Stands in for Milvus: answers the pool's readiness probe, keeps the `traceparent` of every
/// `HasCollection`, and fails the first one with UNAVAILABLE (a failure a read may repeat).
private final class TracedMilvus: GRPCService, Sendable {
    let traceparents = Mutex<[String]>([])
    var serviceName: String { "milvus.proto.milvus.MilvusService" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        ["ShowCollections": .immediate { _, _ throws(GRPCStatus) in [] },
         "HasCollection": .immediate { [self] _, context throws(GRPCStatus) in
             let call = traceparents.withLock { seen -> Int in
                 seen.append(context.metadata[text: "traceparent"] ?? "none")
                 return seen.count
             }
             if call == 1 { throw GRPCStatus(.unavailable, "not yet") }
             return []
         }]
    }
}

@Suite struct MilvusCallSpanTests {
    @Test func eachAttemptIsAClientSpanBelowTheCallItServesNamedInItsTraceparent() async throws {
        let milvus = TracedMilvus()
        let server = try await startStubServer([milvus])
        let endpoint = MilvusEndpoint(host: "127.0.0.1", port: server.tcpPort!)
        let pool = MilvusConnectionPool(configuration: .init(endpoints: [endpoint], connectionsPerEndpoint: 1),
                                        group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        await pool.start()
        for _ in 0..<500 where await pool.snapshot.readyConnections < 1 { try await Task.sleep(for: .milliseconds(10)) }
        let client = MilvusClient(pool: pool, credentials: nil,
                                  retryPolicy: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(1),
                                                           maxBackoff: .milliseconds(2)),
                                  logger: Logger(label: "test"))
        let recorder = SpanRecorder(sampleRatio: 1)
        var trace = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                 requestID: nil, fallbackRequestID: "r")
        trace.sample(by: recorder)

        let exists = try await TraceContext.$current.withValue(trace) {
            try await client.hasCollection("docs", deadline: .after(.seconds(10)))
        }
        _ = try await client.hasCollection("docs", deadline: .after(.seconds(10)))  // outside any call: no span
        await pool.shutdown()
        await server.shutdown(grace: .milliseconds(100))

        #expect(exists == false)
        let spans = recorder.take(upTo: 10)
        try #require(spans.count == 2)
        let sent = milvus.traceparents.withLock { $0 }
        #expect(sent.count == 3 && sent[2] == "none")
        for (index, span) in spans.enumerated() {
            #expect(span.kind == .client && span.name == "milvus.proto.milvus.MilvusService/HasCollection")
            #expect(span.traceLow == trace.traceLow && span.traceHigh == trace.traceHigh)
            #expect(span.parentSpanID == trace.spanID)
            #expect(sent[index] == "00-4bf92f3577b34da6a3ce929d0e0e4736-\(TraceContext.hex(span.spanID))-01")
            let attributes = Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.key, $0.value) })
            #expect(attributes["vdbm.milvus.attempt"] == .int(Int64(index + 1)))
            #expect(attributes["vdbm.milvus.retry"] == .bool(index > 0))
            #expect(attributes["server.address"] == .string("127.0.0.1:\(endpoint.port)"))
            #expect(attributes["vdbm.collection"] == .string("docs"))
        }
        #expect(spans[0].error != nil && spans[1].error == nil)
    }
}
