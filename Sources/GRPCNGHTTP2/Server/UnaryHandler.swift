/// An error that knows which gRPC status it should end a call with.
public protocol GRPCStatusConvertible: Error {
    var grpcStatus: GRPCStatus { get }
}

extension GRPCStatus: GRPCStatusConvertible {
    public var grpcStatus: GRPCStatus { self }
}

/// How a unary method turns a serialized request into a serialized response.
public enum UnaryHandler: Sendable {
    /// Answers on the connection's event loop without suspending: only for cheap, non-blocking work
    /// (health checks), where a hop off the loop would cost more than the work.
    case immediate(@Sendable (_ request: [UInt8], _ context: ServerCallContext) throws(GRPCStatus) -> [UInt8])
    /// Runs in a task off the event loop; the response comes back to the loop. Errors that are not
    /// `GRPCStatusConvertible` end the call with `INTERNAL` and no detail (nothing leaks).
    case async(@Sendable (_ request: [UInt8], _ context: ServerCallContext) async throws -> [UInt8])
}

/// A gRPC service: a name and its unary methods.
public protocol GRPCService: Sendable {
    /// The fully qualified service name, e.g. `grpc.health.v1.Health`.
    var serviceName: String { get }
    /// Handlers by method name, e.g. `Check`.
    var methods: [String: UnaryHandler] { get }
}
