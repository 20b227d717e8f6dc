import GRPCNGHTTP2
import Logging
import MilvusClient
import NIOPosix
import Testing

/// Answers the pool's readiness probe; the server under it enforces gRPC's default PING policy
/// (one idle PING in 5 minutes), as Milvus Lite 2.5.1's grpc-core server does.
private struct QuietMilvus: GRPCService {
    var serviceName: String { "milvus.proto.milvus.MilvusService" }
    var methods: [MethodDescriptor: MethodHandler] { .init(service: serviceName, handlersByName) }
    var handlersByName: [String: MethodHandler] { ["ShowCollections": .immediate { _, _ throws(GRPCStatus) in [] }] }
}

@Suite struct KeepaliveBackoffTests {
    @Test func anEndpointThatEndsAConnectionForTooManyPingsGetsHalfAsManyOnTheNext() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await startStubServer([QuietMilvus()])
        let client = GRPCClientConfiguration(keepaliveInterval: .milliseconds(100), minimumPingSpacing: .milliseconds(50))
        let pool = MilvusConnectionPool(
            configuration: .init(endpoints: [MilvusEndpoint(host: "127.0.0.1", port: server.tcpPort!)], connectionsPerEndpoint: 1,
                                 client: client),
            group: group, logger: Logger(label: "test"))
        #expect(await pool.keepaliveIntervals == [.milliseconds(100)])
        await pool.start()
        // Idle PINGs every 100 ms: the server's third strike ends the connection with GOAWAY
        // ENHANCE_YOUR_CALM "too_many_pings", and the pool's next connection waits twice as long.
        for _ in 0..<500 where await pool.keepaliveIntervals == [.milliseconds(100)] { try await Task.sleep(for: .milliseconds(10)) }
        let slowed = await pool.keepaliveIntervals
        #expect(slowed == [.milliseconds(200)] || slowed == [.milliseconds(400)])
        await pool.shutdown()
        await server.shutdown(grace: .milliseconds(100))
    }
}
