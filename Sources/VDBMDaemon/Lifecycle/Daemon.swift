import CVDBMBuildInfo
import GRPCNGHTTP2
import Logging
import Metrics
import MilvusClient
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import UnixSignals
import VDBMManager
import VDBMPassThrough
import VDBMProtobuf
import VDBMService
import VDBMUtils

/// vdbm's version: the release and the commit it was built from.
public enum VDBMVersion {
    public static let current = "0.4.0"
    /// The git commit of the build (`scripts/stamp-commit`), or "unknown".
    public static let commit: String = {
        let stamped = String(cString: vdbm_build_commit())
        return stamped.isEmpty ? "unknown" : stamped
    }()
    /// The one version string `GetServerInfo`, `vdbm --version` and `vdbm_build_info` report:
    /// the release with the commit as SemVer build metadata, e.g. `0.4.0+1a2b3c4d5e6f`.
    public static let full = "\(current)+\(commit)"
}

/// The admin listener could not start (its port is taken, say): says which address.
struct AdminListenerError: Error, CustomStringConvertible {
    let address: String
    let reason: String
    var description: String { "the admin listener cannot listen on \(address) (admin.host, admin.port; 0 turns it off): \(reason)" }
}

/// Wires the daemon together from a configuration and runs it until SIGTERM/SIGINT.
public enum Daemon {
    /// The server configuration that `configuration` describes.
    /// - Parameters:
    ///   - configuration: vdbm's settings.
    ///   - observers: what is told of every call (metrics, the access log).
    ///   - tls: the listener's TLS context when `server.tls.*` is set.
    ///   - spanRecorder: where sampled calls' spans go when `tracing.*` is set.
    public static func serverConfiguration(_ configuration: VDBMConfiguration, observers: [any CallObserver] = [],
                                           tls: ServerTLSContext? = nil,
                                           spanRecorder: SpanRecorder? = nil) -> GRPCServerConfiguration {
        let settings = NGHTTP2Settings(
            maxConcurrentStreams: UInt32(configuration.maxConcurrentStreams),
            initialWindowSize: UInt32(configuration.initialWindowBytes),
            maxHeaderListSize: UInt32(configuration.maxHeaderListBytes),
            connectionWindowSize: Int32(configuration.connectionWindowBytes))
        var tlsSetup: (@Sendable (any Channel) throws -> Void)?
        if let tls {
            tlsSetup = { channel in try tls.addHandler(to: channel) }
        }
        return GRPCServerConfiguration(
            tcp: (configuration.host, configuration.port),
            unixSocketPath: configuration.unixSocket,
            limits: GRPCServerLimits(maxMessageBytes: configuration.maxMessageBytes, http2: settings,
                                     defaultTimeout: configuration.defaultTimeout,
                                     maxBufferedRequestBytes: configuration.maxBufferedRequestBytes,
                                     idleTimeout: configuration.idleTimeout, maxConnectionAge: configuration.maxConnectionAge,
                                     maxConnectionAgeGrace: configuration.maxConnectionAgeGrace,
                                     prefaceTimeout: configuration.prefaceTimeout,
                                     minimumPingInterval: configuration.minimumPingInterval,
                                     maxMessagesPerStream: configuration.maxMessagesPerStream),
            observers: observers,
            tcpConnectionSetup: tlsSetup,
            spanRecorder: spanRecorder)
    }

    /// Whether the access log writes: `logging.access_log` on and the level showing `info` lines.
    static func accessLogOn(_ configuration: VDBMConfiguration) -> Bool {
        configuration.accessLog && configuration.logLevel <= .info
    }

    /// Chooses Prometheus as the metrics backend of every library (once per process) and returns
    /// its registry, which `/metrics` renders.
    static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // From a quarter of a millisecond (a cached call) to 30 s (a long Milvus operation).
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.valueHistogramBuckets["vdbm_search_batch_vectors"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384]
        factory.valueHistogramBuckets["vdbm_write_batch_rows"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384]
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// The services vdbm serves, every one behind the call pipeline (API keys from `settings`,
    /// `admission`) and marked SERVING in `health`; with `reflection`, server reflection (v1 and
    /// v1alpha) listing them all.
    public static func router(health: HealthStatusRegistry, services: [any GRPCService] = [],
                              settings: ServiceSettings = ServiceSettings(), admission: AdmissionController? = nil,
                              reflection: Bool = true) -> GRPCRouter {
        var served: [any GRPCService] = [HealthService(registry: health)] + services
        if reflection { served += ReflectionService.both(listing: served.map(\.serviceName)) }
        let router = CallPipeline.router(served, settings: settings, admission: admission)
        health.set(.serving, for: "")
        for name in router.serviceNames { health.set(.serving, for: name) }
        return router
    }

