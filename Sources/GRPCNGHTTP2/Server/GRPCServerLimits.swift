/// The limits a server enforces on every connection and call.
public struct GRPCServerLimits: Sendable, Hashable {
    /// Largest request message accepted; a larger declared length is `RESOURCE_EXHAUSTED`.
    public var maxMessageBytes: Int
    /// Announced HTTP/2 settings (concurrent streams, windows, header list size).
    public var http2: NGHTTP2Settings
    /// The deadline of a call whose client sent no `grpc-timeout`.
    public var defaultTimeout: Duration
    /// Request bytes all connections together may hold at once (see `RequestMemoryBudget`).
    public var maxBufferedRequestBytes: Int
    /// A connection with no stream open this long gets a GOAWAY (`nil`: never).
    public var idleTimeout: Duration?
    /// A connection this old gets a GOAWAY, and `maxConnectionAgeGrace` later is closed (`nil`: never).
    public var maxConnectionAge: Duration?
    public var maxConnectionAgeGrace: Duration
    /// A connection that has not sent the HTTP/2 preface and SETTINGS by then is closed.
    public var prefaceTimeout: Duration?
    /// PINGs closer than this on a connection with no call open count as strikes (`PingStrikes`).
    public var minimumPingInterval: Duration
    /// Request messages one streaming call may receive; one more is `RESOURCE_EXHAUSTED`.
    public var maxMessagesPerStream: Int

    public init(maxMessageBytes: Int = 64 << 20, http2: NGHTTP2Settings = NGHTTP2Settings(),
                defaultTimeout: Duration = .seconds(30), maxBufferedRequestBytes: Int = 512 << 20,
                idleTimeout: Duration? = nil, maxConnectionAge: Duration? = nil, maxConnectionAgeGrace: Duration = .seconds(30),
                prefaceTimeout: Duration? = .seconds(10), minimumPingInterval: Duration = .seconds(300),
                maxMessagesPerStream: Int = 1_000_000) {
        self.maxMessageBytes = maxMessageBytes
        self.http2 = http2
        self.defaultTimeout = defaultTimeout
        self.maxBufferedRequestBytes = maxBufferedRequestBytes
        self.idleTimeout = idleTimeout
        self.maxConnectionAge = maxConnectionAge
        self.maxConnectionAgeGrace = maxConnectionAgeGrace
        self.prefaceTimeout = prefaceTimeout
        self.minimumPingInterval = minimumPingInterval
        self.maxMessagesPerStream = maxMessagesPerStream
    }
}
