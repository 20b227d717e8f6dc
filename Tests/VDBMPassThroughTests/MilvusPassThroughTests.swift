import GRPCNGHTTP2
import Logging
import MilvusClient
import Synchronization
import Testing
import VDBMDomain
import VDBMManager
import VDBMProtobuf
import VDBMUtils
@testable import VDBMPassThrough
@testable import VDBMService

/// Records what the pass-through sends on, and answers with fixed bytes.
private final class RecordingForwarder: MilvusPassThroughService.Forwarder {
    struct Call {
        var method: String
        var request: [UInt8]
        var metadata: [(String, String)]
        var credentials: MilvusCredentials?
        var idempotency: Idempotency
        var label: String
    }

    let calls = Mutex<[Call]>([])
    func forward(_ method: String, _ request: [UInt8], metadata: [(String, String)], credentials: MilvusCredentials?,
                 idempotency: Idempotency, metricsLabel: String, deadline: Deadline) async throws(VectorDBError) -> [UInt8] {
        calls.withLock { $0.append(Call(method: method, request: request, metadata: metadata, credentials: credentials,
                                        idempotency: idempotency, label: metricsLabel)) }
        return [0x0A, 0x00] + request
    }
}

@Suite struct MilvusPassThroughTests {
    private static let readerKey = "reader-key", adminKey = "admin-key"

    private func service(auth: Bool = true, clientCredentials: Bool = false) -> (GRPCRouter, RecordingForwarder) {
        let keys = [APIKey(name: "reader", sha256: SHA256.hash(Array(Self.readerKey.utf8)), role: .read),
                    APIKey(name: "admin", sha256: SHA256.hash(Array(Self.adminKey.utf8)), role: .admin)]
        let forwarder = RecordingForwarder()
        let settings = ServiceSettings(authenticator: APIKeyAuthenticator(keys: auth ? keys : nil))
        let service = MilvusPassThroughService(forwarder: forwarder, clientCredentialsAllowed: clientCredentials)
        return (CallPipeline.router([service], settings: settings, admission: nil), forwarder)
    }

    /// pymilvus's `authorization`: base64 of the token, no scheme.
    private func call(_ service: GRPCRouter, _ method: String, token: String?, extra: [(String, String)] = [],
                      bytes: [UInt8] = [1, 2, 3]) async throws -> [UInt8] {
        var metadata = Metadata()
        if let token { metadata.append("authorization", .text(Base64.encode(Array(token.utf8), padded: true))) }
        for (key, value) in extra { metadata.append(key, .text(value)) }
        let context = ServerCallContext(path: "/\(MilvusPassThroughService.name)/\(method)", metadata: metadata,
                                        deadline: .after(.seconds(5)), peer: "test", requestID: "t", logger: Logger(label: "test"))
        guard case .success(.async(let body)) = service.route("/\(MilvusPassThroughService.name)/\(method)") else { Issue.record("no unary handler for \(method)"); return [] }
        return try await body(bytes, context)
    }

    @Test func everyMethodOfTheProtoIsClassifiedExactlyOnce() {
        let names = Set(MilvusServiceMethods.names)
        #expect(names.count == MilvusServiceMethods.names.count)
        #expect(names.count >= 144)
        let classified = [MilvusMethodTable.read, MilvusMethodTable.write, MilvusMethodTable.admin]
        for name in names {
            #expect(classified.filter { $0.contains(name) }.count == 1, "\(name) is not classified exactly once")
        }
        #expect(classified.reduce(Set<String>()) { $0.union($1) } == names)  // no stale names either
        #expect(MilvusMethodTable.role(of: "Search") == .read && MilvusMethodTable.role(of: "Insert") == .write
            && MilvusMethodTable.role(of: "DropCollection") == .admin && MilvusMethodTable.role(of: "SomethingNew") == .admin)
        #expect(MilvusMethodTable.idempotency(of: "Query") == .idempotent && MilvusMethodTable.idempotency(of: "Insert") == .nonIdempotent)
    }

    @Test func aKeyIsCheckedAgainstTheRoleThenDroppedAndTheBytesGoOnUntouched() async throws {
        let (service, forwarder) = service()
        let answer = try await call(service, "Search", token: Self.readerKey,
                                    extra: [("dbname", "default"), ("identifier", "42"), ("traceparent", "x")])
        #expect(answer == [0x0A, 0x00, 1, 2, 3])
        let sent = try #require(forwarder.calls.withLock { $0.first })
        #expect(sent.method == "Search" && sent.request == [1, 2, 3] && sent.credentials == nil)
        #expect(sent.metadata.map(\.0) == ["dbname", "identifier"])  // no key, no client trace headers
        #expect(sent.idempotency == .idempotent && sent.label == "Search")
    }

    @Test func aReadKeyCannotWriteOrDropAndAWrongKeyIsRefused() async {
        let (service, forwarder) = service()
        for method in ["Insert", "DropCollection"] {
            await #expect(throws: GRPCStatus(.permissionDenied, "API key 'reader' has role read; this call needs \(method == "Insert" ? "write" : "admin")")) {
                _ = try await call(service, method, token: Self.readerKey)
            }
        }
        await #expect(throws: GRPCStatus(.unauthenticated, "unknown API key")) { _ = try await call(service, "Search", token: "nope") }
        await #expect(throws: GRPCStatus.self) { _ = try await call(service, "Search", token: nil) }
        #expect(forwarder.calls.withLock { $0.isEmpty })
    }

    @Test func milvusCredentialsFromAClientAreRefusedUnlessAllowed() async throws {
        let (strict, _) = service()
        await #expect(throws: GRPCStatus.self) { _ = try await call(strict, "Search", token: "root:Milvus") }
        let (lenient, forwarder) = service(clientCredentials: true)
        _ = try await call(lenient, "Search", token: "root:Milvus")
        #expect(forwarder.calls.withLock { $0.first?.credentials } == .password(user: "root", password: "Milvus"))
    }

    @Test func withAuthOffVdbmsOwnCredentialsAreUsed() async throws {
        let (service, forwarder) = service(auth: false)
        _ = try await call(service, "Insert", token: "root:Milvus")
        #expect(forwarder.calls.withLock { $0.first?.credentials } == nil)
    }

    @Test func anUnknownMethodIsForwardedForAnAdminKeyUnderOneLabel() async throws {
        let (service, forwarder) = service()
        await #expect(throws: GRPCStatus.self) { _ = try await call(service, "BrandNewCall", token: Self.readerKey) }
        _ = try await call(service, "BrandNewCall", token: Self.adminKey)
        let sent = try #require(forwarder.calls.withLock { $0.first })
        #expect(sent.method == "BrandNewCall" && sent.label == "other" && sent.idempotency == .nonIdempotent)
    }

    @Test func streamingMethodsAreNotPassedThrough() async throws {
        let (service, forwarder) = service()
        await #expect(throws: GRPCStatus(.unimplemented, "vdbm passes unary Milvus calls through, not the stream DumpMessages")) {
            _ = try await call(service, "DumpMessages", token: Self.adminKey)
        }
        #expect(forwarder.calls.withLock { $0 }.isEmpty)
    }
}
