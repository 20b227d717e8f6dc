import GRPCNGHTTP2
import Logging
import NIOPosix

/// Our own gRPC server on a free loopback port, serving `services` in Milvus's place (the
/// transport under test is ours; what Milvus itself would answer is not in question there).
func startStubServer(_ services: [any GRPCService]) async throws -> GRPCServer {
    let server = GRPCServer(configuration: GRPCServerConfiguration(tcp: ("127.0.0.1", 0)), router: GRPCRouter(services: services),
                            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
    try await server.start()
    return server
}
