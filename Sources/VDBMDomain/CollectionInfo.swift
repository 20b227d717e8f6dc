/// A field's type as Milvus reports it.
public enum FieldType: Sendable, Hashable {
    case bool, int8, int16, int32, int64, float, double, varchar, json, floatVector, sparseFloatVector
    case other(Int32)

    package init(milvus number: Int32) {
        switch number {
        case 1: self = .bool
        case 2: self = .int8
        case 3: self = .int16
        case 4: self = .int32
        case 5: self = .int64
        case 10: self = .float
        case 11: self = .double
        case 21: self = .varchar
        case 23: self = .json
        case 101: self = .floatVector
        case 104: self = .sparseFloatVector
        default: self = .other(number)
        }
    }

    package var milvusNumber: Int32 {
        switch self {
        case .bool: 1
        case .int8: 2
        case .int16: 3
        case .int32: 4
        case .int64: 5
        case .float: 10
        case .double: 11
        case .varchar: 21
        case .json: 23
        case .floatVector: 101
        case .sparseFloatVector: 104
        case .other(let number): number
        }
    }
}

/// One field of a collection.
public struct FieldInfo: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    public var isPrimaryKey: Bool
    public var autoID: Bool
    public var dimension: Int?
    public var maxLength: Int?
    public var nullable: Bool
    /// A row may leave it out and Milvus stores the default.
    public var hasDefaultValue: Bool = false
    /// A function computes it (a BM25 function's sparse output): rows leave it out.
    public var isFunctionOutput: Bool = false
    public var isPartitionKey: Bool = false
    /// Milvus splits its text into terms (VARCHAR; BM25 input, TEXT_MATCH filters).
    public var enableAnalyzer: Bool = false
    public var enableMatch: Bool = false

    public init(name: String, type: FieldType, isPrimaryKey: Bool = false, autoID: Bool = false, dimension: Int? = nil,
                maxLength: Int? = nil, nullable: Bool = false, hasDefaultValue: Bool = false, isFunctionOutput: Bool = false) {
        self.hasDefaultValue = hasDefaultValue
        self.isFunctionOutput = isFunctionOutput
        self.name = name
        self.type = type
        self.isPrimaryKey = isPrimaryKey
        self.autoID = autoID
        self.dimension = dimension
        self.maxLength = maxLength
        self.nullable = nullable
    }
}

/// Whether a collection is in memory for search and query.
public enum LoadState: Sendable, Hashable {
    case notExist, notLoaded, loading, loaded

    package init(milvus number: Int32) {
        switch number {
        case 1: self = .notLoaded
        case 2: self = .loading
        case 3: self = .loaded
        default: self = .notExist
        }
    }
}

/// An index as Milvus describes it.
public struct IndexInfo: Sendable, Hashable {
    public var name: String
    public var field: String
    public var params: [String: String]
    public var indexedRows: Int64
    public var totalRows: Int64
    /// 3 = finished; see Milvus's IndexState.
    public var state: Int32

    public init(name: String, field: String, params: [String: String], indexedRows: Int64, totalRows: Int64, state: Int32) {
        self.name = name
        self.field = field
        self.params = params
        self.indexedRows = indexedRows
        self.totalRows = totalRows
        self.state = state
    }
}

/// A collection's schema with what vdbm derives from it: the key and vector fields.
public struct CollectionSchemaInfo: Sendable, Hashable {
    public var name: String
    public var description: String
    public var fields: [FieldInfo]
    public var consistency: ConsistencyLevel
    /// Rows may carry fields that are not in the schema (Milvus keeps them in its `$meta` JSON).
    public var dynamicFields: Bool
    /// The functions that fill fields (BM25).
    public var functions: [FunctionSpec] = []

    public init(name: String, description: String = "", fields: [FieldInfo], consistency: ConsistencyLevel = .session,
                dynamicFields: Bool = false) {
        self.name = name
        self.description = description
        self.fields = fields
        self.consistency = consistency
        self.dynamicFields = dynamicFields
    }

    public var primaryKey: FieldInfo? { fields.first { $0.isPrimaryKey } }
    public var vectorFields: [FieldInfo] { fields.filter { $0.type == .floatVector } }
    public var sparseVectorFields: [FieldInfo] { fields.filter { $0.type == .sparseFloatVector } }
    public func field(_ name: String) -> FieldInfo? { fields.first { $0.name == name } }
    /// The sparse fields a BM25 function fills: the ones a search by texts reads. (Milvus Lite 2.5
    /// describes no functions, only the flag on their output fields.)
    public var textSearchFields: [FieldInfo] {
        let outputs = Set(functions.filter { $0.type == .bm25 }.flatMap(\.outputFields))
        return fields.filter { $0.type == .sparseFloatVector && (outputs.contains($0.name) || $0.isFunctionOutput) }
    }
}

/// Everything `describeCollection` reports.
public struct CollectionInfo: Sendable, Hashable {
    public var schema: CollectionSchemaInfo
    public var rowCount: Int64
    public var loadState: LoadState
    public var indexes: [IndexInfo]

    public init(schema: CollectionSchemaInfo, rowCount: Int64, loadState: LoadState, indexes: [IndexInfo]) {
        self.schema = schema
        self.rowCount = rowCount
        self.loadState = loadState
        self.indexes = indexes
    }
}
