import Logging
import VDBMUtils

/// What a handler knows about the call it answers, beside the request message.
///
/// The request id and the per-call logger are made on first use: most calls never log, and
/// the server should not pay for either on every call.
public struct ServerCallContext: Sendable {
    /// The full method path, e.g. `/grpc.health.v1.Health/Check`.
    public let path: String
    /// The request's custom metadata.
    public let metadata: Metadata
    /// When the call must be answered: the client's `grpc-timeout` or the server's default.
    public let deadline: Deadline
    /// The peer's address, for logs.
    public let peer: String

    private let clientRequestID: String?
    private let connectionTag: String
    private let streamID: Int32
    private let baseLogger: Logger

    public init(path: String, metadata: Metadata, deadline: Deadline, peer: String, requestID: String, logger: Logger) {
        self.init(path: path, metadata: metadata, deadline: deadline, peer: peer, clientRequestID: requestID,
                  connectionTag: "", streamID: 0, logger: logger)
    }

    init(path: String, metadata: Metadata, deadline: Deadline, peer: String, clientRequestID: String?,
         connectionTag: String, streamID: Int32, logger: Logger) {
        self.path = path
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.clientRequestID = clientRequestID
        self.connectionTag = connectionTag
        self.streamID = streamID
        self.baseLogger = logger
    }

    /// The client's `x-request-id` (when short printable ASCII), else the trace id of a valid
    /// `traceparent`, else `<connection>-<stream>`.
    public var requestID: String {
        Self.requestID(client: clientRequestID, traceparent: metadata[text: "traceparent"], connectionTag: connectionTag,
                       streamID: streamID)
    }

    /// A logger that carries the request id and method.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "request_id"] = "\(requestID)"
        logger[metadataKey: "method"] = "\(path)"
        return logger
    }

    static func requestID(client: String?, traceparent: String?, connectionTag: String, streamID: Int32) -> String {
        if let client = validClientID(client) { return client }
        if let traceparent, let parsed = TraceContext.parse(traceparent) {
            return TraceContext.hex(parsed.high) + TraceContext.hex(parsed.low)
        }
        return "\(connectionTag)-\(streamID)"
    }

    /// The client's request id when it is short printable ASCII (it goes into logs and headers).
    static func validClientID(_ client: String?) -> String? {
        guard let client, !client.isEmpty, client.utf8.count <= 128,
              client.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return client
    }
}
