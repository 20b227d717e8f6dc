import GRPCNGHTTP2
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// `vdbm.v1.VectorDB`: every method decodes the request (protobuf-c), validates it into domain
/// values, calls the backend (the `VectorDBManager`), and encodes the answer. Its table states
/// each method's policy; the call pipeline authorizes and admits the caller by it, and turns
/// errors into the statuses docs/api.md's table gives.
public struct VectorDBService: GRPCService {
    public static let name = "vdbm.v1.VectorDB"

    /// Answers `GetServerInfo`: filled in by the daemon, which knows the pool and the endpoints.
    public typealias ServerInfoSource = @Sendable (_ deadline: Deadline) async -> VDBMv1.ServerInfo

    private let backend: any VectorDBBackend
    private let settings: ServiceSettings
    private let serverInfo: ServerInfoSource

    /// A service whose request limits follow `settings` (which the daemon replaces on reload).
    /// API keys and admission are the call pipeline's (``CallPipeline``), by each method's policy.
    public init(backend: any VectorDBBackend, settings: ServiceSettings, serverInfo: @escaping ServerInfoSource) {
        self.backend = backend
        self.settings = settings
        self.serverInfo = serverInfo
    }

    public var serviceName: String { Self.name }

    public var methods: [MethodDescriptor: MethodHandler] {
        var handlers: [MethodDescriptor: MethodHandler] = [:]
        for entry in table() {
            let descriptor = MethodDescriptor(service: Self.name, method: entry.name, policy: entry.policy)
            switch entry.body {
            case .unary(let body):
                handlers[descriptor] = .async { bytes, context in try await body(bytes, context.deadline) }
            case .streaming(let body):
                handlers[descriptor] = .streaming { requests, responses, context in
                    try await body(requests, responses, context.deadline)
                }
            }
        }
        return handlers
    }

    typealias Body = @Sendable (_ request: [UInt8], _ deadline: Deadline) async throws -> [UInt8]
    typealias StreamingBody = @Sendable (_ requests: RequestMessages, _ responses: ResponseWriter,
                                         _ deadline: Deadline) async throws -> Void

    enum Handler {
        case unary(Body)
        case streaming(StreamingBody)
    }

    /// One row of the method table: a method, its policy (the role its caller needs; its
    /// admission class, by default the role's: read, write or admin), and what it does.
    struct Method {
        var name: String
        var policy: CallPolicy
        var body: Handler

        init(_ name: String, _ role: Role, class callClass: CallClass? = nil, _ body: @escaping Body) {
            (self.name, self.policy, self.body) = (name, CallPolicy(role: role, class: callClass), .unary(body))
        }

        init(_ name: String, _ role: Role, class callClass: CallClass? = nil, streaming body: @escaping StreamingBody) {
            (self.name, self.policy, self.body) = (name, CallPolicy(role: role, class: callClass), .streaming(body))
        }
    }

    /// `body` acting in `database` (empty: the default one), checked first.
    static func inDatabase<Value: Sendable>(_ database: String, backend: any VectorDBBackend, check: RequestValidation,
                                            deadline: Deadline, _ body: () async throws -> Value) async throws -> Value {
        if !database.isEmpty { try check.name(database, kind: "database") }
        return try await backend.inDatabase(database.isEmpty ? nil : database, deadline: deadline, body)
    }

    /// `Export`: page after page in primary-key order until a page comes back empty (Milvus may
    /// answer a page with fewer rows than asked before the end).
    static func export(_ bytes: [UInt8], backend: any VectorDBBackend, check: RequestValidation, deadline: Deadline,
                       write: ([UInt8]) async throws -> Void) async throws {
        let request = try VDBMv1.decodeExport(bytes)
        let (pageSize, consistency) = try check.export(request)
        var cursor: ExportCursor?
        while true {
            let page = try await inDatabase(request.database, backend: backend, check: check, deadline: deadline) {
                try await backend.exportPage(
                    request.collection, filter: request.filter, outputFields: request.outputFields, after: cursor,
                    pageSize: pageSize, partitions: request.partitions, consistency: consistency, deadline: deadline)
            }
            guard let next = page.next else { return }
            try await write(VDBMv1.encodeQuery(page.rows))
            cursor = next
        }
    }

