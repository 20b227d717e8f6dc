import VDBMDomain
import MilvusClient
import Synchronization
import VDBMProtobuf
import VDBMUtils

/// A scripted `MilvusAPI`: it records every call and answers from what the test set up.
final class MockMilvus: MilvusAPI {
    struct State {
        var calls: [String] = []
        var collections: [String: MilvusCollectionSchema] = [:]
        var createdSchemas: [MilvusCollectionSchema] = []
        var inserted: [(collection: String, fields: [MilvusFieldData], upsert: Bool)] = []
        var deleteExpressions: [String] = []
        var queries: [(expression: String, outputFields: [String], params: [MilvusKeyValue], consistency: Int32?,
                       guarantee: UInt64?)] = []
        var searchParams: [MilvusKeyValue] = []
        /// When set, answers searches instead of `searchReply` (it sees every search's vectors).
        var searchHandler: (@Sendable (_ vectors: [Float], _ dim: Int, _ filter: String) async throws(VectorDBError)
            -> MilvusResponse.Search)?
        /// The number of query vectors of each search, in the order they arrived.
        var searchSizes: [Int] = []
        /// The queries of each search, as sent.
        var searchQueries: [SearchQueries] = []
        /// When set, answers hybrid searches instead of `searchReply`.
        var hybridSearchHandler: (@Sendable (_ searches: [MilvusRequest.SubSearch]) async throws(VectorDBError)
            -> MilvusResponse.Search)?
        /// Each hybrid search's sub-searches and rank params.
        var hybridSearches: [(searches: [MilvusRequest.SubSearch], rankParams: [MilvusKeyValue], outputFields: [String])] = []
        /// When set, answers inserts and upserts (after they are recorded) instead of echoing them.
        var insertHandler: (@Sendable (_ fields: [MilvusFieldData], _ upsert: Bool) async throws(VectorDBError)
            -> MilvusResponse.Mutation)?
        var createdPartitionCounts: [Int?] = []
        /// The database each call acted in (nil: the default one), in the order of `calls`.
        var callDatabases: [String?] = []
        var databases: [String] = ["default"]
        /// When nil, a search finds nothing: Milvus's answer with no hits for each query vector.
        var searchReply: MilvusResponse.Search?
        var queryReply: [MilvusFieldData] = []
        var indexes: [MilvusResponse.IndexDescription] = []
        var loadStates: [Int32] = [3]
        var loadingProgress: Int64 = 100
        var deleteCount: Int64 = 2
        var partitions: [String] = ["_default"]
        var version = "v2.3.5"
        /// Errors to throw once from the named method, first in first out.
        var failures: [String: [VectorDBError]] = [:]
    }

    let state = Mutex(State())

    private func record(_ call: String) throws(VectorDBError) {
        let failure: VectorDBError? = state.withLock { state in
            state.calls.append(call)
            state.callDatabases.append(MilvusCallContext.database)
            guard var queue = state.failures[call], !queue.isEmpty else { return nil }
            let first = queue.removeFirst()
            state.failures[call] = queue
            return first
        }
        if let failure { throw failure }
    }

    var calls: [String] { state.withLock { $0.calls } }
    func calls(_ name: String) -> Int { calls.filter { $0 == name }.count }

    func version(deadline: Deadline) async throws(VectorDBError) -> String {
        try record("version")
        return state.withLock { $0.version }
    }

    func isHealthy(deadline: Deadline) async throws(VectorDBError) -> Bool {
        try record("isHealthy")
        return true
    }

    func createCollection(_ name: String, schema: MilvusCollectionSchema, consistencyLevel: Int32, partitions: Int?,
                          deadline: Deadline) async throws(VectorDBError) {
        try record("createCollection")
        state.withLock {
            $0.createdPartitionCounts.append(partitions)
            $0.collections[name] = schema
            $0.createdSchemas.append(schema)
        }
    }

