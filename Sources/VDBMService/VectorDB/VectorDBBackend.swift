import VDBMDomain
import VDBMUtils

/// What the `VectorDB` service needs from the layer below: the `VectorDBManager`'s operations.
/// The service holds this protocol, not the actor, so its tests inject a mock and run without
/// Milvus (the refactor plan's dependency injection); the daemon, which knows both, declares the
/// manager's conformance.
public protocol VectorDBBackend: Sendable {
    func createCollection(_ spec: CollectionSpec, deadline: Deadline) async throws(VectorDBError)
    func dropCollection(_ name: String, deadline: Deadline) async throws(VectorDBError)
    func hasCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> Bool
    func listCollections(deadline: Deadline) async throws(VectorDBError) -> [String]
    func describeCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> CollectionInfo

    func insert(_ collection: String, entities: Entities, partition: String, deadline: Deadline) async throws(VectorDBError)
        -> MutationResult
    func upsert(_ collection: String, entities: Entities, partition: String, deadline: Deadline) async throws(VectorDBError)
        -> MutationResult
    func delete(_ collection: String, ids: PrimaryKeys, partition: String, deadline: Deadline) async throws(VectorDBError) -> Int64
    func delete(_ collection: String, filter: String, partition: String, deadline: Deadline) async throws(VectorDBError) -> Int64
    func get(_ collection: String, ids: PrimaryKeys, outputFields: [String], deadline: Deadline) async throws(VectorDBError)
        -> QueryResult
    func query(_ collection: String, filter: String, outputFields: [String], limit: Int?, offset: Int, partitions: [String],
               consistency: ConsistencyLevel?, deadline: Deadline) async throws(VectorDBError) -> QueryResult
    /// Up to `pageSize` rows after `cursor` in primary-key order, and the cursor after them.
    func exportPage(_ collection: String, filter: String, outputFields: [String], after cursor: ExportCursor?, pageSize: Int,
                    partitions: [String], consistency: ConsistencyLevel?, deadline: Deadline) async throws(VectorDBError)
        -> (rows: QueryResult, next: ExportCursor?)
    func count(_ collection: String, filter: String, deadline: Deadline) async throws(VectorDBError) -> Int64
    func search(_ request: SearchRequest, deadline: Deadline) async throws(VectorDBError) -> [SearchResults]
    func hybridSearch(_ request: HybridSearchRequest, deadline: Deadline) async throws(VectorDBError) -> [SearchResults]
    func searchIteratorPage(_ request: SearchRequest, after cursor: SearchIteratorCursor?, deadline: Deadline)
        async throws(VectorDBError) -> (hits: SearchResults, next: SearchIteratorCursor?)

    func createIndex(_ collection: String, field: String, indexName: String, index: IndexSpec, metric: MetricType,
                     deadline: Deadline) async throws(VectorDBError)
    func indexes(of collection: String, deadline: Deadline) async throws(VectorDBError) -> [IndexInfo]
    func dropIndex(_ collection: String, indexName: String, deadline: Deadline) async throws(VectorDBError)
    func load(_ collection: String, deadline: Deadline) async throws(VectorDBError)
    func release(_ collection: String, deadline: Deadline) async throws(VectorDBError)
    func loadState(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> LoadState
    func createPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError)
    func dropPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError)
    func listPartitions(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [String]
    func flush(_ collections: [String], deadline: Deadline) async throws(VectorDBError)

    /// Runs `body` with every Milvus call inside it acting in `database` (nil: the default one);
    /// NOT_FOUND for a database Milvus does not have.
    func inDatabase<Value: Sendable>(_ database: String?, deadline: Deadline, _ body: () async throws -> Value) async throws -> Value
    func listDatabases(deadline: Deadline) async throws(VectorDBError) -> [String]
    func createDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError)
    func dropDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError)
}
