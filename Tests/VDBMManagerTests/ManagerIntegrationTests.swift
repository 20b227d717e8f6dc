import VDBMDomain
import Foundation
import Logging
import MilvusClient
import NIOPosix
import Testing
import VDBMUtils
@testable import VDBMManager

/// Every manager operation against real servers: Milvus 2.3.5 (MILVUS_ADDRESS) and Milvus Lite
/// (MILVUS_LITE_ADDRESS), both started by scripts/test. Results are checked for content.
enum LiveMilvus {
    static let targets: [String] = ["MILVUS_ADDRESS", "MILVUS_LITE_ADDRESS"].compactMap {
        ProcessInfo.processInfo.environment[$0]
    }

    static func manager(_ address: String) async -> (VectorDBManager, MilvusConnectionPool) {
        let (client, pool) = client(address)
        return (VectorDBManager(milvus: client, logger: Logger(label: "test")), pool)
    }

    /// The Milvus client on its own, to see what Milvus answers where the manager checks first.
    static func client(_ address: String) -> (MilvusClient, MilvusConnectionPool) {
        let parts = address.split(separator: ":")
        let pool = MilvusConnectionPool(
            configuration: .init(endpoints: [MilvusEndpoint(host: String(parts[0]), port: Int(parts[1])!)]),
            group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
        return (MilvusClient(pool: pool, credentials: credentials(for: address), logger: Logger(label: "test")), pool)
    }

    /// scripts/test starts Milvus 2.3.5 with authorization on and passes its credentials as
    /// MILVUS_USER / MILVUS_PASSWORD; Milvus Lite has no authorization.
    static func credentials(for address: String) -> MilvusCredentials? {
        let environment = ProcessInfo.processInfo.environment
        guard address == environment["MILVUS_ADDRESS"], let user = environment["MILVUS_USER"] else { return nil }
        return .password(user: user, password: environment["MILVUS_PASSWORD"] ?? "")
    }

    static func uniqueName(_ prefix: String) -> String { "\(prefix)_\(UInt32.random(in: 0...UInt32.max))" }
}

@Suite(.enabled(if: !LiveMilvus.targets.isEmpty, "needs MILVUS_ADDRESS or MILVUS_LITE_ADDRESS"), .serialized)
struct ManagerIntegrationTests {
    private static let dim = 16
    private var deadline: Deadline { .after(.seconds(60)) }

    /// Row `id`'s vector: distinct for every id, so each row is its own nearest neighbour.
    private static func vector(_ id: Int) -> [Float] {
        (0..<dim).map { Float(sin(Double(id) * 0.37 + Double($0) * 1.3)) }
    }

    private func spec(_ name: String) -> CollectionSpec {
        CollectionSpec(name: name, dimension: Self.dim, metric: .l2,
                       scalarFields: [ScalarFieldSpec(name: "title", type: .string(maxLength: 64)),
                                      ScalarFieldSpec(name: "score", type: .double),
                                      ScalarFieldSpec(name: "even", type: .bool)],
                       consistency: .strong, index: .hnsw(m: 16, efConstruction: 64), load: true)
    }

    private func rows(_ ids: Range<Int>, titlePrefix: String = "row") -> Entities {
        Entities([
            "id": .int64s(ids.map(Int64.init)),
            "vector": .floatVectors(dimension: Self.dim, values: ids.flatMap(Self.vector)),
            "title": .strings(ids.map { "\(titlePrefix)-\($0)" }),
            "score": .doubles(ids.map(Double.init)),
            "even": .bools(ids.map { $0 % 2 == 0 }),
        ])
    }

    @Test(arguments: LiveMilvus.targets)
    func collectionLifecycle(address: String) async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_life")
        try await manager.createCollection(spec(name), deadline: deadline)
        #expect(try await manager.hasCollection(name, deadline: deadline))
        #expect(try await manager.listCollections(deadline: deadline).contains(name))
        let info = try await manager.describeCollection(name, deadline: deadline)
        #expect(info.schema.fields.map(\.name) == ["id", "vector", "title", "score", "even"])
        #expect(info.schema.primaryKey?.name == "id")
        #expect(info.schema.vectorFields.first?.dimension == Self.dim)
        #expect(info.loadState == .loaded)
        #expect(info.indexes.map(\.field) == ["vector"])
        await #expect(throws: VectorDBError.alreadyExists("collection '\(name)' already exists")) {
            try await manager.createCollection(spec(name), deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        #expect(try await !manager.hasCollection(name, deadline: deadline))
        await #expect(throws: VectorDBError.notFound("collection '\(name)' does not exist")) {
            try await manager.dropCollection(name, deadline: deadline)
        }
        await pool.shutdown()
    }

    @Test(arguments: LiveMilvus.targets)
    func insertSearchQueryGetCountDeleteUpsert(address: String) async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_data")
        try await manager.createCollection(spec(name), deadline: deadline)

        let inserted = try await manager.insert(name, entities: rows(0..<1000), deadline: deadline)
        #expect(inserted == MutationResult(ids: .int64s((0..<1000).map(Int64.init)), count: 1000))
        #expect(try await manager.count(name, deadline: deadline) == 1000)

