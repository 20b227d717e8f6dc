import Logging
import VDBMUtils

/// What a handler knows about the call it answers, beside the request message.
public struct ServerCallContext: Sendable {
    /// The full method path, e.g. `/grpc.health.v1.Health/Check`.
    public let path: String
    /// The request's custom metadata.
    public let metadata: Metadata
    /// When the call must be answered: the client's `grpc-timeout` or the server's default.
    public let deadline: Deadline
    /// The peer's address, for logs.
    public let peer: String
    /// The client's `x-request-id`, or one vdbm made up; it appears in every log line of the call.
    public let requestID: String
    /// A logger that already carries the request id and method.
    public let logger: Logger

    public init(path: String, metadata: Metadata, deadline: Deadline, peer: String, requestID: String, logger: Logger) {
        self.path = path
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.requestID = requestID
        self.logger = logger
    }
}
