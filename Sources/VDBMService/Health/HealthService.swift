import GRPCNGHTTP2
import VDBMProtobuf

/// `grpc.health.v1.Health`: `Check` answers from the status registry, on the event loop (it only
/// reads a dictionary); an unknown service is `NOT_FOUND`, as the health-checking spec asks.
/// `Watch` streams the status now and then every change (SERVICE_UNKNOWN for an unknown service,
/// which may become known later); at shutdown it sends NOT_SERVING and ends with `UNAVAILABLE`.
public struct HealthService: GRPCService {
    public static let name = "grpc.health.v1.Health"

    private let registry: HealthStatusRegistry

    public init(registry: HealthStatusRegistry) {
        self.registry = registry
    }

    public var serviceName: String { Self.name }

    /// Open to every caller and never queued (``CallPolicy/open``): a probe must get through
    /// whatever the keys and the load.
    public var methods: [MethodDescriptor: MethodHandler] {
        let registry = self.registry
        return [
            MethodDescriptor(service: Self.name, method: "Check", policy: CallPolicy.open): .immediate { bytes, _ throws(GRPCStatus) in
                try Self.check(bytes, registry: registry)
            },
            MethodDescriptor(service: Self.name, method: "Watch", policy: CallPolicy.open): .serverStreaming { bytes, responses, _ in
                try await Self.watch(bytes, registry: registry, responses: responses)
            },
        ]
    }

    static func watch(_ bytes: [UInt8], registry: HealthStatusRegistry, responses: ResponseWriter) async throws {
        let request: HealthCheckRequest
        do {
            request = try HealthCheckRequest(serializedBytes: bytes)
        } catch {
            throw ErrorMapping.status(for: error)
        }
        for await status in registry.watch(request.service) {
            try await responses.write(HealthCheckResponse(status: status).serializedBytes())
        }
        try Task.checkCancellation()
        throw GRPCStatus(.unavailable, "the server is shutting down")
    }

    static func check(_ bytes: [UInt8], registry: HealthStatusRegistry) throws(GRPCStatus) -> [UInt8] {
        let request: HealthCheckRequest
        do {
            request = try HealthCheckRequest(serializedBytes: bytes)
        } catch {
            throw ErrorMapping.status(for: error)
        }
        guard let status = registry.status(of: request.service) else {
            throw GRPCStatus(.notFound, "unknown service \(request.service)")
        }
        return HealthCheckResponse(status: status).serializedBytes()
    }
}
