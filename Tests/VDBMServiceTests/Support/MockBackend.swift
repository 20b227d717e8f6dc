import Synchronization
import VDBMDomain
import VDBMService
import VDBMUtils

/// A scripted `VectorDBBackend`: records each call with the values it received, answers with
/// canned results, or throws the error a test set.
final class MockBackend: VectorDBBackend {
    struct State {
        var calls: [String] = []
        var specs: [CollectionSpec] = []
        var entities: [Entities] = []
        var searches: [SearchRequest] = []
        var hybridSearches: [HybridSearchRequest] = []
        /// The database each scoped call named (nil: none).
        var databases: [String?] = []
        var arguments: [String] = []
        var error: VectorDBError?
        /// Inserts that succeed before every further one fails with `unavailable`.
        var insertsBeforeFailure: Int?
        /// The cursor and page size of each `exportPage` call.
        var exportPages: [(cursor: ExportCursor?, pageSize: Int)] = []
    }

    let state = Mutex(State())
    var calls: [String] { state.withLock { $0.calls } }
    var arguments: [String] { state.withLock { $0.arguments } }

    func fail(with error: VectorDBError) { state.withLock { $0.error = error } }

    private func record(_ call: String, _ argument: String = "") throws(VectorDBError) {
        let error: VectorDBError? = state.withLock { state in
            state.calls.append(call)
            state.arguments.append(argument)
            return state.error
        }
        if let error { throw error }
    }

    static let schema = CollectionSchemaInfo(name: "docs", fields: [
        FieldInfo(name: "id", type: .int64, isPrimaryKey: true),
        FieldInfo(name: "vector", type: .floatVector, dimension: 4),
        FieldInfo(name: "title", type: .varchar, maxLength: 64),
    ])

