/// Finds the handler for a request path (`/package.Service/Method`).
public struct GRPCRouter: Sendable {
    private var handlers: [String: UnaryHandler] = [:]
    /// The names of the registered services, in registration order.
    public private(set) var serviceNames: [String] = []

    public init(services: [any GRPCService] = []) {
        for service in services { register(service) }
    }

    /// Adds a service; a later registration of the same method path wins.
    public mutating func register(_ service: any GRPCService) {
        if !serviceNames.contains(service.serviceName) {
            serviceNames.append(service.serviceName)
        }
        for (method, handler) in service.methods {
            handlers["/\(service.serviceName)/\(method)"] = handler
        }
    }

    /// The handler for `path`, or the status that explains why there is none.
    public func route(_ path: String) -> Result<UnaryHandler, GRPCStatus> {
        if let handler = handlers[path] { return .success(handler) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else {
            return .failure(GRPCStatus(.unimplemented, "malformed method path \(path)"))
        }
        guard serviceNames.contains(String(parts[1])) else {
            return .failure(GRPCStatus(.unimplemented, "unknown service \(parts[1])"))
        }
        return .failure(GRPCStatus(.unimplemented, "unknown method \(parts[2]) for service \(parts[1])"))
    }
}
