import GRPCNGHTTP2
import MilvusClient
import VDBMDomain
import VDBMManager
import VDBMProtobuf
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
    private let settings: ServiceSettings
    /// `auth.passthrough_milvus_credentials`: a client's own Milvus user:password (or token) is
    /// sent on to Milvus in place of vdbm's.
    private let clientCredentialsAllowed: Bool
    private let admission: AdmissionController?
    /// Merges concurrent `Search` calls (`nil`: each goes to Milvus on its own).
    private let searchCoalescer: PassThroughSearchCoalescer?

    public init(forwarder: any Forwarder, settings: ServiceSettings, clientCredentialsAllowed: Bool = false,
                admission: AdmissionController? = nil, searchCoalescer: PassThroughSearchCoalescer? = nil) {
        self.forwarder = forwarder
        self.settings = settings
        self.clientCredentialsAllowed = clientCredentialsAllowed
        self.admission = admission
        self.searchCoalescer = searchCoalescer
    }

    public var serviceName: String { Self.name }

    public var methods: [String: MethodHandler] {
        var handlers: [String: MethodHandler] = [:]
        for name in MilvusServiceMethods.names where !MilvusMethodTable.streaming.contains(name) {
            handlers[name] = handler(method: name)
        }
        for name in MilvusMethodTable.streaming {
            handlers[name] = .immediate { _, _ throws(GRPCStatus) in
                throw GRPCStatus(.unimplemented, "vdbm passes unary Milvus calls through, not the stream \(name)")
            }
        }
        return handlers
    }

    /// A method vdbm does not know (a newer SDK's): forwarded as bytes, for an `admin` key.
    public var fallback: MethodHandler? { handler(method: nil) }

    /// The handler of `method`, or (nil) of any method the table does not name, which takes its
    /// name from the call's path and is counted under the label `other`.
    private func handler(method known: String?) -> MethodHandler {
        let label = known ?? "other"
        let forwarder = self.forwarder, settings = self.settings, admission = self.admission
        let clientCredentialsAllowed = self.clientCredentialsAllowed
        let searchCoalescer = known == "Search" ? self.searchCoalescer : nil
        return .async { request, context in
            let method = known ?? String(context.path.split(separator: "/").last ?? "")
            let role = MilvusMethodTable.role(of: method)
            let credentials = try Self.authorize(context.metadata, role: role, authenticator: settings.authenticator,
                                                 clientCredentialsAllowed: clientCredentialsAllowed)
            let forward = { () async throws -> [UInt8] in
                let metadata = Self.forwardedMetadata(context.metadata)
                let send: PassThroughSearchCoalescer.Send = { request, deadline throws(VectorDBError) in
                    try await forwarder.forward(
                        method, request, metadata: metadata, credentials: credentials,
                        idempotency: MilvusMethodTable.idempotency(of: method), metricsLabel: label, deadline: deadline)
                }
                do throws(VectorDBError) {
                    guard let searchCoalescer else { return try await send(request, context.deadline) }
                    return try await searchCoalescer.search(request, context: Self.searchContext(metadata, credentials),
                                                            deadline: context.deadline, send: send)
                } catch {
                    throw ErrorMapping.status(for: error)
                }
            }
            guard let admission else { return try await forward() }
            let callClass: CallClass = switch role {
            case .read: method == "Search" || method == "HybridSearch" ? .search : .read
            case .write: .write
            case .admin: .admin
            }
            do {
                return try await admission.run(callClass, deadline: context.deadline, forward)
            } catch let refusal as AdmissionRefusal {
                throw GRPCStatus(.resourceExhausted, refusal.message)
            }
        }
    }

    /// What the client presented in `authorization`, decoded: pymilvus sends base64 of its token
    /// (or of `user:password`), without a scheme.
    static func presented(_ metadata: Metadata) -> [UInt8]? {
        guard let header = metadata[text: "authorization"] else { return nil }
        let value = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : header
        return Base64.decode(value)
    }

    /// Checks the caller; returns the credentials to call Milvus with in place of vdbm's (only a
    /// client's own, when allowed).
    static func authorize(_ metadata: Metadata, role: Role, authenticator: APIKeyAuthenticator,
                          clientCredentialsAllowed: Bool) throws(GRPCStatus) -> MilvusCredentials? {
        let presented = presented(metadata)
        if authenticator.isEnabled, let presented, authenticator.key(matching: presented) != nil {
            _ = try authenticator.authorize(key: presented, needs: role)
            return nil
        }
        let own = presented.flatMap { String(validating: $0, as: UTF8.self) }.map(Self.milvusCredentials)
        if clientCredentialsAllowed, let own { return own }
        guard authenticator.isEnabled else { return nil }
        guard let own else {
            _ = try authenticator.authorize(key: [], needs: role)  // counts and throws UNAUTHENTICATED
            return nil
        }
        if case .password = own {
            throw GRPCStatus(.unauthenticated, "Milvus user and password are not accepted: use a vdbm API key as the token "
                             + "(or set auth.passthrough_milvus_credentials)")
        }
        throw GRPCStatus(.unauthenticated, "unknown API key")
    }

    /// What besides the request decides a search's answer, for the coalescer's key: the
    /// credentials Milvus sees and the client's metadata (its database), less what names only the
    /// client or the call.
    static func searchContext(_ metadata: [(String, String)], _ credentials: MilvusCredentials?) -> [UInt8] {
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