    /// `SearchIterator`: a page per message (an empty one is not sent) until the manager has sent
    /// the last hit, or `limit` hits went. Every page is asked for whole and the last one cut, so
    /// each search has the reach of a full page (see `SearchIteration.ringLimit`).
    static func searchIterator(_ bytes: [UInt8], backend: any VectorDBBackend, check: RequestValidation, deadline: Deadline,
                               write: ([UInt8]) async throws -> Void) async throws {
        let request = try VDBMv1.decodeSearchIterator(bytes)
        let (search, limit) = try check.searchIterator(request)
        var cursor: SearchIteratorCursor?
        var sent = 0
        while sent < limit ?? .max {
            let (page, next) = try await inDatabase(request.search.database, backend: backend, check: check, deadline: deadline) {
                try await backend.searchIteratorPage(search, after: cursor, deadline: deadline)
            }
            let hits = page.prefix((limit ?? .max) - sent)
            if hits.count > 0 { try await write(VDBMv1.encodeSearch([hits])) }
            sent += hits.count
            guard let next else { return }
            cursor = next
        }
    }

    /// `ImportRows`: each message is validated and inserted before the next is read (the client
    /// waits meanwhile: HTTP/2 flow control). A failure names what landed before it.
    static func importRows<Requests: AsyncSequence<[UInt8], any Error>>(
        _ requests: Requests, backend: any VectorDBBackend, check: RequestValidation, deadline: Deadline
    ) async throws -> [UInt8] {
        var batchRows: [UInt64] = []
        for try await bytes in requests {
            do {
                let request = try VDBMv1.decodeWrite(bytes)
                let entities = try check.write(request)
                let result = try await inDatabase(request.database, backend: backend, check: check, deadline: deadline) {
                    try await backend.insert(request.collection, entities: entities, partition: request.partition, deadline: deadline)
                }
                batchRows.append(UInt64(clamping: result.count))  // the manager checked it against the rows sent
            } catch {
                let status = ErrorMapping.status(forAny: error)
                throw GRPCStatus(status.code, "batch \(batchRows.count + 1) failed after \(batchRows.reduce(0, +)) rows "
                                 + "in \(batchRows.count) batches were inserted: \(status.message)")
            }
        }
        return VDBMv1.encodeImportSummary(batchRows: batchRows)
    }

