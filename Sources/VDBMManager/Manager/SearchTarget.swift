import MilvusClient
import VDBMProtobuf
import VDBMDomain

/// The vector field a search's queries go to, chosen by their kind: float vectors to a float
/// vector field (of their dimension), sparse vectors to a sparse field that no function fills,
/// texts to a BM25 function's output field. A field named by the caller must be of that kind; an
/// unnamed one must be the collection's only one.
struct SearchTarget: Sendable {
    let field: FieldInfo
    /// The queries as Milvus takes them (sparse vectors sorted by index).
    let queries: SearchQueries
    let count: Int
    /// The float vectors' dimension; 0 for other kinds.
    let dimension: Int
    /// What the connected Milvus must have for this kind of query.
    let feature: MilvusFeature?

    init(_ queries: SearchQueries, field name: String?, in schema: CollectionSchemaInfo) throws(VectorDBError) {
        switch queries {
        case .floatVectors(let values, let given):
            let field = try Self.choose(name, among: schema.vectorFields, kind: "float vector", in: schema)
            // Milvus's description, from the wire: a dimension below 1 would divide by zero below.
            guard let dimension = field.dimension, dimension > 0 else {
                throw .internal(MalformedMilvusAnswer("describe collection", "vector field '\(field.name)' has dimension "
                                                      + (field.dimension.map { "\($0)" } ?? "none")).description)
            }
            if let given, given != dimension {
                throw .invalidArgument("field '\(field.name)' of collection '\(schema.name)' has dimension \(dimension); "
                                       + "the query vectors have \(given)")
            }
            guard !values.isEmpty, values.count % dimension == 0 else {
                throw .invalidArgument("query vectors must be a multiple of the dimension \(dimension); got \(values.count) floats")
            }
            (self.field, self.queries, self.dimension, feature) = (field, queries, dimension, nil)
        case .sparseVectors(let rows):
            let searchable = schema.sparseVectorFields.filter { !$0.isFunctionOutput }
            field = try Self.choose(name, among: searchable, kind: "sparse vector", in: schema,
                                    note: " (a BM25 function's output is searched with texts)")
            self.queries = .sparseVectors(try SchemaMapping.sortedSparse(rows, column: "sparse_vectors"))
            (dimension, feature) = (0, .sparseVectors)
        case .texts(let texts):
            if let empty = texts.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) {
                throw .invalidArgument("texts[\(empty)] has no words to search for")
            }
            field = try Self.choose(name, among: schema.textSearchFields, kind: "BM25 output", in: schema,
                                    note: " (texts search a sparse field that a BM25 function fills)")
            (self.queries, dimension, feature) = (queries, 0, .fullTextSearch)
        }
        count = self.queries.count(dimension: dimension)
        guard count > 0 else { throw .invalidArgument("no queries to search with") }
    }

    private static func choose(_ name: String?, among fields: [FieldInfo], kind: String, in schema: CollectionSchemaInfo,
                               note: String = "") throws(VectorDBError) -> FieldInfo {
        if let name {
            guard let field = fields.first(where: { $0.name == name }) else {
                throw .invalidArgument("collection '\(schema.name)' has no \(kind) field '\(name)'\(note)")
            }
            return field
        }
        guard let only = fields.first else { throw .invalidArgument("collection '\(schema.name)' has no \(kind) field\(note)") }
        guard fields.count == 1 else {
            throw .invalidArgument("collection '\(schema.name)' has \(fields.count) \(kind) fields ("
                                   + fields.map(\.name).joined(separator: ", ") + "): name one in vector_field")
        }
        return only
    }
}

extension FieldType {
    var isVector: Bool { self == .floatVector || self == .sparseFloatVector }
}
