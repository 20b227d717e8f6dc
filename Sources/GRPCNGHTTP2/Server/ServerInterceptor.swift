/// A method's identity: its service and name (the path is `/service/method`).
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    public var service: String
    public var method: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
    }

    /// `/service/method`, the HTTP/2 `:path` of its calls.
    public var path: String { "/\(service)/\(method)" }
    public var description: String { path }
}

/// Code that runs around a method's handler, on every call, in a chain: it may look at or change
/// the request and context, refuse the call by throwing, call `next` (the rest of the chain and
/// then the handler), and look at or change the answer. Modelled on grpc-swift-2's
/// `ServerInterceptor`; vdbm's `VectorDB` service chains authorization and error mapping.
///
/// What every call must be seen by, including calls refused before any handler (unknown methods,
/// wrong content types, deadlines answered by the transport), is a ``CallObserver`` instead: the
/// access log and the metrics.
public protocol ServerInterceptor: Sendable {
    func intercept(
        _ request: [UInt8], context: ServerCallContext, method: MethodDescriptor,
        next: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8]
    ) async throws -> [UInt8]
}

extension Array where Element == any ServerInterceptor {
    /// `handler` behind these interceptors, the first one outermost.
    public func wrap(
        _ handler: @escaping @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8], method: MethodDescriptor
    ) -> @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8] {
        reversed().reduce(handler) { next, interceptor in
            { request, context in try await interceptor.intercept(request, context: context, method: method, next: next) }
        }
    }
}
