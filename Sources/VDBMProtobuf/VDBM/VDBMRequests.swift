import CVDBMProtos
import VDBMDomain

/// The `vdbm.v1` request messages as Swift values, exactly as the client sent them (enums as
/// their wire numbers, unset fields as zero values). Checking them is the service's job.
public enum VDBMv1 {
    public struct Param: Sendable, Hashable {
        public var key: String
        /// The integer, number or text sent; no value set reads as the integer 0.
        public var value: ParamValue
    }

    public struct Vectors: Sendable, Hashable {
        public var dimension: Int
        public var values: [Float]
    }

    /// `PrimaryKeys`: both lists as sent (a valid request fills at most one).
    public struct Keys: Sendable, Hashable {
        public var ints: [Int64]
        public var strings: [String]
    }

    public struct Column: Sendable, Hashable {
        public var name: String
        /// `nil` when the client set no values.
        public var values: FieldValues?
    }

    public struct ScalarField: Sendable, Hashable {
        public var name: String
        public var type: Int32
        public var maxLength: Int
        public var nullable: Bool
        public var enableAnalyzer = false
        public var analyzerParams = ""
        public var enableMatch = false
        public var partitionKey = false
        public var defaultValue: ScalarValue?
    }

    public struct VectorField: Sendable, Hashable {
        public var name: String
        /// 0 float, 1 sparse float.
        public var type: Int32
        public var dimension: Int
        public var metric: Int32
        public var index: IndexSpec?
    }

    public struct Function: Sendable, Hashable {
        public var name: String
        public var type: Int32
        public var inputFields: [String]
        public var outputFields: [String]
    }

    /// The queries of a search or sub-search, every kind as sent (a valid one fills one kind).
    public struct Queries: Sendable, Hashable {
        public var vectors: Vectors
        /// Components as sent (unsorted, unchecked).
        public var sparseVectors: [SparseVector] = []
        public var texts: [String] = []

        public init(vectors: Vectors, sparseVectors: [SparseVector] = [], texts: [String] = []) {
            self.vectors = vectors
            self.sparseVectors = sparseVectors
            self.texts = texts
        }
    }

    public struct SubSearch: Sendable, Hashable {
        public var vectorField: String
        public var queries: Queries
        public var limit: Int
        public var filter: String
        public var params: [Param]
    }

    public enum Ranker: Sendable, Hashable {
        case unset
        case reciprocalRankFusion(k: Int)
        case weighted([Float], rawScores: Bool)
    }

    public struct HybridSearch: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var searches: [SubSearch]
        public var ranker: Ranker
        public var limit: Int
        public var outputFields: [String]
        public var partitions: [String]
        public var consistency: Int32
        public var offset: Int
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct IndexSpec: Sendable, Hashable {
        public var type: String
        public var params: [Param]
    }

    public struct CreateCollection: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var dimension: Int
        public var metric: Int32
        public var stringPrimaryKey: Bool
        public var autoID: Bool
        public var maxKeyLength: Int
        public var primaryKeyField: String
        public var vectorField: String
        public var scalarFields: [ScalarField]
        public var description: String
        public var enableDynamicFields: Bool
        public var consistency: Int32
        public var index: IndexSpec?
        public var load: Bool
        public var vectorFields: [VectorField] = []
        public var functions: [Function] = []
        public var partitionCount = 0
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Write: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var partition: String
        public var columns: [Column]
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Delete: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var partition: String
        public var ids: Keys
        public var filter: String
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Get: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var ids: Keys
        public var outputFields: [String]
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Query: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var filter: String
        public var outputFields: [String]
        public var limit: Int
        public var offset: Int
        public var partitions: [String]
        public var consistency: Int32
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Export: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var filter: String
        public var outputFields: [String]
        public var pageSize: Int
        public var partitions: [String]
        public var consistency: Int32
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Count: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var filter: String
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Search: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var vectors: Vectors
        public var limit: Int
        public var filter: String
        public var outputFields: [String]
        public var params: [Param]
        public var partitions: [String]
        public var consistency: Int32
        public var offset: Int
        public var groupByField: String = ""
        public var groupSize: Int = 0
        public var strictGroupSize: Bool = false
        public var vectorField: String = ""
        public var sparseVectors: [SparseVector] = []
        public var texts: [String] = []
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    /// A search walked page by page: `search` holds its one query (and its database).
    public struct SearchIterator: Sendable, Hashable {
        public var search: Search
        /// Hits per message; 0 means the default.
        public var pageSize: Int
        /// Hits in all; 0: every hit.
        public var limit: UInt64
    }

    public struct CreateIndex: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var field: String
        public var indexName: String
        public var index: IndexSpec?
        public var metric: Int32
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct DropIndex: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var indexName: String
        /// The Milvus database; empty: "default".
        public var database = ""
    }

    public struct Partition: Sendable, Hashable, DatabaseScoped {
        public var collection: String
        public var partition: String
        /// The Milvus database; empty: "default".
        public var database = ""
    }
}

/// A request that names its Milvus database.
protocol DatabaseScoped {
    var database: String { get set }
}
