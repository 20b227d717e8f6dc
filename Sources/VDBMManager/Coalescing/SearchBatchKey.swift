import VDBMDomain

/// Everything about a search except its query vectors (the database included): searches with equal keys may leave as one
/// Milvus search and each get exactly the answer they would get alone. Anything that differs (a
/// filter, a limit, an output field, a partition, the schema the request was checked against)
/// makes another key.
///
/// The coalescer looks a key up several times per search, and the schema makes it large: it is
/// hashed once, here, and compared field by field only when the hashes match and the two keys
/// are not the same stored value.
struct SearchBatchKey: Hashable, Sendable {
    private let parts: Parts
    private let hash: Int

    /// The fields that make the key.
    private final class Parts: Sendable {
        let database: String?
        let collection: String
        let partitions: [String]
        let vectorField: String
        let dimension: Int
        let filter: String
        let params: [String: ParamValue]
        let limit: Int
        let offset: Int
        let outputFields: [String]
        let consistency: ConsistencyLevel?
        let grouping: SearchGrouping?
        let schema: CollectionSchemaInfo

        init(_ request: SearchRequest, database: String?, vectorField: String, dimension: Int, schema: CollectionSchemaInfo) {
            self.database = database
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
            grouping = request.grouping
            self.schema = schema
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(database)
            hasher.combine(collection)
            hasher.combine(partitions)
            hasher.combine(vectorField)
            hasher.combine(dimension)
            hasher.combine(filter)
            hasher.combine(params)
            hasher.combine(limit)
            hasher.combine(offset)
            hasher.combine(outputFields)
            hasher.combine(consistency)
            hasher.combine(grouping)
            hasher.combine(schema)
        }

        func sameFields(as other: Parts) -> Bool {
            database == other.database && collection == other.collection && partitions == other.partitions && vectorField == other.vectorField
                && dimension == other.dimension && filter == other.filter && params == other.params
                && limit == other.limit && offset == other.offset && outputFields == other.outputFields
                && consistency == other.consistency && grouping == other.grouping && schema == other.schema
        }
    }

    /// `database`: the Milvus database the search acts in (nil: the default one).
    init(_ request: SearchRequest, database: String? = nil, vectorField: String, dimension: Int, schema: CollectionSchemaInfo) {
        parts = Parts(request, database: database, vectorField: vectorField, dimension: dimension, schema: schema)
        var hasher = Hasher()
        parts.hash(into: &hasher)
        hash = hasher.finalize()
    }

    static func == (lhs: SearchBatchKey, rhs: SearchBatchKey) -> Bool {
        lhs.parts === rhs.parts || (lhs.hash == rhs.hash && lhs.parts.sameFields(as: rhs.parts))
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }
}
