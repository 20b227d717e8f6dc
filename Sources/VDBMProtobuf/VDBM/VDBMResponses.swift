import CVDBMProtos
import VDBMDomain

/// Encoders for every `vdbm.v1` response, from domain values.
extension VDBMv1 {
    public struct ServerInfo: Sendable, Hashable {
        public var version: String
        public var milvusEndpoints: [String]
        public var milvusVersion: String
        public var connections: Int
        public var readyConnections: Int
        public var activeCalls: Int
        public var waitingCalls: Int
        public var milvusFeatures: [String] = []

        public init(version: String, milvusEndpoints: [String], milvusVersion: String, connections: Int,
                    readyConnections: Int, activeCalls: Int, waitingCalls: Int) {
            self.version = version
            self.milvusEndpoints = milvusEndpoints
            self.milvusVersion = milvusVersion
            self.connections = connections
            self.readyConnections = readyConnections
            self.activeCalls = activeCalls
            self.waitingCalls = waitingCalls
        }
    }

    /// `Empty` packs to no bytes.
    public static let emptyResponse: [UInt8] = []

    public static func encodeHasCollection(_ exists: Bool) -> [UInt8] {
        ProtobufC.pack { arena in arena.message(vdbm__v1__has_collection_response__init) { $0.exists = exists ? 1 : 0 } }
    }

