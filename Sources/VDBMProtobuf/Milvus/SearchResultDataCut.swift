import CVDBMProtos

/// How a `SearchResultData` is cut into the share of a run of its query vectors, field by field.
/// Milvus says some things per hit (ids, scores, output columns, group values, distances, element
/// indices, highlights), some per query vector (topks, recalls) and the rest per request (top_k,
/// all_search_count, primary_field_name, output_fields): per-hit and per-query arrays are sliced,
/// per-request values are given to every share as they are. That is what Milvus itself does when
/// its query nodes batch several requests into one search: each slice of the reduced answer gets
/// the batch's `all_search_count`, the rows of the segments searched, which do not depend on the
/// query vectors. The copies are new containers in an arena pointing into the original's arrays.
enum SearchResultDataCut {
    /// `results` holding rows `rows` of its `total` hits, which are those of query vectors
    /// `queries` of its `totalQueries`. Throws when a part cannot be cut exactly.
    static func cut(_ results: UnsafeMutablePointer<Milvus__Proto__Schema__SearchResultData>, rows: Range<Int>, total: Int,
                    queries: Range<Int>, totalQueries: Int,
                    in arena: ProtobufCArena) throws(MergedSearchFallback) -> UnsafeMutablePointer<Milvus__Proto__Schema__SearchResultData> {
        guard ProtobufC.understood(results) else { throw MergedSearchFallback.unknownField }
        var data = results.pointee
        guard data.search_iterator_v2_results == nil else { throw MergedSearchFallback.iterator }
        // Aggregation buckets (Milvus 3.0) are carried as bytes, never read: not cut.
        guard data.n_agg_buckets == 0, data.n_agg_topks == 0 else { throw MergedSearchFallback.aggregation }
        guard data.n_scores == total else { throw MergedSearchFallback.malformed }
        data.n_scores = rows.count
        data.scores = data.scores.map { $0 + rows.lowerBound }
        if data.n_distances != 0 {
            guard data.n_distances == total else { throw MergedSearchFallback.malformed }
            data.n_distances = rows.count
            data.distances = data.distances.map { $0 + rows.lowerBound }
        }
        if data.n_recalls != 0 {
            guard data.n_recalls == totalQueries else { throw MergedSearchFallback.malformed }
            data.n_recalls = queries.count
            data.recalls = data.recalls.map { $0 + queries.lowerBound }
        }
        data.num_queries = Int64(queries.count)
        data.n_topks = queries.count
        data.topks = data.topks.map { $0 + queries.lowerBound }
        if let ids = data.ids {
            data.ids = try cut(ids, rows: rows, total: total, in: arena)
        } else if total > 0 {
            throw MergedSearchFallback.malformed
        }
        if let indices = data.element_indices {
            data.element_indices = try slice(indices, \.n_data, \.data, rows: rows, total: total, in: arena)
        }
        data.fields_data = try cut(data.n_fields_data, data.fields_data, rows: rows, total: total, in: arena)
        if let group = data.group_by_field_value {
            data.group_by_field_value = try cut(group, rows: rows, total: total, in: arena)
        }
        data.group_by_field_values = try cut(data.n_group_by_field_values, data.group_by_field_values, rows: rows, total: total,
                                             in: arena)
        var highlights: [UnsafeMutablePointer<Milvus__Proto__Common__HighlightResult>] = []
        for highlight in ProtobufC.array(data.n_highlight_results, data.highlight_results) {
            guard let highlight, ProtobufC.understood(highlight) else { throw MergedSearchFallback.unknownField }
            highlights.append(try slice(highlight, \.n_datas, \.datas, rows: rows, total: total, in: arena))
        }
        data.highlight_results = arena.pointers(highlights)
        return arena.copy(data)
    }

    /// A share without hits: what Milvus answers a search that found nothing, the count of
    /// queries, their zero topks and what it says per request, without ids or columns.
    static func withoutHits(_ cut: UnsafeMutablePointer<Milvus__Proto__Schema__SearchResultData>,
                            in arena: ProtobufCArena) -> UnsafeMutablePointer<Milvus__Proto__Schema__SearchResultData> {
        let full = cut.pointee
        return arena.message(milvus__proto__schema__search_result_data__init) { data in
            data.num_queries = full.num_queries
            data.top_k = full.top_k
            (data.n_topks, data.topks) = (full.n_topks, full.topks)
            (data.n_recalls, data.recalls) = (full.n_recalls, full.recalls)
            data.all_search_count = full.all_search_count
            data.primary_field_name = full.primary_field_name
        }
    }

