import GRPCNGHTTP2
import Logging
import MilvusClient
import Synchronization
import Testing
import VDBMDomain
import VDBMPassThrough
import VDBMUtils
@testable import VDBMService

/// A pass-through forwarder that only counts what reaches it.
private final class CountingForwarder: MilvusPassThroughService.Forwarder {
    let forwarded = Mutex(0)

    func forward(_ method: String, _ request: [UInt8], metadata: [(String, String)], credentials: MilvusCredentials?,
                 idempotency: Idempotency, metricsLabel: String, deadline: Deadline) async throws(VectorDBError) -> [UInt8] {
        forwarded.withLock { $0 += 1 }
        return []
    }
}

/// Every method of every service vdbm serves, walked from the router's own list: whatever its kind
/// (unary, streaming, immediate, a fallback; typed, pass-through, health, reflection), a missing
/// key, an unknown key, a key below its role and a full admission class end its calls the same
/// way, before any handler runs.
@Suite struct CallPipelineTests {
    private static let reader = ("reader-key", Role.read), admin = ("admin-key", Role.admin)

    private struct Served {
        let router: GRPCRouter
        let backend: MockBackend
        let forwarder: CountingForwarder
        let admission: AdmissionController

        /// Nothing reached Milvus (or the backend standing in for it).
        var untouched: Bool { backend.calls.isEmpty && forwarder.forwarded.withLock { $0 } == 0 }
    }

    /// vdbm's services as the daemon serves them, one call at a time per admission class.
    private func served() -> Served {
        let keys = [Self.reader, Self.admin].map { APIKey(name: $0.0, sha256: SHA256.hash(Array($0.0.utf8)), role: $0.1) }
        let settings = ServiceSettings(authenticator: APIKeyAuthenticator(keys: keys))
        let limits = Dictionary(uniqueKeysWithValues: CallClass.allCases.map { ($0, 1) })
        let admission = AdmissionController(limits: AdmissionLimits(
            total: 100, perClass: limits, keys: Dictionary(uniqueKeysWithValues: CallClass.allCases.map { ($0, "limit.\($0)") })))
        let backend = MockBackend(), forwarder = CountingForwarder()
        var services: [any GRPCService] = [
            HealthService(registry: HealthStatusRegistry()),
            VectorDBService(backend: backend, settings: settings, serverInfo: VectorDBServiceTests.serverInfo),
            MilvusPassThroughService(forwarder: forwarder),
        ]
        services += ReflectionService.both(listing: services.map(\.serviceName))
        return Served(router: CallPipeline.router(services, settings: settings, admission: admission),
                      backend: backend, forwarder: forwarder, admission: admission)
    }

    /// Calls `descriptor`'s method presenting `key` the way its policy says keys are presented.
    private func call(_ router: GRPCRouter, _ descriptor: MethodDescriptor, key: String?) async -> GRPCStatus? {
        var metadata = Metadata()
        if let key {
            switch descriptor.callPolicy.presentation {
            case .bearer: metadata.append("authorization", .text("Bearer \(key)"))
            case .milvusToken: metadata.append("authorization", .text(Base64.encode(Array(key.utf8), padded: true)))
            }
        }
        let path = descriptor.method == "*" ? "/\(descriptor.service)/SomethingNew" : descriptor.path
        let context = ServerCallContext(path: path, metadata: metadata, deadline: .after(.seconds(5)), peer: "test",
                                        requestID: "t", logger: Logger(label: "test"))
        do {
            switch router.route(path) {
            case .success(.immediate(let body)): _ = try body([], context)
            case .success(.async(let body)): _ = try await body([], context)
            case .success(.streaming(let body)):
                try await body(RequestMessages(single: []), ResponseWriter(single: UnaryResponse()), context)
            case .failure(let status): return status
            }
            return nil
        } catch let status as GRPCStatus {
            return status
        } catch {
            Issue.record("\(path): not a status: \(error)")
            return nil
        }
    }

    private var methods: [MethodDescriptor] { served().router.descriptors }

    @Test func theRouterListsEveryServiceAndOnlyHealthAndReflectionAreOpen() {
        let services = Set(methods.map(\.service))
        #expect(services == [HealthService.name, VectorDBService.name, MilvusPassThroughService.name,
                             ReflectionService.v1, ReflectionService.v1alpha])
        #expect(methods.contains { $0.method == "*" })  // the pass-through's fallback
        let open = methods.filter { $0.callPolicy.role == nil }
        #expect(Set(open.map(\.service)) == [HealthService.name, ReflectionService.v1, ReflectionService.v1alpha])
        #expect(open.allSatisfy { $0.callPolicy.callClass == nil })
    }

    @Test func aMissingKeyIsUnauthenticatedForEveryMethodThatNeedsOne() async {
        let served = served()
        // Open methods are not called: health's Watch would stream until shut down.
        for method in methods where method.callPolicy.role != nil {
            let status = await call(served.router, method, key: nil)
            #expect(status?.code == .unauthenticated && status?.message.hasPrefix("missing API key: ") == true,
                    "\(method): \(String(describing: status))")
        }
        #expect(served.untouched)
    }

    @Test func anUnknownKeyIsUnauthenticatedForEveryMethodThatNeedsOne() async {
        let served = served()
        for method in methods where method.callPolicy.role != nil {
            let status = await call(served.router, method, key: "not-a-key")
            #expect(status == GRPCStatus(.unauthenticated, "unknown API key"), "\(method): \(String(describing: status))")
        }
        #expect(served.untouched)
    }

    @Test func aKeyBelowTheRoleIsDeniedWithTheRoleNamedForEveryMethod() async {
        let served = served()
        for method in methods {
            guard let role = method.callPolicy.role, role > Self.reader.1 else { continue }
            let status = await call(served.router, method, key: Self.reader.0)
            #expect(status == GRPCStatus(.permissionDenied, "API key 'reader-key' has role read; this call needs \(role)"),
                    "\(method): \(String(describing: status))")
        }
        #expect(served.untouched)
    }

    @Test func aFullAdmissionClassRefusesEveryMethodOfItWithTheLimitNamed() async throws {
        let served = served()
        // Every class full: one call running and one waiting behind it, until the test ends.
        let holders = (CallClass.allCases + CallClass.allCases).map { callClass in
            Task { try await served.admission.run(callClass, deadline: .after(.seconds(60))) { try await Task.sleep(for: .seconds(60)) } }
        }
        defer { holders.forEach { $0.cancel() } }
        while served.admission.snapshot != (running: 4, waiting: 4) { try await Task.sleep(for: .milliseconds(1)) }
        for method in methods {
            guard let callClass = method.callPolicy.callClass else { continue }
            let status = await call(served.router, method, key: Self.admin.0)
            #expect(status == GRPCStatus(.resourceExhausted, "vdbm is at its limit of limit.\(callClass) (1) \(callClass) calls "
                                         + "running, and as many wait: try again later"), "\(method): \(String(describing: status))")
        }
        #expect(served.untouched)
    }

    @Test func searchesAreTheirOwnAdmissionClassInEveryService() {
        let searches = methods.filter { $0.callPolicy.callClass == .search }.map(\.path)
        #expect(Set(searches) == ["/vdbm.v1.VectorDB/Search", "/vdbm.v1.VectorDB/HybridSearch",
                                  "/milvus.proto.milvus.MilvusService/Search", "/milvus.proto.milvus.MilvusService/HybridSearch"])
    }
}
