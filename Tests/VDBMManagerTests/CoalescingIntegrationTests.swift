import Foundation
import Logging
import MilvusClient
import NIOPosix
import Testing
import VDBMDomain
import VDBMUtils
@testable import VDBMManager

/// Coalescing against Milvus 2.3.5: merged searches answer exactly what the same searches answer
/// one at a time, and searches that differ beyond their vectors never share a batch.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MILVUS_ADDRESS"] != nil, "needs MILVUS_ADDRESS (Milvus 2.3.5)"),
       .serialized)
struct CoalescingIntegrationTests {
    private static let dim = 16
    private var deadline: Deadline { .after(.seconds(60)) }
    private var address: String { ProcessInfo.processInfo.environment["MILVUS_ADDRESS"]! }

    private static func vector(_ id: Int) -> [Float] {
        (0..<dim).map { Float(sin(Double(id) * 0.37 + Double($0) * 1.3)) }
    }

    private func manager(coalescing: SearchCoalescingPolicy?) -> (VectorDBManager, MilvusConnectionPool) {
        let (client, pool) = LiveMilvus.client(address)
        return (VectorDBManager(milvus: client, logger: Logger(label: "test"), searchCoalescing: coalescing), pool)
    }

    /// A loaded collection of rows 0..<1000 (row i has `vector(i)`, `bucket` i % 10), rows
    /// 1000..<1100 in partition `p1`.
    private func collection(_ manager: VectorDBManager, prefix: String = "vdbm_coalesce") async throws -> String {
        let name = LiveMilvus.uniqueName(prefix)
        try await manager.createCollection(CollectionSpec(name: name, dimension: Self.dim, metric: .l2,
                                                          scalarFields: [ScalarFieldSpec(name: "bucket", type: .int64)],
                                                          consistency: .strong, index: .hnsw(m: 16, efConstruction: 64)),
                                           deadline: deadline)
        try await manager.createPartition(name, partition: "p1", deadline: deadline)
        func rows(_ ids: Range<Int>) -> Entities {
            Entities(["id": .int64s(ids.map(Int64.init)), "vector": .floatVectors(dimension: Self.dim, values: ids.flatMap(Self.vector)),
                      "bucket": .int64s(ids.map { Int64($0 % 10) })])
        }
        _ = try await manager.insert(name, entities: rows(0..<1000), deadline: deadline)
        _ = try await manager.insert(name, entities: rows(1000..<1100), partition: "p1", deadline: deadline)
        try await manager.flush([name], deadline: deadline)
        try await manager.load(name, deadline: deadline)
        return name
    }

    private func search(_ name: String, _ ids: [Int], limit: Int = 5, filter: String = "", outputFields: [String] = [],
                        partitions: [String] = []) -> SearchRequest {
        SearchRequest(collection: name, vectors: ids.flatMap(Self.vector), dimension: Self.dim, limit: limit, filter: filter,
                      outputFields: outputFields, params: ["ef": 64], partitions: partitions)
    }

    /// Each caller's (ids, distances), one search after another, repeated until two passes agree
    /// (Milvus's own answers move for a few seconds after a load).
    private func reference(_ manager: VectorDBManager, _ requests: [SearchRequest]) async throws -> [[SearchResults]] {
        var previous: [[SearchResults]] = []
        for _ in 0..<20 {
            var current: [[SearchResults]] = []
            for request in requests { current.append(try await manager.search(request, deadline: deadline)) }
            if current == previous { return current }
            previous = current
            try await Task.sleep(for: .milliseconds(500))
        }
        Issue.record("Milvus's answers did not settle")
        return previous
    }

    @Test func mergedSearchesAnswerExactlyWhatTheSameSearchesAnswerAlone() async throws {
        let (merging, mergingPool) = manager(coalescing: SearchCoalescingPolicy.forTests())
        let (alone, alonePool) = manager(coalescing: nil)
        let name = try await collection(alone)
        // 64 callers, each with its own known vector; every fourth brings three vectors.
        let requests = (0..<64).map { caller in search(name, caller % 4 == 0 ? [caller * 7, caller * 7 + 1, caller * 7 + 2] : [caller * 7]) }
        let expected = try await reference(alone, requests)
        for (caller, results) in expected.enumerated() {
            #expect(results[0].ids.key(at: 0) == .int64(Int64(caller * 7)))
        }
        let merged = try await withThrowingTaskGroup(of: (Int, [SearchResults]).self) { group in
            for (caller, request) in requests.enumerated() {
                group.addTask { (caller, try await merging.search(request, deadline: deadline)) }
            }
            return try await group.reduce(into: [Int: [SearchResults]]()) { $0[$1.0] = $1.1 }
        }
        for caller in 0..<64 {
            #expect(merged[caller] == expected[caller], "caller \(caller)")
        }
        try await alone.dropCollection(name, deadline: deadline)
        await mergingPool.shutdown()
        await alonePool.shutdown()
    }

    @Test func searchesThatDifferInFilterLimitOutputFieldsPartitionOrCollectionKeepTheirOwnAnswers() async throws {
        let (merging, pool) = manager(coalescing: SearchCoalescingPolicy.forTests())
        let name = try await collection(merging)
        let other = try await collection(merging, prefix: "vdbm_coalesce_other")
        let probe = [1050]
        let variants: [(String, SearchRequest)] = [
            ("plain", search(name, probe)),
            ("filter", search(name, probe, filter: "bucket == 3")),
            ("limit", search(name, probe, limit: 2)),
            ("output", search(name, probe, outputFields: ["bucket"])),
            ("partition", search(name, probe, partitions: ["_default"])),
            ("collection", search(other, probe, limit: 3)),
        ]
        for _ in 0..<3 {
            let answers = try await withThrowingTaskGroup(of: (String, SearchResults).self) { group in
                for (label, request) in variants {
                    for _ in 0..<4 { group.addTask { (label, try await merging.search(request, deadline: deadline)[0]) } }
                }
                return try await group.reduce(into: [(String, SearchResults)]()) { $0.append(($1.0, $1.1)) }
            }
            for (label, result) in answers {
                guard case .int64s(let ids) = result.ids else { Issue.record("string ids"); continue }
                switch label {
                case "plain": #expect(ids.count == 5 && ids[0] == 1050 && result.fields.isEmpty)
                case "filter": #expect(ids.count == 5 && ids.allSatisfy { $0 % 10 == 3 })
                case "limit": #expect(ids.count == 2 && ids[0] == 1050)
                case "output": #expect(result.fields["bucket"] == .int64s(ids.map { $0 % 10 }))
                case "partition": #expect(ids.count == 5 && ids.allSatisfy { $0 < 1000 })
                default: #expect(ids.count == 3 && ids[0] == 1050)
                }
            }
        }
        try await merging.dropCollection(name, deadline: deadline)
        try await merging.dropCollection(other, deadline: deadline)
        await pool.shutdown()
    }
}