    private static func cut(_ ids: UnsafeMutablePointer<Milvus__Proto__Schema__IDs>, rows: Range<Int>, total: Int,
                            in arena: ProtobufCArena) throws(MergedSearchFallback) -> UnsafeMutablePointer<Milvus__Proto__Schema__IDs> {
        guard ProtobufC.understood(ids) else { throw MergedSearchFallback.unknownField }
        var cut = ids.pointee
        switch cut.id_field_case {
        case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_INT_ID:
            cut.int_id = try slice(cut.int_id, \.n_data, \.data, rows: rows, total: total, in: arena)
        case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD_STR_ID:
            cut.str_id = try slice(cut.str_id, \.n_data, \.data, rows: rows, total: total, in: arena)
        case MILVUS__PROTO__SCHEMA__IDS__ID_FIELD__NOT_SET where total == 0:
            break
        default:
            throw MergedSearchFallback.malformed
        }
        return arena.copy(cut)
    }

    /// Columns (`fields_data`, `group_by_field_values`) each cut to `rows`.
    private static func cut(_ count: Int, _ columns: UnsafeMutablePointer<UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>?>?,
                            rows: Range<Int>, total: Int,
                            in arena: ProtobufCArena) throws(MergedSearchFallback) -> UnsafeMutablePointer<UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>?>? {
        var cut: [UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>] = []
        for column in ProtobufC.array(count, columns) {
            guard let column else { throw MergedSearchFallback.malformed }
            cut.append(try self.cut(column, rows: rows, total: total, in: arena))
        }
        return arena.pointers(cut)
    }

    private static func cut(_ field: UnsafeMutablePointer<Milvus__Proto__Schema__FieldData>, rows: Range<Int>, total: Int,
                            in arena: ProtobufCArena) throws(MergedSearchFallback) -> UnsafeMutablePointer<Milvus__Proto__Schema__FieldData> {
        guard ProtobufC.understood(field) else { throw MergedSearchFallback.unknownField }
        var data = field.pointee
        if data.n_valid_data != 0 {
            guard data.n_valid_data == total else { throw MergedSearchFallback.malformed }
            data.n_valid_data = rows.count
            data.valid_data = data.valid_data.map { $0 + rows.lowerBound }
        }
        switch data.field_case {
        case MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_SCALARS:
            guard let scalars = data.scalars, ProtobufC.understood(scalars) else { throw MergedSearchFallback.unknownField }
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
                throw MergedSearchFallback.unknownField
            }
            data.scalars = arena.copy(cut)
        case MILVUS__PROTO__SCHEMA__FIELD_DATA__FIELD_VECTORS:
            guard let vectors = data.vectors, ProtobufC.understood(vectors) else { throw MergedSearchFallback.unknownField }
            var cut = vectors.pointee
            switch cut.data_case {
            case MILVUS__PROTO__SCHEMA__VECTOR_FIELD__DATA_FLOAT_VECTOR:
                guard let dimension = Int(exactly: cut.dim) else { throw MergedSearchFallback.malformed }
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
                throw MergedSearchFallback.unknownField
            }
            data.vectors = arena.copy(cut)
        default:
            throw MergedSearchFallback.unknownField
        }
        return arena.copy(data)
    }

    /// A copy of a repeated-field message (`LongArray`, `StringArray`, ...) holding `per` elements
    /// for each row of `rows`, out of `total` rows.
    private static func slice<Message, Element>(
        _ message: UnsafeMutablePointer<Message>?, _ count: WritableKeyPath<Message, Int>,
        _ elements: WritableKeyPath<Message, UnsafeMutablePointer<Element>?>, rows: Range<Int>, total: Int, per: Int = 1,
        in arena: ProtobufCArena
    ) throws(MergedSearchFallback) -> UnsafeMutablePointer<Message> {
        // `per` is a dimension from the answer: the product is checked, the rest stays below it.
        let (expected, overflow) = total.multipliedReportingOverflow(by: per)
        guard let message, ProtobufC.understood(message) else { throw MergedSearchFallback.unknownField }
        guard per > 0, !overflow, message.pointee[keyPath: count] == expected else { throw MergedSearchFallback.malformed }
        var cut = message.pointee
        cut[keyPath: count] = rows.count * per
        cut[keyPath: elements] = cut[keyPath: elements].map { $0 + rows.lowerBound * per }
        return arena.copy(cut)
    }

    /// The bytes of `rows` in a `bytes` field that holds `total` rows of one size.
    private static func slice(_ bytes: ProtobufCBinaryData, rows: Range<Int>, total: Int) throws(MergedSearchFallback) -> ProtobufCBinaryData {
        if total == 0, bytes.len == 0 { return bytes }
        guard total > 0, bytes.len % total == 0 else { throw MergedSearchFallback.malformed }
        let size = bytes.len / total
        return ProtobufCBinaryData(len: rows.count * size, data: bytes.data.map { $0 + rows.lowerBound * size })
    }
}
