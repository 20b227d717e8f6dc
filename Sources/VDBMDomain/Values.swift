/// The values of one column, by type. Vectors are packed: `dimension` floats per row, row after row.
public enum FieldValues: Sendable, Hashable {
    case bools([Bool])
    case int32s([Int32])
    case int64s([Int64])
    case floats([Float])
    case doubles([Double])
    case strings([String])
    /// JSON documents, one per row, as text.
    case json([String])
    case floatVectors(dimension: Int, values: [Float])
    /// Sparse vectors, one per row.
    case sparseVectors([SparseVector])

    public var count: Int {
        switch self {
        case .bools(let values): values.count
        case .int32s(let values): values.count
        case .int64s(let values): values.count
        case .floats(let values): values.count
        case .doubles(let values): values.count
        case .strings(let values): values.count
        case .json(let values): values.count
        case .floatVectors(let dimension, let values): dimension > 0 ? values.count / dimension : 0
        case .sparseVectors(let values): values.count
        }
    }

    /// Rows `rows` as a column of their own.
    public func rows(_ rows: Range<Int>) -> FieldValues {
        switch self {
        case .bools(let values): .bools(Array(values[rows]))
        case .int32s(let values): .int32s(Array(values[rows]))
        case .int64s(let values): .int64s(Array(values[rows]))
        case .floats(let values): .floats(Array(values[rows]))
        case .doubles(let values): .doubles(Array(values[rows]))
        case .strings(let values): .strings(Array(values[rows]))
        case .json(let values): .json(Array(values[rows]))
        case .floatVectors(let dimension, let values):
            .floatVectors(dimension: dimension, values: Array(values[(rows.lowerBound * dimension)..<(rows.upperBound * dimension)]))
        case .sparseVectors(let values): .sparseVectors(Array(values[rows]))
        }
    }

    /// The rows at `indices`, in that order, as a column of their own.
    public func rows(at indices: [Int]) -> FieldValues {
        switch self {
        case .bools(let values): .bools(indices.map { values[$0] })
        case .int32s(let values): .int32s(indices.map { values[$0] })
        case .int64s(let values): .int64s(indices.map { values[$0] })
        case .floats(let values): .floats(indices.map { values[$0] })
        case .doubles(let values): .doubles(indices.map { values[$0] })
        case .strings(let values): .strings(indices.map { values[$0] })
        case .json(let values): .json(indices.map { values[$0] })
        case .floatVectors(let dimension, let values):
            .floatVectors(dimension: dimension, values: indices.flatMap { values[($0 * dimension)..<(($0 + 1) * dimension)] })
        case .sparseVectors(let values): .sparseVectors(indices.map { values[$0] })
        }
    }

    /// The value of row `row`.
    public func value(at row: Int) -> FieldValue {
        switch self {
        case .bools(let values): .bool(values[row])
        case .int32s(let values): .int64(Int64(values[row]))
        case .int64s(let values): .int64(values[row])
        case .floats(let values): .double(Double(values[row]))
        case .doubles(let values): .double(values[row])
        case .strings(let values): .string(values[row])
        case .json(let values): .json(values[row])
        case .floatVectors(let dimension, let values): .vector(Array(values[(row * dimension)..<((row + 1) * dimension)]))
        case .sparseVectors(let values): .sparseVector(values[row])
        }
    }
}

/// One value of one row.
public enum FieldValue: Sendable, Hashable {
    case bool(Bool)
    case int64(Int64)
    case double(Double)
    case string(String)
    case json(String)
    case vector([Float])
    case sparseVector(SparseVector)
}

/// A sparse vector: its non-zero components, `values[i]` at dimension `indices[i]`.
public struct SparseVector: Sendable, Hashable {
    public var indices: [UInt32]
    public var values: [Float]

    public init(indices: [UInt32], values: [Float]) {
        self.indices = indices
        self.values = values
    }

    /// The same components by ascending index (Milvus's order), or a reason they are not a
    /// sparse vector: lists of different lengths, an index twice, the index 2^32 - 1 (Milvus's
    /// dimension is the largest index plus one), or a value that is not finite.
    public func sorted() -> Result<SparseVector, SparseVectorProblem> {
        guard indices.count == values.count else { return .failure(.lengths(indices.count, values.count)) }
        if let index = indices.first(where: { $0 == .max }) { return .failure(.indexTooLarge(index)) }
        if let value = values.first(where: { !$0.isFinite }) { return .failure(.notFinite(value)) }
        let order = indices.indices.sorted { indices[$0] < indices[$1] }
        let sortedIndices = order.map { indices[$0] }
        for (previous, next) in zip(sortedIndices, sortedIndices.dropFirst()) where previous == next {
            return .failure(.duplicate(next))
        }
        return .success(SparseVector(indices: sortedIndices, values: order.map { values[$0] }))
    }
}

