import GRPCNGHTTP2
import Logging
import MilvusClient
import Synchronization
import Testing
import VDBMDomain
import VDBMManager
import VDBMProtobuf
import VDBMUtils
@testable import VDBMPassThrough
@testable import VDBMService

/// Plays Milvus for pass-through searches: each query vector (x, y) gets one hit whose id is x and
/// whose column `n` holds x too; each search takes a while, so that concurrent callers pile up.
private final class SearchingForwarder: MilvusPassThroughService.Forwarder {
    /// Query vectors per Milvus search received, with the database it named.
    let searches = Mutex<[(queries: Int, database: String)]>([])
    let delay: Duration
    /// Milvus fails every search of more than one vector (a merged one) with this status.
    let failMerged: MilvusStatus?
    /// Bytes appended to the answer of every merged search (a field a newer Milvus sends).
    let mergedExtra: [UInt8]

    init(delay: Duration = .milliseconds(100), failMerged: MilvusStatus? = nil, mergedExtra: [UInt8] = []) {
        self.delay = delay
        self.failMerged = failMerged
        self.mergedExtra = mergedExtra
    }

    func forward(_ method: String, _ request: [UInt8], metadata: [(String, String)], credentials: MilvusCredentials?,
                 idempotency: Idempotency, metricsLabel: String, deadline: Deadline) async throws(VectorDBError) -> [UInt8] {
        guard let parts = MilvusSearchRequestParts(request: request) else { throw .internal("not a search") }
        searches.withLock { $0.append((parts.vectors.count, metadata.first { $0.0 == "dbname" }?.1 ?? "")) }
        try? await Task.sleep(for: delay)
        let ids = parts.vectors.map { vector in Int64(vector.withUnsafeBytes { $0.load(as: Float.self) }) }
        if let failMerged, ids.count > 1 {
            return MilvusResponse.Search(status: failMerged, numQueries: 0, topK: 0, topks: [], ids: .int64s([]), scores: [],
                                         fields: []).serializedBytes()
        }
        return MilvusResponse.Search(status: .success, numQueries: Int64(ids.count), topK: 1, topks: ids.map { _ in 1 },
                                     ids: .int64s(ids), scores: ids.map(Float.init),
                                     fields: [MilvusFieldData(name: "n", dataType: 5, values: .int64s(ids))]).serializedBytes() + (ids.count > 1 ? mergedExtra : [])
    }
}

@Suite struct PassThroughSearchCoalescingTests {
    private func service(_ forwarder: SearchingForwarder,
                         coalescer: PassThroughSearchCoalescer = PassThroughSearchCoalescer(policy: .forTests()))
        -> GRPCRouter {
        CallPipeline.router([MilvusPassThroughService(forwarder: forwarder, searchCoalescer: coalescer)],
                            settings: ServiceSettings(authenticator: APIKeyAuthenticator(keys: nil)), admission: nil)
    }

    private func search(_ service: GRPCRouter, _ ids: [Int], database: String = "default") async throws
        -> MilvusResponse.Search {
        var metadata = Metadata()
        metadata.append("dbname", .text(database))
        metadata.append("identifier", .text("client-\(ids.first ?? 0)"))  // per client: never part of the key
        let request = MilvusRequest.search("docs", vectors: ids.flatMap { [Float($0), 0.5] }, dim: 2, filter: "", outputFields: ["n"],
                                           params: MilvusRequest.searchParams(annsField: "v", topK: 1, params: [:], offset: 0))
        let context = ServerCallContext(path: "/\(MilvusPassThroughService.name)/Search", metadata: metadata,
                                        deadline: .after(.seconds(10)), peer: "test", requestID: "t", logger: Logger(label: "test"))
        guard case .success(.async(let body)) = service.route("/\(MilvusPassThroughService.name)/Search") else { throw GRPCStatus(.internal, "no Search handler") }
        return try MilvusResponse.Search(serializedBytes: try await body(request, context))
    }

    private func hits(_ answer: MilvusResponse.Search) -> [Int64] {
        if case .int64s(let ids) = answer.ids { ids } else { [] }
    }

    @Test func concurrentSearchesShareMilvusSearchesAndEachGetsItsOwnAnswer() async throws {
        let forwarder = SearchingForwarder()
        let service = service(forwarder)
        let answers = try await withThrowingTaskGroup(of: (Int, MilvusResponse.Search).self) { group in
            for caller in 0..<32 {
                // Callers bring one to three vectors each.
                let mine = (0..<(caller % 3 + 1)).map { caller * 10 + $0 }
                group.addTask { (caller, try await search(service, mine)) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for caller in 0..<32 {
            let mine = (0..<(caller % 3 + 1)).map { Int64(caller * 10 + $0) }
            let answer = try #require(answers[caller])
            #expect(hits(answer) == mine && answer.numQueries == Int64(mine.count) && answer.topks == mine.map { _ in 1 })
            #expect(answer.fields.map(\.values) == [.int64s(mine)])
        }
        let searches = forwarder.searches.withLock { $0 }
        let sent: Int = searches.reduce(0) { $0 + $1.queries }
        let asked: Int = (0..<32).reduce(0) { $0 + $1 % 3 + 1 }
        #expect(sent == asked)
        #expect(searches.count < 32 && searches.contains { $0.queries > 3 })
    }

    @Test func searchesOfAnotherDatabaseNeverShareABatch() async throws {
        let forwarder = SearchingForwarder()
        let service = service(forwarder)
        let answers = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for caller in 0..<16 {
                group.addTask { (caller, hits(try await search(service, [caller], database: caller % 2 == 0 ? "even" : "odd"))) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers == Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, [Int64($0)]) }))
        // Each Milvus search is of one database; a merged one has only that database's callers.
        let searches = forwarder.searches.withLock { $0 }
        #expect(searches.filter { $0.database == "even" }.reduce(0) { $0 + $1.queries } == 8)
        #expect(searches.filter { $0.database == "odd" }.reduce(0) { $0 + $1.queries } == 8)
        #expect(searches.contains { $0.queries > 1 })
    }

    @Test func aMergedSearchMilvusRefusesIsSentAgainForEachCallerAlone() async throws {
        let forwarder = SearchingForwarder(failMerged: MilvusStatus(errorCode: 1, reason: "nq too large", code: 65535))
        let service = service(forwarder)
        let answers = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for caller in 0..<8 { group.addTask { (caller, hits(try await search(service, [caller]))) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        // Each caller gets what it gets alone (here: success), never the merged search's error.
        #expect(answers == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, [Int64($0)]) }))
        let searches = forwarder.searches.withLock { $0 }
        #expect(searches.contains { $0.queries > 1 })
        #expect(searches.filter { $0.queries == 1 }.count >= 8 - 1)
    }

    @Test func anAnswerWithAFieldThisVdbmDoesNotKnowFallsBackAndIsCountedByReason() async throws {
        // Field 99 of SearchResults: a Milvus newer than this vdbm.
        let forwarder = SearchingForwarder(mergedExtra: [0x98, 0x06, 0x01])
        let coalescer = PassThroughSearchCoalescer(policy: .forTests())
        let service = service(forwarder, coalescer: coalescer)
        let answers = try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for caller in 0..<8 { group.addTask { (caller, hits(try await search(service, [caller]))) } }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        #expect(answers == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, [Int64($0)]) }))
        let merged = forwarder.searches.withLock { $0 }.filter { $0.queries > 1 }.count
        #expect(merged >= 1)
        #expect(coalescer.fallbackCounts == [.unknownField: merged])
    }
}
