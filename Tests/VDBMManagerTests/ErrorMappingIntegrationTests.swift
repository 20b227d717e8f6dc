import Foundation
import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Each row of `MilvusErrorMapping` that Milvus 2.3.5 can be made to send, provoked against the
/// real server: through the bare Milvus client where the manager would refuse the request first,
/// and through the manager for what callers see.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MILVUS_ADDRESS"] != nil, "needs MILVUS_ADDRESS (Milvus 2.3.5)"),
       .serialized)
struct ErrorMappingIntegrationTests {
    private var deadline: Deadline { .after(.seconds(60)) }
    private var address: String { ProcessInfo.processInfo.environment["MILVUS_ADDRESS"]! }

    /// A loaded collection with two rows, a partition `p1` and a FLAT index `vector`.
    private func loadedCollection(_ manager: VectorDBManager) async throws -> String {
        let name = LiveMilvus.uniqueName("vdbm_errors")
        try await manager.createCollection(CollectionSpec(name: name, dimension: 2, consistency: .strong,
                                                          index: IndexSpec(type: "FLAT"), load: false), deadline: deadline)
        try await manager.createPartition(name, partition: "p1", deadline: deadline)
        _ = try await manager.insert(name, entities: Entities(["id": .int64s([1, 2]), "vector": .floatVectors(dimension: 2, values: [1, 2, 3, 4])]),
                                     deadline: deadline)
        try await manager.load(name, deadline: deadline)
        return name
    }

    private func expect(_ expected: (VectorDBError) -> Bool, _ body: () async throws -> Void,
                        sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let error as VectorDBError {
            #expect(expected(error), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func collectionNotFoundIsNotFound() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        await expect({ if case .notFound(let text) = $0 { text.hasPrefix("collection 'vdbm_nope_nope' does not exist (Milvus: ") } else { false } }) {
            _ = try await manager.describeCollection("vdbm_nope_nope", deadline: deadline)
        }
        await pool.shutdown()
    }