/// Why components are not a sparse vector.
public enum SparseVectorProblem: Error, Sendable, Hashable, CustomStringConvertible {
    case lengths(Int, Int)
    case duplicate(UInt32)
    case indexTooLarge(UInt32)
    case notFinite(Float)

    public var description: String {
        switch self {
        case .lengths(let indices, let values): "\(indices) indices for \(values) values"
        case .duplicate(let index): "index \(index) appears twice"
        case .indexTooLarge(let index): "index \(index) is too large (at most 4294967294)"
        case .notFinite(let value): "value \(value) is not finite"
        }
    }
}

/// The queries of one search, all of one kind.
public enum SearchQueries: Sendable, Hashable {
    /// Float vectors packed row after row, `dimension` floats each (nil: not given by the caller,
    /// the field's).
    case floatVectors([Float], dimension: Int?)
    case sparseVectors([SparseVector])
    /// Texts for full-text search: a BM25 function's output field is searched with their terms.
    case texts([String])

    /// Queries given (float vectors need a dimension to be counted).
    public func count(dimension: Int) -> Int {
        switch self {
        case .floatVectors(let values, _): dimension > 0 ? values.count / dimension : 0
        case .sparseVectors(let rows): rows.count
        case .texts(let texts): texts.count
        }
    }

    /// How a message names the kind.
    public var kind: String {
        switch self {
        case .floatVectors: "float vectors"
        case .sparseVectors: "sparse vectors"
        case .texts: "texts"
        }
    }
}

/// Rows to insert or upsert, column by column: every column has the same number of rows.
public struct Entities: Sendable, Hashable {
    public var columns: [String: FieldValues]

    public init(_ columns: [String: FieldValues]) {
        self.columns = columns
    }

    public var rowCount: Int { columns.values.first?.count ?? 0 }
}

/// Primary keys: integers or strings.
public enum PrimaryKeys: Sendable, Hashable {
    case int64s([Int64])
    case strings([String])

    public var count: Int {
        switch self {
        case .int64s(let values): values.count
        case .strings(let values): values.count
        }
    }
}

extension PrimaryKeys {
    /// Keys `rows` on their own.
    public func rows(_ rows: Range<Int>) -> PrimaryKeys {
        switch self {
        case .int64s(let values): .int64s(Array(values[rows]))
        case .strings(let values): .strings(Array(values[rows]))
        }
    }

    /// The key of row `row`.
    public func key(at row: Int) -> PrimaryKey {
        switch self {
        case .int64s(let values): .int64(values[row])
        case .strings(let values): .string(values[row])
        }
    }
}

/// One primary key.
public enum PrimaryKey: Sendable, Hashable {
    case int64(Int64)
    case string(String)
}

/// What an insert, upsert or delete did.
public struct MutationResult: Sendable, Hashable {
    /// The keys of the inserted or upserted rows (those Milvus assigned, with auto ids).
    public var ids: PrimaryKeys
    /// Rows inserted, upserted or deleted.
    public var count: Int64

    public init(ids: PrimaryKeys, count: Int64) {
        self.ids = ids
        self.count = count
    }
}

/// Rows read back by `get` or `query`, column by column.
public struct QueryResult: Sendable, Hashable {
    public var columns: [String: FieldValues]

    public init(columns: [String: FieldValues]) {
        self.columns = columns
    }

    public var rowCount: Int { columns.values.first?.count ?? 0 }
}

/// A vector search.
public struct SearchRequest: Sendable, Hashable {
    public var collection: String
    /// One or more query vectors, packed row after row (`count * dimension` floats).
    public var vectors: [Float]
    public var limit: Int
    public var filter: String
    public var outputFields: [String]
    /// Search parameters: the index's (`ef` for HNSW, `nprobe` for IVF) and the search's own
    /// (`radius` and `range_filter` for a range search).
    public var params: [String: ParamValue]
    public var partitions: [String]
    public var consistency: ConsistencyLevel?
    public var offset: Int
    /// The dimension the caller packed the vectors with; when set, it must be the collection's.
    public var dimension: Int?
    /// A grouping search: hits grouped by a scalar field's value.
    public var grouping: SearchGrouping?
    /// The vector field to search; nil: the collection's only one of the queries' kind.
    public var vectorField: String?
    /// Sparse or text queries instead of `vectors` (which is then empty).
    public var sparseVectors: [SparseVector] = []
    public var texts: [String] = []

