import GRPCNGHTTP2
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// The one place where errors become gRPC statuses (docs/api.md's error table mirrors it).
enum ErrorMapping {
    static func status(for error: VectorDBError) -> GRPCStatus {
        switch error {
        case .notFound(let text): GRPCStatus(.notFound, text)
        case .alreadyExists(let text): GRPCStatus(.alreadyExists, text)
        case .invalidArgument(let text): GRPCStatus(.invalidArgument, text)
        case .failedPrecondition(let text), .notLoaded(let text): GRPCStatus(.failedPrecondition, text)
        case .unavailable(let text): GRPCStatus(.unavailable, "Milvus unavailable: \(text)")
        case .deadlineExceeded(let text): GRPCStatus(.deadlineExceeded, text)
        case .cancelled(let text): GRPCStatus(.cancelled, text)
        case .rateLimited(let text): GRPCStatus(.resourceExhausted, "rate limited by Milvus: \(text)")
        case .resourceExhausted(let text): GRPCStatus(.resourceExhausted, text)
        // These two come from Milvus refusing vdbm's own credentials: the message says so, so a
        // client does not take them for a problem with its API key.
        case .unauthenticated(let text): GRPCStatus(.unauthenticated, "Milvus rejected vdbm's credentials: \(text)")
        case .permissionDenied(let text): GRPCStatus(.permissionDenied, "Milvus denied the operation: \(text)")
        case .milvus(let code, let reason): GRPCStatus(.internal, "Milvus error \(code): \(reason)")
        case .relayed(let code, let message): GRPCStatus(GRPCStatus.Code(rawValue: code) ?? .unknown, message)
        case .internal(let text): GRPCStatus(.internal, text)
        }
    }

    /// Request bytes that are not the expected message (or carry a field of the wrong wire type).
    static func status(for error: ProtobufDecodingError) -> GRPCStatus {
        GRPCStatus(.invalidArgument, error.description)
    }

    /// The status of an error the domain, the protobuf bridge or admission control threw; nil
    /// for any other.
    static func mappedStatus(for error: any Error) -> GRPCStatus? {
        switch error {
        case let error as VectorDBError: status(for: error)
        case let error as ProtobufDecodingError: status(for: error)
        case let refusal as AdmissionRefusal: GRPCStatus(.resourceExhausted, refusal.message)
        default: nil
        }
    }

    /// Any error a handler may throw: a status as it is, the others above mapped, cancellation as
    /// CANCELLED, anything else INTERNAL without detail.
    static func status(forAny error: any Error) -> GRPCStatus {
        switch error {
        case let error as any GRPCStatusConvertible: error.grpcStatus
        case is CancellationError: GRPCStatus(.cancelled, "call cancelled")
        default: mappedStatus(for: error) ?? GRPCStatus(.internal, "internal error")
        }
    }
}
