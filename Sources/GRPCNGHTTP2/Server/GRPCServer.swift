import Logging
import NIOCore
import NIOPosix

/// A gRPC server over HTTP/2 (nghttp2), on TCP (h2c, or TLS through `tcpConnectionSetup`) and/or
/// a Unix domain socket (h2c); one nghttp2 session per connection, each on its own event loop.
public final class GRPCServer: Sendable {
    private let configuration: GRPCServerConfiguration
    private let router: GRPCRouter
    private let group: any EventLoopGroup
    private let logger: Logger
    private let registry = ConnectionRegistry()
    private let listeners: NIOLockedListeners
    private let budget: RequestMemoryBudget

    public init(configuration: GRPCServerConfiguration, router: GRPCRouter, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.router = router
        self.group = group
        self.logger = logger
        self.listeners = NIOLockedListeners()
        self.budget = RequestMemoryBudget(limit: configuration.limits.maxBufferedRequestBytes)
    }

    /// Binds every configured listener. Throws if one cannot be bound (and closes the others).
    public func start() async throws {
        do {
            if let tcp = configuration.tcp {
                let channel = try await bootstrap(tcp: true).bind(host: tcp.host, port: tcp.port).get()
                listeners.append(channel)
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
            }
            if let path = configuration.unixSocketPath {
                let channel = try await bootstrap(tcp: false)
                    .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
                listeners.append(channel)
                logger.info("listening", metadata: ["address": "unix:\(path)"])
            }
        } catch {
            for channel in listeners.takeAll() { try? await channel.close() }
            throw error
        }
    }

    /// The bound TCP port (useful when configured with port 0).
    public var tcpPort: Int? {
        listeners.all.lazy.compactMap { $0.localAddress?.port }.first
    }

    /// Stops accepting, sends GOAWAY on every connection, waits up to `grace` for calls in flight to
    /// finish, then closes whatever is left.
    public func shutdown(grace: Duration) async {
        for channel in listeners.takeAll() { try? await channel.close() }
        let connections = registry.all
        logger.info("shutting down", metadata: ["connections": "\(connections.count)", "grace": "\(grace)"])
        for channel in connections {
            channel.pipeline.fireUserInboundEventTriggered(GRPCServerQuiesceEvent())
        }
        let clock = ContinuousClock()
        let giveUpAt = clock.now.advanced(by: grace)
        while registry.count > 0 && clock.now < giveUpAt {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let leftover = registry.all
        if !leftover.isEmpty {
            logger.warning("grace period over: closing connections with calls in flight",
                           metadata: ["connections": "\(leftover.count)"])
        }
        for channel in leftover { try? await channel.close() }
    }

    private func bootstrap(tcp: Bool) -> ServerBootstrap {
        let configuration = self.configuration
        let router = self.router
        let logger = self.logger
        let registry = self.registry
        let budget = self.budget
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.maxMessagesPerRead, value: 16)
        if tcp {
            bootstrap = bootstrap
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        }
        let setup = tcp ? configuration.tcpConnectionSetup : nil
        return bootstrap.childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try setup?(channel)
                registry.add(channel)
                let handler = GRPCServerConnectionHandler(
                    router: router, limits: configuration.limits, budget: budget, logger: logger,
                    observers: configuration.observers, spanRecorder: configuration.spanRecorder,
                    connectionTag: ConnectionTag.next())
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }
    }
}
