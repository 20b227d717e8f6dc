/// How vectors are compared.
public enum MetricType: String, Sendable, Hashable, CaseIterable {
    case l2 = "L2"
    case innerProduct = "IP"
    case cosine = "COSINE"
    /// Full-text relevance (a BM25 function's sparse output field).
    case bm25 = "BM25"
}

/// How fresh reads must be (Milvus consistency levels; the numbers are Milvus's).
public enum ConsistencyLevel: Int32, Sendable, Hashable, CaseIterable {
    case strong = 0
    case session = 1
    case bounded = 2
    case eventually = 3
}

/// The type of a scalar field a collection can hold besides its key and vector.
public enum ScalarType: Sendable, Hashable {
    case bool
    case int32
    case int64
    case float
    case double
    case string(maxLength: Int)
    case json
}

/// A scalar field of a new collection.
public struct ScalarFieldSpec: Sendable, Hashable {
    public var name: String
    public var type: ScalarType
    public var nullable: Bool
    /// Strings: Milvus splits the text into terms (BM25 input, TEXT_MATCH filters); the
    /// analyzer's settings as a JSON object, nil for Milvus's standard analyzer.
    public var enableAnalyzer: Bool = false
    public var analyzerParams: String?
    public var enableMatch: Bool = false
    public var isPartitionKey: Bool = false
    public var defaultValue: ScalarValue?

    public init(name: String, type: ScalarType, nullable: Bool = false, enableAnalyzer: Bool = false,
                analyzerParams: String? = nil, enableMatch: Bool = false, isPartitionKey: Bool = false,
                defaultValue: ScalarValue? = nil) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.enableAnalyzer = enableAnalyzer
        self.analyzerParams = analyzerParams
        self.enableMatch = enableMatch
        self.isPartitionKey = isPartitionKey
        self.defaultValue = defaultValue
    }
}

/// One scalar value (a field's default).
public enum ScalarValue: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
}

/// A vector field of a new collection besides the quick-setup one.
public struct VectorFieldSpec: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case float(dimension: Int)
        case sparse
    }

    public var name: String
    public var kind: Kind
    /// nil: L2 for float vectors, IP for sparse ones (BM25 when a BM25 function fills the field).
    public var metric: MetricType?
    public var index: IndexSpec?

    public init(name: String, kind: Kind, metric: MetricType? = nil, index: IndexSpec? = nil) {
        self.name = name
        self.kind = kind
        self.metric = metric
        self.index = index
    }
}

/// A function Milvus runs on inserted rows.
public struct FunctionSpec: Sendable, Hashable {
    public enum Kind: Int32, Sendable, Hashable {
        /// Full-text search: an analyzed string field in, a sparse vector field out.
        case bm25 = 1
    }

    public var name: String
    public var type: Kind
    public var inputFields: [String]
    public var outputFields: [String]

    public init(name: String, type: Kind, inputFields: [String], outputFields: [String]) {
        self.name = name
        self.type = type
        self.inputFields = inputFields
        self.outputFields = outputFields
    }
}

/// The primary key of a new collection.
public enum PrimaryKeySpec: Sendable, Hashable {
    /// 64-bit integer keys; with `autoID`, Milvus assigns them.
    case int64(autoID: Bool)
    /// String keys of at most `maxLength` bytes, always given by the client.
    case string(maxLength: Int)
}

/// A vector index: its type (`HNSW`, `IVF_FLAT`, `FLAT`, `AUTOINDEX`, ...) and build parameters.
public struct IndexSpec: Sendable, Hashable {
    public var type: String
    public var params: [String: ParamValue]

    public init(type: String, params: [String: ParamValue] = [:]) {
        self.type = type
        self.params = params
    }

    /// HNSW with the usual parameters.
    public static func hnsw(m: Int = 16, efConstruction: Int = 200) -> IndexSpec {
        IndexSpec(type: "HNSW", params: ["M": .int(m), "efConstruction": .int(efConstruction)])
    }
}

/// The quick-setup description of a collection: a primary key, one float-vector field (none when
/// `dimension` is 0 and `vectorFields` has others), optional scalar and vector fields and
/// functions, and optionally indexes and loading right away.
public struct CollectionSpec: Sendable, Hashable {
    public var name: String
    public var dimension: Int
    public var metric: MetricType
    public var primaryKey: PrimaryKeySpec
    public var primaryKeyField: String
    public var vectorField: String
    public var scalarFields: [ScalarFieldSpec]
    public var description: String
    public var enableDynamicFields: Bool
    public var consistency: ConsistencyLevel
    /// Build this index on the vector field after creating the collection.
    public var index: IndexSpec?
    /// Load the collection after indexing, so it can be searched at once (needs `index`).
    public var load: Bool
    public var vectorFields: [VectorFieldSpec] = []
    public var functions: [FunctionSpec] = []
    /// Partitions a partition key spreads rows over; nil: Milvus's default.
    public var partitionCount: Int?

    /// Whether the quick-setup vector field is part of the collection.
    public var hasQuickVectorField: Bool { dimension != 0 || vectorFields.isEmpty }

    public init(name: String, dimension: Int, metric: MetricType = .l2, primaryKey: PrimaryKeySpec = .int64(autoID: false),
                primaryKeyField: String = "id", vectorField: String = "vector", scalarFields: [ScalarFieldSpec] = [],
                description: String = "", enableDynamicFields: Bool = false, consistency: ConsistencyLevel = .session,
                index: IndexSpec? = nil, load: Bool = false) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.primaryKey = primaryKey
        self.primaryKeyField = primaryKeyField
        self.vectorField = vectorField
        self.scalarFields = scalarFields
        self.description = description
        self.enableDynamicFields = enableDynamicFields
        self.consistency = consistency
        self.index = index
        self.load = load
    }
}
