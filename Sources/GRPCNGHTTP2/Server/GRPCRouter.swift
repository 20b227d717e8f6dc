/// Finds the handler for a request path (`/package.Service/Method`).
public struct GRPCRouter: Sendable {
    private var handlers: [String: (handler: MethodHandler, index: Int)] = [:]
    /// Services' fallbacks by service name, with the index of their `/service/*` path.
    private var fallbacks: [String: (handler: MethodHandler, index: Int)] = [:]
    /// The names of the registered services, in registration order.
    public private(set) var serviceNames: [String] = []
    /// Every method path, indexed as ``resolve(_:)`` reports them: observers keep per-method
    /// figures in arrays by this index instead of hashing the path on every call.
    public private(set) var methodPaths: [String] = []

    public init(services: [any GRPCService] = []) {
        for service in services { register(service) }
    }

    /// Adds a service; a later registration of the same method path wins.
    public mutating func register(_ service: any GRPCService) {
        if !serviceNames.contains(service.serviceName) {
            serviceNames.append(service.serviceName)
        }
        for (method, handler) in service.methods.sorted(by: { $0.key < $1.key }) {
            let path = "/\(service.serviceName)/\(method)"
            if let known = handlers[path] {
                handlers[path] = (handler, known.index)
            } else {
                handlers[path] = (handler, methodPaths.count)
                methodPaths.append(path)
            }
        }
        if let fallback = service.fallback {
            // One path for every method it answers: observers keep bounded labels.
            let path = "/\(service.serviceName)/*"
            if let known = fallbacks[service.serviceName] {
                fallbacks[service.serviceName] = (fallback, known.index)
            } else {
                fallbacks[service.serviceName] = (fallback, methodPaths.count)
                methodPaths.append(path)
            }
        }
    }

    /// The handler for `path`, or the status that explains why there is none.
    public func route(_ path: String) -> Result<MethodHandler, GRPCStatus> {
        resolve(path).map(\.handler)
    }

    /// The handler for `path` with the method's index in ``methodPaths``, or the status that
    /// explains why there is none.
    public func resolve(_ path: String) -> Result<(handler: MethodHandler, index: Int), GRPCStatus> {
        if let known = handlers[path] { return .success(known) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            return .failure(GRPCStatus(.unimplemented, "malformed method path \(path)"))
        }
        guard serviceNames.contains(String(parts[1])) else {
            return .failure(GRPCStatus(.unimplemented, "unknown service \(parts[1])"))
        }
        if let fallback = fallbacks[String(parts[1])] { return .success(fallback) }
        return .failure(GRPCStatus(.unimplemented, "unknown method \(parts[2]) for service \(parts[1])"))
    }
}
