import GRPCNGHTTP2
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import VDBMService
import VDBMUtils

/// Wires the daemon together from a configuration and runs it until SIGTERM/SIGINT.
public enum Daemon {
    /// The server configuration that `configuration` describes.
    public static func serverConfiguration(_ configuration: VDBMConfiguration) -> GRPCServerConfiguration {
        let settings = NGHTTP2Settings(
            maxConcurrentStreams: UInt32(configuration.maxConcurrentStreams),
            initialWindowSize: UInt32(configuration.initialWindowBytes),
            maxHeaderListSize: UInt32(configuration.maxHeaderListBytes),
            connectionWindowSize: Int32(configuration.connectionWindowBytes))
        return GRPCServerConfiguration(
            tcp: (configuration.host, configuration.port),
            unixSocketPath: configuration.unixSocket,
            limits: GRPCServerLimits(maxMessageBytes: configuration.maxMessageBytes, http2: settings,
                                     defaultTimeout: configuration.defaultTimeout,
                                     maxBufferedRequestBytes: configuration.maxBufferedRequestBytes),
            accessLog: configuration.accessLog)
    }

    /// The services vdbm serves, with every one marked SERVING in `health`.
    public static func router(health: HealthStatusRegistry) -> GRPCRouter {
        let router = GRPCRouter(services: [HealthService(registry: health)])
        health.set(.serving, for: "")
        for name in router.serviceNames { health.set(.serving, for: name) }
        return router
    }

    /// Runs until a termination signal has been handled; returns normally after a graceful stop.
    public static func run(_ configuration: VDBMConfiguration) async throws {
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "vdbm")
        if configuration.host != "127.0.0.1" && configuration.host != "::1" && configuration.host != "localhost" {
            logger.warning("listening on a non-loopback address; vdbm has no authentication yet",
                           metadata: ["host": "\(configuration.host)"])
        }

        let threads = configuration.eventLoopThreads == 0 ? System.coreCount : configuration.eventLoopThreads
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let health = HealthStatusRegistry()
        let server = GRPCServer(configuration: serverConfiguration(configuration), router: router(health: health),
                                group: group, logger: logger)
        let service = GRPCServerService(server: server, health: health, grace: configuration.shutdownGrace,
                                        logger: logger)
        let serviceGroup = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await serviceGroup.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }
}