    func createCollection(_ spec: CollectionSpec, deadline: Deadline) async throws(VectorDBError) {
        state.withLock { $0.specs.append(spec) }
        try record("createCollection", spec.name)
    }
    func dropCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) { try record("dropCollection", name) }
    func hasCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> Bool {
        try record("hasCollection", name)
        return name == "docs"
    }
    func listCollections(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try record("listCollections")
        return ["a", "docs"]
    }
    func describeCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> CollectionInfo {
        try record("describeCollection", name)
        return CollectionInfo(schema: Self.schema, rowCount: 42, loadState: .loaded, indexes: [
            IndexInfo(name: "vector_index", field: "vector", params: ["index_type": "HNSW"], indexedRows: 42, totalRows: 42, state: 3),
        ])
    }
    func insert(_ collection: String, entities: Entities, partition: String, deadline: Deadline) async throws(VectorDBError)
        -> MutationResult {
        let failing: Bool = state.withLock { state in
            state.entities.append(entities)
            guard let left = state.insertsBeforeFailure else { return false }
            state.insertsBeforeFailure = left - 1
            return left <= 0
        }
        try record("insert", "\(collection)/\(partition)")
        if failing { throw .unavailable("connection lost") }
        return MutationResult(ids: .int64s(Array(0..<Int64(entities.rowCount))), count: Int64(entities.rowCount))
    }
    func upsert(_ collection: String, entities: Entities, partition: String, deadline: Deadline) async throws(VectorDBError)
        -> MutationResult {
        state.withLock { $0.entities.append(entities) }
        try record("upsert", "\(collection)/\(partition)")
        return MutationResult(ids: .strings(["k"]), count: 1)
    }
    func delete(_ collection: String, ids: PrimaryKeys, partition: String, deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try record("deleteIDs", "\(collection) \(ids)")
        return Int64(ids.count)
    }
    func delete(_ collection: String, filter: String, partition: String, deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try record("deleteFilter", "\(collection) \(filter)")
        return 7
    }
    func get(_ collection: String, ids: PrimaryKeys, outputFields: [String], deadline: Deadline) async throws(VectorDBError)
        -> QueryResult {
        try record("get", "\(collection) \(ids) \(outputFields)")
        return QueryResult(columns: ["id": .int64s([1, 2]), "title": .strings(["a", "b"])])
    }
    func query(_ collection: String, filter: String, outputFields: [String], limit: Int?, offset: Int, partitions: [String],
               consistency: ConsistencyLevel?, deadline: Deadline) async throws(VectorDBError) -> QueryResult {
        try record("query", "\(collection) \(filter) \(outputFields) \(String(describing: limit)) \(offset) \(partitions) \(String(describing: consistency))")
        return QueryResult(columns: ["id": .int64s([3]), "vector": .floatVectors(dimension: 2, values: [0.5, 1.5]),
                                     "ok": .bools([true]), "n": .int32s([9]), "f": .floats([1.5]), "d": .doubles([2.5]),
                                     "j": .json(["{}"])])
    }
    /// Rows 1...exportRows by key, in pages.
    static let exportRows: Int64 = 5
    func exportPage(_ collection: String, filter: String, outputFields: [String], after cursor: ExportCursor?, pageSize: Int,
                    partitions: [String], consistency: ConsistencyLevel?, deadline: Deadline) async throws(VectorDBError)
        -> (rows: QueryResult, next: ExportCursor?) {
        state.withLock { $0.exportPages.append((cursor, pageSize)) }
        try record("exportPage", "\(collection) \(filter)")
        var after: Int64 = 0
        if case .int64(let last) = cursor?.key { after = last }
        let keys = Array((after + 1)...max(after + 1, Self.exportRows)).prefix(pageSize).filter { $0 <= Self.exportRows }
        return (QueryResult(columns: ["id": .int64s(keys)]), keys.last.map { ExportCursor(key: .int64($0)) })
    }
    func count(_ collection: String, filter: String, deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try record("count", "\(collection) \(filter)")
        return 1234
    }
    func search(_ request: SearchRequest, deadline: Deadline) async throws(VectorDBError) -> [SearchResults] {
        state.withLock { $0.searches.append(request) }
        try record("search", request.collection)
        let queries = (request.dimension ?? 1) > 0 ? request.vectors.count / (request.dimension ?? 1) : 0
        return (0..<queries).map { query in
            SearchResults(ids: .int64s([Int64(query * 10), Int64(query * 10 + 1)]), distances: [0.25, 0.5],
                          fields: ["title": .strings(["t\(query)", "u"]), "n": .int64s([5, 6]), "m": .int32s([7, 8])])
        }
    }
    func hybridSearch(_ request: HybridSearchRequest, deadline: Deadline) async throws(VectorDBError) -> [SearchResults] {
        state.withLock { $0.hybridSearches.append(request) }
        try record("hybridSearch", request.collection)
        return [SearchResults(ids: .int64s([3, 1]), distances: [0.03, 0.02])]
    }
    /// The rows a search iterator walks: keys 1 to 25 at distances 0.1 to 2.5.
    static let iteratorRows = 25
    func searchIteratorPage(_ request: SearchRequest, after cursor: SearchIteratorCursor?, deadline: Deadline)
        async throws(VectorDBError) -> (hits: SearchResults, next: SearchIteratorCursor?) {
        state.withLock { $0.searches.append(request) }
        try record("searchIteratorPage", "\(request.collection) \(request.limit)")
        let after = cursor.map { Int64(($0.tail * 10).rounded()) } ?? 0
        let keys = Array((after + 1)...max(after + 1, Int64(Self.iteratorRows))).prefix(request.limit).filter { $0 <= Self.iteratorRows }
        let hits = SearchResults(ids: .int64s(keys), distances: keys.map { Float($0) / 10 })
        let next = keys.last.map { SearchIteratorCursor(largerIsBetter: false, tail: Float($0) / 10, tiedKeys: [.int64($0)], width: 1) }
        return (hits, keys.count < request.limit ? nil : next)
    }
    func createIndex(_ collection: String, field: String, indexName: String, index: IndexSpec, metric: MetricType,
                     deadline: Deadline) async throws(VectorDBError) {
        try record("createIndex", "\(collection) \(field) \(indexName) \(index.type) \(index.params) \(metric)")
    }
    func indexes(of collection: String, deadline: Deadline) async throws(VectorDBError) -> [IndexInfo] {
        try record("indexes", collection)
        return [IndexInfo(name: "i", field: "vector", params: ["M": "16", "index_type": "HNSW"], indexedRows: 1, totalRows: 2, state: 3)]
    }
    func dropIndex(_ collection: String, indexName: String, deadline: Deadline) async throws(VectorDBError) {
        try record("dropIndex", "\(collection) \(indexName)")
    }
    func load(_ collection: String, deadline: Deadline) async throws(VectorDBError) { try record("load", collection) }
    func release(_ collection: String, deadline: Deadline) async throws(VectorDBError) { try record("release", collection) }
    func loadState(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> LoadState {
        try record("loadState", collection)
        return .loading
    }
    func createPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try record("createPartition", "\(collection) \(partition)")
    }
    func dropPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try record("dropPartition", "\(collection) \(partition)")
    }
    func listPartitions(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [String] {
        try record("listPartitions", collection)
        return ["_default", "p1"]
    }
    func flush(_ collections: [String], deadline: Deadline) async throws(VectorDBError) {
        try record("flush", "\(collections)")
    }
    func inDatabase<Value: Sendable>(_ database: String?, deadline: Deadline, _ body: () async throws -> Value) async throws -> Value {
        state.withLock { $0.databases.append(database) }
        return try await body()
    }
    func listDatabases(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try record("listDatabases")
        return ["default", "tenants"]
    }
    func createDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) { try record("createDatabase", name) }
    func dropDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) { try record("dropDatabase", name) }
}
