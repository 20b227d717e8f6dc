import VDBMDomain

/// Everything about a search except its query vectors: searches with equal keys may leave as one
/// Milvus search and each get exactly the answer they would get alone. Anything that differs (a
/// filter, a limit, an output field, a partition, the schema the request was checked against)
/// makes another key.
struct SearchBatchKey: Hashable, Sendable {
    var collection: String
    var partitions: [String]
    var vectorField: String
    var dimension: Int
    var filter: String
    var params: [String: Int]
    var limit: Int
    var offset: Int
    var outputFields: [String]
    var consistency: ConsistencyLevel?
    var schema: CollectionSchemaInfo

    init(_ request: SearchRequest, vectorField: String, dimension: Int, schema: CollectionSchemaInfo) {
        collection = request.collection
        partitions = request.partitions
        self.vectorField = vectorField
        self.dimension = dimension
        filter = request.filter
        params = request.params
        limit = request.limit
        offset = request.offset
        outputFields = request.outputFields
        consistency = request.consistency
        self.schema = schema
    }
}
