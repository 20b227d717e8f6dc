import VDBMDomain
import VDBMProtobuf

/// The one table from a failed Milvus `Status` to a `VectorDBError`. Milvus's numeric code
/// decides first, then the legacy `error_code`; only where Milvus 2.3.5 sends neither (its
/// catch-all 65535 "unexpected error") is the reason read, and then only for the exact phrases of
/// the cases listed here. Every message leads with vdbm's own sentence and keeps Milvus's reason,
/// cut to its first line and `maxReasonLength` (the full reason goes to the debug log).
public enum MilvusErrorMapping {
    /// How much of Milvus's reason a message keeps (Milvus may append a Go stack trace).
    public static let maxReasonLength = 300

    public static func error(for status: MilvusStatus, collection: String? = nil) -> VectorDBError {
        let reason = shortReason(status)
        let subject = collection.map { "collection '\($0)'" } ?? "the collection"
        func say(_ lead: String) -> String { reason.isEmpty ? lead : "\(lead) (Milvus: \(reason))" }

        typealias Code = MilvusErrorCode
        switch status.code {
        case Code.collectionNotFound: return .notFound(say("\(subject) does not exist"))
        case Code.partitionNotFound: return .notFound(say("the partition does not exist"))
        case Code.indexNotFound: return .notFound(say("the index does not exist"))
        case Code.databaseNotFound: return .notFound(say("the database does not exist"))
        case Code.aliasNotFound: return .notFound(say("the alias does not exist"))
        case Code.collectionNotLoaded: return .notLoaded(say("\(subject) is not loaded: load it first"))
        case Code.partitionNotLoaded: return .notLoaded(say("the partition is not loaded: load it first"))
        case Code.aliasAlreadyExists: return .alreadyExists(say("the alias already exists"))
        case Code.indexDuplicate: return .alreadyExists(say("the field already has another index"))
        case Code.parameterInvalid, Code.parameterMissing, Code.parameterTooLarge, Code.collectionIllegalSchema,
             Code.indexNotSupported, Code.fieldNotFound, Code.fieldInvalidName:
            return .invalidArgument(say("Milvus refused the request's parameters"))
        case Code.notAuthenticated: return .unauthenticated(reason)
        case Code.privilegeNotPermitted: return .permissionDenied(reason)
        case Code.rateLimit, Code.requestLimitExceeded: return .rateLimited(reason)
        case Code.memoryLimitExceeded, Code.diskLimitExceeded, Code.quotaExceeded:
            return .resourceExhausted(say("Milvus is out of memory, disk or quota"))
        case Code.serviceNotReady, Code.serviceUnavailable, Code.timeTickLongDelay, Code.resourceInsufficient,
             Code.collectionNotFullyLoaded, Code.collectionOnRecovering, Code.partitionNotFullyLoaded, Code.clusterNotReady:
            return .unavailable(say("Milvus is not ready to serve this yet"))
        default: break
        }

        typealias Legacy = Code.Legacy
        switch status.errorCode {
        case Legacy.collectionNotExists, Legacy.collectionNameNotFound: return .notFound(say("\(subject) does not exist"))
        case Legacy.indexNotExist: return .notFound(say("the index does not exist"))
        case Legacy.illegalArgument, Legacy.illegalInput, Legacy.illegalMetricType:
            return .invalidArgument(say("Milvus refused the request's parameters"))
        case Legacy.permissionDenied: return .permissionDenied(reason)
        case Legacy.rateLimit: return .rateLimited(reason)
        case Legacy.quotaExhausted: return .resourceExhausted(say("Milvus is out of memory, disk or quota"))
        case Legacy.notShardLeader, Legacy.noReplicaAvailable, Legacy.timeTickLongDelay, Legacy.notReady:
            return .unavailable(say("Milvus is not ready to serve this yet"))
        default: break
        }

        if let phrase = Phrase.all.first(where: { $0.matches(reason) }) { return phrase.error(say(phrase.lead)) }
        let code = status.code != 0 ? status.code : status.errorCode
        return .milvus(code: code, reason: reason)
    }

    /// The reason's first line, at most `maxReasonLength` characters. Milvus's `detail` is
    /// preferred: its `reason` sometimes repeats it behind a prefix ("can't find collection
    /// collection not found[...]").
    public static func shortReason(_ status: MilvusStatus) -> String {
        let text = status.detail.isEmpty ? status.reason : status.detail
        let line = text.prefix { $0 != "\n" && $0 != "\r" }
        return line.count > maxReasonLength ? String(line.prefix(maxReasonLength)) + "…" : String(line)
    }

    /// A reason text Milvus 2.3.5 sends with no code of its own (65535), for one case each.
    struct Phrase: Sendable {
        enum Match: Sendable {
            case prefix(String)
            case contains(String)
            case prefixAndSuffix(String, String)
        }

        let match: Match
        let lead: String
        let error: @Sendable (String) -> VectorDBError

        func matches(_ reason: String) -> Bool {
            switch match {
            case .prefix(let text): reason.hasPrefix(text)
            case .contains(let text): reason.contains(text)
            case .prefixAndSuffix(let start, let end): reason.hasPrefix(start) && reason.hasSuffix(end)
            }
        }

        static let all: [Phrase] = [
            // Delete with a filter Milvus cannot parse or that names no field of the schema.
            Phrase(match: .prefix("failed to create expr plan"), lead: "Milvus cannot use the filter expression",
                   error: { .invalidArgument($0) }),
            // Query ("cannot parse expression: ...") and Search ("failed to create query plan: cannot parse ...").
            Phrase(match: .contains("cannot parse expression"), lead: "Milvus cannot parse the filter expression",
                   error: { .invalidArgument($0) }),
            // Query or Search naming an unknown field in output_fields.
            Phrase(match: .prefixAndSuffix("field ", " not exist"), lead: "a field named in the request does not exist",
                   error: { .invalidArgument($0) }),
            Phrase(match: .prefix("cannot create index on non-exist field"), lead: "the field to index does not exist",
                   error: { .invalidArgument($0) }),
            Phrase(match: .prefix("invalid index type: "), lead: "Milvus does not know the index type",
                   error: { .invalidArgument($0) }),
            Phrase(match: .contains("at most one distinct index is allowed per field"),
                   lead: "the field already has an index with other parameters: drop it first",
                   error: { .alreadyExists($0) }),
            Phrase(match: .prefix("default partition cannot be deleted"), lead: "the _default partition cannot be dropped",
                   error: { .invalidArgument($0) }),
            Phrase(match: .prefix("partition cannot be dropped, partition is loaded"),
                   lead: "the partition is loaded: release the collection first", error: { .failedPrecondition($0) }),
            Phrase(match: .prefix("index cannot be dropped, collection is loaded"),
                   lead: "the collection is loaded: release it before dropping its index", error: { .failedPrecondition($0) }),
            // Query naming a partition that does not exist: "partition name p not found".
            Phrase(match: .prefixAndSuffix("partition name ", " not found"), lead: "the partition does not exist",
                   error: { .notFound($0) }),
            // After a restart, before Milvus's data node has registered again (a transient).
            Phrase(match: .contains("node not found"), lead: "Milvus is not ready to serve this yet",
                   error: { .unavailable($0) }),
        ]
    }
}
