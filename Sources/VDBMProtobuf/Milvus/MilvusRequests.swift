import CVDBMProtos
import VDBMDomain

/// Serialized `MilvusService` requests. Each function builds the protobuf-c message in an arena,
/// packs it and frees it; callers see only bytes.
public enum MilvusRequest {
    public static func checkHealth() -> [UInt8] { [] }
    public static func getVersion() -> [UInt8] { [] }

    /// `partitions`: how many partitions a partition key spreads rows over (nil: Milvus's default).
    public static func createCollection(_ name: String, schema: MilvusCollectionSchema, shards: Int32 = 1,
                                        consistencyLevel: Int32 = 1, properties: [MilvusKeyValue] = [],
                                        partitions: Int? = nil) -> [UInt8] {
        let schemaBytes = schema.serializedBytes()
        return ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__create_collection_request__init) { message in
                message.collection_name = arena.string(name)
                message.schema = arena.binary(schemaBytes)
                message.shards_num = shards
                message.consistency_level = consistencyLevel
                (message.n_properties, message.properties) = MilvusKeyValue.build(properties, in: arena)
                message.num_partitions = Int64(partitions ?? 0)
            }
        }
    }

    public static func listDatabases() -> [UInt8] { [] }

    public static func createDatabase(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__create_database_request__init) { $0.db_name = arena.string(name) }
        }
    }

    public static func dropDatabase(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__drop_database_request__init) { $0.db_name = arena.string(name) }
        }
    }

    public static func dropCollection(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__drop_collection_request__init) { $0.collection_name = arena.string(name) }
        }
    }

    public static func hasCollection(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__has_collection_request__init) { $0.collection_name = arena.string(name) }
        }
    }

    public static func describeCollection(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__describe_collection_request__init) { $0.collection_name = arena.string(name) }
        }
    }

    public static func showCollections() -> [UInt8] { [] }

    public static func getCollectionStatistics(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__get_collection_statistics_request__init) {
                $0.collection_name = arena.string(name)
            }
        }
    }

    public static func loadCollection(_ name: String, replicas: Int32 = 1) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__load_collection_request__init) { message in
                message.collection_name = arena.string(name)
                message.replica_number = replicas
            }
        }
    }

    public static func releaseCollection(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__release_collection_request__init) { $0.collection_name = arena.string(name) }
        }
    }

    public static func getLoadState(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__get_load_state_request__init) { $0.collection_name = arena.string(name) }
        }
    }

    public static func getLoadingProgress(_ name: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__get_loading_progress_request__init) { $0.collection_name = arena.string(name) }
        }
    }

    public static func flush(_ names: [String]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__flush_request__init) { message in
                message.n_collection_names = names.count
                message.collection_names = arena.strings(names)
            }
        }
    }

    public static func createPartition(_ collection: String, partition: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__create_partition_request__init) { message in
                message.collection_name = arena.string(collection)
                message.partition_name = arena.string(partition)
            }
        }
    }

    public static func dropPartition(_ collection: String, partition: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__drop_partition_request__init) { message in
                message.collection_name = arena.string(collection)
                message.partition_name = arena.string(partition)
            }
        }
    }

    public static func showPartitions(_ collection: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__show_partitions_request__init) { $0.collection_name = arena.string(collection) }
        }
    }

    public static func createIndex(_ collection: String, field: String, indexName: String,
                                   params: [MilvusKeyValue]) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__create_index_request__init) { message in
                message.collection_name = arena.string(collection)
                message.field_name = arena.string(field)
                message.index_name = arena.string(indexName)
                (message.n_extra_params, message.extra_params) = MilvusKeyValue.build(params, in: arena)
            }
        }
    }

    public static func describeIndex(_ collection: String, field: String = "", indexName: String = "") -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__describe_index_request__init) { message in
                message.collection_name = arena.string(collection)
                message.field_name = arena.string(field)
                message.index_name = arena.string(indexName)
            }
        }
    }

    public static func dropIndex(_ collection: String, field: String = "", indexName: String = "") -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__drop_index_request__init) { message in
                message.collection_name = arena.string(collection)
                message.field_name = arena.string(field)
                message.index_name = arena.string(indexName)
            }
        }
    }

    /// Insert (`upsert` false) or upsert of column-oriented rows.
    public static func insert(_ collection: String, partition: String = "", fields: [MilvusFieldData],
                              upsert: Bool = false) -> [UInt8] {
        // Callers send at most a batch of rows (validated); clamped so no count can trap here.
        let rows = UInt32(clamping: fields.first?.rowCount ?? 0)
        if upsert {
            return ProtobufC.pack { arena in
                let columns = fields.map { $0.build(in: arena) }
                return arena.message(milvus__proto__milvus__upsert_request__init) { message in
                    message.collection_name = arena.string(collection)
                    message.partition_name = arena.string(partition)
                    message.n_fields_data = columns.count
                    message.fields_data = arena.pointers(columns)
                    message.num_rows = rows
                }
            }
        }
        return ProtobufC.pack { arena in
            let columns = fields.map { $0.build(in: arena) }
            return arena.message(milvus__proto__milvus__insert_request__init) { message in
                message.collection_name = arena.string(collection)
                message.partition_name = arena.string(partition)
                message.n_fields_data = columns.count
                message.fields_data = arena.pointers(columns)
                message.num_rows = rows
            }
        }
    }

    public static func delete(_ collection: String, partition: String = "", expression: String) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__delete_request__init) { message in
                message.collection_name = arena.string(collection)
                message.partition_name = arena.string(partition)
                message.expr = arena.string(expression)
            }
        }
    }

    /// A query by filter; `params` carries `limit` and `offset`. `consistencyLevel` nil uses the
    /// collection's default; a `guaranteeTimestamp` replaces it (Milvus's Customized level: every
    /// row written up to that hybrid timestamp is seen, without waiting for later ones).
    public static func query(_ collection: String, expression: String, outputFields: [String],
                             partitions: [String] = [], params: [MilvusKeyValue] = [],
                             consistencyLevel: Int32? = nil, guaranteeTimestamp: UInt64? = nil) -> [UInt8] {
        ProtobufC.pack { arena in
            arena.message(milvus__proto__milvus__query_request__init) { message in
                message.collection_name = arena.string(collection)
                message.expr = arena.string(expression)
                message.n_output_fields = outputFields.count
                message.output_fields = arena.strings(outputFields)
                message.n_partition_names = partitions.count
                message.partition_names = arena.strings(partitions)
                (message.n_query_params, message.query_params) = MilvusKeyValue.build(params, in: arena)
                if let guaranteeTimestamp {
                    message.guarantee_timestamp = guaranteeTimestamp
                    message.consistency_level = 4  // Milvus ConsistencyLevel.Customized
                    message.use_default_consistency = 0
                } else {
                    message.consistency_level = consistencyLevel ?? 0
                    message.use_default_consistency = consistencyLevel == nil ? 1 : 0
                }
            }
        }
    }

    /// A search: `queries` of one kind (float vectors of `dim` floats, sparse vectors or texts);
    /// `params` carries `anns_field`, `topk`, `params` (JSON), `offset`, ...
    public static func search(_ collection: String, queries: SearchQueries, dim: Int, filter: String, outputFields: [String],
                              partitions: [String] = [], params: [MilvusKeyValue],
                              consistencyLevel: Int32? = nil) -> [UInt8] {
        let placeholder = placeholderGroup(queries, dim: dim)
        // The packed placeholder is referenced, not copied, while the request is packed.
        return placeholder.withUnsafeBytes { placeholderBytes in
            ProtobufC.pack { arena in
                arena.message(milvus__proto__milvus__search_request__init) { message in
                    message.collection_name = arena.string(collection)
                    message.n_partition_names = partitions.count
                    message.partition_names = arena.strings(partitions)
                    fill(&message, filter: filter, placeholder: ProtobufC.borrowing(placeholderBytes),
                         nq: queries.count(dimension: dim), params: params, in: arena)
                    message.n_output_fields = outputFields.count
                    message.output_fields = arena.strings(outputFields)
                    message.consistency_level = consistencyLevel ?? 0
                    message.use_default_consistency = consistencyLevel == nil ? 1 : 0
                }
            }
        }
    }

    /// A search by float vectors: `vectors` holds query vectors of `dim` floats, row after row.
    public static func search(_ collection: String, vectors: [Float], dim: Int, filter: String, outputFields: [String],
                              partitions: [String] = [], params: [MilvusKeyValue],
                              consistencyLevel: Int32? = nil) -> [UInt8] {
        search(collection, queries: .floatVectors(vectors, dimension: dim), dim: dim, filter: filter,
               outputFields: outputFields, partitions: partitions, params: params, consistencyLevel: consistencyLevel)
    }

    /// One search of a hybrid search: the field, the queries and their dimension (float vectors),
    /// the filter and the `search_params` (`anns_field`, `topk`, `params`).
    public struct SubSearch: Sendable {
        public var queries: SearchQueries
        public var dim: Int
        public var filter: String
        public var params: [MilvusKeyValue]

        public init(queries: SearchQueries, dim: Int, filter: String, params: [MilvusKeyValue]) {
            self.queries = queries
            self.dim = dim
            self.filter = filter
            self.params = params
        }
    }

    /// A hybrid search: `searches`' hits fused by the ranker in `rankParams` (`strategy`,
    /// `params`, `limit`, `offset`, `round_decimal`).
    public static func hybridSearch(_ collection: String, searches: [SubSearch], rankParams: [MilvusKeyValue],
                                    outputFields: [String], partitions: [String] = [],
                                    consistencyLevel: Int32? = nil) -> [UInt8] {
        let placeholders = searches.map { placeholderGroup($0.queries, dim: $0.dim) }
        return ProtobufC.pack { arena in
            let requests = zip(searches, placeholders).map { search, placeholder in
                arena.message(milvus__proto__milvus__search_request__init) { message in
                    message.collection_name = arena.string(collection)
                    fill(&message, filter: search.filter, placeholder: arena.binary(placeholder),
                         nq: search.queries.count(dimension: search.dim), params: search.params, in: arena)
                }
            }
            return arena.message(milvus__proto__milvus__hybrid_search_request__init) { message in
                message.collection_name = arena.string(collection)
                (message.n_partition_names, message.partition_names) = (partitions.count, arena.strings(partitions))
                (message.n_requests, message.requests) = (requests.count, arena.pointers(requests))
                (message.n_rank_params, message.rank_params) = MilvusKeyValue.build(rankParams, in: arena)
                (message.n_output_fields, message.output_fields) = (outputFields.count, arena.strings(outputFields))
                message.consistency_level = consistencyLevel ?? 0
                message.use_default_consistency = consistencyLevel == nil ? 1 : 0
            }
        }
    }

    /// What a search and each search of a hybrid search carry alike.
    private static func fill(_ message: inout Milvus__Proto__Milvus__SearchRequest, filter: String,
                             placeholder: ProtobufCBinaryData, nq: Int, params: [MilvusKeyValue], in arena: ProtobufCArena) {
        message.dsl = arena.string(filter)
        message.dsl_type = 1  // BoolExprV1
        message.placeholder_group = placeholder
        (message.n_search_params, message.search_params) = MilvusKeyValue.build(params, in: arena)
        message.nq = Int64(nq)
    }

    /// The `search_params` of a vector search: the field, top-k, the index's parameters as a JSON
    /// object (keys sorted, so equal searches encode equally) and the offset. No `metric_type`:
    /// Milvus uses the index's own, which is the only one it accepts.
    public static func searchParams(annsField: String, topK: Int, params: [String: ParamValue], offset: Int) -> [MilvusKeyValue] {
        [MilvusKeyValue("anns_field", annsField), MilvusKeyValue("topk", "\(topK)"),
         MilvusKeyValue("params", MilvusKeyValue.jsonObject(params)), MilvusKeyValue("offset", "\(offset)"),
         MilvusKeyValue("round_decimal", "-1")]
    }

    /// The search parameters of a grouping search, as pymilvus sends them.
    public static func groupingParams(_ grouping: SearchGrouping) -> [MilvusKeyValue] {
        [MilvusKeyValue("group_by_field", grouping.field), MilvusKeyValue("group_size", "\(grouping.size)"),
         MilvusKeyValue("strict_group_size", grouping.strictSize ? "true" : "false")]
    }

    /// `PlaceholderGroup{ "$0", type, one blob per query }`: a sparse vector's components
    /// (SparseFloatVector), or a text's UTF-8 bytes (VarChar).
    static func placeholderGroup(_ queries: SearchQueries, dim: Int) -> [UInt8] {
        let blobs: [[UInt8]]
        let type: Int32
        switch queries {
        case .floatVectors(let vectors, _): return placeholderGroup(vectors: vectors, dim: dim)
        case .sparseVectors(let rows): (type, blobs) = (104, rows.map(MilvusSparseRows.bytes))
        case .texts(let texts): (type, blobs) = (21, texts.map { Array($0.utf8) })
        }
        return ProtobufC.pack { arena in
            let value = arena.message(milvus__proto__common__placeholder_value__init) { value in
                value.tag = arena.string("$0")
                value.type = type
                (value.n_values, value.values) = (blobs.count, arena.array(blobs.map { arena.binary($0) }))
            }
            return arena.message(milvus__proto__common__placeholder_group__init) { group in
                group.n_placeholders = 1
                group.placeholders = arena.pointers([value])
            }
        }
    }

    /// `PlaceholderGroup{ "$0", FloatVector, one little-endian float32 blob per query vector }`.
    /// Each blob refers to its row of `vectors` while the group is packed (no copy per vector;
    /// Float is little-endian on our targets).
    static func placeholderGroup(vectors: [Float], dim: Int) -> [UInt8] {
        let count = dim > 0 ? vectors.count / dim : 0
        let rowBytes = dim * MemoryLayout<Float>.size
        return vectors.withUnsafeBytes { raw in
            ProtobufC.pack { arena in
                let blobs = (0..<count).map { row in
                    ProtobufC.borrowing(UnsafeRawBufferPointer(rebasing: raw[(row * rowBytes)..<((row + 1) * rowBytes)]))
                }
                let value = arena.message(milvus__proto__common__placeholder_value__init) { value in
                    value.tag = arena.string("$0")
                    value.type = 101  // FloatVector
                    value.n_values = blobs.count
                    value.values = arena.array(blobs)
                }
                return arena.message(milvus__proto__common__placeholder_group__init) { group in
                    group.n_placeholders = 1
                    group.placeholders = arena.pointers([value])
                }
            }
        }
    }
}
