/// Finds the handler for a request path (`/package.Service/Method`).
///
/// Methods are registered by descriptor; every handler is composed once, here, with the
/// interceptors that apply to its descriptor and the server's error mapping, so every service
/// (unary or streaming, typed or pass-through, health and reflection too) gets one call policy.
public struct GRPCRouter: Sendable {
    /// Turns what a handler or interceptor throws into the status the call ends with (nil: the
    /// transport's default, INTERNAL with no detail). A `GRPCStatus` always passes as it is.
    public typealias ErrorMapping = @Sendable (any Error) -> GRPCStatus?

    private struct Route {
        var handler: MethodHandler
        var index: Int
    }

    private var routes: [String: Route] = [:]
    /// Services' fallbacks by service name.
    private var fallbacks: [String: Route] = [:]
    private let interceptors: [any ServerInterceptor]
    private let errorMapping: ErrorMapping?
    /// The names of the registered services, in registration order.
    public private(set) var serviceNames: [String] = []
    /// Every registered method (fallbacks as `service/*`), in the order ``resolve(_:)`` indexes
    /// them: observers keep per-method figures in arrays by this index instead of hashing the
    /// path on every call.
    public private(set) var descriptors: [MethodDescriptor] = []

    /// Every method path, indexed as ``descriptors``.
    public var methodPaths: [String] { descriptors.map(\.path) }

    public init(services: [any GRPCService] = [], interceptors: [any ServerInterceptor] = [],
                errorMapping: ErrorMapping? = nil) {
        self.interceptors = interceptors
        self.errorMapping = errorMapping
        for service in services { register(service) }
    }

    /// Adds a service; a later registration of the same method wins.
    public mutating func register(_ service: any GRPCService) {
        if !serviceNames.contains(service.serviceName) {
            serviceNames.append(service.serviceName)
        }
        for (descriptor, handler) in service.methods.sorted(by: { $0.key.method < $1.key.method }) {
            add(descriptor, handler, fallback: false)
        }
        if let fallback = service.fallback {
            // One path for every method it answers: observers keep bounded labels.
            let descriptor = MethodDescriptor(service: service.serviceName, method: "*", policy: fallback.descriptor.policy)
            add(descriptor, fallback.handler, fallback: true)
        }
    }

    /// Adds a method (or, with `fallback`, its service's fallback) under its composed handler.
    private mutating func add(_ descriptor: MethodDescriptor, _ handler: MethodHandler, fallback: Bool) {
        let key = fallback ? descriptor.service : descriptor.path
        let known = fallback ? fallbacks[key] : routes[key]
        let index = known?.index ?? descriptors.count
        let route = Route(handler: compose(handler, descriptor), index: index)
        if fallback { fallbacks[key] = route } else { routes[key] = route }
        if known == nil { descriptors.append(descriptor) } else { descriptors[index] = descriptor }
    }

    /// The handler for `path`, or the status that explains why there is none.
    public func route(_ path: String) -> Result<MethodHandler, GRPCStatus> {
        resolve(path).map(\.handler)
    }

    /// The handler for `path` with the method's index in ``descriptors``, or the status that
    /// explains why there is none.
    public func resolve(_ path: String) -> Result<(handler: MethodHandler, index: Int), GRPCStatus> {
        if let known = routes[path] { return .success((known.handler, known.index)) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            return .failure(GRPCStatus(.unimplemented, "malformed method path \(path)"))
        }
        guard serviceNames.contains(String(parts[1])) else {
            return .failure(GRPCStatus(.unimplemented, "unknown service \(parts[1])"))
        }
        if let fallback = fallbacks[String(parts[1])] { return .success((fallback.handler, fallback.index)) }
        return .failure(GRPCStatus(.unimplemented, "unknown method \(parts[2]) for service \(parts[1])"))
    }

    /// `handler` behind the interceptors that apply to `descriptor`, its errors mapped. A unary
    /// method under interceptors runs as a stream of one message each way; one that none applies
    /// to keeps its own shape (an `.immediate` health check stays on the event loop).
    private func compose(_ handler: MethodHandler, _ descriptor: MethodDescriptor) -> MethodHandler {
        let chain = interceptors.filter { $0.applies(to: descriptor) }
        if chain.isEmpty && errorMapping == nil { return handler }
        let errorMapping = self.errorMapping
        let mapped: @Sendable (any Error) -> any Error = { error in
            guard let errorMapping, !(error is GRPCStatus) else { return error }
            return errorMapping(error) ?? error
        }
        switch handler {
        case .immediate(let body) where chain.isEmpty:
            return .immediate(body)
        case .async(let body) where chain.isEmpty:
            return .async { request, context in
                do { return try await body(request, context) } catch { throw mapped(error) }
            }
        case .streaming(let body) where chain.isEmpty:
            return .streaming { requests, responses, context in
                do { try await body(requests, responses, context) } catch { throw mapped(error) }
            }
        case .streaming(let body):
            let run = chain.wrap { call in try await body(call.requests, call.responses, call.context) }
            return .streaming { requests, responses, context in
                do {
                    try await run(ServerCall(method: descriptor, requests: requests, responses: responses, context: context))
                } catch { throw mapped(error) }
            }
        case .immediate, .async:
            let unary: @Sendable ([UInt8], ServerCallContext) async throws -> [UInt8] = switch handler {
            case .immediate(let body): { request, context in try body(request, context) }
            case .async(let body): body
            case .streaming: preconditionFailure("handled above")
            }
            let run = chain.wrap { call in
                try await call.responses.write(try await unary(try await call.requests.first(), call.context))
            }
            return .async { request, context in
                let response = UnaryResponse()
                do {
                    try await run(ServerCall(method: descriptor, requests: RequestMessages(single: request),
                                             responses: ResponseWriter(single: response), context: context))
                    return try response.take()
                } catch { throw mapped(error) }
            }
        }
    }
}
