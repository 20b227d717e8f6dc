/// One finished call as the access log sees it: what the server knows when the answer leaves.
public struct AccessLogRecord: Sendable {
    /// The request's `:path`, e.g. `/vdbm.v1.VectorDB/Search` (empty when it had none).
    public var method: String
    /// The gRPC status sent, or `nil` when the call was refused with a plain HTTP status.
    public var status: GRPCStatus.Code?
    /// The HTTP status of a call refused before gRPC (405, 415); `nil` for gRPC answers.
    public var httpStatus: Int?
    /// The status message of an error (empty for OK).
    public var message: String
    /// From the request's headers to the answer.
    public var duration: Duration
    /// The client's address, `ip:port` or `unix`.
    public var peer: String
    /// The call's request id (the client's `x-request-id`, or one made up).
    public var requestID: String

    public init(method: String, status: GRPCStatus.Code?, httpStatus: Int? = nil, message: String = "",
                duration: Duration, peer: String, requestID: String) {
        self.method = method
        self.status = status
        self.httpStatus = httpStatus
        self.message = message
        self.duration = duration
        self.peer = peer
        self.requestID = requestID
    }
}

/// Where the server reports every finished call. The transport only produces records; the
/// daemon decides their format and where they go (and whether there is an access log at all).
///
/// ``record(_:)`` is called on the connection's event loop, so it must not block: format and
/// hand the line over, never write it there.
public protocol AccessLogSink: Sendable {
    /// Takes one finished call.
    func record(_ record: AccessLogRecord)
}
