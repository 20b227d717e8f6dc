import Foundation
import Logging
import MilvusClient
import Synchronization
import Testing
import VDBMDomain
import VDBMUtils
@testable import VDBMManager

/// Write coalescing against Milvus 2.3.5: many concurrent one-row writers, every acknowledged row
/// present exactly once, and fewer Milvus writes than calls.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MILVUS_ADDRESS"] != nil, "needs MILVUS_ADDRESS (Milvus 2.3.5)"),
       .serialized)
struct WriteCoalescingIntegrationTests {
    private static let dim = 8
    private var deadline: Deadline { .after(.seconds(120)) }
    private var address: String { ProcessInfo.processInfo.environment["MILVUS_ADDRESS"]! }

    private func manager() -> (VectorDBManager, MilvusConnectionPool) {
        let (client, pool) = LiveMilvus.client(address)
        let policy = WriteCoalescingPolicy(maxBatchRows: 512, maxBatchBytes: 8 << 20, maxInflightBatches: 2, maxQueuedRows: 65_536)
        return (VectorDBManager(milvus: client, logger: Logger(label: "test"), writeCoalescing: policy), pool)
    }

    private func collection(_ manager: VectorDBManager, autoID: Bool) async throws -> String {
        let name = LiveMilvus.uniqueName("vdbm_write_coalesce")
        try await manager.createCollection(CollectionSpec(name: name, dimension: Self.dim, primaryKey: .int64(autoID: autoID),
                                                          consistency: .strong, index: .hnsw(m: 8, efConstruction: 32),
                                                          load: true),
                                           deadline: deadline)
        return name
    }

    private static func vector(_ id: Int) -> [Float] { (0..<dim).map { Float(id % 97) + Float($0) * 0.25 } }

    /// Every key in the collection, with how often it occurs.
    private func keys(_ manager: VectorDBManager, _ name: String) async throws -> [Int64: Int] {
        let rows = try await manager.query(name, filter: "id >= 0", outputFields: ["id"], limit: 16_384, consistency: .strong,
                                           deadline: deadline)
        guard case .int64s(let ids) = rows.columns["id"] else { return [:] }
        return ids.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    @Test func sixtyFourWritersOfOneRowEachLeaveEveryAcknowledgedRowExactlyOnce() async throws {
        let (manager, pool) = manager()
        let name = try await collection(manager, autoID: false)
        let writers = 64, perWriter = 100
        let acknowledged = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var mine: [Int64] = []
                    for index in 0..<perWriter {
                        let id = Int64(writer * perWriter + index)
                        let result = try await manager.insert(
                            name, entities: Entities(["id": .int64s([id]),
                                                      "vector": .floatVectors(dimension: Self.dim, values: Self.vector(Int(id)))]),
                            deadline: deadline)
                        #expect(result == MutationResult(ids: .int64s([id]), count: 1))
                        mine.append(id)
                    }
                    return mine
                }
            }
            var all: [Int64] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(acknowledged.count == writers * perWriter)
        let found = try await keys(manager, name)
        #expect(found.count == writers * perWriter)
        #expect(found.values.allSatisfy { $0 == 1 }, "rows written more than once")
        #expect(Set(found.keys) == Set(acknowledged))
        let sent = manager.writeCoalescing?.sent ?? 0
        #expect(sent < writers * perWriter / 4, "\(sent) Milvus writes for \(writers * perWriter) calls")
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test func autoIdWritersGetDisjointIdsThatAreTheRowsMilvusHolds() async throws {
        let (manager, pool) = manager()
        let name = try await collection(manager, autoID: true)
        let writers = 32, perWriter = 20
        let ids = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var mine: [Int64] = []
                    for index in 0..<perWriter {
                        let rows = 1 + (writer + index) % 3
                        let values = (0..<rows).flatMap { _ in Self.vector(writer) }
                        let result = try await manager.insert(
                            name, entities: Entities(["vector": .floatVectors(dimension: Self.dim, values: values)]),
                            deadline: deadline)
                        guard case .int64s(let assigned) = result.ids else { continue }
                        #expect(assigned.count == rows && result.count == Int64(rows))
                        mine += assigned
                    }
                    return mine
                }
            }
            var all: [Int64] = []
            for try await mine in group { all += mine }
            return all
        }
        #expect(Set(ids).count == ids.count, "an id was given to two rows")
        let found = try await keys(manager, name)
        #expect(Set(found.keys) == Set(ids))
        #expect(found.values.allSatisfy { $0 == 1 })
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }
}
