import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Hybrid searches through the coalescer: weighted-ranker searches that differ only in their
/// queries share Milvus hybrid searches, with every sub-search's queries kept in member order;
/// RRF searches never share one (see `HybridBatchKey`).
@Suite struct HybridCoalescingTests {
    private var deadline: Deadline { .after(.seconds(10)) }

    /// A collection with a dense field "dense" (dim 2) and a sparse field "learned"; a mock Milvus
    /// that holds each hybrid search 200 ms (so concurrent ones pile up) and answers each query
    /// with one hit: the dense query's first float as its id. It fails a search whose sparse
    /// queries are not in the same order as its dense ones.
    private func manager() -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        milvus.state.withLock { state in
            state.version = "v2.5.4"
            state.collections["docs"] = MilvusCollectionSchema(name: "docs", fields: [
                MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
                MilvusFieldSchema(name: "dense", dataType: 101, typeParams: [MilvusKeyValue("dim", "2")]),
                MilvusFieldSchema(name: "learned", dataType: 104),
            ])
            state.hybridSearchHandler = { searches throws(VectorDBError) in
                try? await Task.sleep(for: .milliseconds(200))
                guard case .floatVectors(let dense, _) = searches[0].queries, case .sparseVectors(let sparse) = searches[1].queries,
                      dense.count == 2 * sparse.count else { throw .internal("unexpected sub-searches") }
                let ids = stride(from: 0, to: dense.count, by: 2).map { Int64(dense[$0]) }
                guard ids == sparse.map({ Int64($0.indices[0]) }) else { throw .internal("sub-searches out of step: \(ids)") }
                return MilvusResponse.Search(status: .success, numQueries: Int64(ids.count), topK: 1, topks: ids.map { _ in 1 },
                                             ids: .int64s(ids), scores: ids.map { _ in 0.5 }, fields: [])
            }
        }
        return (milvus, VectorDBManager(milvus: milvus, logger: Logger(label: "test"), searchCoalescing: .forTests()))
    }

    /// `ids.count` queries: dense (id, 0.5) and sparse {id: 1} for each id.
    private func request(_ ids: [Int], ranker: Ranker = .weighted([0.6, 0.4], rawScores: false)) -> HybridSearchRequest {
        HybridSearchRequest(collection: "docs", searches: [
            SubSearch(queries: .floatVectors(ids.flatMap { [Float($0), 0.5] }, dimension: 2), limit: 5),
            SubSearch(queries: .sparseVectors(ids.map { SparseVector(indices: [UInt32($0)], values: [1]) }), limit: 5),
        ], ranker: ranker, limit: 3)
    }

    private func ids(_ results: [SearchResults]) -> [Int64] {
        results.flatMap { result -> [Int64] in if case .int64s(let ids) = result.ids { ids } else { [] } }
    }

    private func concurrently(_ manager: VectorDBManager, _ requests: [HybridSearchRequest]) async throws -> [Int: [Int64]] {
        try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
            for (caller, request) in requests.enumerated() {
                group.addTask { (caller, ids(try await manager.hybridSearch(request, deadline: deadline))) }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    @Test func weightedHybridSearchesShareMilvusSearchesAndEachGetsItsOwnResults() async throws {
        let (milvus, manager) = manager()
        // Every third caller brings two queries.
        let mine = (0..<32).map { caller in caller % 3 == 0 ? [caller * 10, caller * 10 + 1] : [caller * 10] }
        let answers = try await concurrently(manager, mine.map { request($0) })
        #expect(answers == Dictionary(uniqueKeysWithValues: mine.enumerated().map { ($0, $1.map(Int64.init)) }))
        let sizes = milvus.state.withLock { $0.hybridSearches.map { $0.searches[0].queries.count(dimension: 2) } }
        #expect(sizes.reduce(0, +) == mine.joined().count)
        #expect(sizes.count < 32)
        #expect(sizes.contains { $0 > 2 })
    }

    @Test func rrfHybridSearchesAlwaysLeaveAlone() async throws {
        let (milvus, manager) = manager()
        let answers = try await concurrently(manager, (0..<8).map { request([$0], ranker: .reciprocalRankFusion(k: 60)) })
        #expect(answers == Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, [Int64($0)]) }))
        #expect(milvus.state.withLock { $0.hybridSearches.map { $0.searches[0].queries.count(dimension: 2) } } == Array(repeating: 1, count: 8))
    }

    @Test func hybridSearchesThatDifferBeyondTheirQueriesNeverShareABatch() async throws {
        let (milvus, manager) = manager()
        var other = request([1])
        other.searches[0].filter = "id > 0"
        var otherLimit = request([2])
        otherLimit.limit = 4
        var otherWeights = request([3])
        otherWeights.ranker = .weighted([0.5, 0.5], rawScores: false)
        _ = try await concurrently(manager, [request([0]), other, otherLimit, otherWeights])
        #expect(milvus.state.withLock { $0.hybridSearches.count } == 4)
    }

    @Test func rowsSplitEachSubSearchPerQueryAndJoinBackInRowOrder() {
        let dense = SearchQueries.floatVectors([1, 2, 3, 4, 5, 6], dimension: 2)
        let texts = SearchQueries.texts(["a", "b", "c"])
        let rows = HybridQueryRow.rows([dense, texts], dimensions: [2, 0], count: 3)
        #expect(rows.map(\.queries) == [[.floatVectors([1, 2], dimension: 2), .texts(["a"])],
                                        [.floatVectors([3, 4], dimension: 2), .texts(["b"])],
                                        [.floatVectors([5, 6], dimension: 2), .texts(["c"])]])
        #expect(HybridQueryRow.joined(rows + rows.prefix(1), search: 0) == .floatVectors([1, 2, 3, 4, 5, 6, 1, 2], dimension: 2))
        #expect(HybridQueryRow.joined(rows, search: 1) == texts)
    }

    @Test func theKeyKeepsTheQueriesKindAndLeavesOutTheQueries() throws {
        let schema = CollectionSchemaInfo(name: "docs", fields: [])
        let one = try #require(HybridBatchKey(request([1]), database: nil, fields: ["dense", "learned"], schema: schema))
        let two = try #require(HybridBatchKey(request([2, 3]), database: nil, fields: ["dense", "learned"], schema: schema))
        #expect(one == two)
        #expect(HybridBatchKey(request([1]), database: "tenant", fields: ["dense", "learned"], schema: schema) != one)
        var texts = request([1])
        texts.searches[1].queries = .texts(["x"])
        #expect(HybridBatchKey(texts, database: nil, fields: ["dense", "learned"], schema: schema) != one)
        #expect(HybridBatchKey(request([1], ranker: .reciprocalRankFusion(k: 60)), database: nil, fields: [], schema: schema) == nil)
    }
}
