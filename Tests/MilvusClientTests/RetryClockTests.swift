import GRPCNGHTTP2
import Logging
import MilvusClient
import NIOPosix
import Synchronization
import Testing
import VDBMUtils

/// Stands in for Milvus: answers the pool's readiness probe, and fails the first `HasCollection`
/// with UNAVAILABLE (a failure a read may repeat).
private final class FlakyMilvus: GRPCService, Sendable {
    let hasCollectionCalls = Mutex(0)
    var serviceName: String { "milvus.proto.milvus.MilvusService" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] {
        ["ShowCollections": .immediate { _, _ throws(GRPCStatus) in [] },
         "HasCollection": .immediate { [self] _, _ throws(GRPCStatus) in
             let call = hasCollectionCalls.withLock { calls -> Int in
                 calls += 1
                 return calls
             }
             if call == 1 { throw GRPCStatus(.unavailable, "not yet") }
             return []
         }]
    }
}

/// The client's retry backoff runs on the pool's clock: a retried call waits for the test to
/// move that clock, however much real time passes.
@Suite struct RetryClockTests {
    @Test func aRetryWaitsUntilThePoolsClockPassesItsBackoff() async throws {
        let milvus = FlakyMilvus()
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await startStubServer([milvus])
        let clock = MockPoolClock()
        let pool = MilvusConnectionPool(
            configuration: .init(endpoints: [MilvusEndpoint(host: "127.0.0.1", port: server.tcpPort!)], connectionsPerEndpoint: 1),
            group: group, logger: Logger(label: "test"), clock: clock)
        await pool.start()
        for _ in 0..<500 where await pool.snapshot.readyConnections < 1 { try await Task.sleep(for: .milliseconds(10)) }
        let client = MilvusClient(pool: pool, credentials: nil, logger: Logger(label: "test"))

        let idleSleepers = clock.sleepers
        let call = Task { try await client.hasCollection("docs", deadline: .after(.seconds(30))) }
        for _ in 0..<500 where clock.sleepers == idleSleepers { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(100))  // real time passes; the pool's does not
        #expect(milvus.hasCollectionCalls.withLock { $0 } == 1)

        clock.advance(by: .seconds(3))  // past the largest backoff (2 s)
        #expect(try await call.value == false)
        #expect(milvus.hasCollectionCalls.withLock { $0 } == 2)
        await pool.shutdown()
        await server.shutdown(grace: .milliseconds(100))
    }
}
