/// What `vdbm bench` sends, where, and for how long.
public struct BenchPlan: Sendable {
    /// Which API the searches go to.
    public enum Target: String, Sendable, Hashable {
        /// `vdbm.v1.VectorDB/Search` on a vdbm.
        case vdbm
        /// `milvus.proto.milvus.MilvusService/Search` on Milvus itself (for comparison).
        case milvus
    }

    /// When the run ends.
    public enum Stop: Sendable, Hashable {
        case after(Duration)
        case total(Int)
    }

    public var host: String
    public var port: Int
    public var target: Target
    public var collection: String
    /// The vector field (Milvus's `anns_field`; vdbm finds it from the schema).
    public var vectorField: String
    public var limit: Int
    /// Query vectors in each call (Milvus's `nq`), or rows in each insert.
    public var vectorsPerCall: Int
    /// Insert the vectors (as rows of an auto-id collection whose only other field is the key)
    /// instead of searching with them.
    public var insert: Bool
    /// Index search parameters, e.g. `ef=64`.
    public var params: [(key: String, value: Int64)]
    public var filter: String
    public var connections: Int
    /// Calls in flight on each connection.
    public var streams: Int
    public var stop: Stop
    /// Calls made before measuring starts (connections, caches and Milvus warm up).
    public var warmup: Duration
    /// Each call's deadline.
    public var timeout: Duration
    /// `authorization` metadata: `Bearer <key>` for vdbm, base64 `user:password` for Milvus.
    public var authorization: String?

    public init(host: String = "127.0.0.1", port: Int = 50051, target: Target = .vdbm, collection: String,
                vectorField: String = "vector", limit: Int = 10, vectorsPerCall: Int = 1, insert: Bool = false, params: [(key: String, value: Int64)] = [], filter: String = "",
                connections: Int = 1, streams: Int = 1, stop: Stop = .after(.seconds(10)), warmup: Duration = .seconds(1),
                timeout: Duration = .seconds(10), authorization: String? = nil) {
        self.host = host
        self.port = port
        self.target = target
        self.collection = collection
        self.vectorField = vectorField
        self.limit = limit
        self.vectorsPerCall = max(1, vectorsPerCall)
        self.insert = insert
        self.params = params
        self.filter = filter
        self.connections = max(1, connections)
        self.streams = max(1, streams)
        self.stop = stop
        self.warmup = warmup
        self.timeout = timeout
        self.authorization = authorization
    }

    /// Calls in flight at once.
    public var concurrency: Int { connections * streams }
}