    @Test func searchingAReleasedCollectionIsFailedPrecondition() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = try await loadedCollection(manager)
        try await manager.release(name, deadline: deadline)
        await expect({ if case .failedPrecondition(let text) = $0 { text.hasPrefix("collection '\(name)' is not loaded: load it first") } else { false } }) {
            _ = try await manager.search(SearchRequest(collection: name, vectors: [1, 2]), deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test func loadingWithoutAnIndexIsAFailedPrecondition() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_errors")
        try await manager.createCollection(CollectionSpec(name: name, dimension: 2), deadline: deadline)
        await expect({ if case .failedPrecondition(let text) = $0 {
            text.hasPrefix("collection '\(name)' has no index: create one before loading it (Milvus: ")
        } else { false } }) {
            try await manager.load(name, deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test func filtersMilvusCannotParseAreInvalidArgumentOnEveryPath() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = try await loadedCollection(manager)
        func invalid(_ lead: String) -> (VectorDBError) -> Bool {
            { if case .invalidArgument(let text) = $0 { text.hasPrefix(lead) } else { false } }
        }
        // Delete: "failed to create expr plan" (a syntax error, and a field that does not exist).
        await expect(invalid("Milvus cannot use the filter expression")) {
            _ = try await manager.delete(name, filter: "id >>> 3", deadline: deadline)
        }
        await expect(invalid("Milvus cannot use the filter expression")) {
            _ = try await manager.delete(name, filter: "nope_field > 0", deadline: deadline)
        }
        // Query and Search: "cannot parse expression".
        await expect(invalid("Milvus cannot parse the filter expression")) {
            _ = try await manager.query(name, filter: "id >>> 0", deadline: deadline)
        }
        await expect(invalid("Milvus cannot parse the filter expression")) {
            _ = try await manager.count(name, filter: "nope_field > 0", deadline: deadline)
        }
        await expect(invalid("Milvus cannot parse the filter expression")) {
            _ = try await manager.search(SearchRequest(collection: name, vectors: [1, 2], filter: "id >>> 1"), deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test func unknownOutputFieldsAreInvalidArgumentFromMilvusAndFromTheManager() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let (client, clientPool) = LiveMilvus.client(address)
        let name = try await loadedCollection(manager)
        await expect({ if case .invalidArgument(let text) = $0 { text.hasPrefix("a field named in the request does not exist") } else { false } }) {
            _ = try await client.query(name, expression: "id > 0", outputFields: ["nope_field"], partitions: [], params: [],
                                       consistencyLevel: nil, deadline: deadline)
        }
        await expect({ $0 == .invalidArgument("collection '\(name)' has no field 'nope_field' (named in output_fields)") }) {
            _ = try await manager.query(name, filter: "id > 0", outputFields: ["nope_field"], deadline: deadline)
        }
        await expect({ $0 == .invalidArgument("collection '\(name)' has no field 'nope_field' (named in output_fields)") }) {
            _ = try await manager.search(SearchRequest(collection: name, vectors: [1, 2], outputFields: ["nope_field"]), deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
        await clientPool.shutdown()
    }

    @Test func indexMistakesHaveTheirOwnCodes() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let (client, clientPool) = LiveMilvus.client(address)
        let name = try await loadedCollection(manager)
        let hnsw = [MilvusKeyValue("index_type", "HNSW"), MilvusKeyValue("metric_type", "L2"),
                    MilvusKeyValue("params", #"{"M": 8, "efConstruction": 64}"#)]
        await expect({ if case .invalidArgument(let text) = $0 { text.hasPrefix("the field to index does not exist") } else { false } }) {
            try await client.createIndex(name, field: "nope_field", indexName: "x", params: hnsw, deadline: deadline)
        }
        await expect({ if case .alreadyExists(let text) = $0 { text.hasPrefix("the field already has an index with other parameters") } else { false } }) {
            try await client.createIndex(name, field: "vector", indexName: "vector", params: hnsw, deadline: deadline)
        }
        await expect({ if case .invalidArgument(let text) = $0 { text.hasPrefix("Milvus does not know the index type") } else { false } }) {
            try await manager.createIndex(name, field: "vector", indexName: "vector", index: IndexSpec(type: "NOPE"), metric: .l2,
                                          deadline: deadline)
        }
        await expect({ $0 == .invalidArgument("collection '\(name)' has no field 'nope_field' to index") }) {
            try await manager.createIndex(name, field: "nope_field", indexName: "x", index: IndexSpec(type: "FLAT"), metric: .l2,
                                          deadline: deadline)
        }
        await expect({ $0 == .notFound("collection '\(name)' has no index 'nope_idx'") }) {
            try await manager.dropIndex(name, indexName: "nope_idx", deadline: deadline)
        }
        await expect({ if case .failedPrecondition(let text) = $0 {
            text.hasPrefix("the collection is loaded: release it before dropping its index")
        } else { false } }) {
            try await manager.dropIndex(name, indexName: "vector", deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
        await clientPool.shutdown()
    }

    @Test func partitionMistakesHaveTheirOwnCodes() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let (client, clientPool) = LiveMilvus.client(address)
        let name = try await loadedCollection(manager)
        await expect({ if case .failedPrecondition(let text) = $0 { text.hasPrefix("the partition is loaded") } else { false } }) {
            try await manager.dropPartition(name, partition: "p1", deadline: deadline)
        }
        await expect({ if case .notFound(let text) = $0 { text.hasPrefix("the partition does not exist") } else { false } }) {
            _ = try await manager.query(name, filter: "id > 0", partitions: ["nope_p"], deadline: deadline)
        }
        await expect({ $0 == .alreadyExists("collection '\(name)' already has partition 'p1'") }) {
            try await manager.createPartition(name, partition: "p1", deadline: deadline)
        }
        await expect({ $0 == .notFound("collection '\(name)' has no partition 'nope_p'") }) {
            try await manager.dropPartition(name, partition: "nope_p", deadline: deadline)
        }
        // Released (on a loaded collection Milvus reports "loaded" first).
        try await manager.release(name, deadline: deadline)
        await expect({ if case .invalidArgument(let text) = $0 { text.hasPrefix("the _default partition cannot be dropped") } else { false } }) {
            try await client.dropPartition(name, partition: "_default", deadline: deadline)
        }
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
        await clientPool.shutdown()
    }

    @Test func nullableFieldsAreRefusedOnMilvus23() async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_errors")
        await expect({ if case .failedPrecondition(let text) = $0 { text.hasPrefix("nullable field 'tag' needs Milvus 2.4 or newer; the server is v2.3") } else { false } }) {
            try await manager.createCollection(CollectionSpec(name: name, dimension: 2, scalarFields: [
                ScalarFieldSpec(name: "tag", type: .int64, nullable: true),
            ]), deadline: deadline)
        }
        #expect(try await !manager.hasCollection(name, deadline: deadline))
        await pool.shutdown()
    }
}

/// Dynamic fields and strings with every byte, against both servers.
@Suite(.enabled(if: !LiveMilvus.targets.isEmpty, "needs MILVUS_ADDRESS or MILVUS_LITE_ADDRESS"), .serialized)
struct DynamicFieldsIntegrationTests {
    private var deadline: Deadline { .after(.seconds(60)) }

    @Test(arguments: LiveMilvus.targets)
    func extraColumnsAreStoredAndReadBackByName(address: String) async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_dynamic")
        try await manager.createCollection(CollectionSpec(name: name, dimension: 2, enableDynamicFields: true, consistency: .strong,
                                                          index: IndexSpec(type: "FLAT"), load: true), deadline: deadline)
        _ = try await manager.insert(name, entities: Entities([
            "id": .int64s([1, 2, 3]), "vector": .floatVectors(dimension: 2, values: [1, 0, 0, 1, 1, 1]),
            "color": .strings(["red", "blue", "red"]), "size": .int64s([3, 40, 500]), "ratio": .doubles([0.5, 1.5, 2.5]),
        ]), deadline: deadline)
        // Filters on dynamic fields work as Milvus allows.
        let red = try await manager.query(name, filter: #"color == "red" and size > 10"#, outputFields: ["color", "size", "ratio"],
                                          deadline: deadline)
        #expect(red.columns["id"] == .int64s([3]))
        #expect(red.columns["color"] == .strings(["red"]))
        #expect(red.columns["size"] == .int64s([500]))
        #expect(red.columns["ratio"] == .doubles([2.5]))
        #expect(red.columns["$meta"] == nil)
        // A row without the field reads it as JSON null.
        _ = try await manager.insert(name, entities: Entities(["id": .int64s([4]), "vector": .floatVectors(dimension: 2, values: [0, 0])]),
                                     deadline: deadline)
        let all = try await manager.get(name, ids: .int64s([3, 4]), outputFields: ["id", "color"], deadline: deadline)
        guard case .int64s(let ids) = all.columns["id"], case .json(let colors) = all.columns["color"] else {
            Issue.record("unexpected columns \(all.columns)"); return
        }
        #expect(Dictionary(uniqueKeysWithValues: zip(ids, colors)) == [3: #""red""#, 4: "null"])
        let hits = try await manager.search(SearchRequest(collection: name, vectors: [1, 0], limit: 1, outputFields: ["color"]),
                                            deadline: deadline)
        #expect(hits[0].ids == .int64s([1]))
        #expect(hits[0].fields["color"] == .strings(["red"]))
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }

    @Test(arguments: LiveMilvus.targets)
    func stringsKeepEveryByteThroughMilvus(address: String) async throws {
        let (manager, pool) = await LiveMilvus.manager(address)
        let name = LiveMilvus.uniqueName("vdbm_bytes")
        try await manager.createCollection(CollectionSpec(name: name, dimension: 2,
                                                          scalarFields: [ScalarFieldSpec(name: "title", type: .string(maxLength: 64))],
                                                          consistency: .strong, index: IndexSpec(type: "FLAT"), load: true),
                                           deadline: deadline)
        let titles = ["ab\u{0}cd", "naïve 東京 🚀", "\u{0}"]
        _ = try await manager.insert(name, entities: Entities([
            "id": .int64s([1, 2, 3]), "vector": .floatVectors(dimension: 2, values: [1, 0, 0, 1, 1, 1]), "title": .strings(titles),
        ]), deadline: deadline)
        let rows = try await manager.get(name, ids: .int64s([1, 2, 3]), outputFields: ["id", "title"], deadline: deadline)
        guard case .int64s(let ids) = rows.columns["id"], case .strings(let read) = rows.columns["title"] else {
            Issue.record("unexpected columns \(rows.columns)"); return
        }
        #expect(Dictionary(uniqueKeysWithValues: zip(ids, read)) == [1: titles[0], 2: titles[1], 3: titles[2]])
        try await manager.dropCollection(name, deadline: deadline)
        await pool.shutdown()
    }
}