    /// The Milvus side: the pool, the retrying client over it, and the manager actor.
    static func milvus(_ configuration: VDBMConfiguration, group: any EventLoopGroup, logger: Logger,
                       tls: NIOSSLContext? = nil) -> (MilvusConnectionPool, MilvusClient, VectorDBManager) {
        var client = GRPCClientConfiguration()
        client.transportSetup = tls.map { MilvusTLSTransport.setup(context: $0, serverName: configuration.milvusTLS?.serverName) }
        client.connectTimeout = configuration.milvusConnectTimeout
        client.keepaliveInterval = configuration.milvusKeepaliveInterval
        client.busyPingAfter = configuration.milvusBusyPingAfter
        client.keepaliveTimeout = configuration.milvusPingTimeout
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
        return (pool, milvus, VectorDBManager(milvus: milvus, logger: logger, searchCoalescing: configuration.searchCoalescing,
                                              writeCoalescing: configuration.writeCoalescing,
                                              searchScheduler: EventLoopSearchScheduler(group: group)))
    }

    /// `GetServerInfo`'s answer, from the pool and a `GetVersion` call (empty when Milvus is down).
    static func serverInfo(pool: MilvusConnectionPool, milvus: MilvusClient,
                           endpoints: [MilvusEndpoint]) -> VectorDBService.ServerInfoSource {
        { deadline in
            let snapshot = await pool.snapshot
            let (version, features) = await versionAndFeatures(milvus, deadline: deadline)
            var info = VDBMv1.ServerInfo(version: VDBMVersion.full, milvusEndpoints: endpoints.map(\.description),
                                         milvusVersion: version, connections: snapshot.connections,
                                         readyConnections: snapshot.readyConnections, activeCalls: snapshot.activeCalls,
                                         waitingCalls: snapshot.waitingCalls)
            info.milvusFeatures = features.map(\.rawValue)
            return info
        }
    }

    /// The server's version text and the features vdbm lets through to it, as the manager's
    /// checks decide: a server that answers but does not implement `GetVersion` (Milvus Lite 2.5)
    /// is refused nothing, so it is reported with every feature; one that is down with none.
    static func versionAndFeatures(_ milvus: some MilvusAPI, deadline: Deadline) async -> (String, [MilvusFeature]) {
        do {
            let version = try await milvus.version(deadline: deadline)
            return (version, MilvusFeature.available(version: version))
        } catch .failedPrecondition {
            return ("", MilvusFeature.allCases)
        } catch {
            return ("", [])
        }
    }

    /// The admin listener, unless `admin.port` is 0.
    static func startAdmin(_ configuration: VDBMConfiguration, group: any EventLoopGroup, health: HealthStatusRegistry,
                           exposition: MetricsExposition, logger: Logger) async throws -> AdminServer? {
        guard configuration.adminPort != 0 else { return nil }
        let admin: AdminServer
        do {
            admin = try await AdminServer.start(
                host: configuration.adminHost, port: configuration.adminPort, group: group,
                routes: AdminRoutes(metrics: { exposition.render() },
                                    isReady: { health.status(of: VectorDBService.name) == .serving }))
        } catch {
            throw AdminListenerError(address: "\(configuration.adminHost):\(configuration.adminPort)", reason: "\(error)")
        }
        logger.info("admin listener (/metrics, /healthz, /readyz)",
                    metadata: ["address": "\(configuration.adminHost):\(admin.port ?? configuration.adminPort)"])
        return admin
    }

