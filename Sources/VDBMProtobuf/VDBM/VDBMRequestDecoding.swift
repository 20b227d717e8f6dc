import CVDBMProtos
import VDBMDomain

/// Decoders for every `vdbm.v1` request; each throws `ProtobufDecodingError` on bytes that
/// are not the message.
extension VDBMv1 {
    public static func decodeEmpty(_ bytes: [UInt8], messageType: String) throws(ProtobufDecodingError) {
        // Every field of an empty message is unknown and skipped; only the framing is checked.
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.\(messageType)", unpack: vdbm__v1__empty__unpack) { _ in }
    }

    /// A `CollectionRequest`: the collection and its database.
    public static func decodeCollection(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> (collection: String, database: String) {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.CollectionRequest", unpack: vdbm__v1__collection_request__unpack) {
            message throws(ProtobufDecodingError) in
            (try ProtobufC.string(message.pointee.collection, field: "collection"),
             try ProtobufC.string(message.pointee.database, field: "database"))
        }
    }

    /// A `DatabaseRequest`'s or `ListCollectionsRequest`'s database (field 1 of both).
    public static func decodeDatabase(_ bytes: [UInt8], messageType: String) throws(ProtobufDecodingError) -> String {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.\(messageType)", unpack: vdbm__v1__database_request__unpack) {
            message throws(ProtobufDecodingError) in try ProtobufC.string(message.pointee.database, field: "database")
        }
    }

    /// Sets a decoded request's database.
    static func scoped<Request: DatabaseScoped>(_ request: Request, _ database: ProtobufCBinaryData) throws(ProtobufDecodingError)
        -> Request {
        var request = request
        request.database = try ProtobufC.string(database, field: "database")
        return request
    }

    public static func decodeCreateCollection(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> CreateCollection {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.CreateCollectionRequest",
                             unpack: vdbm__v1__create_collection_request__unpack) { message throws(ProtobufDecodingError) in
            let m = message.pointee
            let scalars = try ProtobufC.messages(m.n_scalar_fields, m.scalar_fields) { field throws(ProtobufDecodingError) in
                let f = field.pointee
                return ScalarField(name: try ProtobufC.string(f.name, field: "scalar_fields.name"), type: f.type.wireNumber,
                                   maxLength: Int(f.max_length), nullable: f.nullable != 0, enableAnalyzer: f.enable_analyzer != 0,
                                   analyzerParams: try ProtobufC.string(f.analyzer_params, field: "scalar_fields.analyzer_params"),
                                   enableMatch: f.enable_match != 0, partitionKey: f.partition_key != 0,
                                   defaultValue: try readScalarValue(f.default_value, field: "scalar_fields.default_value"))
            }
            let vectors = try ProtobufC.messages(m.n_vector_fields, m.vector_fields) { field throws(ProtobufDecodingError) in
                let f = field.pointee
                return VectorField(name: try ProtobufC.string(f.name, field: "vector_fields.name"), type: f.type.wireNumber,
                                   dimension: Int(f.dimension), metric: f.metric.wireNumber, index: try readIndex(f.index))
            }
            let functions = try ProtobufC.messages(m.n_functions, m.functions) { function throws(ProtobufDecodingError) in
                let f = function.pointee
                return Function(name: try ProtobufC.string(f.name, field: "functions.name"), type: f.type.wireNumber,
                                inputFields: try ProtobufC.strings(f.n_input_fields, f.input_fields, field: "functions.input_fields"),
                                outputFields: try ProtobufC.strings(f.n_output_fields, f.output_fields, field: "functions.output_fields"))
            }
            return try scoped(CreateCollection(
                collection: try ProtobufC.string(m.collection, field: "collection"), dimension: Int(m.dimension), metric: m.metric.wireNumber,
                stringPrimaryKey: m.string_primary_key != 0, autoID: m.auto_id != 0, maxKeyLength: Int(m.max_key_length),
                primaryKeyField: try ProtobufC.string(m.primary_key_field, field: "primary_key_field"), vectorField: try ProtobufC.string(m.vector_field, field: "vector_field"),
                scalarFields: scalars, description: try ProtobufC.string(m.description, field: "description"),
                enableDynamicFields: m.enable_dynamic_fields != 0, consistency: m.consistency.wireNumber,
                index: try readIndex(m.index), load: m.load != 0, vectorFields: vectors, functions: functions,
                partitionCount: Int(m.partition_count)), m.database)
        }
    }

    static func readScalarValue(_ value: UnsafeMutablePointer<Vdbm__V1__ScalarValue>?, field: String) throws(ProtobufDecodingError)
        -> ScalarValue? {
        guard let value else { return nil }
        switch value.pointee.kind_case {
        case VDBM__V1__SCALAR_VALUE__KIND_FLAG: return .bool(value.pointee.flag != 0)
        case VDBM__V1__SCALAR_VALUE__KIND_INTEGER: return .int(value.pointee.integer)
        case VDBM__V1__SCALAR_VALUE__KIND_NUMBER: return .double(value.pointee.number)
        case VDBM__V1__SCALAR_VALUE__KIND_TEXT: return .string(try ProtobufC.string(value.pointee.text, field: field))
        default: return nil
        }
    }

    static func readIndex(_ index: UnsafeMutablePointer<Vdbm__V1__IndexSpec>?) throws(ProtobufDecodingError) -> IndexSpec? {
        guard let index else { return nil }
        return IndexSpec(type: try ProtobufC.string(index.pointee.type, field: "index.type"),
                         params: try VDBMColumns.readParams(index.pointee.n_params, index.pointee.params, field: "index.params.key"))
    }

    public static func decodeWrite(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Write {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.WriteRequest", unpack: vdbm__v1__write_request__unpack) { message throws(ProtobufDecodingError) in
            try scoped(Write(collection: try ProtobufC.string(message.pointee.collection, field: "collection"), partition: try ProtobufC.string(message.pointee.partition, field: "partition"),
                  columns: try ProtobufC.messages(message.pointee.n_columns, message.pointee.columns, VDBMColumns.read)), message.pointee.database)
        }
    }

    public static func decodeDelete(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Delete {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.DeleteRequest", unpack: vdbm__v1__delete_request__unpack) { message throws(ProtobufDecodingError) in
            try scoped(Delete(collection: try ProtobufC.string(message.pointee.collection, field: "collection"), partition: try ProtobufC.string(message.pointee.partition, field: "partition"),
                   ids: try VDBMColumns.readKeys(message.pointee.ids), filter: try ProtobufC.string(message.pointee.filter, field: "filter")), message.pointee.database)
        }
    }

    public static func decodeGet(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Get {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.GetRequest", unpack: vdbm__v1__get_request__unpack) { message throws(ProtobufDecodingError) in
            try scoped(Get(collection: try ProtobufC.string(message.pointee.collection, field: "collection"), ids: try VDBMColumns.readKeys(message.pointee.ids),
                outputFields: try ProtobufC.strings(message.pointee.n_output_fields, message.pointee.output_fields, field: "output_fields")), message.pointee.database)
        }
    }

    public static func decodeQuery(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Query {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.QueryRequest", unpack: vdbm__v1__query_request__unpack) { message throws(ProtobufDecodingError) in
            let m = message.pointee
            return try scoped(Query(collection: try ProtobufC.string(m.collection, field: "collection"), filter: try ProtobufC.string(m.filter, field: "filter"),
                         outputFields: try ProtobufC.strings(m.n_output_fields, m.output_fields, field: "output_fields"), limit: Int(m.limit),
                         offset: Int(m.offset), partitions: try ProtobufC.strings(m.n_partitions, m.partitions, field: "partitions"),
                         consistency: m.consistency.wireNumber), m.database)
        }
    }

    public static func decodeExport(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Export {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.ExportRequest", unpack: vdbm__v1__export_request__unpack) { message throws(ProtobufDecodingError) in
            let m = message.pointee
            return try scoped(Export(collection: try ProtobufC.string(m.collection, field: "collection"), filter: try ProtobufC.string(m.filter, field: "filter"),
                          outputFields: try ProtobufC.strings(m.n_output_fields, m.output_fields, field: "output_fields"),
                          pageSize: Int(m.page_size), partitions: try ProtobufC.strings(m.n_partitions, m.partitions, field: "partitions"),
                          consistency: m.consistency.wireNumber), m.database)
        }
    }

    public static func decodeCount(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Count {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.CountRequest", unpack: vdbm__v1__count_request__unpack) { message throws(ProtobufDecodingError) in
            try scoped(Count(collection: try ProtobufC.string(message.pointee.collection, field: "collection"), filter: try ProtobufC.string(message.pointee.filter, field: "filter")), message.pointee.database)
        }
    }

    public static func decodeSearch(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Search {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.SearchRequest", unpack: vdbm__v1__search_request__unpack) { message throws(ProtobufDecodingError) in
            try search(message.pointee)
        }
    }

    public static func decodeSearchIterator(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> SearchIterator {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.SearchIteratorRequest",
                             unpack: vdbm__v1__search_iterator_request__unpack) { message throws(ProtobufDecodingError) in
            let m = message.pointee
            // An absent search is an empty one: validation names what it lacks.
            let search = try m.search.map { pointer throws(ProtobufDecodingError) in try Self.search(pointer.pointee) }
                ?? Search(collection: "", vectors: Vectors(dimension: 0, values: []), limit: 0, filter: "", outputFields: [], params: [], partitions: [],
                          consistency: 0, offset: 0)
            return SearchIterator(search: search, pageSize: Int(m.page_size), limit: m.limit)
        }
    }

    private static func search(_ m: Vdbm__V1__SearchRequest) throws(ProtobufDecodingError) -> Search {
        try scoped(Search(collection: try ProtobufC.string(m.collection, field: "collection"), vectors: VDBMColumns.readVectors(m.vectors),
                      limit: Int(m.limit), filter: try ProtobufC.string(m.filter, field: "filter"),
                      outputFields: try ProtobufC.strings(m.n_output_fields, m.output_fields, field: "output_fields"),
                      params: try VDBMColumns.readParams(m.n_params, m.params, field: "params.key"),
                      partitions: try ProtobufC.strings(m.n_partitions, m.partitions, field: "partitions"),
                      consistency: m.consistency.wireNumber, offset: Int(m.offset),
                      groupByField: try ProtobufC.string(m.group_by_field, field: "group_by_field"),
                      groupSize: Int(m.group_size), strictGroupSize: m.strict_group_size != 0,
                      vectorField: try ProtobufC.string(m.vector_field, field: "vector_field"),
                      sparseVectors: VDBMColumns.readSparse(m.sparse_vectors),
                      texts: try ProtobufC.strings(m.n_texts, m.texts, field: "texts")), m.database)
    }

    public static func decodeHybridSearch(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> HybridSearch {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.HybridSearchRequest", unpack: vdbm__v1__hybrid_search_request__unpack) {
            message throws(ProtobufDecodingError) in
            let m = message.pointee
            let searches = try ProtobufC.messages(m.n_searches, m.searches) { search throws(ProtobufDecodingError) in
                let s = search.pointee
                return SubSearch(vectorField: try ProtobufC.string(s.vector_field, field: "searches.vector_field"),
                                 queries: Queries(vectors: VDBMColumns.readVectors(s.vectors), sparseVectors: VDBMColumns.readSparse(s.sparse_vectors),
                                                  texts: try ProtobufC.strings(s.n_texts, s.texts, field: "searches.texts")),
                                 limit: Int(s.limit), filter: try ProtobufC.string(s.filter, field: "searches.filter"),
                                 params: try VDBMColumns.readParams(s.n_params, s.params, field: "searches.params.key"))
            }
            let ranker: Ranker
            switch m.ranker?.pointee.kind_case {
            case VDBM__V1__RANKER__KIND_RRF?: ranker = .reciprocalRankFusion(k: Int(m.ranker!.pointee.rrf.pointee.k))
            case VDBM__V1__RANKER__KIND_WEIGHTED?:
                let weighted = m.ranker!.pointee.weighted.pointee
                ranker = .weighted(ProtobufC.array(weighted.n_weights, weighted.weights), rawScores: weighted.raw_scores != 0)
            default: ranker = .unset
            }
            return try scoped(HybridSearch(collection: try ProtobufC.string(m.collection, field: "collection"), searches: searches, ranker: ranker,
                                limit: Int(m.limit), outputFields: try ProtobufC.strings(m.n_output_fields, m.output_fields, field: "output_fields"),
                                partitions: try ProtobufC.strings(m.n_partitions, m.partitions, field: "partitions"),
                                consistency: m.consistency.wireNumber, offset: Int(m.offset)), m.database)
        }
    }

    public static func decodeCreateIndex(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> CreateIndex {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.CreateIndexRequest", unpack: vdbm__v1__create_index_request__unpack) { message throws(ProtobufDecodingError) in
            let m = message.pointee
            return try scoped(CreateIndex(collection: try ProtobufC.string(m.collection, field: "collection"), field: try ProtobufC.string(m.field, field: "field"),
                               indexName: try ProtobufC.string(m.index_name, field: "index_name"), index: try readIndex(m.index), metric: m.metric.wireNumber), m.database)
        }
    }

    public static func decodeDropIndex(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> DropIndex {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.DropIndexRequest", unpack: vdbm__v1__drop_index_request__unpack) { message throws(ProtobufDecodingError) in
            try scoped(DropIndex(collection: try ProtobufC.string(message.pointee.collection, field: "collection"), indexName: try ProtobufC.string(message.pointee.index_name, field: "index_name")), message.pointee.database)
        }
    }

    public static func decodePartition(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Partition {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.PartitionRequest", unpack: vdbm__v1__partition_request__unpack) { message throws(ProtobufDecodingError) in
            try scoped(Partition(collection: try ProtobufC.string(message.pointee.collection, field: "collection"), partition: try ProtobufC.string(message.pointee.partition, field: "partition")), message.pointee.database)
        }
    }

    public static func decodeFlush(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> (collections: [String], database: String) {
        try ProtobufC.decode(bytes, messageType: "vdbm.v1.FlushRequest", unpack: vdbm__v1__flush_request__unpack) { message throws(ProtobufDecodingError) in
            (try ProtobufC.strings(message.pointee.n_collections, message.pointee.collections, field: "collections"),
             try ProtobufC.string(message.pointee.database, field: "database"))
        }
    }
}