    /// The method table: every method once, with the role its caller needs (docs/api.md's API
    /// reference lists the same) and its body.
    func table() -> [Method] {
        let backend = self.backend, settings = self.settings, serverInfo = self.serverInfo
        /// The limits as they are when the call runs (a reload may have replaced them).
        var check: RequestValidation { settings.validation }
        /// The methods whose request is only a collection name (and its database).
        func onCollection(_ call: @escaping @Sendable (_ name: String, _ deadline: Deadline) async throws -> [UInt8]) -> Body {
            { bytes, deadline in
                let (name, database) = try VDBMv1.decodeCollection(bytes)
                try check.name(name, kind: "collection")
                return try await Self.inDatabase(database, backend: backend, check: check, deadline: deadline) {
                    try await call(name, deadline)
                }
            }
        }
        /// A method's work in the request's database.
        @Sendable func scoped(_ database: String, _ deadline: Deadline, _ body: () async throws -> [UInt8]) async throws -> [UInt8] {
            try await Self.inDatabase(database, backend: backend, check: check, deadline: deadline, body)
        }
        return [
            Method("CreateCollection", .admin) { bytes, deadline in
                let request = try VDBMv1.decodeCreateCollection(bytes)
                let spec = try check.createCollection(request)
                return try await scoped(request.database, deadline) {
                    try await backend.createCollection(spec, deadline: deadline)
                    return VDBMv1.emptyResponse
                }
            },
            Method("DropCollection", .admin, onCollection { name, deadline in
                try await backend.dropCollection(name, deadline: deadline)
                return VDBMv1.emptyResponse
            }),
            Method("HasCollection", .read, onCollection { name, deadline in
                VDBMv1.encodeHasCollection(try await backend.hasCollection(name, deadline: deadline))
            }),
            Method("ListCollections", .read) { bytes, deadline in
                let database = try VDBMv1.decodeDatabase(bytes, messageType: "ListCollectionsRequest")
                return try await scoped(database, deadline) {
                    VDBMv1.encodeListCollections(try await backend.listCollections(deadline: deadline))
                }
            },
            Method("DescribeCollection", .read, onCollection { name, deadline in
                VDBMv1.encodeDescribeCollection(try await backend.describeCollection(name, deadline: deadline))
            }),
            Method("Insert", .write) { bytes, deadline in
                let request = try VDBMv1.decodeWrite(bytes)
                let entities = try check.write(request)
                return try await scoped(request.database, deadline) {
                    let result = try await backend.insert(request.collection, entities: entities,
                                                          partition: request.partition, deadline: deadline)
                    return VDBMv1.encodeMutation(ids: result.ids, count: result.count)
                }
            },
            Method("Upsert", .write) { bytes, deadline in
                let request = try VDBMv1.decodeWrite(bytes)
                let entities = try check.write(request)
                return try await scoped(request.database, deadline) {
                    let result = try await backend.upsert(request.collection, entities: entities,
                                                          partition: request.partition, deadline: deadline)
                    return VDBMv1.encodeMutation(ids: result.ids, count: result.count)
                }
            },
            Method("Delete", .write) { bytes, deadline in
                let request = try VDBMv1.decodeDelete(bytes)
                try check.name(request.collection, kind: "collection")
                if !request.partition.isEmpty { try check.name(request.partition, kind: "partition") }
                let hasIDs = !request.ids.ints.isEmpty || !request.ids.strings.isEmpty
                let hasFilter = !request.filter.allSatisfy(\.isWhitespace)
                let ids: PrimaryKeys?
                switch (hasIDs, hasFilter) {
                case (true, false): ids = try check.keys(request.ids, what: "ids")
                case (false, true):
                    try check.filter(request.filter)
                    ids = nil
                case (true, true): throw GRPCStatus(.invalidArgument, "give ids or filter, not both")
                case (false, false): throw GRPCStatus(.invalidArgument, "give ids or a filter: which rows to delete?")
                }
                return try await scoped(request.database, deadline) {
                    let count = if let ids {
                        try await backend.delete(request.collection, ids: ids, partition: request.partition, deadline: deadline)
                    } else {
                        try await backend.delete(request.collection, filter: request.filter, partition: request.partition,
                                                 deadline: deadline)
                    }
                    return VDBMv1.encodeMutation(ids: nil, count: count)
                }
            },
            Method("Get", .read) { bytes, deadline in
                let request = try VDBMv1.decodeGet(bytes)
                try check.name(request.collection, kind: "collection")
                let ids = try check.keys(request.ids, what: "ids")
                try check.outputFields(request.outputFields)
                return try await scoped(request.database, deadline) {
                    VDBMv1.encodeQuery(try await backend.get(request.collection, ids: ids,
                                                             outputFields: request.outputFields, deadline: deadline))
                }
            },
            Method("Query", .read) { bytes, deadline in
                let request = try VDBMv1.decodeQuery(bytes)
                let (limit, consistency) = try check.query(request)
                return try await scoped(request.database, deadline) {
                    VDBMv1.encodeQuery(try await backend.query(
                        request.collection, filter: request.filter, outputFields: request.outputFields, limit: limit,
                        offset: request.offset, partitions: request.partitions, consistency: consistency, deadline: deadline))
                }
            },
            Method("Export", .read, streaming: { requests, responses, deadline in
                var iterator = requests.makeAsyncIterator()
                guard let bytes = try await iterator.next() else {
                    throw GRPCStatus(.internal, "server-streaming call received no request message")
                }
                try await Self.export(bytes, backend: backend, check: check, deadline: deadline, write: responses.write)
            }),
            Method("SearchIterator", .read, streaming: { requests, responses, deadline in
                var iterator = requests.makeAsyncIterator()
                guard let bytes = try await iterator.next() else {
                    throw GRPCStatus(.internal, "server-streaming call received no request message")
                }
                try await Self.searchIterator(bytes, backend: backend, check: check, deadline: deadline, write: responses.write)
            }),
            Method("ImportRows", .write, streaming: { requests, responses, deadline in
                try await responses.write(try await Self.importRows(requests, backend: backend, check: check, deadline: deadline))
            }),
            Method("Count", .read) { bytes, deadline in
                let request = try VDBMv1.decodeCount(bytes)
                try check.name(request.collection, kind: "collection")
                try check.filter(request.filter)
                return try await scoped(request.database, deadline) {
                    VDBMv1.encodeCount(try await backend.count(request.collection, filter: request.filter, deadline: deadline))
                }
            },
            Method("Search", .read, class: .search) { bytes, deadline in
                let decoded = try VDBMv1.decodeSearch(bytes)
                let request = try check.search(decoded)
                return try await scoped(decoded.database, deadline) {
                    VDBMv1.encodeSearch(try await backend.search(request, deadline: deadline), groupBy: request.grouping?.field ?? "")
                }
            },
            Method("HybridSearch", .read, class: .search) { bytes, deadline in
                let decoded = try VDBMv1.decodeHybridSearch(bytes)
                let request = try check.hybridSearch(decoded)
                return try await scoped(decoded.database, deadline) {
                    VDBMv1.encodeSearch(try await backend.hybridSearch(request, deadline: deadline), groupBy: "")
                }
            },
            Method("CreateIndex", .admin) { bytes, deadline in
                let request = try VDBMv1.decodeCreateIndex(bytes)
                try check.name(request.collection, kind: "collection")
                guard let spec = request.index else { throw GRPCStatus(.invalidArgument, "index is missing") }
                let index = try check.index(spec)
                let metric = try check.metric(request.metric)
                return try await scoped(request.database, deadline) {
                var field = request.field
                if field.isEmpty {
                    let info = try await backend.describeCollection(request.collection, deadline: deadline)
                    guard let vector = info.schema.vectorFields.first, info.schema.vectorFields.count == 1 else {
                        throw GRPCStatus(.invalidArgument, "collection '\(request.collection)' has no single vector field; name the field")
                    }
                    field = vector.name
                }
                try check.name(field, kind: "field")
                let indexName = request.indexName.isEmpty ? field : request.indexName
                try check.name(indexName, kind: "index")
                try await backend.createIndex(request.collection, field: field, indexName: indexName, index: index,
                                              metric: metric, deadline: deadline)
                return VDBMv1.emptyResponse
                }
            },
            Method("DescribeIndexes", .read, onCollection { name, deadline in
                VDBMv1.encodeIndexes(try await backend.indexes(of: name, deadline: deadline))
            }),
            Method("DropIndex", .admin) { bytes, deadline in
                let request = try VDBMv1.decodeDropIndex(bytes)
                try check.name(request.collection, kind: "collection")
                try check.name(request.indexName, kind: "index")
                return try await scoped(request.database, deadline) {
                    try await backend.dropIndex(request.collection, indexName: request.indexName, deadline: deadline)
                    return VDBMv1.emptyResponse
                }
            },
            Method("LoadCollection", .admin, onCollection { name, deadline in
                try await backend.load(name, deadline: deadline)
                return VDBMv1.emptyResponse
            }),
            Method("ReleaseCollection", .admin, onCollection { name, deadline in
                try await backend.release(name, deadline: deadline)
                return VDBMv1.emptyResponse
            }),
            Method("GetLoadState", .read, onCollection { name, deadline in
                VDBMv1.encodeLoadState(try await backend.loadState(name, deadline: deadline))
            }),
            Method("CreatePartition", .admin) { bytes, deadline in
                let request = try VDBMv1.decodePartition(bytes)
                try check.name(request.collection, kind: "collection")
                try check.name(request.partition, kind: "partition")
                return try await scoped(request.database, deadline) {
                    try await backend.createPartition(request.collection, partition: request.partition, deadline: deadline)
                    return VDBMv1.emptyResponse
                }
            },
            Method("DropPartition", .admin) { bytes, deadline in
                let request = try VDBMv1.decodePartition(bytes)
                try check.name(request.collection, kind: "collection")
                try check.name(request.partition, kind: "partition")
                return try await scoped(request.database, deadline) {
                    try await backend.dropPartition(request.collection, partition: request.partition, deadline: deadline)
                    return VDBMv1.emptyResponse
                }
            },
            Method("ListPartitions", .read, onCollection { name, deadline in
                VDBMv1.encodeListPartitions(try await backend.listPartitions(name, deadline: deadline))
            }),
            Method("Flush", .write) { bytes, deadline in
                let (names, database) = try VDBMv1.decodeFlush(bytes)
                guard !names.isEmpty else { throw GRPCStatus(.invalidArgument, "collections is empty: nothing to flush") }
                try check.names(names, kind: "collection")
                return try await scoped(database, deadline) {
                    try await backend.flush(names, deadline: deadline)
                    return VDBMv1.emptyResponse
                }
            },
            Method("CreateDatabase", .admin) { bytes, deadline in
                let name = try VDBMv1.decodeDatabase(bytes, messageType: "DatabaseRequest")
                try check.name(name, kind: "database")
                try await backend.createDatabase(name, deadline: deadline)
                return VDBMv1.emptyResponse
            },
            Method("DropDatabase", .admin) { bytes, deadline in
                let name = try VDBMv1.decodeDatabase(bytes, messageType: "DatabaseRequest")
                try check.name(name, kind: "database")
                try await backend.dropDatabase(name, deadline: deadline)
                return VDBMv1.emptyResponse
            },
            Method("ListDatabases", .read) { bytes, deadline in
                try VDBMv1.decodeEmpty(bytes, messageType: "ListDatabasesRequest")
                return VDBMv1.encodeListDatabases(try await backend.listDatabases(deadline: deadline))
            },
            Method("GetServerInfo", .read) { bytes, deadline in
                try VDBMv1.decodeEmpty(bytes, messageType: "GetServerInfoRequest")
                return VDBMv1.encodeServerInfo(await serverInfo(deadline))
            },
        ]
    }
}
