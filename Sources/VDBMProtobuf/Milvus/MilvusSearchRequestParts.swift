import CProtobufC
import CVDBMProtos

/// A Milvus `SearchRequest` as an SDK sent it (the pass-through), read just enough to merge it
/// with others: its query vectors, and a key made of everything else. Requests with equal keys
/// differ only in their query vectors and `guarantee_timestamp`, so one Milvus search of all their
/// vectors answers each of them.
public struct MilvusSearchRequestParts: Sendable {
    /// The request packed without its query vectors, `nq` and `guarantee_timestamp`, followed by the
    /// placeholder's tag, type and vector size. Unknown fields (a newer SDK's) are part of it.
    public let key: [UInt8]
    /// One element per query vector, as the placeholder carries it.
    public let vectors: [[UInt8]]
    /// pymilvus sets it on every call (the collection's last write, or 1): a merged search reads
    /// at least as far as the newest of its members asked for.
    public let guaranteeTimestamp: UInt64

    /// `nil` when the request cannot be merged: not a `SearchRequest`, not exactly one placeholder
    /// of fixed-size dense vectors (element-level ones included), `nq` not the number of vectors,
    /// or a search by primary keys or with sub-requests. Such a search goes on alone.
    public init?(request bytes: [UInt8]) {
        let parts: MilvusSearchRequestParts?? = try? ProtobufC.decode(
            bytes, messageType: "milvus.proto.milvus.SearchRequest", unpack: milvus__proto__milvus__search_request__unpack
        ) { (request: UnsafePointer<Milvus__Proto__Milvus__SearchRequest>) throws(ProtobufDecodingError) -> MilvusSearchRequestParts? in
            var stripped = request.pointee
            // A search by primary keys or with sub-requests asks for more than its placeholder's
            // vectors: not merged.
            guard stripped.ids == nil, stripped.search_by_primary_keys == 0, stripped.n_sub_reqs == 0,
                  let placeholder = Self.placeholder(stripped.placeholder_group), Int64(placeholder.vectors.count) == stripped.nq,
                  !placeholder.vectors.isEmpty else { return nil }
            let guarantee = stripped.guarantee_timestamp
            stripped.placeholder_group = ProtobufCBinaryData(len: 0, data: nil)
            stripped.nq = 0
            stripped.guarantee_timestamp = 0
            var key = ProtobufC.encode(&stripped)
            key += placeholder.tag
            withUnsafeBytes(of: placeholder.type.littleEndian) { key += $0 }
            withUnsafeBytes(of: UInt64(placeholder.vectors[0].count).littleEndian) { key += $0 }
            return MilvusSearchRequestParts(key: key, vectors: placeholder.vectors, guaranteeTimestamp: guarantee,
                                            tag: placeholder.tag, type: placeholder.type, request: bytes)
        }
        guard let parts = parts ?? nil else { return nil }
        self = parts
    }

    private let tag: [UInt8]
    private let type: Int32
    private let request: [UInt8]

    private init(key: [UInt8], vectors: [[UInt8]], guaranteeTimestamp: UInt64, tag: [UInt8], type: Int32, request: [UInt8]) {
        self.key = key
        self.vectors = vectors
        self.guaranteeTimestamp = guaranteeTimestamp
        self.tag = tag
        self.type = type
        self.request = request
    }

    /// Placeholder types whose vectors all have one size: binary, float, float16, bfloat16, int8.
    /// (Sparse vectors differ in size, so a bad one could not be told from a good one by its key.)
    private static let denseTypes: Set<Int32> = [100, 101, 102, 103, 105]

    private static func placeholder(_ group: ProtobufCBinaryData) -> (tag: [UInt8], type: Int32, vectors: [[UInt8]])? {
        let read = try? ProtobufC.decode(
            ProtobufC.bytes(group), messageType: "milvus.proto.common.PlaceholderGroup",
            unpack: milvus__proto__common__placeholder_group__unpack
        ) { (group: UnsafePointer<Milvus__Proto__Common__PlaceholderGroup>) throws(ProtobufDecodingError) -> (tag: [UInt8], type: Int32, vectors: [[UInt8]])? in
            guard ProtobufC.understood(group), group.pointee.n_placeholders == 1,
                  let value = group.pointee.placeholders?[0], ProtobufC.understood(UnsafePointer(value)),
                  denseTypes.contains(value.pointee.type), value.pointee.element_level == 0 else { return nil }
            let vectors = ProtobufC.array(value.pointee.n_values, value.pointee.values).map(ProtobufC.bytes)
            guard let size = vectors.first?.count, size > 0, vectors.allSatisfy({ $0.count == size }) else { return nil }
            return (ProtobufC.bytes(value.pointee.tag), value.pointee.type, vectors)
        }
        return read ?? nil
    }

    /// One request with the vectors of every member, in order, built on `self` (any member: their
    /// keys are equal), reading as far as the newest guarantee of them all.
    public func merged(vectors: [[UInt8]], guaranteeTimestamp: UInt64) -> [UInt8]? {
        let placeholderGroup = ProtobufC.pack { arena in
            let value = arena.message(milvus__proto__common__placeholder_value__init) { value in
                value.tag = arena.binary(tag)
                value.type = type
                value.n_values = vectors.count
                value.values = arena.array(vectors.map(arena.binary))
            }
            return arena.message(milvus__proto__common__placeholder_group__init) { group in
                group.n_placeholders = 1
                group.placeholders = arena.pointers([value])
            }
        }
        return try? ProtobufC.decode(request, messageType: "milvus.proto.milvus.SearchRequest",
                                     unpack: milvus__proto__milvus__search_request__unpack) { request throws(ProtobufDecodingError) in
            var merged = request.pointee
            merged.nq = Int64(vectors.count)
            merged.guarantee_timestamp = guaranteeTimestamp
            return placeholderGroup.withUnsafeBytes { group in
                merged.placeholder_group = ProtobufC.borrowing(group)
                return ProtobufC.encode(&merged)
            }
        }
    }
}
