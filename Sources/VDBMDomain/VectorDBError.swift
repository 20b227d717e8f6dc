/// The errors of vector-database operations. Each maps one-to-one onto a gRPC status code in the
/// service layer, so a client learns what went wrong without parsing text. The domain's own
/// vocabulary: the Milvus client says which Milvus answers become which case
/// (`VectorDBError+Milvus.swift`).
public enum VectorDBError: Error, Sendable, Hashable, CustomStringConvertible {
    case notFound(String)
    case alreadyExists(String)
    case invalidArgument(String)
    /// The request is valid but the collection is not in the state it needs (not loaded, a
    /// loaded partition to drop).
    case failedPrecondition(String)
    /// Milvus refused a read because the collection (or a partition) is not loaded. A precondition
    /// failure for the caller, unless Milvus is loading it by itself (after a restart): the
    /// manager looks at the load state and says which.
    case notLoaded(String)
    /// Milvus cannot be reached, or the call failed in a way that may succeed later.
    case unavailable(String)
    case deadlineExceeded(String)
    /// The caller went away (cancelled its call) before the answer came.
    case cancelled(String)
    /// Milvus's rate limiter refused the call (after vdbm's own retries).
    case rateLimited(String)
    /// vdbm's own limits (a full wait queue for connections).
    case resourceExhausted(String)
    case unauthenticated(String)
    case permissionDenied(String)
    /// Any other Milvus error, with Milvus's code and reason.
    case milvus(code: Int32, reason: String)
    /// The gRPC status Milvus answered a pass-through call with, for the client as it is.
    case relayed(code: Int, message: String)
    case `internal`(String)

    public var description: String {
        switch self {
        case .notFound(let text): "not found: \(text)"
        case .alreadyExists(let text): "already exists: \(text)"
        case .invalidArgument(let text): "invalid argument: \(text)"
        case .failedPrecondition(let text), .notLoaded(let text): "failed precondition: \(text)"
        case .unavailable(let text): "Milvus unavailable: \(text)"
        case .deadlineExceeded(let text): "deadline exceeded: \(text)"
        case .cancelled(let text): "cancelled: \(text)"
        case .rateLimited(let text): "rate limited by Milvus: \(text)"
        case .resourceExhausted(let text): "resource exhausted: \(text)"
        case .unauthenticated(let text): "unauthenticated: \(text)"
        case .permissionDenied(let text): "permission denied: \(text)"
        case .milvus(let code, let reason): "Milvus error \(code): \(reason)"
        case .relayed(let code, let message): "Milvus answered gRPC status \(code): \(message)"
        case .internal(let text): "internal error: \(text)"
        }
    }
}

extension VectorDBError {
    /// The case's name in snake case, without its text: a bounded metric label value.
    public var kind: String {
        switch self {
        case .notFound: "not_found"
        case .alreadyExists: "already_exists"
        case .invalidArgument: "invalid_argument"
        case .failedPrecondition, .notLoaded: "failed_precondition"
        case .unavailable: "unavailable"
        case .deadlineExceeded: "deadline_exceeded"
        case .cancelled: "cancelled"
        case .rateLimited: "rate_limited"
        case .resourceExhausted: "resource_exhausted"
        case .unauthenticated: "unauthenticated"
        case .permissionDenied: "permission_denied"
        case .milvus: "milvus_error"
        case .relayed: "relayed"
        case .internal: "internal"
        }
    }
}
