/// The HTTP/2 settings that one side of a connection announces, and the connection-level
/// receive window it opens.
public struct NGHTTP2Settings: Sendable, Hashable {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`: streams the peer may open at once.
    public var maxConcurrentStreams: UInt32
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: per-stream receive window.
    public var initialWindowSize: UInt32
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`: largest header list accepted (RFC 9113 size rule).
    public var maxHeaderListSize: UInt32
    /// The connection-level receive window (raised with a WINDOW_UPDATE at start).
    public var connectionWindowSize: Int32

    public init(maxConcurrentStreams: UInt32 = 256, initialWindowSize: UInt32 = 1 << 20,
                maxHeaderListSize: UInt32 = 16 * 1024, connectionWindowSize: Int32 = 16 << 20) {
        self.maxConcurrentStreams = maxConcurrentStreams
        self.initialWindowSize = initialWindowSize
        self.maxHeaderListSize = maxHeaderListSize
        self.connectionWindowSize = connectionWindowSize
    }
}
