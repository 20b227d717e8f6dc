/// One finished call as observers see it: what the server knows when the answer leaves.
public struct CallRecord: Sendable {
    /// The request's `:path`, e.g. `/vdbm.v1.VectorDB/Search` (empty when it had none).
    public var method: String
    /// The method's index in the router's ``GRPCRouter/methodPaths`` when the router knew it (then
    /// ``CallObserver/callStarted(method:index:)`` was called for it); `nil` otherwise.
    public var methodIndex: Int?
    /// Whether the router knew the method (`method` is then one of a bounded set).
    public var routed: Bool { methodIndex != nil }
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
    /// Bytes of the request message and of the response message (0 when there was none).
    public var requestBytes: Int
    public var responseBytes: Int

    public init(method: String, methodIndex: Int? = nil, status: GRPCStatus.Code?, httpStatus: Int? = nil,
                message: String = "", duration: Duration, peer: String, requestID: String, requestBytes: Int = 0,
                responseBytes: Int = 0) {
        self.method = method
        self.methodIndex = methodIndex
        self.status = status
        self.httpStatus = httpStatus
        self.message = message
        self.duration = duration
        self.peer = peer
        self.requestID = requestID
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
    }
}

/// What the server tells about calls: the access log and the metrics are observers. The
/// transport only reports; observers decide what to keep and where it goes.
///
/// Both methods are called on the connection's event loop, so they must not block: count, format
/// and hand over, never write there. Every call the router knew gets one ``callStarted(method:index:)``
/// and later exactly one ``callFinished(_:)`` with the same `methodIndex`; other streams get only the
/// latter.
public protocol CallObserver: Sendable {
    /// A call to a method the router knows has begun (its headers arrived); `index` is the
    /// method's place in the router's ``GRPCRouter/methodPaths``.
    func callStarted(method: String, index: Int)
    /// A call ended: answered, refused, reset by the client, or dropped with its connection.
    func callFinished(_ record: CallRecord)
}

extension CallObserver {
    public func callStarted(method: String, index: Int) {}
}
