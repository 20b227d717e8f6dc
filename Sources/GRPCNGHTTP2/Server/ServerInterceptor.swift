/// One call as an interceptor sees it: the method, its request messages, where its responses go,
/// and what the handler knows about it. Unary calls have the same shape (one request message;
/// one response written), so one interceptor serves every kind of method.
public struct ServerCall: Sendable {
    public let method: MethodDescriptor
    public var requests: RequestMessages
    public var responses: ResponseWriter
    public var context: ServerCallContext

    public init(method: MethodDescriptor, requests: RequestMessages, responses: ResponseWriter, context: ServerCallContext) {
        self.method = method
        self.requests = requests
        self.responses = responses
        self.context = context
    }
}

/// Code that runs around every call of the methods it applies to, registered once on the router
/// (``GRPCRouter``): it may look at the call, refuse it by throwing, wrap or replace its message
/// streams, and call `next` (the rest of the chain, then the handler). Modelled on grpc-swift-2's
/// streaming-first `ServerInterceptor`.
///
/// What every call must be seen by, including calls refused before any handler (unknown methods,
/// wrong content types, deadlines answered by the transport), is a ``CallObserver`` instead: the
/// access log and the metrics.
public protocol ServerInterceptor: Sendable {
    /// Whether calls of `method` go through this interceptor; asked once per method, when the
    /// router is built. A method no interceptor applies to runs as its service wrote it.
    func applies(to method: MethodDescriptor) -> Bool

    func intercept(_ call: ServerCall, next: @Sendable (ServerCall) async throws -> Void) async throws
}

extension ServerInterceptor {
    public func applies(to method: MethodDescriptor) -> Bool { true }
}

/// A call through the rest of an interceptor chain.
public typealias ServerCallStep = @Sendable (ServerCall) async throws -> Void

extension Array where Element == any ServerInterceptor {
    /// `handler` behind these interceptors, the first one outermost.
    public func wrap(_ handler: @escaping ServerCallStep) -> ServerCallStep {
        reversed().reduce(handler) { next, interceptor in
            { call in try await interceptor.intercept(call, next: next) }
        }
    }
}