    func dropCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try record("dropCollection")
        _ = state.withLock { $0.collections.removeValue(forKey: name) }
    }

    func hasCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> Bool {
        try record("hasCollection")
        return state.withLock { $0.collections[name] != nil }
    }

    func describeCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.DescribeCollection {
        try record("describeCollection")
        guard let schema = state.withLock({ $0.collections[name] }) else {
            throw .notFound("collection not found[collection=\(name)]")
        }
        return MilvusResponse.DescribeCollection(status: .success, schema: schema, collectionID: 1, shards: 1, consistencyLevel: 1)
    }

    func listCollections(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try record("listCollections")
        return state.withLock { Array($0.collections.keys) }
    }

    func statistics(_ name: String, deadline: Deadline) async throws(VectorDBError) -> [MilvusKeyValue] {
        try record("statistics")
        return [MilvusKeyValue("row_count", "42")]
    }

    func insert(_ collection: String, partition: String, fields: [MilvusFieldData], upsert: Bool,
                deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Mutation {
        try record(upsert ? "upsert" : "insert")
        let handler = state.withLock { state in
            state.inserted.append((collection, fields, upsert))
            return state.insertHandler
        }
        if let handler { return try await handler(fields, upsert) }
        let rows = Int64(fields.first?.rowCount ?? 0)
        let ids = fields.first { $0.name == "id" }.map { field -> MilvusIDs in
            if case .int64s(let values) = field.values { return .int64s(values) }
            if case .strings(let values) = field.values { return .strings(values) }
            return .int64s([])
        } ?? .int64s((0..<rows).map { 1000 + $0 })
        return MilvusResponse.Mutation(status: .success, ids: ids, insertCount: upsert ? 0 : rows, deleteCount: 0,
                                       upsertCount: upsert ? rows : 0)
    }

    func delete(_ collection: String, partition: String, expression: String, deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try record("delete")
        return state.withLock {
            $0.deleteExpressions.append(expression)
            return $0.deleteCount
        }
    }

    func query(_ collection: String, expression: String, outputFields: [String], partitions: [String],
               params: [MilvusKeyValue], consistencyLevel: Int32?, guaranteeTimestamp: UInt64?,
               deadline: Deadline) async throws(VectorDBError) -> [MilvusFieldData] {
        try record("query")
        return state.withLock {
            $0.queries.append((expression, outputFields, params, consistencyLevel, guaranteeTimestamp))
            return $0.queryReply
        }
    }

    func search(_ collection: String, queries: SearchQueries, dim: Int, filter: String, outputFields: [String], partitions: [String],
                params: [MilvusKeyValue], consistencyLevel: Int32?, deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Search {
        try record("search")
        let count = queries.count(dimension: dim)
        let handler = state.withLock { state in
            state.searchParams = params
            state.searchSizes.append(count)
            state.searchQueries.append(queries)
            return state.searchHandler
        }
        if let handler, case .floatVectors(let vectors, _) = queries { return try await handler(vectors, dim, filter) }
        return emptyOrScripted(queries: count)
    }

    func hybridSearch(_ collection: String, searches: [MilvusRequest.SubSearch], rankParams: [MilvusKeyValue],
                      outputFields: [String], partitions: [String], consistencyLevel: Int32?,
                      deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Search {
        try record("hybridSearch")
        let handler = state.withLock { state in
            state.hybridSearches.append((searches, rankParams, outputFields))
            return state.hybridSearchHandler
        }
        if let handler { return try await handler(searches) }
        return emptyOrScripted(queries: searches.first.map { $0.queries.count(dimension: $0.dim) } ?? 0)
    }

    private func emptyOrScripted(queries: Int) -> MilvusResponse.Search {
        return state.withLock { $0.searchReply } ?? MilvusResponse.Search(
            status: .success, numQueries: Int64(queries), topK: 0, topks: Array(repeating: 0, count: queries), ids: .int64s([]),
            scores: [], fields: [])
    }

    func flush(_ collections: [String], deadline: Deadline) async throws(VectorDBError) { try record("flush") }

    func listDatabases(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try record("listDatabases")
        return state.withLock { $0.databases }
    }

    func createDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try record("createDatabase")
        state.withLock { $0.databases.append(name) }
    }

    func dropDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try record("dropDatabase")
        state.withLock { $0.databases.removeAll { $0 == name } }
    }

    func createIndex(_ collection: String, field: String, indexName: String, params: [MilvusKeyValue],
                     deadline: Deadline) async throws(VectorDBError) {
        try record("createIndex")
        state.withLock { $0.indexes.append(.init(indexName: indexName, fieldName: field, params: params)) }
    }

    func describeIndexes(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [MilvusResponse.IndexDescription] {
        try record("describeIndexes")
        let indexes = state.withLock { $0.indexes }
        if indexes.isEmpty { throw .notFound("index not found[collection=\(collection)]") }
        return indexes
    }

    func dropIndex(_ collection: String, indexName: String, deadline: Deadline) async throws(VectorDBError) {
        try record("dropIndex")
        state.withLock { $0.indexes.removeAll { $0.indexName == indexName } }
    }

    func load(_ collection: String, deadline: Deadline) async throws(VectorDBError) { try record("load") }

    func release(_ collection: String, deadline: Deadline) async throws(VectorDBError) { try record("release") }

    func loadState(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> Int32 {
        try record("loadState")
        return state.withLock { $0.loadStates.count > 1 ? $0.loadStates.removeFirst() : $0.loadStates[0] }
    }

    func loadingProgress(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try record("loadingProgress")
        return state.withLock { $0.loadingProgress }
    }

    func createPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try record("createPartition")
        state.withLock { $0.partitions.append(partition) }
    }

    func dropPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try record("dropPartition")
        state.withLock { $0.partitions.removeAll { $0 == partition } }
    }

    func listPartitions(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [String] {
        try record("listPartitions")
        return state.withLock { $0.partitions }
    }
}
