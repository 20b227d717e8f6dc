import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin listener: plain HTTP/1.1 on its own port (never the gRPC one) for Prometheus scrapes
/// and orchestrator probes. See ``AdminHTTPHandler`` for what it answers.
final class AdminServer: Sendable {
    private let channel: any Channel

    /// The port it listens on (useful with port 0).
    var port: Int? { channel.localAddress?.port }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Binds `host:port` and serves `routes` until ``close()``.
    static func start(host: String, port: Int, group: any EventLoopGroup, routes: AdminRoutes,
                      idleTimeout: TimeAmount = .seconds(60)) async throws -> AdminServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .bind(host: host, port: port)
            .get()
        return AdminServer(channel: channel)
    }

    /// Stops accepting connections and closes the listener.
    func close() async {
        try? await channel.close()
    }
}
