import CVDBMProtos
import VDBMDomain

/// `milvus.proto.common.Status`: the outcome inside every Milvus response.
public struct MilvusStatus: Sendable, Hashable {
    /// The legacy `ErrorCode` enum (0 Success, 4 CollectionNotExists, 49 RateLimit, ...).
    public var errorCode: Int32
    public var reason: String
    /// The newer numeric error code (0 when the server predates it or all went well).
    public var code: Int32
    public var retriable: Bool
    public var detail: String

    public init(errorCode: Int32 = 0, reason: String = "", code: Int32 = 0, retriable: Bool = false, detail: String = "") {
        self.errorCode = errorCode
        self.reason = reason
        self.code = code
        self.retriable = retriable
        self.detail = detail
    }

    public static let success = MilvusStatus()

    public var isSuccess: Bool { errorCode == 0 && code == 0 }

    /// A missing status (an empty response) means success, as in the protocol.
    static func read(_ status: UnsafePointer<Milvus__Proto__Common__Status>?) -> MilvusStatus {
        guard let status else { return .success }
        return MilvusStatus(errorCode: status.pointee.error_code, reason: ProtobufC.text(status.pointee.reason),
                            code: status.pointee.code, retriable: status.pointee.retriable != 0,
                            detail: ProtobufC.text(status.pointee.detail))
    }

    static func read(_ status: UnsafeMutablePointer<Milvus__Proto__Common__Status>?) -> MilvusStatus {
        read(status.map { UnsafePointer($0) })
    }

    /// Decodes a response that is a bare `Status` (CreateCollection, DropCollection, ...).
    public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
        self = try ProtobufC.decode(bytes, messageType: "milvus.proto.common.Status",
                                    unpack: milvus__proto__common__status__unpack) { MilvusStatus.read($0) }
    }

    /// Encodes it (used by tests and mocks that play the server's part).
    public func serializedBytes() -> [UInt8] {
        ProtobufC.pack { arena in build(in: arena) }
    }

    func build(in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Common__Status> {
        arena.message(milvus__proto__common__status__init) { status in
            status.error_code = errorCode
            status.reason = arena.string(reason)
            status.code = code
            status.retriable = retriable ? 1 : 0
            status.detail = arena.string(detail)
        }
    }
}

/// A key/value parameter (`milvus.proto.common.KeyValuePair`).
public struct MilvusKeyValue: Sendable, Hashable {
    public var key: String
    public var value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }

    /// `{"ef": 64}` from integer parameters, keys sorted so equal parameters encode equally (the
    /// form Milvus takes for index and search `params`).
    public static func jsonObject(_ params: [String: ParamValue]) -> String {
        "{" + params.keys.sorted().map { "\(JSONValue.string($0).text): \(params[$0]!.json)" }.joined(separator: ", ") + "}"
    }

    static func build(_ pairs: [MilvusKeyValue], in arena: ProtobufCArena)
        -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Milvus__Proto__Common__KeyValuePair>?>?) {
        let messages = pairs.map { pair in
            arena.message(milvus__proto__common__key_value_pair__init) { message in
                message.key = arena.string(pair.key)
                message.value = arena.string(pair.value)
            }
        }
        return (messages.count, arena.pointers(messages))
    }

    static func read(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Milvus__Proto__Common__KeyValuePair>?>?)
        -> [MilvusKeyValue] {
        ProtobufC.messages(count, pointer) { MilvusKeyValue(ProtobufC.text($0.pointee.key), ProtobufC.text($0.pointee.value)) }
    }
}
