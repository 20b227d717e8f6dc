import GRPCNGHTTP2
import Logging
import Synchronization
import VDBMDomain
import VDBMProtobuf
import VDBMUtils

/// `MilvusAPI` over the connection pool: every call gets a connection, runs, and is retried when
/// the retry policy says it is safe, all within the call's one deadline. One structured log line
/// per call (method, collection, attempts, duration, outcome), and one per retry saying why.
public final class MilvusClient: MilvusAPI {
    private let pool: MilvusConnectionPool
    private let credentials: MilvusCredentials?
    private let policy: RetryPolicy
    private let budget: Mutex<RetryBudget>
    private let logger: Logger
    private let metrics = MilvusClientMetrics()

    public init(pool: MilvusConnectionPool, credentials: MilvusCredentials?, retryPolicy: RetryPolicy = RetryPolicy(),
                retryBudget: RetryBudget = RetryBudget(), logger: Logger) {
        self.pool = pool
        self.credentials = credentials
        self.policy = retryPolicy
        self.budget = Mutex(retryBudget)
        self.logger = logger
    }

    // MARK: The retry loop

    /// What one attempt can end with besides a response: a transport failure or a Milvus status.
    private enum AttemptFailure: Error {
        case call(CallFailure)
        case status(MilvusStatus)
    }

    /// Runs `method` until it succeeds or the policy stops it; `read` decodes the response and
    /// returns its status with the value.
    /// Sends a request as bytes and returns Milvus's answer as bytes (vdbm's pass-through of
    /// `MilvusService`), over the pool with the retry policy: retried only for failures before
    /// Milvus answered (never twice for a `nonIdempotent` call that may have been processed);
    /// Milvus's own status travels back inside the answer, untouched. `metadata` goes along;
    /// `authorization` is vdbm's own credentials unless `credentials` replaces them. Metrics
    /// name the call `metricsLabel` (bounded: a method vdbm does not know is not a label).
    public func forward(_ method: String, _ request: [UInt8], metadata: [(String, String)],
                        credentials override: MilvusCredentials? = nil, idempotency: Idempotency,
                        metricsLabel: String, deadline: Deadline) async throws(VectorDBError) -> [UInt8] {
        try await invoke(method, request, idempotency: idempotency, deadline: deadline, extraMetadata: metadata,
                         credentialsHeader: override, metricsLabel: metricsLabel, relayingStatuses: true) { bytes in
            (MilvusStatus(), bytes)
        }
    }

