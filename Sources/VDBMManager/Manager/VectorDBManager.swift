import Logging
import MilvusClient
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// The vector-database operations vdbm offers, in Swift domain values, over a `MilvusAPI`
/// (the real `MilvusClient`, or a mock in tests). It keeps a schema cache per collection:
/// described once, reused by inserts and searches, dropped when the collection is dropped or
/// when Milvus reports that the schema no longer matches (the call is then repeated once).
///
/// Control-plane operations (collections, indexes, loading, partitions) run on the actor, one at
/// a time. The data plane (insert, upsert, delete, get, query, count, search) is `nonisolated`:
/// it only reads the schema cache, which has its own lock (held for a dictionary lookup, never
/// across I/O), so a search does not queue behind other calls nor hop threads to enter the actor.
public actor VectorDBManager {
    let milvus: any MilvusAPI
    private let logger: Logger
    private let schemas = SchemaCache()
    let loadProbes = LoadStateProbes()
    let versions = MilvusVersionCache()
    let databases = DatabaseDirectory()
    /// `nil` when coalescing is off: every search goes to Milvus on its own.
    let coalescer: Coalescer?
    typealias Coalescer = SearchCoalescer<SearchBatchKey, [Float], SearchResults>
    /// Hybrid searches merged under the same policy (`nil` when coalescing is off).
    let hybridCoalescer: SearchCoalescer<HybridBatchKey, [HybridQueryRow], SearchResults>?
    /// Concurrent inserts (and, apart, upserts) merged into one Milvus write (`nil`: each alone).
    let writeCoalescer: WriteCoalescer<WriteBatchKey, WriteRows, MutationResult>?

    /// - Parameters:
    ///   - searchCoalescing: how concurrent searches that differ only in their vectors are merged
    ///     into one Milvus search; `nil` sends every search on its own.
    ///   - writeCoalescing: how concurrent inserts and upserts of one collection and partition are
    ///     merged into one Milvus write; `nil` sends every write on its own.
    ///   - searchScheduler: where merged searches and writes and the coalescers' timers run.
    public init(milvus: any MilvusAPI, logger: Logger, searchCoalescing: SearchCoalescingPolicy? = nil,
                writeCoalescing: WriteCoalescingPolicy? = nil,
                searchScheduler: any SearchCoalescerScheduler = TaskSearchScheduler()) {
        self.milvus = milvus
        self.logger = logger
        self.coalescer = searchCoalescing.map { Coalescer(policy: $0, scheduler: searchScheduler) }
        self.hybridCoalescer = searchCoalescing.map { SearchCoalescer(policy: $0, scheduler: searchScheduler) }
        self.writeCoalescer = writeCoalescing.map { WriteCoalescer(policy: $0, scheduler: searchScheduler) }
    }

    // MARK: Collections

    /// Creates a collection from the quick-setup spec; builds the indexes and loads it when asked.
    public func createCollection(_ spec: CollectionSpec, deadline: Deadline) async throws(VectorDBError) {
        let schema = try SchemaMapping.schema(for: spec)
        let unindexed = (spec.hasQuickVectorField && spec.index == nil ? [spec.vectorField] : [])
            + spec.vectorFields.filter { $0.index == nil }.map(\.name)
        if spec.load, let field = unindexed.first {
            throw .invalidArgument("loading a new collection needs an index on every vector field; '\(field)' has none")
        }
        for (feature, subject) in Self.features(of: spec) {
            try await require(feature, subject: subject, deadline: deadline)
        }
        if try await milvus.hasCollection(spec.name, deadline: deadline) {
            throw .alreadyExists("collection '\(spec.name)' already exists")
        }
        try await milvus.createCollection(spec.name, schema: schema, consistencyLevel: spec.consistency.rawValue,
                                          partitions: spec.partitionCount, deadline: deadline)
        schemas[spec.name] = nil
        // Each index is named after its field, as `createIndex` names an index by default.
        if spec.hasQuickVectorField, let index = spec.index {
            try await createIndex(spec.name, field: spec.vectorField, indexName: spec.vectorField,
                                  index: index, metric: spec.metric, deadline: deadline)
        }
        let bm25Outputs = Set(spec.functions.filter { $0.type == .bm25 }.flatMap(\.outputFields))
        for vector in spec.vectorFields {
            guard let index = vector.index else { continue }
            let metric = vector.metric ?? {
                switch vector.kind {
                case .float: .l2
                case .sparse: bm25Outputs.contains(vector.name) ? .bm25 : .innerProduct
                }
            }()
            try await createIndex(spec.name, field: vector.name, indexName: vector.name, index: index, metric: metric,
                                  deadline: deadline)
        }
        if spec.load {
            try await load(spec.name, deadline: deadline)
        }
    }

    /// What a spec needs of Milvus beyond 2.3, each with how a refusal names it.
    static func features(of spec: CollectionSpec) -> [(MilvusFeature, String)] {
        var needs: [(MilvusFeature, String)] = []
        // Milvus before 2.4 does not know these flags and would create the field without them.
        if let nullable = spec.scalarFields.first(where: \.nullable) {
            needs.append((.nullableFields, "nullable field '\(nullable.name)'"))
        }
        if let defaulted = spec.scalarFields.first(where: { $0.defaultValue != nil }) {
            needs.append((.defaultValues, "the default value of field '\(defaulted.name)'"))
        }
        if let sparse = spec.vectorFields.first(where: { $0.kind == .sparse }) {
            needs.append((.sparseVectors, "sparse vector field '\(sparse.name)'"))
        }
        if let function = spec.functions.first {
            needs.append((.fullTextSearch, "BM25 function '\(function.name)'"))
        } else if let analyzed = spec.scalarFields.first(where: \.enableAnalyzer) {
            needs.append((.fullTextSearch, "the analyzer of field '\(analyzed.name)'"))
        }
        return needs
    }

    public func dropCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(name, kind: "collection")
        schemas[name] = nil
        guard try await milvus.hasCollection(name, deadline: deadline) else {
            throw .notFound("collection '\(name)' does not exist")
        }
        try await milvus.dropCollection(name, deadline: deadline)
    }

    public func hasCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> Bool {
        try SchemaMapping.validateName(name, kind: "collection")
        return try await milvus.hasCollection(name, deadline: deadline)
    }

    public func listCollections(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try await milvus.listCollections(deadline: deadline).sorted()
    }

    /// Schema, row count, load state and indexes of a collection.
    public func describeCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> CollectionInfo {
        let schema = try await schema(of: name, deadline: deadline, refresh: true)
        let stats = try await milvus.statistics(name, deadline: deadline)
        let state = try await milvus.loadState(name, deadline: deadline)
        let indexes = try await indexes(of: name, deadline: deadline)
        return CollectionInfo(schema: schema, rowCount: stats.first { $0.key == "row_count" }.flatMap { Int64($0.value) } ?? 0,
                              loadState: LoadState(milvus: state), indexes: indexes)
    }

    /// The cached schema, described from Milvus on first use (or when `refresh`).
    nonisolated public func schema(of name: String, deadline: Deadline, refresh: Bool = false) async throws(VectorDBError)
        -> CollectionSchemaInfo {
        try SchemaMapping.validateName(name, kind: "collection")
        if !refresh, let cached = schemas[name] { return cached }
        let described: MilvusResponse.DescribeCollection
        do {
            described = try await milvus.describeCollection(name, deadline: deadline)
        } catch {
            if case .notFound = error { schemas[name] = nil }
            throw error
        }
        let schema = SchemaMapping.schemaInfo(described, name: name)
        schemas[name] = schema
        return schema
    }

    // MARK: Data

    /// Deletes the rows with these keys.
    nonisolated public func delete(_ collection: String, ids: PrimaryKeys, partition: String = "",
                       deadline: Deadline) async throws(VectorDBError) -> Int64 {
        guard ids.count > 0 else { throw .invalidArgument("no ids to delete") }
        let schema = try await schema(of: collection, deadline: deadline)
        guard let key = schema.primaryKey else { throw .internal("collection '\(collection)' has no primary key") }
        return try await delete(collection, filter: SchemaMapping.membership(ids, field: key.name), partition: partition,
                                deadline: deadline)
    }

    /// Deletes the rows that match a filter expression.
    nonisolated public func delete(_ collection: String, filter: String, partition: String = "",
                       deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try SchemaMapping.validateName(collection, kind: "collection")
        guard !filter.allSatisfy(\.isWhitespace) else { throw .invalidArgument("an empty filter would delete nothing; give one") }
        let count = try await milvus.delete(collection, partition: partition, expression: filter, deadline: deadline)
        guard count >= 0 else { throw .internal(MalformedMilvusAnswer("delete", "delete count \(count)").description) }
        return count
    }

    /// The rows with these keys (strongly consistent: a row just written is found).
    nonisolated public func get(_ collection: String, ids: PrimaryKeys, outputFields: [String] = [],
                    deadline: Deadline) async throws(VectorDBError) -> QueryResult {
        guard ids.count > 0 else { throw .invalidArgument("no ids to get") }
        let schema = try await schema(of: collection, deadline: deadline)
        guard let key = schema.primaryKey else { throw .internal("collection '\(collection)' has no primary key") }
        return try await query(collection, filter: SchemaMapping.membership(ids, field: key.name),
                               outputFields: outputFields, limit: nil, offset: 0, consistency: .strong, deadline: deadline)
    }

    /// Rows matching a filter, with the primary key and the output fields (every field when none
    /// are named).
    nonisolated public func query(_ collection: String, filter: String, outputFields: [String] = [], limit: Int? = nil,
                      offset: Int = 0, partitions: [String] = [], consistency: ConsistencyLevel? = nil,
                      deadline: Deadline) async throws(VectorDBError) -> QueryResult {
        let schema = try await schema(of: collection, deadline: deadline)
        var params: [MilvusKeyValue] = []
        if let limit {
            guard limit > 0 else { throw .invalidArgument("limit must be positive") }
            params.append(MilvusKeyValue("limit", "\(limit)"))
            params.append(MilvusKeyValue("offset", "\(offset)"))
        } else if filter.allSatisfy(\.isWhitespace) {
            throw .invalidArgument("a query without a filter needs a limit")
        }
        return try await query(collection, schema: schema, filter: filter, outputFields: outputFields, params: params,
                               partitions: partitions, consistency: consistency, guaranteeTimestamp: nil, deadline: deadline)
    }

    /// One page of an export: up to `pageSize` rows after `cursor` in primary-key order (asked
    /// with Milvus's query-iterator parameters), and the cursor after them (`nil` when there are
    /// no more rows).
    nonisolated public func exportPage(_ collection: String, filter: String, outputFields: [String] = [],
                                       after cursor: ExportCursor?, pageSize: Int, partitions: [String] = [],
                                       consistency: ConsistencyLevel? = nil,
                                       deadline: Deadline) async throws(VectorDBError) -> (rows: QueryResult, next: ExportCursor?) {
        if let problem = ResultWindow.problem("page_size", count: pageSize) { throw .invalidArgument(problem) }
        let schema = try await schema(of: collection, deadline: deadline)
        guard let key = schema.primaryKey?.name else { throw .internal("collection '\(collection)' has no primary key") }
        let params = [MilvusKeyValue("limit", "\(pageSize)"), MilvusKeyValue("offset", "0"),
                      MilvusKeyValue("iterator", "True"), MilvusKeyValue("reduce_stop_for_best", "False")]
        // A strong export reads as of its first page: that page waits for Milvus to catch up with
        // the present, the later ones ask for the same point and need not wait.
        let readPoint = cursor?.guaranteeTimestamp
            ?? (consistency == .strong ? ExportPaging.hybridTimestampNow() : nil)
        let page = try await query(collection, schema: schema, filter: ExportPaging.filter(filter, key: key, after: cursor?.key),
                                   outputFields: outputFields, params: params, partitions: partitions,
                                   consistency: cursor == nil ? consistency : nil, guaranteeTimestamp: cursor == nil ? nil : readPoint,
                                   deadline: deadline)
        let (rows, last) = try ExportPaging.ordered(page, key: key)
        return (rows, last.map { ExportCursor(key: $0, guaranteeTimestamp: readPoint) })
    }

    private nonisolated func query(_ collection: String, schema: CollectionSchemaInfo, filter: String, outputFields: [String],
                                   params: [MilvusKeyValue], partitions: [String], consistency: ConsistencyLevel?,
                                   guaranteeTimestamp: UInt64?, deadline: Deadline) async throws(VectorDBError) -> QueryResult {
        var (fields, dynamic, keepMeta) = try SchemaMapping.outputFields(outputFields, schema: schema)
        // Rows always come back with their key, so a caller can tell them apart.
        if let key = schema.primaryKey?.name, !fields.contains(key) { fields.append(key) }
        let columns = try await explainingNotLoaded(collection, deadline: deadline) { () throws(VectorDBError) in
            try await milvus.query(collection, expression: filter, outputFields: fields, partitions: partitions, params: params,
                                   consistencyLevel: consistency?.rawValue, guaranteeTimestamp: guaranteeTimestamp,
                                   deadline: deadline)
        }
        // Columns vdbm cannot read are left out: every column sent on has the same rows.
        let readable = columns.filter(\.isReadable)
        do {
            try MilvusFieldData.checkRows(readable, answer: "query")
        } catch {
            throw .internal(error.description)
        }
        var result: [String: FieldValues] = [:]
        for column in readable where fields.contains(column.name) || column.name == DynamicFields.metaField {
            result[column.name] = column.values
        }
        return QueryResult(columns: DynamicFields.unpack(result, names: dynamic, keepMeta: keepMeta))
    }

    /// The number of rows (matching `filter`, when given), strongly consistent.
    nonisolated public func count(_ collection: String, filter: String = "", deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try SchemaMapping.validateName(collection, kind: "collection")
        let columns = try await explainingNotLoaded(collection, deadline: deadline) { () throws(VectorDBError) in
            try await milvus.query(collection, expression: filter, outputFields: ["count(*)"], partitions: [], params: [],
                                   consistencyLevel: ConsistencyLevel.strong.rawValue, guaranteeTimestamp: nil,
                                   deadline: deadline)
        }
        guard case .int64s(let counts) = columns.first(where: { $0.name == "count(*)" })?.values, let count = counts.first
        else { throw .internal("Milvus returned no count") }
        guard count >= 0 else { throw .internal(MalformedMilvusAnswer("count", "count(*) is \(count)").description) }
        return count
    }

    // MARK: Indexes, loading, partitions

    public func createIndex(_ collection: String, field: String, indexName: String, index: IndexSpec, metric: MetricType,
                            deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(collection, kind: "collection")
        try SchemaMapping.validateName(field, kind: "field")
        try SchemaMapping.validateName(indexName, kind: "index")
        // Milvus 2.3.5 answers an unknown field with its catch-all code: check the schema first.
        let schema = try await schema(of: collection, deadline: deadline, refresh: true)
        guard schema.field(field) != nil else {
            throw .invalidArgument("collection '\(collection)' has no field '\(field)' to index")
        }
        try await milvus.createIndex(collection, field: field, indexName: indexName, params: [
            MilvusKeyValue("index_type", index.type), MilvusKeyValue("metric_type", metric.rawValue),
            MilvusKeyValue("params", MilvusKeyValue.jsonObject(index.params)),
        ], deadline: deadline)
    }

    public func indexes(of collection: String, deadline: Deadline) async throws(VectorDBError) -> [IndexInfo] {
        try SchemaMapping.validateName(collection, kind: "collection")
        do {
            return try await milvus.describeIndexes(collection, deadline: deadline).map { index in
                IndexInfo(name: index.indexName, field: index.fieldName,
                          params: Dictionary(index.params.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last }),
                          indexedRows: index.indexedRows, totalRows: index.totalRows, state: index.state)
            }
        } catch {
            // Milvus reports "index not found" for a collection without indexes: that is an empty list.
            if case .notFound(let reason) = error, reason.lowercased().contains("index") { return [] }
            throw error
        }
    }

    /// Drops an index; one that does not exist is `notFound` (Milvus 2.3.5 answers OK).
    public func dropIndex(_ collection: String, indexName: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(collection, kind: "collection")
        guard try await indexes(of: collection, deadline: deadline).contains(where: { $0.name == indexName }) else {
            throw .notFound("collection '\(collection)' has no index '\(indexName)'")
        }
        try await milvus.dropIndex(collection, indexName: indexName, deadline: deadline)
    }

    /// Loads a collection and waits (within the deadline) until it is searchable.
    public func load(_ collection: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(collection, kind: "collection")
        do {
            try await milvus.load(collection, deadline: deadline)
        } catch {
            // Milvus says the index is "not found"; for a load that is a step the caller skipped.
            guard case .notFound(let text) = error, text.hasPrefix(Self.missingIndexLead) else { throw error }
            throw .failedPrecondition("collection '\(collection)' has no index: create one before loading it"
                                      + text.dropFirst(Self.missingIndexLead.count))
        }
        while LoadState(milvus: try await milvus.loadState(collection, deadline: deadline)) != .loaded {
            // Poll every 100 ms, the last time just before the deadline.
            let remaining = deadline.remaining() - .milliseconds(5)
            guard remaining > .zero else { throw .deadlineExceeded("collection '\(collection)' is still loading") }
            try? await Task.sleep(for: min(.milliseconds(100), remaining))
        }
    }

    private static let missingIndexLead = "the index does not exist"

    public func release(_ collection: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(collection, kind: "collection")
        try await milvus.release(collection, deadline: deadline)
    }

    public func loadState(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> LoadState {
        try SchemaMapping.validateName(collection, kind: "collection")
        return LoadState(milvus: try await milvus.loadState(collection, deadline: deadline))
    }

    public func createPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(collection, kind: "collection")
        try SchemaMapping.validateName(partition, kind: "partition")
        // Milvus 2.3.5 answers OK to an existing partition; vdbm says so, as for collections.
        if try await milvus.listPartitions(collection, deadline: deadline).contains(partition) {
            throw .alreadyExists("collection '\(collection)' already has partition '\(partition)'")
        }
        try await milvus.createPartition(collection, partition: partition, deadline: deadline)
    }

    public func dropPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try SchemaMapping.validateName(collection, kind: "collection")
        try SchemaMapping.validateName(partition, kind: "partition")
        guard partition != Self.defaultPartition else {
            throw .invalidArgument("the \(Self.defaultPartition) partition cannot be dropped")
        }
        // Milvus 2.3.5 answers OK to a partition that does not exist.
        guard try await milvus.listPartitions(collection, deadline: deadline).contains(partition) else {
            throw .notFound("collection '\(collection)' has no partition '\(partition)'")
        }
        try await milvus.dropPartition(collection, partition: partition, deadline: deadline)
    }

    /// The partition every collection has, which cannot be dropped.
    static let defaultPartition = "_default"

    public func listPartitions(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [String] {
        try SchemaMapping.validateName(collection, kind: "collection")
        return try await milvus.listPartitions(collection, deadline: deadline)
    }

    /// Seals what was written so it is persisted and counted in statistics.
    public func flush(_ collections: [String], deadline: Deadline) async throws(VectorDBError) {
        for name in collections { try SchemaMapping.validateName(name, kind: "collection") }
        try await milvus.flush(collections, deadline: deadline)
    }

    // MARK: Schema cache

    /// Runs `body` with the cached schema; when Milvus rejects the call in a way that says the
    /// schema changed (the collection was dropped and re-created), describes again and repeats once.
    nonisolated func withSchema<Value>(_ collection: String, deadline: Deadline,
                                   _ body: (CollectionSchemaInfo) async throws(VectorDBError) -> Value) async throws(VectorDBError) -> Value {
        let cached = schemas[collection] != nil
        let schema = try await schema(of: collection, deadline: deadline)
        do {
            return try await body(schema)
        } catch {
            guard cached, Self.suggestsSchemaChange(error) else { throw error }
            logger.info("schema changed under the cache: describing again", metadata: ["collection": "\(collection)"])
            schemas[collection] = nil
            return try await body(try await self.schema(of: collection, deadline: deadline, refresh: true))
        }
    }

    static func suggestsSchemaChange(_ error: VectorDBError) -> Bool {
        switch error {
        case .notFound: true
        case .invalidArgument(let reason), .milvus(_, let reason):
            reason.contains("schema") || reason.contains("dimension") || reason.contains("field")
        default: false
        }
    }
}
