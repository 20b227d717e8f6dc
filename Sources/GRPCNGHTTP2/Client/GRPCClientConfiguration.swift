/// Settings of one client connection.
public struct GRPCClientConfiguration: Sendable, Hashable {
    /// Largest response message accepted.
    public var maxResponseBytes: Int
    /// HTTP/2 settings we announce (windows; our concurrent-stream limit is irrelevant for a client).
    public var http2: NGHTTP2Settings
    /// How often an idle connection is PINGed, and how long an ACK may take before the connection
    /// is declared dead.
    public var keepaliveInterval: Duration
    public var keepaliveTimeout: Duration
    /// How long the TCP connect may take.
    public var connectTimeout: Duration
    /// The `:authority` sent with every request.
    public var authority: String

    public init(maxResponseBytes: Int = 64 << 20, http2: NGHTTP2Settings = NGHTTP2Settings(maxConcurrentStreams: 100),
                keepaliveInterval: Duration = .seconds(60), keepaliveTimeout: Duration = .seconds(20),
                connectTimeout: Duration = .seconds(5), authority: String = "localhost") {
        self.maxResponseBytes = maxResponseBytes
        self.http2 = http2
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.connectTimeout = connectTimeout
        self.authority = authority
    }
}
