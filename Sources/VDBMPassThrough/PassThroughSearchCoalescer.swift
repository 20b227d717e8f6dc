import CoreMetrics
import Logging
import MilvusClient
import Synchronization
import VDBMDomain
import VDBMManager
import VDBMProtobuf
import VDBMUtils

/// Search coalescing for Milvus `Search` calls that an unmodified SDK sends through vdbm (the
/// pass-through): concurrent searches whose requests differ only in their query vectors (and in
/// the `guarantee_timestamp` pymilvus stamps on each) leave as one Milvus search, and Milvus's
/// answer is cut back into each caller's own `SearchResults`. The same policy and state machine as
/// vdbm.v1 searches, in a coalescer of its own (their keys never match: one is Milvus's request
/// bytes, the other vdbm's typed request).
///
/// A search that cannot be merged (several placeholders, sparse vectors, an `nq` that does not
/// match) goes on alone, untouched. A search alone in its batch is sent as the client sent it.
/// When Milvus's answer to a merged search cannot be cut exactly (an error status, or a field this
/// vdbm does not know), each member is sent again on its own: every caller gets what it would
/// have got alone.
public final class PassThroughSearchCoalescer: Sendable {
    /// Sends one Milvus `SearchRequest` (as bytes) within the deadline; answers Milvus's bytes.
    public typealias Send = @Sendable (_ request: [UInt8], _ deadline: Deadline) async throws(VectorDBError) -> [UInt8]

    private typealias Coalescer = SearchCoalescer<Key, [Query], Answer>
    private let coalescer: Coalescer
    private let fallbacks: Fallbacks

    public init(policy: SearchCoalescingPolicy, scheduler: any SearchCoalescerScheduler = TaskSearchScheduler(),
                logger: Logger = Logger(label: "vdbm.passthrough")) {
        coalescer = Coalescer(policy: policy, scheduler: scheduler)
        fallbacks = Fallbacks(logger: logger)
    }

    /// Searches with `request` (a Milvus `SearchRequest`), in a batch with other searches whose
    /// request and `context` (what else decides the answer: database, credentials, metadata)
    /// are equal. `send` calls Milvus with this caller's metadata and credentials.
    public func search(_ request: [UInt8], context: [UInt8], deadline: Deadline,
                       send: @escaping Send) async throws(VectorDBError) -> [UInt8] {
        guard let parts = MilvusSearchRequestParts(request: request) else { return try await send(request, deadline) }
        let origin = Origin(parts: parts, request: request)
        let queries = parts.vectors.map { Query(vector: $0, guaranteeTimestamp: parts.guaranteeTimestamp, origin: origin) }
        let answers = try await coalescer.search(key: Key(parts.key + context), vectors: queries, queries: queries.count,
                                                 deadline: deadline) { [fallbacks] queries, count, deadline throws(VectorDBError) in
            try await Self.run(queries, count: count, deadline: deadline, fallbacks: fallbacks, send: send)
        }
        switch answers.first {
        case .whole(let reply):
            return reply
        case .share(let results, let first):
            if let reply = results.answer(queries: first..<(first + answers.count)) { return reply }
            return try await send(request, deadline)
        case .uncut, nil:
            return try await send(request, deadline)
        }
    }

    /// One Milvus search for a batch: the lone member's own request, or one made of every member's
    /// vectors, reading as far as the newest guarantee among them.
    private static func run(_ queries: [Query], count: Int, deadline: Deadline, fallbacks: Fallbacks,
                            send: Send) async throws(VectorDBError) -> [Answer] {
        guard let first = queries.first else { return [] }
        if queries.allSatisfy({ $0.origin === first.origin }) {
            let reply = try await send(first.origin.request, deadline)
            return Array(repeating: .whole(reply), count: count)
        }
        let guarantee = queries.reduce(0) { max($0, $1.guaranteeTimestamp) }
        guard let merged = first.origin.parts.merged(vectors: queries.map(\.vector), guaranteeTimestamp: guarantee) else {
            return Array(repeating: .uncut, count: count)
        }
        let reply = try await send(merged, deadline)
        switch MilvusMergedSearchResults.read(reply, queries: count) {
        case .success(let results):
            return (0..<count).map { .share(results, query: $0) }
        case .failure(let reason):
            fallbacks.record(reason)
            return Array(repeating: .uncut, count: count)
        }
    }

    /// Merged searches whose answer was not cut, counted by reason
    /// (`vdbm_passthrough_search_fallbacks_total{reason}`), each reason logged the first time.
    final class Fallbacks: Sendable {
        private let counters: [MergedSearchFallback: Counter]
        /// The same counts, for reading back; a reason is logged when its count leaves 0.
        private let totals = Mutex<[MergedSearchFallback: Int]>([:])
        private let logger: Logger

        init(logger: Logger) {
            self.logger = logger
            counters = Dictionary(uniqueKeysWithValues: MergedSearchFallback.allCases.map { reason in
                (reason, Counter(label: "vdbm_passthrough_search_fallbacks_total", dimensions: [("reason", reason.rawValue)]))
            })
        }

        var counts: [MergedSearchFallback: Int] { totals.withLock { $0 } }

        func record(_ reason: MergedSearchFallback) {
            counters[reason]?.increment()
            let first = totals.withLock { totals in
                totals[reason, default: 0] += 1
                return totals[reason] == 1
            }
            guard first else { return }
            // Milvus refusing a search is its caller's business; the others say vdbm lost a merge.
            let level: Logger.Level = reason == .milvusError ? .info : .warning
            logger.log(level: level, "a merged pass-through search was not cut: each member searches alone (logged once per reason)",
                       metadata: ["reason": "\(reason.rawValue)"])
        }
    }

    /// Waiting searches and batches in flight (for tests and server info).
    public var snapshot: (members: Int, batches: Int, queuedVectors: Int) { coalescer.snapshot }

    /// Merged searches whose answer was not cut so far, by reason (for tests and server info).
    public var fallbackCounts: [MergedSearchFallback: Int] { fallbacks.counts }

    /// A request's key bytes, hashed once (the coalescer looks a key up several times per search).
    struct Key: Hashable, Sendable {
        let bytes: [UInt8]
        private let hash: Int

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            var hasher = Hasher()
            hasher.combine(bytes)
            hash = hasher.finalize()
        }

        static func == (lhs: Key, rhs: Key) -> Bool { lhs.hash == rhs.hash && lhs.bytes == rhs.bytes }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    /// The request a query vector came with.
    final class Origin: Sendable {
        let parts: MilvusSearchRequestParts
        let request: [UInt8]

        init(parts: MilvusSearchRequestParts, request: [UInt8]) {
            self.parts = parts
            self.request = request
        }
    }

    struct Query: Sendable {
        var vector: [UInt8]
        var guaranteeTimestamp: UInt64
        var origin: Origin
    }

    /// What a batch gives each of its query vectors.
    enum Answer: Sendable {
        /// The member was alone: Milvus's answer to its own request.
        case whole([UInt8])
        /// Query vector `query` of a merged search whose answer can be cut.
        case share(MilvusMergedSearchResults, query: Int)
        /// A merged search whose answer cannot be cut: the member searches on its own.
        case uncut
    }
}
