import CVDBMProtos

/// Decoded `MilvusService` responses: each holds the `Status` and the values vdbm reads.
public enum MilvusResponse {
    public struct Bool: Sendable, Hashable {
        public var status: MilvusStatus
        public var value: Swift.Bool

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.BoolResponse",
                                        unpack: milvus__proto__milvus__bool_response__unpack) { message in
                Bool(status: MilvusStatus.read(message.pointee.status), value: message.pointee.value != 0)
            }
        }

        public init(status: MilvusStatus, value: Swift.Bool) {
            self.status = status
            self.value = value
        }
    }

    public struct DescribeCollection: Sendable, Hashable {
        public var status: MilvusStatus
        public var schema: MilvusCollectionSchema?
        public var collectionID: Int64
        public var shards: Int32
        public var consistencyLevel: Int32

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.DescribeCollectionResponse",
                                        unpack: milvus__proto__milvus__describe_collection_response__unpack) { message in
                DescribeCollection(status: MilvusStatus.read(message.pointee.status),
                                   schema: message.pointee.schema.map { MilvusCollectionSchema.read(UnsafePointer($0)) },
                                   collectionID: message.pointee.collectionid, shards: message.pointee.shards_num,
                                   consistencyLevel: message.pointee.consistency_level)
            }
        }

        public init(status: MilvusStatus, schema: MilvusCollectionSchema?, collectionID: Int64, shards: Int32,
             consistencyLevel: Int32) {
            self.status = status
            self.schema = schema
            self.collectionID = collectionID
            self.shards = shards
            self.consistencyLevel = consistencyLevel
        }
    }

    /// A status and a list of names (ShowCollections, ShowPartitions).
    public struct Names: Sendable, Hashable {
        public var status: MilvusStatus
        public var names: [String]

        public init(status: MilvusStatus, names: [String]) {
            self.status = status
            self.names = names
        }

        public static func collections(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Names {
            try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.ShowCollectionsResponse",
                                 unpack: milvus__proto__milvus__show_collections_response__unpack) { message in
                Names(status: MilvusStatus.read(message.pointee.status),
                      names: ProtobufC.texts(message.pointee.n_collection_names, message.pointee.collection_names))
            }
        }

        public static func databases(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Names {
            try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.ListDatabasesResponse",
                                 unpack: milvus__proto__milvus__list_databases_response__unpack) { message in
                Names(status: MilvusStatus.read(message.pointee.status),
                      names: ProtobufC.texts(message.pointee.n_db_names, message.pointee.db_names))
            }
        }

        public static func partitions(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> Names {
            try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.ShowPartitionsResponse",
                                 unpack: milvus__proto__milvus__show_partitions_response__unpack) { message in
                Names(status: MilvusStatus.read(message.pointee.status),
                      names: ProtobufC.texts(message.pointee.n_partition_names, message.pointee.partition_names))
            }
        }
    }

    /// A status and key/value pairs (GetCollectionStatistics).
    public struct Statistics: Sendable, Hashable {
        public var status: MilvusStatus
        public var stats: [MilvusKeyValue]

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.GetCollectionStatisticsResponse",
                                        unpack: milvus__proto__milvus__get_collection_statistics_response__unpack) { message in
                Statistics(status: MilvusStatus.read(message.pointee.status),
                           stats: MilvusKeyValue.read(message.pointee.n_stats, message.pointee.stats))
            }
        }

        public init(status: MilvusStatus, stats: [MilvusKeyValue]) {
            self.status = status
            self.stats = stats
        }
    }

    public struct Mutation: Sendable, Hashable {
        public var status: MilvusStatus
        public var ids: MilvusIDs
        public var insertCount: Int64
        public var deleteCount: Int64
        public var upsertCount: Int64

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.MutationResult",
                                        unpack: milvus__proto__milvus__mutation_result__unpack) { message in
                Mutation(status: MilvusStatus.read(message.pointee.status),
                         ids: MilvusIDs.read(message.pointee.ids.map { UnsafePointer($0) }),
                         insertCount: message.pointee.insert_cnt, deleteCount: message.pointee.delete_cnt,
                         upsertCount: message.pointee.upsert_cnt)
            }
        }

        /// Encodes it with Milvus's `timestamp` (for tests and mocks that play Milvus's part).
        public func serializedBytes(timestamp: UInt64 = 0) -> [UInt8] {
            ProtobufC.pack { arena in
                let status = status.build(in: arena)
                let ids = ids.build(in: arena)
                return arena.message(milvus__proto__milvus__mutation_result__init) { message in
                    message.status = status
                    message.ids = ids
                    message.insert_cnt = insertCount
                    message.delete_cnt = deleteCount
                    message.upsert_cnt = upsertCount
                    message.timestamp = timestamp
                }
            }
        }

        public init(status: MilvusStatus, ids: MilvusIDs, insertCount: Int64, deleteCount: Int64, upsertCount: Int64) {
            self.status = status
            self.ids = ids
            self.insertCount = insertCount
            self.deleteCount = deleteCount
            self.upsertCount = upsertCount
        }
    }

    public struct Query: Sendable, Hashable {
        public var status: MilvusStatus
        public var fields: [MilvusFieldData]

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.QueryResults",
                                        unpack: milvus__proto__milvus__query_results__unpack) { message in
                Query(status: MilvusStatus.read(message.pointee.status),
                      fields: ProtobufC.messages(message.pointee.n_fields_data, message.pointee.fields_data,
                                                 MilvusFieldData.read))
            }
        }

        public init(status: MilvusStatus, fields: [MilvusFieldData]) {
            self.status = status
            self.fields = fields
        }
    }

    public struct Search: Sendable, Hashable {
        public var status: MilvusStatus
        public var numQueries: Int64
        public var topK: Int64
        /// Hits per query vector; the ids, scores and fields below are those hits, query after query.
        public var topks: [Int64]
        public var ids: MilvusIDs
        public var scores: [Float]
        public var fields: [MilvusFieldData]
        /// A grouping search's group value per hit (`group_by_field_value`, Milvus 2.4+).
        public var groupValues: MilvusFieldData?

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.SearchResults",
                                        unpack: milvus__proto__milvus__search_results__unpack) { message in
                let status = MilvusStatus.read(message.pointee.status)
                guard let results = message.pointee.results?.pointee else {
                    return Search(status: status, numQueries: 0, topK: 0, topks: [], ids: .int64s([]), scores: [], fields: [])
                }
                return Search(status: status, numQueries: results.num_queries, topK: results.top_k,
                              topks: ProtobufC.array(results.n_topks, results.topks),
                              ids: MilvusIDs.read(results.ids.map { UnsafePointer($0) }),
                              scores: ProtobufC.array(results.n_scores, results.scores),
                              fields: ProtobufC.messages(results.n_fields_data, results.fields_data, MilvusFieldData.read),
                              groupValues: results.group_by_field_value.map { MilvusFieldData.read(UnsafePointer($0)) })
            }
        }

        /// Encodes it (for tests and mocks that play Milvus's part).
        public func serializedBytes() -> [UInt8] {
            ProtobufC.pack { arena in
                let data = arena.message(milvus__proto__schema__search_result_data__init) { data in
                    data.num_queries = numQueries
                    data.top_k = topK
                    data.n_topks = topks.count
                    data.topks = arena.array(topks)
                    data.n_scores = scores.count
                    data.scores = arena.array(scores)
                    data.ids = ids.build(in: arena)
                    let columns = fields.map { $0.build(in: arena) }
                    data.n_fields_data = columns.count
                    data.fields_data = arena.pointers(columns)
                    data.group_by_field_value = groupValues?.build(in: arena)
                }
                let status = status.build(in: arena)
                return arena.message(milvus__proto__milvus__search_results__init) { message in
                    message.status = status
                    message.results = data
                }
            }
        }

        public init(status: MilvusStatus, numQueries: Int64, topK: Int64, topks: [Int64], ids: MilvusIDs, scores: [Float],
             fields: [MilvusFieldData], groupValues: MilvusFieldData? = nil) {
            self.groupValues = groupValues
            self.status = status
            self.numQueries = numQueries
            self.topK = topK
            self.topks = topks
            self.ids = ids
            self.scores = scores
            self.fields = fields
        }
    }

    public struct IndexDescription: Sendable, Hashable {
        public var indexName: String
        public var fieldName: String
        public var params: [MilvusKeyValue]
        public var indexedRows: Int64
        public var totalRows: Int64
        public var state: Int32
        public var failReason: String

        public init(indexName: String, fieldName: String, params: [MilvusKeyValue], indexedRows: Int64 = 0,
                    totalRows: Int64 = 0, state: Int32 = 3, failReason: String = "") {
            self.indexName = indexName
            self.fieldName = fieldName
            self.params = params
            self.indexedRows = indexedRows
            self.totalRows = totalRows
            self.state = state
            self.failReason = failReason
        }
    }

    public struct DescribeIndex: Sendable, Hashable {
        public var status: MilvusStatus
        public var indexes: [IndexDescription]

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.DescribeIndexResponse",
                                        unpack: milvus__proto__milvus__describe_index_response__unpack) { message in
                DescribeIndex(status: MilvusStatus.read(message.pointee.status),
                              indexes: ProtobufC.messages(message.pointee.n_index_descriptions,
                                                          message.pointee.index_descriptions) { index in
                                  IndexDescription(indexName: ProtobufC.text(index.pointee.index_name),
                                                   fieldName: ProtobufC.text(index.pointee.field_name),
                                                   params: MilvusKeyValue.read(index.pointee.n_params, index.pointee.params),
                                                   indexedRows: index.pointee.indexed_rows,
                                                   totalRows: index.pointee.total_rows, state: index.pointee.state,
                                                   failReason: ProtobufC.text(index.pointee.index_state_fail_reason))
                              })
            }
        }

        public init(status: MilvusStatus, indexes: [IndexDescription]) {
            self.status = status
            self.indexes = indexes
        }
    }

    public struct LoadState: Sendable, Hashable {
        public var status: MilvusStatus
        /// 0 NotExist, 1 NotLoad, 2 Loading, 3 Loaded.
        public var state: Int32

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.GetLoadStateResponse",
                                        unpack: milvus__proto__milvus__get_load_state_response__unpack) { message in
                LoadState(status: MilvusStatus.read(message.pointee.status), state: message.pointee.state)
            }
        }

        public init(status: MilvusStatus, state: Int32) {
            self.status = status
            self.state = state
        }
    }

    public struct LoadingProgress: Sendable, Hashable {
        public var status: MilvusStatus
        /// Percent loaded, as Milvus says (not clamped: the reader decides what to show).
        public var progress: Int64

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.GetLoadingProgressResponse",
                                        unpack: milvus__proto__milvus__get_loading_progress_response__unpack) { message in
                LoadingProgress(status: MilvusStatus.read(message.pointee.status), progress: message.pointee.progress)
            }
        }

        public init(status: MilvusStatus, progress: Int64) {
            self.status = status
            self.progress = progress
        }
    }

    /// Responses whose only field vdbm reads is the status (Flush).
    public struct StatusOnly: Sendable, Hashable {
        public var status: MilvusStatus

        public init(status: MilvusStatus) {
            self.status = status
        }

        public static func flush(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> StatusOnly {
            try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.FlushResponse",
                                 unpack: milvus__proto__milvus__flush_response__unpack) { message in
                StatusOnly(status: MilvusStatus.read(message.pointee.status))
            }
        }
    }

    public struct Health: Sendable, Hashable {
        public var status: MilvusStatus
        public var isHealthy: Swift.Bool
        public var reasons: [String]

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.CheckHealthResponse",
                                        unpack: milvus__proto__milvus__check_health_response__unpack) { message in
                Health(status: MilvusStatus.read(message.pointee.status), isHealthy: message.pointee.ishealthy != 0,
                       reasons: ProtobufC.texts(message.pointee.n_reasons, message.pointee.reasons))
            }
        }

        public init(status: MilvusStatus, isHealthy: Swift.Bool, reasons: [String]) {
            self.status = status
            self.isHealthy = isHealthy
            self.reasons = reasons
        }
    }

    public struct Version: Sendable, Hashable {
        public var status: MilvusStatus
        public var version: String

        public init(serializedBytes bytes: [UInt8]) throws(ProtobufDecodingError) {
            self = try ProtobufC.decode(bytes, messageType: "milvus.proto.milvus.GetVersionResponse",
                                        unpack: milvus__proto__milvus__get_version_response__unpack) { message in
                Version(status: MilvusStatus.read(message.pointee.status), version: ProtobufC.text(message.pointee.version))
            }
        }

        public init(status: MilvusStatus, version: String) {
            self.status = status
            self.version = version
        }
    }
}