    private func invoke<Value>(
        _ method: String, collection: String? = nil, _ request: [UInt8], idempotency: Idempotency, deadline: Deadline,
        extraMetadata: [(String, String)] = [], credentialsHeader: MilvusCredentials? = nil, metricsLabel: String? = nil,
        relayingStatuses: Bool = false,
        read: ([UInt8]) throws(ProtobufDecodingError) -> (MilvusStatus, Value)
    ) async throws(VectorDBError) -> Value {
        let label = metricsLabel ?? method
        var retry = RetryState(policy: policy, idempotency: idempotency, deadline: deadline)
        let started = ContinuousClock.now
        var endpoint = "none"  // the endpoint of the last attempt, for the metrics
        func ended(_ outcome: String) {
            metrics.callEnded(endpoint: endpoint, method: label, outcome: outcome, duration: started.duration(to: .now))
        }
        while true {
            let failure: AttemptFailure
            do {
                let connection: GRPCClientConnection
                do {
                    if let ready = pool.readyConnection() {
                        connection = ready
                    } else {
                        connection = try await pool.connection(deadline: deadline)
                    }
                } catch .queueFull {
                    throw VectorDBError.resourceExhausted("too many calls wait for a Milvus connection")
                } catch {
                    throw AttemptFailure.call(Self.failure(for: error))
                }
                endpoint = connection.target
                let span = MilvusCallSpan(method: method, endpoint: endpoint, attempt: retry.attempt, collection: collection)
                let bytes: [UInt8]
                do {
                    // The pass-through relays its caller's own metadata (dbname included) untouched.
                    let database = relayingStatuses ? nil : MilvusCallContext.database
                    let channel = MilvusChannel(connection: connection, credentials: credentialsHeader ?? credentials,
                                                extra: database.map { extraMetadata + [("dbname", $0)] } ?? extraMetadata)
                    bytes = try await channel.call(method, request, deadline: deadline, relayingStatuses: relayingStatuses,
                                                   traceparent: span?.traceparent)
                } catch {
                    span?.end(error: "\(error)")
                    switch error {
                    case .notProcessed, .unavailable, .deadlineExceeded: pool.recordOutcome(connection, success: false)
                    default: break
                    }
                    throw AttemptFailure.call(error)
                }
                let (status, value): (MilvusStatus, Value)
                do {
                    (status, value) = try read(bytes)
                } catch {
                    span?.end(error: "undecodable response")
                    throw AttemptFailure.call(.permanent("undecodable \(method) response from Milvus: \(error)"))
                }
                span?.end(error: status.isSuccess ? nil : MilvusErrorMapping.shortReason(status))
                // Milvus answered: the endpoint works, unless it says to come back later.
                pool.recordOutcome(connection, success: !status.retriable)
                guard status.isSuccess else { throw AttemptFailure.status(status) }
                budget.withLock { $0.recordSuccess() }
                log(method, collection, attempt: retry.attempt, since: started, outcome: "ok")
                ended("ok")
                return value
            } catch let error as AttemptFailure {
                failure = error
            } catch let error as VectorDBError {
                log(method, collection, attempt: retry.attempt, since: started, outcome: "\(error)")
                ended(error.kind)
                throw error
            } catch {
                failure = .call(.permanent("\(error)"))
            }

            let callFailure: CallFailure
            switch failure {
            case .call(let error):
                callFailure = error
            case .status(let status) where status.retriable || status.errorCode == MilvusErrorCode.Legacy.rateLimit:
                callFailure = .retriable(code: Int(status.code), reason: MilvusErrorMapping.shortReason(status))
            case .status(let status):
                let error = VectorDBError.from(status, collection: collection)
                log(method, collection, attempt: retry.attempt, since: started, outcome: "\(error)",
                    milvusReason: status.reason)
                ended(error.kind)
                throw error
            }
            let decision = budget.withLock { budget in retry.decide(after: callFailure, budget: &budget) }
            switch decision {
            case .retry(let delay):
                metrics.retried(endpoint: endpoint, method: label)
                logger.info("retrying Milvus call", metadata: [
                    "milvus_method": "\(method)", "collection": "\(collection ?? "")", "attempt": "\(retry.attempt)",
                    "reason": "\(callFailure)", "delay_ms": .stringConvertible(delay.inMilliseconds.rounded()),
                ])
                try? await pool.clock.sleep(until: pool.clock.now + delay)
            case .stop(let reason):
                let error = VectorDBError.from(callFailure)
                log(method, collection, attempt: retry.attempt, since: started, outcome: "\(error)", stop: "\(reason)")
                if reason == .budgetExhausted { metrics.refusedByBudget(endpoint: endpoint, method: label) }
                ended(error.kind)
                throw error
            }
        }
    }

    private static func failure(for pool: PoolFailure) -> CallFailure {
        switch pool {
        case .unavailable: .notProcessed("no Milvus endpoint is reachable")
        case .queueFull: .permanent("too many calls wait for a Milvus connection")  // handled before, kept total
        case .deadlineExceeded: .deadlineExceeded
        case .shuttingDown: .notProcessed("vdbm is shutting down")
        }
    }

    /// One debug line per call; `milvusReason` is Milvus's whole reason text (clients get its
    /// first line, bounded).
    private func log(_ method: String, _ collection: String?, attempt: Int, since started: ContinuousClock.Instant,
                     outcome: String, stop: String? = nil, milvusReason: String? = nil) {
        var metadata: Logger.Metadata = [
            "milvus_method": "\(method)", "collection": "\(collection ?? "")", "attempts": "\(attempt)",
            "duration_ms": .stringConvertible((started.duration(to: .now).inMilliseconds * 1000).rounded() / 1000),
            "outcome": "\(outcome)", "stopped_because": "\(stop ?? "")",
        ]
        if let milvusReason { metadata["milvus_reason"] = "\(milvusReason)" }
        logger.debug("milvus call", metadata: metadata)
    }

    private func statusOnly(_ method: String, collection: String?, _ request: [UInt8], idempotency: Idempotency,
                            deadline: Deadline) async throws(VectorDBError) {
        try await invoke(method, collection: collection, request, idempotency: idempotency, deadline: deadline) {
            bytes throws(ProtobufDecodingError) in (try MilvusStatus(serializedBytes: bytes), ())
        }
    }

