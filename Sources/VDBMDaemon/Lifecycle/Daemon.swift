import GRPCNGHTTP2
import Logging
import MilvusClient
import NIOCore
import NIOPosix
import ServiceLifecycle
import VDBMManager
import VDBMProtobuf
import VDBMService
import VDBMUtils

/// vdbm's version, reported by `GetServerInfo` and `vdbm --version`.
public enum VDBMVersion {
    public static let current = "0.4.0"
}

/// Wires the daemon together from a configuration and runs it until SIGTERM/SIGINT.
public enum Daemon {
    /// The server configuration that `configuration` describes.
    /// - Parameters:
    ///   - configuration: vdbm's settings.
    ///   - accessLog: where finished calls go when `logging.access_log` is on and the level shows
    ///     `info` lines; `nil` keeps no access log.
    public static func serverConfiguration(_ configuration: VDBMConfiguration,
                                           accessLog: (any AccessLogSink)? = nil) -> GRPCServerConfiguration {
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
            accessLog: configuration.accessLog && configuration.logLevel <= .info ? accessLog : nil)
    }

    /// The services vdbm serves, with every one marked SERVING in `health`.
    public static func router(health: HealthStatusRegistry, services: [any GRPCService] = []) -> GRPCRouter {
        let router = GRPCRouter(services: [HealthService(registry: health)] + services)
        health.set(.serving, for: "")
        for name in router.serviceNames { health.set(.serving, for: name) }
        return router
    }

    /// The Milvus side: the pool, the retrying client over it, and the manager actor.
    static func milvus(_ configuration: VDBMConfiguration, group: any EventLoopGroup, logger: Logger)
        -> (MilvusConnectionPool, MilvusClient, VectorDBManager) {
        var client = GRPCClientConfiguration()
        client.connectTimeout = configuration.milvusConnectTimeout
        client.maxResponseBytes = max(configuration.maxMessageBytes, 64 << 20)
        let pool = MilvusConnectionPool(
            configuration: .init(endpoints: configuration.milvusEndpoints,
                                 connectionsPerEndpoint: configuration.milvusConnectionsPerEndpoint,
                                 maxWaiters: configuration.milvusMaxWaitingCalls, client: client,
                                 readinessProbe: MilvusReadinessProbe(credentials: configuration.milvusCredentials,
                                                                      timeout: configuration.milvusConnectTimeout)),
            group: group, logger: logger)
        let milvus = MilvusClient(pool: pool, credentials: configuration.milvusCredentials,
                                  retryPolicy: configuration.retryPolicy, logger: logger)
        return (pool, milvus, VectorDBManager(milvus: milvus, logger: logger, searchCoalescing: configuration.searchCoalescing))
    }

    /// `GetServerInfo`'s answer, from the pool and a `GetVersion` call (empty when Milvus is down).
    static func serverInfo(pool: MilvusConnectionPool, milvus: MilvusClient,
                           endpoints: [MilvusEndpoint]) -> VectorDBService.ServerInfoSource {
        { deadline in
            let snapshot = await pool.snapshot
            let version = (try? await milvus.version(deadline: deadline)) ?? ""
            return VDBMv1.ServerInfo(version: VDBMVersion.current, milvusEndpoints: endpoints.map(\.description),
                                     milvusVersion: version, connections: snapshot.connections,
                                     readyConnections: snapshot.readyConnections, activeCalls: snapshot.activeCalls,
                                     waitingCalls: snapshot.waitingCalls)
        }
    }

    /// Runs until a termination signal has been handled; returns normally after a graceful stop.
    public static func run(_ configuration: VDBMConfiguration) async throws {
        let level = configuration.logLevel
        // Log lines leave from a writer thread, many per write(2), never from an event loop.
        let output = LogLineWriter(fileDescriptor: 1)
        defer { output.close() }  // every line accepted so far is written before exit
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, writer: output) }
        let logger = Logger(label: "vdbm")
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(configuration.host)
        if !loopback && configuration.apiKeys == nil {
            logger.warning("listening on a non-loopback address without authentication (auth.enabled is false)",
                           metadata: ["host": "\(configuration.host)"])
        }

        let threads = configuration.eventLoopThreads == 0 ? System.coreCount : configuration.eventLoopThreads
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let health = HealthStatusRegistry()
        let (pool, milvus, manager) = Self.milvus(configuration, group: group, logger: logger)
        let vectorDB = VectorDBService(
            backend: manager, authenticator: APIKeyAuthenticator(keys: configuration.apiKeys),
            limits: configuration.requestLimits,
            serverInfo: serverInfo(pool: pool, milvus: milvus, endpoints: configuration.milvusEndpoints))
        let server = GRPCServer(configuration: serverConfiguration(configuration,
                                                                   accessLog: JSONAccessLog(label: "vdbm", writer: output)),
                                router: router(health: health, services: [vectorDB]), group: group, logger: logger)
        // Health follows Milvus: NOT_SERVING while no connection to it is usable.
        await pool.onReadinessChange { ready in
            health.setMilvusReachable(ready, services: ["", VectorDBService.name])
            if ready {
                logger.notice("Milvus reachable: health reports SERVING")
            } else {
                logger.warning("no usable Milvus connection (yet): health reports NOT_SERVING")
            }
        }
        await pool.start()
        let service = GRPCServerService(server: server, health: health, grace: configuration.shutdownGrace,
                                        logger: logger, onStopped: { await pool.shutdown() })
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