    /// Runs until a termination signal has been handled; returns normally after a graceful stop.
    /// - Parameters:
    ///   - configuration: the settings to start with.
    ///   - reload: loads the configuration again (same file, environment and flags) on SIGHUP;
    ///     `nil` ignores SIGHUP.
    public static func run(_ configuration: VDBMConfiguration,
                           reload: (@Sendable () throws -> VDBMConfiguration)? = nil) async throws {
        let level = LogLevelSetting(configuration.logLevel)
        // Log lines leave from a writer thread, many per write(2), never from an event loop.
        let output = LogLineWriter(fileDescriptor: 1)
        defer { output.close() }  // every line accepted so far is written before exit
        // Every line logged while a call runs carries its request id (its trace context is a task
        // local: the manager and the Milvus client need not pass it along).
        LoggingSystem.bootstrap({ label, provider in
            var handler = JSONLogHandler(label: label, level: level, writer: output)
            handler.metadataProvider = provider
            return handler
        }, metadataProvider: Logger.MetadataProvider {
            TraceContext.current.map { ["request_id": .string($0.requestID)] } ?? [:]
        })
        let registry = bootstrapMetrics()
        let logger = Logger(label: "vdbm")
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(configuration.host)
        if !loopback && configuration.apiKeys == nil {
            logger.warning("listening on a non-loopback address without authentication (auth.enabled is false)",
                           metadata: ["host": "\(configuration.host)"])
        }

        // Certificates are read and checked before anything starts: a bad file stops vdbm here,
        // with the key that names it.
        let serverTLS = try configuration.serverTLS.map { ServerTLSContext(try TLSContexts.server($0)) }
        let milvusTLS = try configuration.milvusTLS.map { try TLSContexts.milvus($0) }
        let threads = configuration.eventLoopThreads == 0 ? System.coreCount : configuration.eventLoopThreads
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let health = HealthStatusRegistry()
        let (pool, milvus, manager) = Self.milvus(configuration, group: group, logger: logger, tls: milvusTLS)
        let settings = ServiceSettings(authenticator: APIKeyAuthenticator(keys: configuration.apiKeys),
                                       limits: configuration.requestLimits)
        // One admission controller: the limits hold for vdbm.v1 and pass-through calls together.
        let admission = AdmissionController(limits: configuration.admission)
        let vectorDB = VectorDBService(
            backend: manager, settings: settings,
            serverInfo: serverInfo(pool: pool, milvus: milvus, endpoints: configuration.milvusEndpoints))
        var grpcServices: [any GRPCService] = [vectorDB]
        if configuration.milvusPassThrough {
            grpcServices.append(MilvusPassThroughService(
                forwarder: milvus, clientCredentialsAllowed: configuration.passThroughClientCredentials,
                searchCoalescer: configuration.searchCoalescing.map {
                    PassThroughSearchCoalescer(policy: $0, scheduler: EventLoopSearchScheduler(group: group), logger: logger)
                },
                writeCoalescer: configuration.writeCoalescing.map {
                    PassThroughWriteCoalescer(policy: $0, scheduler: EventLoopSearchScheduler(group: group))
                }))
        }
        let routes = router(health: health, services: grpcServices, settings: settings, admission: admission,
                            reflection: configuration.reflection)
        let accessLogSwitch = AccessLogSwitch(accessLogOn(configuration))
        let observers: [any CallObserver] = [GRPCServerMetrics(methods: routes.methodPaths, prefix: "vdbm_"),
                                             JSONAccessLog(label: "vdbm", writer: output, enabled: accessLogSwitch)]
        // Tracing: calls record spans into a bounded buffer; the exporter sends them.
        let spanRecorder = configuration.tracing.map { SpanRecorder(sampleRatio: $0.sampleRatio) }
        let server = GRPCServer(configuration: serverConfiguration(configuration, observers: observers, tls: serverTLS,
                                                                   spanRecorder: spanRecorder),
                                router: routes, group: group, logger: logger)
        // Health follows Milvus: NOT_SERVING while no connection to it is usable.
        await pool.onReadinessChange { ready in
            health.setMilvusReachable(ready, services: ["", VectorDBService.name, MilvusPassThroughService.name])
            if ready {
                logger.notice("Milvus reachable: health reports SERVING")
            } else {
                logger.warning("no usable Milvus connection (yet): health reports NOT_SERVING")
            }
        }
        await pool.start()
        let admin = try await startAdmin(configuration, group: group, health: health,
                                         exposition: MetricsExposition(registry: registry, version: VDBMVersion.full,
                                                                       droppedLogLines: { output.droppedLines }),
                                         logger: logger)
        let service = GRPCServerService(server: server, health: health, grace: configuration.shutdownGrace,
                                        logger: logger, onStopped: {
                                            await admin?.close()
                                            await pool.shutdown()
                                        })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let spanRecorder, let tracing = configuration.tracing {
            // First in the group, so it stops last: the drained calls' spans still leave.
            services.append(.init(service: OTLPSpanExporter(
                recorder: spanRecorder, settings: tracing,
                origin: OTLPTraceExport.Origin(serviceName: tracing.serviceName, serviceVersion: VDBMVersion.full),
                group: group, logger: logger)))
            logger.notice("tracing on: spans go to an OTLP collector",
                          metadata: ["collector": "\(tracing.host):\(tracing.port)", "sample_ratio": "\(tracing.sampleRatio)"])
        }
        services.append(.init(service: service))
        if let reload {
            // What a reload can change: the keys and limits the service reads per call, the shared
            // log level, the access log switch.
            services.append(.init(service: ConfigurationReloader(load: reload, apply: { next in
                settings.replace(authenticator: APIKeyAuthenticator(keys: next.apiKeys), limits: next.requestLimits)
                level.level = next.logLevel
                accessLogSwitch.isOn = accessLogOn(next)
                // Certificates are read again (rotated files keep their paths); new connections
                // get them, open ones keep theirs. A bad file keeps the old ones.
                if let serverTLS, let settings = next.serverTLS {
                    do {
                        serverTLS.replace(with: try TLSContexts.server(settings))
                        logger.notice("TLS certificates reloaded", metadata: ["cert_file": "\(settings.certificateFile)"])
                    } catch {
                        logger.error("TLS certificates not reloaded: the old ones stay", metadata: ["error": "\(error)"])
                    }
                }
            }, initial: configuration, logger: logger)))
        }
        let serviceGroup = ServiceGroup(configuration: .init(
            services: services,
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
