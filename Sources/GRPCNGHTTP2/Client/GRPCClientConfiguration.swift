import NIOCore

/// Handlers put in front of a client connection's gRPC handler (TLS): `setUp` adds them for the
/// given server host and returns what completes once the connection may carry calls (the TLS
/// handshake). Compared by `name` only.
public struct ClientTransportSetup: Sendable, Hashable {
    public let name: String
    public let setUp: @Sendable (_ channel: any Channel, _ host: String) throws -> EventLoopFuture<Void>

    public init(name: String, setUp: @escaping @Sendable (_ channel: any Channel, _ host: String) throws -> EventLoopFuture<Void>) {
        self.name = name
        self.setUp = setUp
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// Settings of one client connection.
public struct GRPCClientConfiguration: Sendable, Hashable {
    /// Largest response message accepted.
    public var maxResponseBytes: Int
    /// HTTP/2 settings we announce (windows; our concurrent-stream limit is irrelevant for a client).
    public var http2: NGHTTP2Settings
    /// After how long without a byte from the server an idle connection is PINGed.
    public var keepaliveInterval: Duration
    /// After how long without a byte from the server a connection with calls open is PINGed (a
    /// frozen server is found this much sooner than each call's deadline).
    public var busyPingAfter: Duration
    /// How long a PING's ACK may take before the connection is declared dead (or hung) and closed.
    public var keepaliveTimeout: Duration
    /// The least time between two PINGs when the server sent no HEADERS or DATA in between (grpc-go
    /// servers, Milvus's included, close a connection after three PINGs closer than 5 s).
    public var minimumPingSpacing: Duration
    /// How long the TCP connect may take.
    public var connectTimeout: Duration
    /// The `:authority` sent with every request.
    public var authority: String
    /// TLS (nil: h2c).
    public var transportSetup: ClientTransportSetup?
    /// What the server is, for log lines ("Milvus sent GOAWAY").
    public var peerName = "server"

    public init(maxResponseBytes: Int = 64 << 20, http2: NGHTTP2Settings = NGHTTP2Settings(maxConcurrentStreams: 100),
                keepaliveInterval: Duration = .seconds(10), busyPingAfter: Duration = .seconds(1),
                keepaliveTimeout: Duration = .seconds(3), minimumPingSpacing: Duration = .seconds(6),
                connectTimeout: Duration = .seconds(5), authority: String = "localhost") {
        self.maxResponseBytes = maxResponseBytes
        self.http2 = http2
        self.keepaliveInterval = keepaliveInterval
        self.busyPingAfter = busyPingAfter
        self.keepaliveTimeout = keepaliveTimeout
        self.minimumPingSpacing = minimumPingSpacing
        self.connectTimeout = connectTimeout
        self.authority = authority
    }
}
