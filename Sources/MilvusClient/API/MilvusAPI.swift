import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// The Milvus operations the `VectorDBManager` needs, in Milvus's own terms. `MilvusClient`
/// implements it over the pool with retries; tests inject mocks. Every method throws a
/// `VectorDBError` (a Milvus error status already turned into one).
public protocol MilvusAPI: Sendable {
    func version(deadline: Deadline) async throws(VectorDBError) -> String
    func isHealthy(deadline: Deadline) async throws(VectorDBError) -> Bool

    /// `partitions`: how many partitions a partition key spreads rows over (nil: Milvus's default).
    func createCollection(_ name: String, schema: MilvusCollectionSchema, consistencyLevel: Int32, partitions: Int?,
                          deadline: Deadline) async throws(VectorDBError)
    func dropCollection(_ name: String, deadline: Deadline) async throws(VectorDBError)
    func hasCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> Bool
    func describeCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.DescribeCollection
    func listCollections(deadline: Deadline) async throws(VectorDBError) -> [String]
    func statistics(_ name: String, deadline: Deadline) async throws(VectorDBError) -> [MilvusKeyValue]
    func listDatabases(deadline: Deadline) async throws(VectorDBError) -> [String]
    func createDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError)
    func dropDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError)

    func insert(_ collection: String, partition: String, fields: [MilvusFieldData], upsert: Bool,
                deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Mutation
    func delete(_ collection: String, partition: String, expression: String,
                deadline: Deadline) async throws(VectorDBError) -> Int64
    /// `guaranteeTimestamp`, when given, replaces `consistencyLevel` (see `MilvusRequest.query`).
    func query(_ collection: String, expression: String, outputFields: [String], partitions: [String],
               params: [MilvusKeyValue], consistencyLevel: Int32?, guaranteeTimestamp: UInt64?,
               deadline: Deadline) async throws(VectorDBError) -> [MilvusFieldData]
    /// `dim`: the float vectors' dimension (unused for sparse vectors and texts).
    func search(_ collection: String, queries: SearchQueries, dim: Int, filter: String, outputFields: [String],
                partitions: [String], params: [MilvusKeyValue], consistencyLevel: Int32?,
                deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Search
    func hybridSearch(_ collection: String, searches: [MilvusRequest.SubSearch], rankParams: [MilvusKeyValue],
                      outputFields: [String], partitions: [String], consistencyLevel: Int32?,
                      deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Search
    func flush(_ collections: [String], deadline: Deadline) async throws(VectorDBError)

    func createIndex(_ collection: String, field: String, indexName: String, params: [MilvusKeyValue],
                     deadline: Deadline) async throws(VectorDBError)
    func describeIndexes(_ collection: String, deadline: Deadline) async throws(VectorDBError)
        -> [MilvusResponse.IndexDescription]
    func dropIndex(_ collection: String, indexName: String, deadline: Deadline) async throws(VectorDBError)

    func load(_ collection: String, deadline: Deadline) async throws(VectorDBError)
    func release(_ collection: String, deadline: Deadline) async throws(VectorDBError)
    func loadState(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> Int32
    /// Percent of the collection loaded (GetLoadingProgress).
    func loadingProgress(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> Int64

    func createPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError)
    func dropPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError)
    func listPartitions(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [String]
}
