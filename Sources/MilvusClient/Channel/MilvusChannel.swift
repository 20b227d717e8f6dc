import GRPCNGHTTP2
import VDBMUtils

/// Calls `milvus.proto.milvus.MilvusService` methods over one gRPC connection, turning transport
/// outcomes into `CallFailure`s that the retry policy understands.
public struct MilvusChannel: Sendable {
    public static let servicePath = "/milvus.proto.milvus.MilvusService/"

    private let connection: GRPCClientConnection
    private let metadata: [(String, String)]

    /// `credentials` become the `authorization` metadata Milvus expects (never logged); `extra`
    /// is sent as well (a pass-through call's own metadata: `dbname`, `identifier`, ...).
    public init(connection: GRPCClientConnection, credentials: MilvusCredentials? = nil, extra: [(String, String)] = []) {
        self.connection = connection
        let own = credentials.map { [("authorization", $0.headerValue)] } ?? []
        // Every vdbm.v1 call comes here with no extra: no second array for it.
        self.metadata = extra.isEmpty ? own : own + extra
    }

    /// Calls `method` with a serialized request; returns the serialized response.
    /// With `relayingStatuses` (the pass-through), a gRPC status Milvus answers with, other than
    /// the transport's own (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED), comes back as
    /// `answered`, to be relayed as it is.
    /// `traceparent` names the span vdbm records for this call; without one, a call inside a
    /// traced call still names itself a child of it.
    public func call(_ method: String, _ request: [UInt8], deadline: Deadline,
                     relayingStatuses: Bool = false, traceparent: String? = nil) async throws(CallFailure) -> [UInt8] {
        let response: GRPCClientResponse
        do {
            response = try await connection.unary(path: Self.servicePath + method, request: request,
                                                  metadata: Self.withTrace(metadata, traceparent: traceparent),
                                                  deadline: deadline)
        } catch {
            throw Self.failure(for: error)
        }
        guard response.status.code == .ok, let message = response.message else {
            if relayingStatuses, ![.ok, .unavailable, .deadlineExceeded, .resourceExhausted].contains(response.status.code) {
                throw .answered(code: response.status.code.rawValue, message: response.status.message)
            }
            throw Self.failure(for: response.status)
        }
        return message
    }

    /// `metadata` plus, inside a traced call, a `traceparent` naming this Milvus call as a child
    /// span of the call it serves (and its `tracestate`).
    static func withTrace(_ metadata: [(String, String)], traceparent: String? = nil) -> [(String, String)] {
        guard let trace = TraceContext.current else { return metadata }
        var traced = metadata
        traced.append(("traceparent", traceparent ?? trace.childTraceparent()))
        if let state = trace.state, !state.isEmpty { traced.append(("tracestate", state)) }
        return traced
    }

    static func failure(for error: GRPCCallError) -> CallFailure {
        switch error {
        case .notProcessed(let reason): .notProcessed(reason)
        case .connectionLost(let reason): .unavailable(reason)
        case .deadlineExceeded: .deadlineExceeded
        case .malformedResponse(let reason): .unavailable("malformed response from Milvus: \(reason)")
        case .cancelled: .cancelled
        }
    }

    static func failure(for status: GRPCStatus) -> CallFailure {
        switch status.code {
        case .unavailable: .unavailable(status.message)
        case .deadlineExceeded: .deadlineExceeded
        case .resourceExhausted: .retriable(code: 8, reason: status.message)
        case .unauthenticated: .unauthenticated(status.message)
        case .permissionDenied: .permissionDenied(status.message)
        case .unimplemented: .unimplemented(status.message)
        default: .permanent("\(status)")
        }
    }
}

/// How vdbm proves itself to Milvus: user and password, or an API token.
public enum MilvusCredentials: Sendable, Hashable {
    case password(user: String, password: String)
    case token(String)

    /// The `authorization` metadata value: base64 of `user:password` (or of the token).
    public var headerValue: String {
        switch self {
        case .password(let user, let password): Base64.encode(Array("\(user):\(password)".utf8), padded: true)
        case .token(let token): Base64.encode(Array(token.utf8), padded: true)
        }
    }
}
