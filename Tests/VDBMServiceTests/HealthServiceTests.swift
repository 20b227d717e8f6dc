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

    @Test func watchSendsTheStatusNowThenEachChangeOnce() async {
        let registry = registry()
        registry.set(.notServing, for: "vdbm.v1.VectorDB")
        var updates = registry.watch("vdbm.v1.VectorDB").makeAsyncIterator()
        #expect(await updates.next() == .notServing)
        registry.set(.notServing, for: "vdbm.v1.VectorDB")  // no change: nothing sent
        registry.set(.serving, for: "other")  // another service: nothing sent
        registry.set(.serving, for: "vdbm.v1.VectorDB")
        #expect(await updates.next() == .serving)
        registry.enterShutdown()
        #expect(await updates.next() == .notServing)
        #expect(await updates.next() == nil)
        #expect(registry.watcherCount == 0)
    }

    @Test func watchOfAnUnknownServiceSaysSoAndFollowsItOnceKnown() async {
        let registry = registry()
        var updates = registry.watch("later").makeAsyncIterator()
        #expect(await updates.next() == .serviceUnknown)
        registry.set(.serving, for: "later")
        #expect(await updates.next() == .serving)
    }

    @Test func aWatchThatEndsIsForgotten() async {
        let registry = registry()
        let task = Task {
            for await _ in registry.watch("") {}
        }
        while registry.watcherCount == 0 { await Task.yield() }
        task.cancel()
        await task.value
        #expect(registry.watcherCount == 0)
    }

    @Test func aWatchStartedDuringShutdownEndsAtOnce() async {
        let registry = registry()
        registry.enterShutdown()
        var updates = registry.watch("").makeAsyncIterator()
        #expect(await updates.next() == .notServing)
        #expect(await updates.next() == nil)
    }

    @Test func serviceRegistersCheckAndWatch() {
        let service = HealthService(registry: registry())
        #expect(service.serviceName == "grpc.health.v1.Health")
        #expect(service.methods.keys.map(\.method).sorted() == ["Check", "Watch"])
    }
}