        // Each query vector finds its own row first, at distance ~0.
        let results = try await manager.search(SearchRequest(collection: name, vectors: Self.vector(123) + Self.vector(777),
                                                             limit: 5, outputFields: ["title"], params: ["ef": 64]),
                                               deadline: deadline).map(\.hits)
        #expect(results.count == 2)
        #expect(results[0].first?.id == .int64(123) && results[1].first?.id == .int64(777))
        #expect(abs(results[0][0].distance) < 1e-4)
        #expect(results[0][0].fields["title"] == .string("row-123"))
        #expect(results.allSatisfy { $0.count == 5 })

        let filtered = try await manager.search(SearchRequest(collection: name, vectors: Self.vector(123), limit: 10,
                                                              filter: "even == true", params: ["ef": 64]), deadline: deadline).map(\.hits)
        #expect(filtered[0].count == 10)
        #expect(filtered[0].allSatisfy { if case .int64(let id) = $0.id { id % 2 == 0 } else { false } })

        let cheap = try await manager.query(name, filter: "score < 10", outputFields: ["id", "title"], deadline: deadline)
        guard case .int64s(let cheapIDs) = cheap.columns["id"] else { Issue.record("expected ids"); return }
        #expect(Set(cheapIDs) == Set(0..<10))

        let got = try await manager.get(name, ids: .int64s([3, 4]), outputFields: ["id", "title", "vector"], deadline: deadline)
        #expect(got.rowCount == 2)
        if case .strings(let titles) = got.columns["title"] { #expect(Set(titles) == ["row-3", "row-4"]) } else {
            Issue.record("expected titles")
        }
        if case .floatVectors(let dimension, let values) = got.columns["vector"] {
            #expect(dimension == Self.dim && values.count == 2 * Self.dim)
        } else {
            Issue.record("expected vectors")
        }

        #expect(try await manager.delete(name, ids: .int64s([1, 2]), deadline: deadline) == 2)
        #expect(try await manager.get(name, ids: .int64s([1, 2]), deadline: deadline).rowCount == 0)
        _ = try await manager.delete(name, filter: "score >= 990", deadline: deadline)
        #expect(try await manager.count(name, deadline: deadline) == 988)

        let upserted = try await manager.upsert(name, entities: rows(5..<6, titlePrefix: "new"), deadline: deadline)
        #expect(upserted.count == 1)
        let after = try await manager.get(name, ids: .int64s([5]), outputFields: ["title"], deadline: deadline)
        #expect(after.columns["title"] == .strings(["new-5"]))
        #expect(try await manager.count(name, deadline: deadline) == 988)

        try await manager.flush([name], deadline: deadline)
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test(arguments: LiveMilvus.targets)
    func partitionsIndexesAndLoading(address: String) async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_part")
        try await manager.createCollection(spec(name), deadline: deadline)
        try await manager.createPartition(name, partition: "recent", deadline: deadline)
        #expect(Set(try await manager.listPartitions(name, deadline: deadline)).isSuperset(of: ["_default", "recent"]))
        _ = try await manager.insert(name, entities: rows(0..<50), deadline: deadline)
        _ = try await manager.insert(name, entities: rows(50..<60), partition: "recent", deadline: deadline)
        let inPartition = try await manager.search(SearchRequest(collection: name, vectors: Self.vector(3), limit: 20,
                                                                 params: ["ef": 64], partitions: ["recent"]), deadline: deadline).map(\.hits)
        #expect(inPartition[0].count == 10)
        #expect(inPartition[0].allSatisfy { if case .int64(let id) = $0.id { (50..<60).contains(id) } else { false } })

        try await manager.release(name, deadline: deadline)
        #expect(try await manager.loadState(name, deadline: deadline) == .notLoaded)
        try await manager.dropPartition(name, partition: "recent", deadline: deadline)
        #expect(!(try await manager.listPartitions(name, deadline: deadline)).contains("recent"))
        let index = try #require(try await manager.indexes(of: name, deadline: deadline).first)
        try await manager.dropIndex(name, indexName: index.name, deadline: deadline)
        #expect(try await manager.indexes(of: name, deadline: deadline).isEmpty)
        try await manager.createIndex(name, field: "vector", indexName: "flat", index: IndexSpec(type: "FLAT"), metric: .l2,
                                      deadline: deadline)
        try await manager.load(name, deadline: deadline)
        #expect(try await manager.loadState(name, deadline: deadline) == .loaded)
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test(arguments: LiveMilvus.targets)
    func errorsAreTyped(address: String) async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        await #expect {
            try await manager.search(SearchRequest(collection: "vdbm_missing_collection", vectors: [1]), deadline: deadline)
        } throws: { error in
            if case .notFound = error as? VectorDBError { return true }
            return false
        }
        let name = LiveMilvus.uniqueName("vdbm_err")
        try await manager.createCollection(spec(name), deadline: deadline)
        await #expect(throws: VectorDBError.self) {
            try await manager.insert(name, entities: Entities(["id": .int64s([1]),
                                                               "vector": .floatVectors(dimension: 3, values: [1, 2, 3])]),
                                     deadline: deadline)
        }
        await #expect(throws: VectorDBError.self) {
            try await manager.query(name, filter: "this is not an expression ((", deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }
}
