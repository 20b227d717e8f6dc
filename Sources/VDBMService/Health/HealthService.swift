import GRPCNGHTTP2
import VDBMProtobuf

/// `grpc.health.v1.Health`: `Check` answers from the status registry, on the event loop (it only
/// reads a dictionary). An unknown service is `NOT_FOUND`, as the health-checking spec asks.
/// `Watch` is a server-streaming method, which vdbm does not serve (`UNIMPLEMENTED`).
public struct HealthService: GRPCService {
    public static let name = "grpc.health.v1.Health"

    private let registry: HealthStatusRegistry

    public init(registry: HealthStatusRegistry) {
        self.registry = registry
    }

    public var serviceName: String { Self.name }

    public var methods: [String: UnaryHandler] {
        let registry = self.registry
        return ["Check": .immediate { bytes, _ throws(GRPCStatus) in
            try Self.check(bytes, registry: registry)
        }]
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
