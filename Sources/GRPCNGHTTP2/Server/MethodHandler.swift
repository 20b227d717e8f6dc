/// An error that knows which gRPC status it should end a call with.
public protocol GRPCStatusConvertible: Error {
    var grpcStatus: GRPCStatus { get }
}

extension GRPCStatus: GRPCStatusConvertible {
    public var grpcStatus: GRPCStatus { self }
}

/// How a method turns what the client sends into what it answers.
public enum MethodHandler: Sendable {
    /// Unary: answers on the connection's event loop without suspending: only for cheap,
    /// non-blocking work (health checks), where a hop off the loop would cost more than the work.
    case immediate(@Sendable (_ request: [UInt8], _ context: ServerCallContext) throws(GRPCStatus) -> [UInt8])
    /// Unary: runs in a task off the event loop; the response comes back to the loop. Errors that
    /// are not `GRPCStatusConvertible` end the call with `INTERNAL` and no detail (nothing leaks).
    case async(@Sendable (_ request: [UInt8], _ context: ServerCallContext) async throws -> [UInt8])
    /// Any number of messages each way (bidirectional streaming; the other streaming kinds are
    /// built on it). The handler starts with the request headers and reads while it writes;
    /// returning ends the call with OK, throwing as for `.async`. Both directions follow HTTP/2
    /// flow control: a client is held back until the handler reads, and `write` waits while the
    /// client does not read.
    case streaming(@Sendable (_ requests: RequestMessages, _ responses: ResponseWriter,
                              _ context: ServerCallContext) async throws -> Void)

    /// Server streaming: one request message, any number of responses.
    public static func serverStreaming(
        _ body: @escaping @Sendable (_ request: [UInt8], _ responses: ResponseWriter, _ context: ServerCallContext) async throws -> Void
    ) -> MethodHandler {
        .streaming { requests, responses, context in
            try await body(try await requests.first(), responses, context)
        }
    }

    /// Client streaming: any number of request messages, one response.
    public static func clientStreaming(
        _ body: @escaping @Sendable (_ requests: RequestMessages, _ context: ServerCallContext) async throws -> [UInt8]
    ) -> MethodHandler {
        .streaming { requests, responses, context in
            try await responses.write(try await body(requests, context))
        }
    }
}

/// A gRPC service: a name and its methods, each under the descriptor that states its policy.
public protocol GRPCService: Sendable {
    /// The fully qualified service name, e.g. `grpc.health.v1.Health`.
    var serviceName: String { get }
    /// Handlers by method (`descriptor.service` is `serviceName`).
    var methods: [MethodDescriptor: MethodHandler] { get }
    /// What answers a method of this service that `methods` does not name (a proxy forwarding
    /// methods it does not know), under a descriptor whose method is `*`; nil: such calls are
    /// UNIMPLEMENTED.
    var fallback: (descriptor: MethodDescriptor, handler: MethodHandler)? { get }
}

extension GRPCService {
    public var fallback: (descriptor: MethodDescriptor, handler: MethodHandler)? { nil }
}