    public static func encodeListCollections(_ names: [String]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__list_collections_response__init) { ($0.n_collections, $0.collections) = (names.count, arena.strings(names)) }
        }
    }

    public static func encodeListDatabases(_ names: [String]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__list_databases_response__init) { ($0.n_databases, $0.databases) = (names.count, arena.strings(names)) }
        }
    }

    public static func encodeListPartitions(_ names: [String]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__list_partitions_response__init) { ($0.n_partitions, $0.partitions) = (names.count, arena.strings(names)) }
        }
    }

    public static func encodeDescribeCollection(_ info: CollectionInfo) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__describe_collection_response__init) { message in
                message.collection = arena.string(info.schema.name)
                message.description = arena.string(info.schema.description)
                let fields = info.schema.fields.map { field in
                    arena.message(vdbm__v1__field_description__init) { description in
                        description.name = arena.string(field.name)
                        description.type = Vdbm__V1__FieldType(rawValue: UInt32(number(field.type)))
                        description.milvus_type = field.type.milvusNumber
                        description.primary_key = field.isPrimaryKey ? 1 : 0
                        description.auto_id = field.autoID ? 1 : 0
                        description.dimension = UInt32(clamping: field.dimension ?? 0)
                        description.max_length = UInt32(clamping: field.maxLength ?? 0)
                        description.nullable = field.nullable ? 1 : 0
                        description.partition_key = field.isPartitionKey ? 1 : 0
                        description.has_default_value = field.hasDefaultValue ? 1 : 0
                        description.function_output = field.isFunctionOutput ? 1 : 0
                        description.enable_analyzer = field.enableAnalyzer ? 1 : 0
                        description.enable_match = field.enableMatch ? 1 : 0
                    }
                }
                let functions = info.schema.functions.map { function in
                    arena.message(vdbm__v1__function__init) { built in
                        built.name = arena.string(function.name)
                        built.type = Vdbm__V1__Function__Type(rawValue: UInt32(function.type.rawValue))
                        (built.n_input_fields, built.input_fields) = (function.inputFields.count, arena.strings(function.inputFields))
                        (built.n_output_fields, built.output_fields) = (function.outputFields.count, arena.strings(function.outputFields))
                    }
                }
                (message.n_functions, message.functions) = (functions.count, arena.pointers(functions))
                (message.n_fields, message.fields) = (fields.count, arena.pointers(fields))
                message.consistency = Vdbm__V1__ConsistencyLevel(rawValue: UInt32(number(info.schema.consistency)))
                message.row_count = info.rowCount
                message.load_state = Vdbm__V1__LoadState(rawValue: UInt32(number(info.loadState)))
                let indexes = info.indexes.map { buildIndex($0, in: arena) }
                (message.n_indexes, message.indexes) = (indexes.count, arena.pointers(indexes))
            }
        }
    }

    public static func encodeIndexes(_ indexes: [IndexInfo]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__describe_indexes_response__init) { message in
                let built = indexes.map { buildIndex($0, in: arena) }
                (message.n_indexes, message.indexes) = (built.count, arena.pointers(built))
            }
        }
    }

    static func buildIndex(_ index: IndexInfo, in arena: ProtobufCArena) -> UnsafeMutablePointer<Vdbm__V1__IndexDescription> {
        arena.message(vdbm__v1__index_description__init) { message in
            message.index_name = arena.string(index.name)
            message.field = arena.string(index.field)
            let params = index.params.sorted { $0.key < $1.key }.map { key, value in
                arena.message(vdbm__v1__key_value__init) { ($0.key, $0.value) = (arena.string(key), arena.string(value)) }
            }
            (message.n_params, message.params) = (params.count, arena.pointers(params))
            message.indexed_rows = index.indexedRows
            message.total_rows = index.totalRows
            message.state = index.state
        }
    }

    public static func encodeMutation(ids: PrimaryKeys?, count: Int64) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__mutation_response__init) { message in
                message.ids = ids.map { VDBMColumns.build($0, in: arena) }
                message.count = count
            }
        }
    }

    /// Columns sorted by name, so answers are stable.
    public static func encodeQuery(_ result: QueryResult) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__query_response__init) { message in
                let columns = result.columns.sorted { $0.key < $1.key }.map { VDBMColumns.build(name: $0.key, values: $0.value, in: arena) }
                (message.n_columns, message.columns) = (columns.count, arena.pointers(columns))
                message.row_count = UInt32(clamping: result.rowCount)
            }
        }
    }

    public static func encodeImportSummary(batchRows: [UInt64]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__import_summary__init) { message in
                message.rows = batchRows.reduce(0, +)
                (message.n_batch_rows, message.batch_rows) = (batchRows.count, arena.array(batchRows))
            }
        }
    }

    public static func encodeCount(_ count: Int64) -> [UInt8] {
        ProtobufC.pack { arena in arena.message(vdbm__v1__count_response__init) { $0.count = count } }
    }

    public static func encodeLoadState(_ state: LoadState) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__load_state_response__init) { $0.state = Vdbm__V1__LoadState(rawValue: UInt32(number(state))) }
        }
    }

    /// One `SearchResults` per query vector: ids, distances, and each output field as a column
    /// (sorted by name).
    /// The hits of each query vector; a grouping search's group values named `groupBy`.
    public static func encodeSearch(_ results: [SearchResults], groupBy: String = "") -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__search_response__init) { message in
                let built = results.map { hits in
                    arena.message(vdbm__v1__search_results__init) { result in
                        result.ids = VDBMColumns.build(hits.ids, in: arena)
                        (result.n_distances, result.distances) = (hits.distances.count, arena.array(hits.distances))
                        let columns = hits.fields.sorted { $0.key < $1.key }.map {
                            VDBMColumns.build(name: $0.key, values: $0.value, in: arena)
                        }
                        (result.n_fields, result.fields) = (columns.count, arena.pointers(columns))
                        if let groups = hits.groupValues {
                            result.group_values = VDBMColumns.build(name: groupBy, values: groups, in: arena)
                        }
                    }
                }
                (message.n_results, message.results) = (built.count, arena.pointers(built))
            }
        }
    }

    public static func encodeServerInfo(_ info: ServerInfo) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(vdbm__v1__server_info__init) { message in
                message.version = arena.string(info.version)
                (message.n_milvus_endpoints, message.milvus_endpoints) = (info.milvusEndpoints.count, arena.strings(info.milvusEndpoints))
                message.milvus_version = arena.string(info.milvusVersion)
                (message.n_milvus_features, message.milvus_features) = (info.milvusFeatures.count, arena.strings(info.milvusFeatures))
                message.pool = arena.message(vdbm__v1__pool_state__init) { pool in
                    pool.connections = UInt32(clamping: info.connections)
                    pool.ready_connections = UInt32(clamping: info.readyConnections)
                    pool.active_calls = UInt32(clamping: info.activeCalls)
                    pool.waiting_calls = UInt32(clamping: info.waitingCalls)
                }
            }
        }
    }
}
