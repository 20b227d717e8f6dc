import GRPCNGHTTP2
import Testing
import VDBMProtobuf
@testable import VDBMService

@Suite struct HealthServiceTests {
    private func registry() -> HealthStatusRegistry {
        let registry = HealthStatusRegistry()
        registry.set(.serving, for: "")
        registry.set(.serving, for: HealthService.name)
        return registry
    }

    private func check(_ service: String, _ registry: HealthStatusRegistry) throws(GRPCStatus) -> HealthCheckResponse.ServingStatus {
        let bytes = try HealthService.check(HealthCheckRequest(service: service).serializedBytes(), registry: registry)
        return try! HealthCheckResponse(serializedBytes: bytes).status
    }

    @Test func serverAndKnownServicesAreServing() throws {
        let registry = registry()
        #expect(try check("", registry) == .serving)
        #expect(try check(HealthService.name, registry) == .serving)
    }

    @Test func unknownServiceIsNotFound() {
        #expect(throws: GRPCStatus(.notFound, "unknown service nope")) { try check("nope", registry()) }
    }

    @Test func shutdownTurnsEveryServiceToNotServing() throws {
        let registry = registry()
        registry.enterShutdown()
        #expect(try check("", registry) == .notServing)
        #expect(try check(HealthService.name, registry) == .notServing)
        // A Milvus connection coming back during shutdown does not turn it back on.
        registry.setMilvusReachable(true, services: [""])
        #expect(try check("", registry) == .notServing)
    }

    @Test func milvusReachabilityDrivesTheNamedServices() throws {
        let registry = registry()
        registry.set(.serving, for: "vdbm.v1.VectorDB")
        registry.setMilvusReachable(false, services: ["", "vdbm.v1.VectorDB"])
        #expect(try check("", registry) == .notServing)
        #expect(try check("vdbm.v1.VectorDB", registry) == .notServing)
        #expect(try check(HealthService.name, registry) == .serving)
        registry.setMilvusReachable(true, services: ["", "vdbm.v1.VectorDB"])
        #expect(try check("", registry) == .serving)
        #expect(try check("vdbm.v1.VectorDB", registry) == .serving)
    }

    @Test func malformedRequestIsInvalidArgumentWithAClearMessage() {
        #expect(throws: GRPCStatus(.invalidArgument, "request is not a valid grpc.health.v1.HealthCheckRequest message")) {
            try HealthService.check([0x0A, 0x09], registry: registry())
        }
    }

    @Test func serviceRegistersCheckOnly() {
        let service = HealthService(registry: registry())
        #expect(service.serviceName == "grpc.health.v1.Health")
        #expect(Array(service.methods.keys) == ["Check"])
    }
}
