import GRPCNGHTTP2
import VDBMProtobuf
import VDBMUtils

/// Proves that a new connection can serve calls before the pool hands it out: one real call
/// (`ShowCollections`, which needs Milvus's coordinators as most calls do) must come back. A TCP
/// connect is not enough: a restarting Milvus accepts connections seconds before it answers, and
/// Milvus 2.3.5 holds a connection that carried no request without a word, PINGs included.
public struct MilvusReadinessProbe: Sendable {
    /// How long the call may take.
    public var timeout: Duration
    private let credentials: MilvusCredentials?

    public init(credentials: MilvusCredentials? = nil, timeout: Duration = .seconds(3)) {
        self.credentials = credentials
        self.timeout = timeout
    }

    /// Why a connection is not ready.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Returns once Milvus answered on `connection`. An answer that refuses vdbm's credentials
    /// counts: Milvus is serving, and calls will report the refusal to their callers.
    public func check(_ connection: GRPCClientConnection) async throws(Failure) {
        let bytes: [UInt8]
        do {
            bytes = try await MilvusChannel(connection: connection, credentials: credentials)
                .call("ShowCollections", MilvusRequest.showCollections(), deadline: .after(timeout))
        } catch {
            switch error {
            case .unauthenticated, .permissionDenied: return
            default: throw Failure(description: "Milvus did not answer a first call: \(error)")
            }
        }
        guard let reply = try? MilvusResponse.Names.collections(bytes) else {
            throw Failure(description: "Milvus answered a first call with an undecodable response")
        }
        if !reply.status.isSuccess, case .unavailable(let reason) = MilvusErrorMapping.error(for: reply.status) {
            throw Failure(description: "Milvus is not ready: \(reason)")
        }
    }
}
