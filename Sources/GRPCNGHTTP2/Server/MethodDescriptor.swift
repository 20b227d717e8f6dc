/// A method's identity (its service and name; the path is `/service/method`) and the policy its
/// service states for it.
///
/// The policy is data for the server's interceptors (who may call the method, how its calls are
/// admitted, whether they may be retried): the service that registers the method sets it, the
/// interceptors read it, and the transport never looks at it. Two descriptors are equal when they
/// name the same method, whatever their policies.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    public let service: String
    public let method: String
    public let policy: (any Sendable)?

    public init(service: String, method: String, policy: (any Sendable)? = nil) {
        self.service = service
        self.method = method
        self.policy = policy
    }

    /// `/service/method`, the HTTP/2 `:path` of its calls.
    public var path: String { "/\(service)/\(method)" }
    public var description: String { path }

    public static func == (lhs: MethodDescriptor, rhs: MethodDescriptor) -> Bool {
        lhs.service == rhs.service && lhs.method == rhs.method
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(service)
        hasher.combine(method)
    }
}

extension Dictionary where Key == MethodDescriptor, Value == MethodHandler {
    /// `handlers` by method name, as methods of `service` that state no policy.
    public init(service: String, _ handlers: [String: MethodHandler]) {
        self.init(uniqueKeysWithValues: handlers.map { (MethodDescriptor(service: service, method: $0.key), $0.value) })
    }
}
