/// Where a gRPC server listens and what it enforces.
public struct GRPCServerConfiguration: Sendable {
    /// TCP host and port; `nil` disables TCP. Port 0 picks a free port (see `GRPCServer.tcpPort`).
    public var tcp: (host: String, port: Int)?
    /// Path of a Unix domain socket to listen on as well (sidecar use); `nil` disables it.
    public var unixSocketPath: String?
    public var limits: GRPCServerLimits
    /// Receives every finished call; `nil` keeps no access log.
    public var accessLog: (any AccessLogSink)?

    public init(tcp: (host: String, port: Int)? = ("127.0.0.1", 50051), unixSocketPath: String? = nil,
                limits: GRPCServerLimits = GRPCServerLimits(), accessLog: (any AccessLogSink)? = nil) {
        self.tcp = tcp
        self.unixSocketPath = unixSocketPath
        self.limits = limits
        self.accessLog = accessLog
    }
}