    public init(collection: String, vectors: [Float], dimension: Int? = nil, limit: Int = 10, filter: String = "", outputFields: [String] = [],
                params: [String: ParamValue] = [:], partitions: [String] = [], consistency: ConsistencyLevel? = nil,
                offset: Int = 0, grouping: SearchGrouping? = nil, vectorField: String? = nil) {
        self.grouping = grouping
        self.vectorField = vectorField
        self.collection = collection
        self.vectors = vectors
        self.limit = limit
        self.filter = filter
        self.outputFields = outputFields
        self.params = params
        self.partitions = partitions
        self.consistency = consistency
        self.offset = offset
        self.dimension = dimension
    }
}

extension SearchRequest {
    /// The queries, of whichever kind the caller sent.
    public var queries: SearchQueries {
        if !sparseVectors.isEmpty { return .sparseVectors(sparseVectors) }
        if !texts.isEmpty { return .texts(texts) }
        return .floatVectors(vectors, dimension: dimension)
    }
}

/// Several searches of one collection whose hits a ranker fuses into one list per query.
public struct HybridSearchRequest: Sendable, Hashable {
    public var collection: String
    public var searches: [SubSearch]
    public var ranker: Ranker
    public var limit: Int
    public var offset: Int
    public var outputFields: [String]
    public var partitions: [String]
    public var consistency: ConsistencyLevel?

    public init(collection: String, searches: [SubSearch], ranker: Ranker = .reciprocalRankFusion(k: 60), limit: Int = 10,
                offset: Int = 0, outputFields: [String] = [], partitions: [String] = [], consistency: ConsistencyLevel? = nil) {
        self.collection = collection
        self.searches = searches
        self.ranker = ranker
        self.limit = limit
        self.offset = offset
        self.outputFields = outputFields
        self.partitions = partitions
        self.consistency = consistency
    }
}

/// One search of a hybrid search.
public struct SubSearch: Sendable, Hashable {
    /// nil: the collection's only vector field of the queries' kind.
    public var vectorField: String?
    public var queries: SearchQueries
    /// Candidates per query handed to the ranker; nil: the hybrid search's limit plus offset.
    public var limit: Int?
    public var filter: String
    public var params: [String: ParamValue]

    public init(vectorField: String? = nil, queries: SearchQueries, limit: Int? = nil, filter: String = "",
                params: [String: ParamValue] = [:]) {
        self.vectorField = vectorField
        self.queries = queries
        self.limit = limit
        self.filter = filter
        self.params = params
    }
}

/// How a hybrid search fuses the hits of its searches.
public enum Ranker: Sendable, Hashable {
    /// Each hit scores the sum over searches of 1 / (k + its rank there).
    case reciprocalRankFusion(k: Int)
    /// Each hit scores the weighted sum of its scores, normalized by Milvus unless `rawScores`.
    case weighted([Float], rawScores: Bool)
}

/// How a grouping search groups its hits (Milvus 2.4+): by `field`'s value, `size` hits a group.
public struct SearchGrouping: Sendable, Hashable {
    public var field: String
    public var size: Int
    /// Only groups with `size` hits.
    public var strictSize: Bool

    public init(field: String, size: Int = 1, strictSize: Bool = false) {
        self.field = field
        self.size = size
        self.strictSize = strictSize
    }
}

/// The hits of one query vector, best first, column by column (as Milvus returns them and as
/// the API sends them on): keys, distances, and each output field with its own type.
public struct SearchResults: Sendable, Hashable {
    public var ids: PrimaryKeys
    /// The metric's distance or similarity per hit, as Milvus reports it.
    public var distances: [Float]
    public var fields: [String: FieldValues]
    /// A grouping search's group value per hit.
    public var groupValues: FieldValues?

    public init(ids: PrimaryKeys, distances: [Float], fields: [String: FieldValues] = [:], groupValues: FieldValues? = nil) {
        self.ids = ids
        self.distances = distances
        self.fields = fields
        self.groupValues = groupValues
    }

    public var count: Int { distances.count }

    /// The first `count` hits (all of them when there are fewer).
    public func prefix(_ count: Int) -> SearchResults {
        guard count < self.count else { return self }
        let rows = Array(0..<max(count, 0))
        return SearchResults(ids: ids.rows(0..<rows.count), distances: Array(distances.prefix(rows.count)),
                             fields: fields.mapValues { $0.rows(at: rows) }, groupValues: groupValues?.rows(at: rows))
    }

    /// The same hits one by one (for callers that want rows).
    public var hits: [SearchHit] {
        (0..<count).map { row in
            SearchHit(id: ids.key(at: row), distance: distances[row], fields: fields.mapValues { $0.value(at: row) })
        }
    }
}

/// One result of a search, as a row.
public struct SearchHit: Sendable, Hashable {
    public var id: PrimaryKey
    /// The metric's distance or similarity, as Milvus reports it.
    public var distance: Float
    public var fields: [String: FieldValue]

    public init(id: PrimaryKey, distance: Float, fields: [String: FieldValue] = [:]) {
        self.id = id
        self.distance = distance
        self.fields = fields
    }
}
