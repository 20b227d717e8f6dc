/// Why a client call got no gRPC status from the server, in the terms that decide whether it may
/// be repeated safely.
public enum GRPCCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server provably did not process the call: the connection could not be made, the request
    /// never left, the stream was refused (`REFUSED_STREAM`) or was above a GOAWAY's last stream id.
    case notProcessed(String)
    /// The connection failed after the request may have reached the server.
    case connectionLost(String)
    /// The call's deadline passed before the response was complete.
    case deadlineExceeded
    /// The server's answer broke the gRPC protocol (no status, bad framing, ...).
    case malformedResponse(String)
    /// The calling task was cancelled: the stream was reset, and the server may have begun it.
    case cancelled

    public var description: String {
        switch self {
        case .notProcessed(let reason): "not processed: \(reason)"
        case .connectionLost(let reason): "connection lost: \(reason)"
        case .deadlineExceeded: "deadline exceeded"
        case .malformedResponse(let reason): "malformed response: \(reason)"
        case .cancelled: "cancelled"
        }
    }
}

/// A finished client call: the server's status and, for OK, the response message.
public struct GRPCClientResponse: Sendable, Hashable {
    public var status: GRPCStatus
    public var message: [UInt8]?

    public init(status: GRPCStatus, message: [UInt8]?) {
        self.status = status
        self.message = message
    }
}
