import GRPCNGHTTP2
import MilvusClient
import VDBMDomain
import VDBMManager
import VDBMProtobuf
import VDBMService
import VDBMUtils

/// Sends the calls an unmodified Milvus SDK makes (`milvus.proto.milvus.MilvusService`) on to
/// Milvus as bytes, over vdbm's pool with its retry policy, behind vdbm's API keys: a client puts
/// its vdbm key where pymilvus puts its token (`MilvusClient(uri=..., token="<api key>")` sends
/// `authorization: base64(token)`), vdbm checks it against the method's role, drops it, and calls
/// Milvus with its own credentials. Milvus's answers, errors included, come back untouched.
public struct MilvusPassThroughService: GRPCService {
    public static let name = "milvus.proto.milvus.MilvusService"

    /// What the pass-through needs from the Milvus client (a protocol, so tests inject a mock).
    public protocol Forwarder: Sendable {
        func forward(_ method: String, _ request: [UInt8], metadata: [(String, String)], credentials: MilvusCredentials?,
                     idempotency: Idempotency, metricsLabel: String, deadline: Deadline) async throws(VectorDBError) -> [UInt8]
    }

    private let forwarder: any Forwarder
    /// `auth.passthrough_milvus_credentials`: a client's own Milvus user:password (or token) is
    /// sent on to Milvus in place of vdbm's.
    private let clientCredentialsAllowed: Bool
    /// Merges concurrent `Search` calls (`nil`: each goes to Milvus on its own).
    private let searchCoalescer: PassThroughSearchCoalescer?
    /// Merges concurrent `Insert` calls (`nil`: each goes to Milvus on its own).
    private let writeCoalescer: PassThroughWriteCoalescer?

    public init(forwarder: any Forwarder, clientCredentialsAllowed: Bool = false,
                searchCoalescer: PassThroughSearchCoalescer? = nil, writeCoalescer: PassThroughWriteCoalescer? = nil) {
        self.forwarder = forwarder
        self.clientCredentialsAllowed = clientCredentialsAllowed
        self.searchCoalescer = searchCoalescer
        self.writeCoalescer = writeCoalescer
    }

    public var serviceName: String { Self.name }

    public var methods: [MethodDescriptor: MethodHandler] {
        var handlers: [MethodDescriptor: MethodHandler] = [:]
        for name in MilvusServiceMethods.names {
            let descriptor = MethodDescriptor(service: Self.name, method: name, policy: policy(of: name))
            if MilvusMethodTable.streaming.contains(name) {
                handlers[descriptor] = .immediate { _, _ throws(GRPCStatus) in
                    throw GRPCStatus(.unimplemented, "vdbm passes unary Milvus calls through, not the stream \(name)")
                }
            } else {
                handlers[descriptor] = handler(method: name, policy: descriptor.callPolicy)
            }
        }
        return handlers
    }

    /// A method vdbm does not know (a newer SDK's): forwarded as bytes, for an `admin` key.
    public var fallback: (descriptor: MethodDescriptor, handler: MethodHandler)? {
        let policy = policy(of: nil)
        return (MethodDescriptor(service: Self.name, method: "*", policy: policy), handler(method: nil, policy: policy))
    }

    /// `method`'s row of the table as a call policy (nil: a method the table does not know).
    func policy(of method: String?) -> CallPolicy {
        let role = method.map(MilvusMethodTable.role(of:)) ?? .admin
        return CallPolicy(role: role, class: method == "Search" || method == "HybridSearch" ? .search : nil,
                          idempotent: method.map { MilvusMethodTable.idempotency(of: $0) == .idempotent } ?? false,
                          presentation: .milvusToken(clientCredentials: clientCredentialsAllowed))
    }

    /// The handler of `method`, or (nil) of any method the table does not name, which takes its
    /// name from the call's path and is counted under the label `other`. The caller was
    /// authorized and admitted by the call pipeline before it runs.
    private func handler(method known: String?, policy: CallPolicy) -> MethodHandler {
        let label = known ?? "other"
        let idempotency: Idempotency = policy.idempotent ? .idempotent : .nonIdempotent
        let forwarder = self.forwarder
        let searchCoalescer = known == "Search" ? self.searchCoalescer : nil
        let writeCoalescer = known == "Insert" ? self.writeCoalescer : nil
        return .async { request, context in
            let method = known ?? String(context.path.split(separator: "/").last ?? "")
            let credentials = CallerCredentials.milvus.map(Self.milvusCredentials)
            let metadata = Self.forwardedMetadata(context.metadata)
            let send: PassThroughSearchCoalescer.Send = { request, deadline throws(VectorDBError) in
                try await forwarder.forward(method, request, metadata: metadata, credentials: credentials,
                                            idempotency: idempotency, metricsLabel: label, deadline: deadline)
            }
            if let searchCoalescer {
                return try await searchCoalescer.search(request, context: Self.coalescingContext(metadata, credentials),
                                                        deadline: context.deadline, send: send)
            }
            if let writeCoalescer {
                return try await writeCoalescer.insert(request, context: Self.coalescingContext(metadata, credentials),
                                                       deadline: context.deadline, send: send)
            }
            return try await send(request, context.deadline)
        }
    }

    /// What besides the request decides a search's answer (or where an insert's rows go), for the
    /// coalescers' keys: the
    /// credentials Milvus sees and the client's metadata (its database), less what names only the
    /// client or the call.
    static func coalescingContext(_ metadata: [(String, String)], _ credentials: MilvusCredentials?) -> [UInt8] {
        var context = "credentials=" + (credentials?.headerValue ?? "vdbm") + "\n"
        for (key, value) in metadata.sorted(by: { $0 < $1 }) where !perCallMetadata.contains(key) {
            context += "\(key)=\(value)\n"
        }
        return Array(context.utf8)
    }

    /// Metadata that names the client or the call (pymilvus's), never what it asks for.
    private static let perCallMetadata: Set<String> = [
        "identifier", "client-request-id", "client-request-unixmsec", "client-request-unixmilli", "user-agent",
    ]

    static func milvusCredentials(_ text: String) -> MilvusCredentials {
        guard let colon = text.firstIndex(of: ":") else { return .token(text) }
        return .password(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }

    /// The client's metadata that Milvus reads (`dbname`, `identifier`, `client-request-unixmilli`,
    /// ...), without its credentials and without the trace headers vdbm writes itself.
    static func forwardedMetadata(_ metadata: Metadata) -> [(String, String)] {
        metadata.entries.compactMap { entry in
            guard case .text(let value) = entry.value,
                  !["authorization", "traceparent", "tracestate"].contains(entry.key) else { return nil }
            return (entry.key, value)
        }
    }
}

extension MilvusClient: MilvusPassThroughService.Forwarder {}
