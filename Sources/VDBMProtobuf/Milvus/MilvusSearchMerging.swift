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
    /// of fixed-size dense vectors, or `nq` not the number of vectors. Such a search goes on alone.
    public init?(request bytes: [UInt8]) {
        let parts: MilvusSearchRequestParts?? = try? ProtobufC.decode(
            bytes, messageType: "milvus.proto.milvus.SearchRequest", unpack: milvus__proto__milvus__search_request__unpack
        ) { (request: UnsafePointer<Milvus__Proto__Milvus__SearchRequest>) throws(ProtobufDecodingError) -> MilvusSearchRequestParts? in
            var stripped = request.pointee
            guard let placeholder = Self.placeholder(stripped.placeholder_group), Int64(placeholder.vectors.count) == stripped.nq,
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
                  denseTypes.contains(value.pointee.type) else { return nil }
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

/// The answer to a merged search (`SearchResults`), unpacked once and cut into each member's
/// share: its query vectors' hits, scores, ids and output fields, as a `SearchResults` of its own.
/// Made only from an answer that went well and whose every part vdbm knows how to cut; anything
/// else (a Milvus error, a field a newer Milvus added) makes no value, and each member's search
/// is then sent on its own, so that every caller gets exactly what it would alone.
public final class MilvusMergedSearchResults: @unchecked Sendable {
    // Sendable: the unpacked message is only read after init (packing reads it), and freed in deinit.
    private let message: UnsafeMutablePointer<Milvus__Proto__Milvus__SearchResults>
    /// Where each query vector's hits start in the flat arrays; one more entry at the end.
    private let rowStarts: [Int]

    public init?(_ bytes: [UInt8], queries: Int) {
        let unpacked: UnsafeMutablePointer<Milvus__Proto__Milvus__SearchResults>? = bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            return milvus__proto__milvus__search_results__unpack(nil, buffer.count, base)
        }
        guard let unpacked else { return nil }
        message = unpacked
        // Every count here is Milvus's (or whoever answers on its port): checked before it is
        // added up or used to cut, so a hostile answer falls back instead of trapping.
        let results = unpacked.pointee.results
        rowStarts = results.flatMap { results in
            try? MilvusSearchLayout.rowStarts(numQueries: results.pointee.num_queries,
                                               topks: ProtobufC.array(results.pointee.n_topks, results.pointee.topks),
                                               queries: queries)
        } ?? []
        guard ProtobufC.understood(unpacked), MilvusStatus.read(unpacked.pointee.status).isSuccess, let results,
              rowStarts.count == queries + 1,
              (try? Self.cut(results, rows: 0..<rowStarts[queries], total: rowStarts[queries], in: ProtobufCArena())) != nil
        else { return nil }
    }

    deinit {
        message.withMemoryRebound(to: ProtobufCMessage.self, capacity: 1) { protobuf_c_message_free_unpacked($0, nil) }
    }

    /// The `SearchResults` of query vectors `queries` alone.
    public func answer(queries: Range<Int>) -> [UInt8]? {
        guard queries.lowerBound >= 0, queries.upperBound < rowStarts.count, let results = message.pointee.results else { return nil }
        let rows = rowStarts[queries.lowerBound]..<rowStarts[queries.upperBound]
        let arena = ProtobufCArena()
        var answer = message.pointee
        if rows.isEmpty {
            // What Milvus answers a search without hits: the count of queries and their zero hits.
            answer.results = arena.message(milvus__proto__schema__search_result_data__init) { data in
                data.num_queries = Int64(queries.count)
                data.n_topks = queries.count
                data.topks = results.pointee.topks.map { $0 + queries.lowerBound }
            }
        } else {
            guard let cut = try? Self.cut(results, rows: rows, total: rowStarts[rowStarts.count - 1], in: arena) else { return nil }
            cut.pointee.num_queries = Int64(queries.count)
            cut.pointee.n_topks = queries.count
            cut.pointee.topks = results.pointee.topks.map { $0 + queries.lowerBound }
            answer.results = cut
        }
        return ProtobufC.encode(&answer)
    }

    private struct Uncuttable: Error {}

    /// A copy of `results` holding rows `rows` of its `total` (the hits of a run of query vectors):
    /// new containers in `arena` that point into the original's arrays.
    private static func cut(_ results: UnsafeMutablePointer<Milvus__Proto__Schema__SearchResultData>, rows: Range<Int>,
                            total: Int, in arena: ProtobufCArena) throws(Uncuttable)
        -> UnsafeMutablePointer<Milvus__Proto__Schema__SearchResultData> {
        guard ProtobufC.understood(results) else { throw Uncuttable() }
        var data = results.pointee
        guard data.n_scores == total || (total == 0 && data.n_scores == 0) else { throw Uncuttable() }
        data.n_scores = rows.count
        data.scores = data.scores.map { $0 + rows.lowerBound }
        if let ids = data.ids {
            guard ProtobufC.understood(ids) else { throw Uncuttable() }
            var cut = ids.pointee
            switch cut.id_field_case {
            case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_INT_ID:
                cut.int_id = try slice(cut.int_id, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_STR_ID:
                cut.str_id = try slice(cut.str_id, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD__NOT_SET where total == 0:
                break
            default:
                throw Uncuttable()
            }
            data.ids = arena.copy(cut)
        } else if total > 0 {
            throw Uncuttable()
        }
        var fields: [UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>] = []
        for field in ProtobufC.array(data.n_fields_data, data.fields_data) {
            guard let field else { throw Uncuttable() }
            fields.append(try cut(field, rows: rows, total: total, in: arena))
        }
        data.fields_data = arena.pointers(fields)
        return arena.copy(data)
    }

    private static func cut(_ field: UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>, rows: Range<Int>, total: Int,
                            in arena: ProtobufCArena) throws(Uncuttable) -> UnsafeMutablePointer<Milvus__Proto__Schema__FieldData> {
        guard ProtobufC.understood(field) else { throw Uncuttable() }
        var data = field.pointee
        if data.n_valid_data != 0 {
            guard data.n_valid_data == total else { throw Uncuttable() }
            data.n_valid_data = rows.count
            data.valid_data = data.valid_data.map { $0 + rows.lowerBound }
        }
        switch data.field_case {
        case MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_SCALARS:
            guard let scalars = data.scalars, ProtobufC.understood(scalars) else { throw Uncuttable() }
            var cut = scalars.pointee
            switch cut.data_case {
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_BOOL_DATA:
                cut.bool_data = try slice(cut.bool_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_INT_DATA:
                cut.int_data = try slice(cut.int_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_LONG_DATA:
                cut.long_data = try slice(cut.long_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_FLOAT_DATA:
                cut.float_data = try slice(cut.float_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_DOUBLE_DATA:
                cut.double_data = try slice(cut.double_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_STRING_DATA:
                cut.string_data = try slice(cut.string_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_BYTES_DATA:
                cut.bytes_data = try slice(cut.bytes_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_ARRAY_DATA:
                cut.array_data = try slice(cut.array_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            case MILVUS__PROTO__SCHEMA__SCALAR_FIELD__DATA_JSON_DATA:
                cut.json_data = try slice(cut.json_data, \.n_data, \.data, rows: rows, total: total, in: arena)
            default:
                throw Uncuttable()
            }
            data.scalars = arena.copy(cut)
        case MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_VECTORS:
            guard let vectors = data.vectors, ProtobufC.understood(vectors) else { throw Uncuttable() }
            var cut = vectors.pointee
            switch cut.data_case {
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_FLOAT_VECTOR:
                guard let dimension = Int(exactly: cut.dim) else { throw Uncuttable() }
                cut.float_vector = try slice(cut.float_vector, \.n_data, \.data, rows: rows, total: total, per: dimension, in: arena)
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_BINARY_VECTOR:
                cut.binary_vector = try slice(cut.binary_vector, rows: rows, total: total)
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_FLOAT16_VECTOR:
                cut.float16_vector = try slice(cut.float16_vector, rows: rows, total: total)
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_BFLOAT16_VECTOR:
                cut.bfloat16_vector = try slice(cut.bfloat16_vector, rows: rows, total: total)
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_INT8_VECTOR:
                cut.int8_vector = try slice(cut.int8_vector, rows: rows, total: total)
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_SPARSE_FLOAT_VECTOR:
                cut.sparse_float_vector = try slice(cut.sparse_float_vector, \.n_contents, \.contents, rows: rows, total: total,
                                                    in: arena)
            default:
                throw Uncuttable()
            }
            data.vectors = arena.copy(cut)
        default:
            throw Uncuttable()
        }
        return arena.copy(data)
    }

    /// A copy of a repeated-field message (`LongArray`, `StringArray`, ...) holding `per` elements
    /// for each row of `rows`, out of `total` rows.
    private static func slice<Message, Element>(
        _ message: UnsafeMutablePointer<Message>?, _ count: WritableKeyPath<Message, Int>,
        _ elements: WritableKeyPath<Message, UnsafeMutablePointer<Element>?>, rows: Range<Int>, total: Int, per: Int = 1,
        in arena: ProtobufCArena
    ) throws(Uncuttable) -> UnsafeMutablePointer<Message> {
        // `per` is a dimension from the answer: the product is checked, the rest stays below it.
        let (expected, overflow) = total.multipliedReportingOverflow(by: per)
        guard per > 0, !overflow, let message, ProtobufC.understood(message), message.pointee[keyPath: count] == expected
        else { throw Uncuttable() }
        var cut = message.pointee
        cut[keyPath: count] = rows.count * per
        cut[keyPath: elements] = cut[keyPath: elements].map { $0 + rows.lowerBound * per }
        return arena.copy(cut)
    }

    /// The bytes of `rows` in a `bytes` field that holds `total` rows of one size.
    private static func slice(_ bytes: ProtobufCBinaryData, rows: Range<Int>, total: Int) throws(Uncuttable) -> ProtobufCBinaryData {
        if total == 0, bytes.len == 0 { return bytes }
        guard total > 0, bytes.len % total == 0 else { throw Uncuttable() }
        let size = bytes.len / total
        return ProtobufCBinaryData(len: rows.count * size, data: bytes.data.map { $0 + rows.lowerBound * size })
    }
}
