import VDBMDomain
import VDBMProtobuf

extension VectorDBError {
    /// The error a failed Milvus `Status` stands for: `MilvusErrorMapping`'s one table.
    public static func from(_ status: MilvusStatus, collection: String? = nil) -> VectorDBError {
        MilvusErrorMapping.error(for: status, collection: collection)
    }

    /// The error a transport-level failure stands for, once retries are over.
    public static func from(_ failure: CallFailure) -> VectorDBError {
        switch failure {
        case .notProcessed(let reason), .unavailable(let reason): .unavailable(reason)
        case .retriable(_, let reason): .rateLimited(reason)
        case .deadlineExceeded: .deadlineExceeded("the call's deadline passed")
        case .cancelled: .cancelled("the call was cancelled")
        case .unauthenticated(let reason): .unauthenticated(reason)
        case .permissionDenied(let reason): .permissionDenied(reason)
        case .unimplemented(let reason):
            .failedPrecondition("the Milvus server does not implement this call" + (reason.isEmpty ? "" : " (\(reason))"))
        case .permanent(let reason): .internal(reason)
        case .answered(let code, let message): .relayed(code: code, message: message)
        }
    }
}
