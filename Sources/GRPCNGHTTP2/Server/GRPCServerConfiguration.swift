import NIOCore
import VDBMUtils

/// Where a gRPC server listens and what it enforces.
public struct GRPCServerConfiguration: Sendable {
    /// TCP host and port; `nil` disables TCP. Port 0 picks a free port (see `GRPCServer.tcpPort`).
    public var tcp: (host: String, port: Int)?
    /// Path of a Unix domain socket to listen on as well (sidecar use); `nil` disables it.
    public var unixSocketPath: String?
    public var limits: GRPCServerLimits
    /// Told of every call (the access log and the metrics are observers); empty: nobody.
    public var observers: [any CallObserver]
    /// Adds handlers in front of the gRPC handler on each TCP connection (TLS); the Unix socket
    /// never gets them. Throwing refuses the connection.
    public var tcpConnectionSetup: (@Sendable (any Channel) throws -> Void)?
    /// Where the spans of sampled calls go (OpenTelemetry tracing); `nil`: no spans.
    public var spanRecorder: SpanRecorder?

    public init(tcp: (host: String, port: Int)? = ("127.0.0.1", 50051), unixSocketPath: String? = nil,
                limits: GRPCServerLimits = GRPCServerLimits(), observers: [any CallObserver] = [],
                tcpConnectionSetup: (@Sendable (any Channel) throws -> Void)? = nil, spanRecorder: SpanRecorder? = nil) {
        self.spanRecorder = spanRecorder
        self.tcp = tcp
        self.unixSocketPath = unixSocketPath
        self.limits = limits
        self.observers = observers
        self.tcpConnectionSetup = tcpConnectionSetup
    }
}