    // MARK: MilvusAPI

    public func version(deadline: Deadline) async throws(VectorDBError) -> String {
        try await invoke("GetVersion", MilvusRequest.getVersion(), idempotency: .idempotent, deadline: deadline) {
            bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Version(serializedBytes: bytes)
            return (reply.status, reply.version)
        }
    }

    public func isHealthy(deadline: Deadline) async throws(VectorDBError) -> Bool {
        try await invoke("CheckHealth", MilvusRequest.checkHealth(), idempotency: .idempotent, deadline: deadline) {
            bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Health(serializedBytes: bytes)
            return (reply.status, reply.isHealthy)
        }
    }

    public func createCollection(_ name: String, schema: MilvusCollectionSchema, consistencyLevel: Int32, partitions: Int?,
                                 deadline: Deadline) async throws(VectorDBError) {
        // Creating twice with the same schema is accepted by Milvus: safe to repeat.
        try await statusOnly("CreateCollection", collection: name,
                             MilvusRequest.createCollection(name, schema: schema, consistencyLevel: consistencyLevel,
                                                            partitions: partitions),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func dropCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("DropCollection", collection: name, MilvusRequest.dropCollection(name),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func hasCollection(_ name: String, deadline: Deadline) async throws(VectorDBError) -> Bool {
        try await invoke("HasCollection", collection: name, MilvusRequest.hasCollection(name), idempotency: .idempotent,
                         deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Bool(serializedBytes: bytes)
            return (reply.status, reply.value)
        }
    }

    public func describeCollection(_ name: String, deadline: Deadline) async throws(VectorDBError)
        -> MilvusResponse.DescribeCollection {
        try await invoke("DescribeCollection", collection: name, MilvusRequest.describeCollection(name),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.DescribeCollection(serializedBytes: bytes)
            return (reply.status, reply)
        }
    }

    public func listCollections(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try await invoke("ShowCollections", MilvusRequest.showCollections(), idempotency: .idempotent,
                         deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Names.collections(bytes)
            return (reply.status, reply.names)
        }
    }

    public func listDatabases(deadline: Deadline) async throws(VectorDBError) -> [String] {
        try await invoke("ListDatabases", MilvusRequest.listDatabases(), idempotency: .idempotent,
                         deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Names.databases(bytes)
            return (reply.status, reply.names)
        }
    }

    public func createDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        // A second create of the same database is refused, never doubled: safe to repeat.
        try await statusOnly("CreateDatabase", collection: nil, MilvusRequest.createDatabase(name), idempotency: .idempotent, deadline: deadline)
    }

    public func dropDatabase(_ name: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("DropDatabase", collection: nil, MilvusRequest.dropDatabase(name), idempotency: .idempotent, deadline: deadline)
    }

    public func statistics(_ name: String, deadline: Deadline) async throws(VectorDBError) -> [MilvusKeyValue] {
        try await invoke("GetCollectionStatistics", collection: name, MilvusRequest.getCollectionStatistics(name),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Statistics(serializedBytes: bytes)
            return (reply.status, reply.stats)
        }
    }

    public func insert(_ collection: String, partition: String, fields: [MilvusFieldData], upsert: Bool,
                       deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Mutation {
        // An insert may have been applied when a connection drops: never repeated blindly.
        try await invoke(upsert ? "Upsert" : "Insert", collection: collection,
                         MilvusRequest.insert(collection, partition: partition, fields: fields, upsert: upsert),
                         idempotency: .nonIdempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Mutation(serializedBytes: bytes)
            return (reply.status, reply)
        }
    }

    public func delete(_ collection: String, partition: String, expression: String,
                       deadline: Deadline) async throws(VectorDBError) -> Int64 {
        // Deleting the same rows twice leaves the same result.
        try await invoke("Delete", collection: collection,
                         MilvusRequest.delete(collection, partition: partition, expression: expression),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Mutation(serializedBytes: bytes)
            return (reply.status, reply.deleteCount)
        }
    }

    public func query(_ collection: String, expression: String, outputFields: [String], partitions: [String],
                      params: [MilvusKeyValue], consistencyLevel: Int32?, guaranteeTimestamp: UInt64? = nil,
                      deadline: Deadline) async throws(VectorDBError) -> [MilvusFieldData] {
        try await invoke("Query", collection: collection,
                         MilvusRequest.query(collection, expression: expression, outputFields: outputFields,
                                             partitions: partitions, params: params, consistencyLevel: consistencyLevel,
                                             guaranteeTimestamp: guaranteeTimestamp),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Query(serializedBytes: bytes)
            return (reply.status, reply.fields)
        }
    }

    public func search(_ collection: String, queries: SearchQueries, dim: Int, filter: String, outputFields: [String],
                       partitions: [String], params: [MilvusKeyValue], consistencyLevel: Int32?,
                       deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Search {
        try await invoke("Search", collection: collection,
                         MilvusRequest.search(collection, queries: queries, dim: dim, filter: filter,
                                              outputFields: outputFields, partitions: partitions, params: params,
                                              consistencyLevel: consistencyLevel),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Search(serializedBytes: bytes)
            return (reply.status, reply)
        }
    }

    public func hybridSearch(_ collection: String, searches: [MilvusRequest.SubSearch], rankParams: [MilvusKeyValue],
                             outputFields: [String], partitions: [String], consistencyLevel: Int32?,
                             deadline: Deadline) async throws(VectorDBError) -> MilvusResponse.Search {
        // Milvus answers a hybrid search with the same SearchResults message as a search.
        try await invoke("HybridSearch", collection: collection,
                         MilvusRequest.hybridSearch(collection, searches: searches, rankParams: rankParams,
                                                    outputFields: outputFields, partitions: partitions,
                                                    consistencyLevel: consistencyLevel),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Search(serializedBytes: bytes)
            return (reply.status, reply)
        }
    }

    public func flush(_ collections: [String], deadline: Deadline) async throws(VectorDBError) {
        try await invoke("Flush", collection: collections.first, MilvusRequest.flush(collections),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            (try MilvusResponse.StatusOnly.flush(bytes).status, ())
        }
    }

    public func createIndex(_ collection: String, field: String, indexName: String, params: [MilvusKeyValue],
                            deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("CreateIndex", collection: collection,
                             MilvusRequest.createIndex(collection, field: field, indexName: indexName, params: params),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func describeIndexes(_ collection: String, deadline: Deadline) async throws(VectorDBError)
        -> [MilvusResponse.IndexDescription] {
        try await invoke("DescribeIndex", collection: collection, MilvusRequest.describeIndex(collection),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.DescribeIndex(serializedBytes: bytes)
            return (reply.status, reply.indexes)
        }
    }

    public func dropIndex(_ collection: String, indexName: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("DropIndex", collection: collection,
                             MilvusRequest.dropIndex(collection, indexName: indexName),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func load(_ collection: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("LoadCollection", collection: collection, MilvusRequest.loadCollection(collection),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func release(_ collection: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("ReleaseCollection", collection: collection, MilvusRequest.releaseCollection(collection),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func loadState(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> Int32 {
        try await invoke("GetLoadState", collection: collection, MilvusRequest.getLoadState(collection),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.LoadState(serializedBytes: bytes)
            return (reply.status, reply.state)
        }
    }

    public func loadingProgress(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> Int64 {
        try await invoke("GetLoadingProgress", collection: collection, MilvusRequest.getLoadingProgress(collection),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.LoadingProgress(serializedBytes: bytes)
            return (reply.status, reply.progress)
        }
    }

    public func createPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("CreatePartition", collection: collection,
                             MilvusRequest.createPartition(collection, partition: partition),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func dropPartition(_ collection: String, partition: String, deadline: Deadline) async throws(VectorDBError) {
        try await statusOnly("DropPartition", collection: collection,
                             MilvusRequest.dropPartition(collection, partition: partition),
                             idempotency: .idempotent, deadline: deadline)
    }

    public func listPartitions(_ collection: String, deadline: Deadline) async throws(VectorDBError) -> [String] {
        try await invoke("ShowPartitions", collection: collection, MilvusRequest.showPartitions(collection),
                         idempotency: .idempotent, deadline: deadline) { bytes throws(ProtobufDecodingError) in
            let reply = try MilvusResponse.Names.partitions(bytes)
            return (reply.status, reply.names)
        }
    }
}
