import VDBMDomain
import Logging
import MilvusClient
import Testing
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

@Suite struct VectorDBManagerTests {
    private let deadline = Deadline.after(.seconds(10))

    private func manager(_ milvus: MockMilvus) -> VectorDBManager {
        VectorDBManager(milvus: milvus, logger: Logger(label: "test"))
    }

    private func docsSpec(index: IndexSpec? = nil, load: Bool = false) -> CollectionSpec {
        CollectionSpec(name: "docs", dimension: 4, metric: .cosine,
                       scalarFields: [ScalarFieldSpec(name: "title", type: .string(maxLength: 8)),
                                      ScalarFieldSpec(name: "score", type: .double)],
                       index: index, load: load)
    }

    private func withDocs() async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        try await manager.createCollection(docsSpec(), deadline: deadline)
        return (milvus, manager)
    }

    private func rows(_ count: Int, dimension: Int = 4) -> Entities {
        Entities([
            "id": .int64s((0..<count).map(Int64.init)),
            "vector": .floatVectors(dimension: dimension, values: (0..<(count * dimension)).map(Float.init)),
            "title": .strings((0..<count).map { "t\($0)" }),
            "score": .doubles((0..<count).map(Double.init)),
        ])
    }

    // MARK: Collections

    @Test func quickSetupBuildsKeyVectorAndScalarFields() async throws {
        let (milvus, _) = try await withDocs()
        let schema = try #require(milvus.state.withLock { $0.createdSchemas.first })
        #expect(schema.fields.map(\.name) == ["id", "vector", "title", "score"])
        #expect(schema.fields[0].isPrimaryKey && schema.fields[0].dataType == 5)
        #expect(schema.fields[1].dataType == 101 && schema.fields[1].typeParams == [MilvusKeyValue("dim", "4")])
        #expect(schema.fields[2].typeParams == [MilvusKeyValue("max_length", "8")])
    }

    @Test func indexAndLoadFollowCreationWhenAsked() async throws {
        let milvus = MockMilvus()
        milvus.state.withLock { $0.loadStates = [2, 2, 3] }
        try await manager(milvus).createCollection(docsSpec(index: .hnsw(m: 8, efConstruction: 64), load: true),
                                                   deadline: deadline)
        #expect(milvus.calls == ["hasCollection", "createCollection", "describeCollection", "createIndex", "load", "loadState", "loadState",
                                "loadState"])
        let params = milvus.state.withLock { $0.indexes[0].params }
        #expect(params.contains(MilvusKeyValue("metric_type", "COSINE")))
        #expect(params.contains(MilvusKeyValue("params", #"{"M": 8, "efConstruction": 64}"#)))
    }

    @Test func creatingAnExistingCollectionIsAlreadyExists() async throws {
        let (_, manager) = try await withDocs()
        await #expect(throws: VectorDBError.alreadyExists("collection 'docs' already exists")) {
            try await manager.createCollection(docsSpec(), deadline: deadline)
        }
    }

    @Test(arguments: ["", "1abc", "has space", "semi;colon", String(repeating: "a", count: 256)])
    func badNamesAreInvalidArguments(name: String) async {
        let manager = manager(MockMilvus())
        await #expect(throws: VectorDBError.self) {
            try await manager.createCollection(CollectionSpec(name: name, dimension: 4), deadline: deadline)
        }
    }

    @Test func specsThatCannotWorkAreRefusedBeforeMilvusIsCalled() async {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        for spec in [CollectionSpec(name: "a", dimension: 0), CollectionSpec(name: "a", dimension: 40_000),
                     CollectionSpec(name: "a", dimension: 4, load: true),
                     CollectionSpec(name: "a", dimension: 4, scalarFields: [ScalarFieldSpec(name: "id", type: .bool)])] {
            await #expect(throws: VectorDBError.self) { try await manager.createCollection(spec, deadline: deadline) }
        }
        #expect(milvus.calls.isEmpty)
    }

    @Test func droppingAnUnknownCollectionIsNotFound() async {
        let manager = manager(MockMilvus())
        await #expect(throws: VectorDBError.notFound("collection 'nope' does not exist")) {
            try await manager.dropCollection("nope", deadline: deadline)
        }
    }

    @Test func describeCombinesSchemaRowCountLoadStateAndIndexes() async throws {
        let (_, manager) = try await withDocs()
        let info = try await manager.describeCollection("docs", deadline: deadline)
        #expect(info.schema.primaryKey?.name == "id")
        #expect(info.schema.vectorFields.first?.dimension == 4)
        #expect(info.rowCount == 42)
        #expect(info.loadState == .loaded)
        #expect(info.indexes.isEmpty)  // Milvus's "index not found" means none
    }

    // MARK: Data and the schema cache

    @Test func insertSendsTypedColumnsAndReturnsIds() async throws {
        let (milvus, manager) = try await withDocs()
        let result = try await manager.insert("docs", entities: rows(3), deadline: deadline)
        #expect(result == MutationResult(ids: .int64s([0, 1, 2]), count: 3))
        let sent = try #require(milvus.state.withLock { $0.inserted.first })
        #expect(sent.fields.map(\.name) == ["id", "score", "title", "vector"])
        #expect(sent.fields.first { $0.name == "vector" }?.values == .floatVectors(dimension: 4, values: (0..<12).map(Float.init)))
    }

    @Test func theSchemaIsDescribedOnceForManyInserts() async throws {
        let (milvus, manager) = try await withDocs()
        for _ in 0..<3 { _ = try await manager.insert("docs", entities: rows(2), deadline: deadline) }
        #expect(milvus.calls("describeCollection") == 1)
    }

    @Test func droppingForgetsTheCachedSchema() async throws {
        let (milvus, manager) = try await withDocs()
        _ = try await manager.insert("docs", entities: rows(1), deadline: deadline)
        try await manager.dropCollection("docs", deadline: deadline)
        await #expect(throws: VectorDBError.self) { try await manager.insert("docs", entities: rows(1), deadline: deadline) }
        #expect(milvus.calls("describeCollection") == 2)
    }

    @Test func aSchemaChangeReportedByMilvusIsDescribedAgainAndRepeatedOnce() async throws {
        let (milvus, manager) = try await withDocs()
        _ = try await manager.insert("docs", entities: rows(1), deadline: deadline)
        milvus.state.withLock { $0.failures["insert"] = [.invalidArgument("the schema of the collection has changed")] }
        let result = try await manager.insert("docs", entities: rows(2), deadline: deadline)
        #expect(result.count == 2)
        #expect(milvus.calls("insert") == 3)
        #expect(milvus.calls("describeCollection") == 2)
    }

    @Test(arguments: [
        ("small", FieldValues.int64s([1, 1 << 40 + 3]), "column 'small' row 1: 1099511627779 is outside INT32's range -2147483648...2147483647"),
        ("small", FieldValues.int64s([-(1 << 40), 0]), "column 'small' row 0: -1099511627776 is outside INT32's range"),
        ("ratio", FieldValues.doubles([0.5, 1e300]), "column 'ratio' row 1: 1e+300 is outside FLOAT's range"),
    ])
    func valuesThatDoNotFitTheirFieldAreRefusedNotNarrowed(field: String, values: FieldValues, message: String) async throws {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        try await manager.createCollection(CollectionSpec(name: "narrow", dimension: 2, scalarFields: [
            ScalarFieldSpec(name: "small", type: .int32), ScalarFieldSpec(name: "ratio", type: .float),
        ]), deadline: deadline)
        var columns: [String: FieldValues] = ["id": .int64s([1, 2]), "vector": .floatVectors(dimension: 2, values: [1, 2, 3, 4]),
                                              "small": .int32s([1, 2]), "ratio": .floats([1, 2])]
        columns[field] = values
        await #expect {
            try await manager.insert("narrow", entities: Entities(columns), deadline: deadline)
        } throws: { error in
            guard case .invalidArgument(let text) = error as? VectorDBError else { return false }
            return text.contains(message)
        }
        #expect(milvus.calls("insert") == 0)
    }

    @Test func doublesThatOnlyLosePrecisionAsFloatsAreAccepted() async throws {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        try await manager.createCollection(CollectionSpec(name: "narrow", dimension: 2, scalarFields: [
            ScalarFieldSpec(name: "ratio", type: .float),
        ]), deadline: deadline)
        let columns: [String: FieldValues] = ["id": .int64s([1]), "vector": .floatVectors(dimension: 2, values: [1, 2]),
                                              "ratio": .doubles([0.1234567890123])]
        #expect(try await manager.insert("narrow", entities: Entities(columns), deadline: deadline).count == 1)
    }

    @Test(arguments: [
        ("vector", FieldValues.floatVectors(dimension: 3, values: [1, 2, 3]), "dimension 4"),
        ("title", FieldValues.int64s([1]), "field 'title' is VARCHAR: send its values as strings, not int64s"),
        ("vector", FieldValues.floats([Float](repeating: 1, count: 4)), "field 'vector' is FLOAT_VECTOR: send its values as vectors"),
        ("title", FieldValues.strings(["far too long"]), "allows 8 bytes"),
    ])
    func badColumnsAreInvalidArguments(field: String, values: FieldValues, message: String) async throws {
        let (milvus, manager) = try await withDocs()
        var entities = rows(1)
        entities.columns[field] = values
        await #expect {
            try await manager.insert("docs", entities: entities, deadline: deadline)
        } throws: { error in
            guard case .invalidArgument(let reason) = error as? VectorDBError else { return false }
            return reason.contains(message)
        }
        #expect(milvus.calls("insert") == 0)
    }

    @Test func missingUnknownAndUnevenColumnsAreInvalidArguments() async throws {
        let (_, manager) = try await withDocs()
        var missing = rows(2)
        missing.columns["score"] = nil
        var unknown = rows(2)
        unknown.columns["colour"] = .strings(["a", "b"])
        var uneven = rows(2)
        uneven.columns["score"] = .doubles([1])
        for entities in [missing, unknown, uneven, Entities([:])] {
            await #expect(throws: VectorDBError.self) { try await manager.insert("docs", entities: entities, deadline: deadline) }
        }
    }

    @Test func autoIDKeysMustBeLeftOutOfInserts() async throws {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        try await manager.createCollection(CollectionSpec(name: "auto", dimension: 2, primaryKey: .int64(autoID: true)),
                                           deadline: deadline)
        let ok = try await manager.insert("auto", entities: Entities(["vector": .floatVectors(dimension: 2, values: [1, 2])]),
                                          deadline: deadline)
        #expect(ok.count == 1)
        await #expect(throws: VectorDBError.self) {
            try await manager.insert("auto", entities: Entities(["id": .int64s([1]), "vector": .floatVectors(dimension: 2, values: [1, 2])]),
                                     deadline: deadline)
        }
    }

    @Test func deleteByIdsBuildsAMembershipFilterWithEscapedStrings() async throws {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        try await manager.createCollection(CollectionSpec(name: "s", dimension: 2, primaryKey: .string(maxLength: 16)),
                                           deadline: deadline)
        #expect(try await manager.delete("s", ids: .strings(["a", "b\"c", "d\\e"]), deadline: deadline) == 2)
        #expect(milvus.state.withLock { $0.deleteExpressions } == [#"id in ["a", "b\"c", "d\\e"]"#])
        await #expect(throws: VectorDBError.self) { try await manager.delete("s", filter: "  ", deadline: deadline) }
    }

    @Test func getQueriesByKeyWithStrongConsistencyAndAllFields() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock { $0.queryReply = [MilvusFieldData(name: "id", dataType: 5, values: .int64s([7]))] }
        let result = try await manager.get("docs", ids: .int64s([7]), deadline: deadline)
        #expect(result.columns["id"] == .int64s([7]))
        let query = try #require(milvus.state.withLock { $0.queries.first })
        #expect(query.expression == "id in [7]")
        #expect(query.outputFields == ["id", "vector", "title", "score"])
        #expect(query.consistency == 0)
    }

    @Test func queryWithoutFilterNeedsALimitAndPassesLimitAndOffset() async throws {
        let (milvus, manager) = try await withDocs()
        await #expect(throws: VectorDBError.self) { try await manager.query("docs", filter: "", deadline: deadline) }
        _ = try await manager.query("docs", filter: "", outputFields: ["id"], limit: 5, offset: 10, deadline: deadline)
        #expect(milvus.state.withLock { $0.queries.last?.params } == [MilvusKeyValue("limit", "5"), MilvusKeyValue("offset", "10")])
    }

    @Test func aStrongExportWaitsOnItsFirstPageOnlyAndPagesOnTheKey() async throws {
        let (milvus, manager) = try await withDocs()
        // Milvus's answer out of key order: the page leaves sorted, the cursor is its largest key.
        milvus.state.withLock { $0.queryReply = [MilvusFieldData(name: "id", dataType: 5, values: .int64s([9, 4]))] }
        let first = try await manager.exportPage("docs", filter: "score > 1", outputFields: ["id"], after: nil, pageSize: 2,
                                                 consistency: .strong, deadline: deadline)
        #expect(first.rows.columns["id"] == .int64s([4, 9]))
        let cursor = try #require(first.next)
        #expect(cursor.key == .int64(9) && cursor.guaranteeTimestamp != nil)
        milvus.state.withLock { $0.queryReply = [MilvusFieldData(name: "id", dataType: 5, values: .int64s([]))] }
        let second = try await manager.exportPage("docs", filter: "score > 1", outputFields: ["id"], after: cursor, pageSize: 2,
                                                  consistency: .strong, deadline: deadline)
        #expect(second.next == nil)
        let queries = milvus.state.withLock { $0.queries }
        #expect(queries.map(\.expression) == ["(score > 1)", "(score > 1) and id > 9"])
        #expect(queries[0].consistency == 0 && queries[0].guarantee == nil)
        #expect(queries[1].consistency == nil && queries[1].guarantee == cursor.guaranteeTimestamp)
        #expect(queries[0].params.contains(MilvusKeyValue("iterator", "True")) && queries[0].params.contains(MilvusKeyValue("limit", "2")))
        await #expect(throws: VectorDBError.self) {
            try await manager.exportPage("docs", filter: "", after: nil, pageSize: 16_385, deadline: deadline)
        }
    }

    @Test func countReadsCountStar() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock { $0.queryReply = [MilvusFieldData(name: "count(*)", dataType: 5, values: .int64s([12]))] }
        #expect(try await manager.count("docs", filter: "score > 1", deadline: deadline) == 12)
        #expect(milvus.state.withLock { $0.queries.last?.outputFields } == ["count(*)"])
    }

    // MARK: Search

    @Test func searchSplitsHitsPerQueryVectorWithTheirFields() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock {
            $0.searchReply = MilvusResponse.Search(
                status: .success, numQueries: 2, topK: 2, topks: [2, 1], ids: .int64s([5, 6, 9]), scores: [0.1, 0.2, 0.3],
                fields: [MilvusFieldData(name: "title", dataType: 21, values: .strings(["a", "b", "c"]))])
        }
        let results = try await manager.search(SearchRequest(collection: "docs", vectors: Array(repeating: 0.5, count: 8),
                                                             limit: 2, outputFields: ["title"], params: ["ef": 32]),
                                                deadline: deadline)
        // One column set per query vector, cut from Milvus's single answer by its topks.
        #expect(results[1] == SearchResults(ids: .int64s([9]), distances: [0.3], fields: ["title": .strings(["c"])]))
        #expect(results.map(\.hits) == [
            [SearchHit(id: .int64(5), distance: 0.1, fields: ["title": .string("a")]),
             SearchHit(id: .int64(6), distance: 0.2, fields: ["title": .string("b")])],
            [SearchHit(id: .int64(9), distance: 0.3, fields: ["title": .string("c")])],
        ])
        let params = milvus.state.withLock { $0.searchParams }
        #expect(params.contains(MilvusKeyValue("anns_field", "vector")))
        #expect(params.contains(MilvusKeyValue("topk", "2")))
        #expect(params.contains(MilvusKeyValue("params", #"{"ef": 32}"#)))
    }

    @Test func searchVectorsMustMatchTheDimension() async throws {
        let (milvus, manager) = try await withDocs()
        await #expect(throws: VectorDBError.self) {
            try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2, 3]), deadline: deadline)
        }
        await #expect(throws: VectorDBError.self) {
            try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2, 3, 4], limit: 0), deadline: deadline)
        }
        #expect(milvus.calls("search") == 0)
    }

    @Test func searchOnAnUnknownCollectionIsNotFound() async {
        let manager = manager(MockMilvus())
        await #expect {
            try await manager.search(SearchRequest(collection: "ghost", vectors: [1]), deadline: deadline)
        } throws: { error in
            if case .notFound = error as? VectorDBError { return true }
            return false
        }
    }

    @Test func loadPollsUntilTheDeadlineThenGivesUp() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock { $0.loadStates = [2] }
        let started = ContinuousClock.now
        await #expect(throws: VectorDBError.deadlineExceeded("collection 'docs' is still loading")) {
            try await manager.load("docs", deadline: .after(.milliseconds(600)))
        }
        // Asked again and again until just before the deadline, not given up early. (Lower
        // bounds only: a busy machine makes sleeps longer, never shorter.)
        #expect(milvus.calls("loadState") >= 2)
        #expect(started.duration(to: .now) >= .milliseconds(550))
    }

    @Test func partitionsAndIndexesPassThrough() async throws {
        let (milvus, manager) = try await withDocs()
        try await manager.createPartition("docs", partition: "p1", deadline: deadline)
        #expect(try await manager.listPartitions("docs", deadline: deadline) == ["_default", "p1"])
        try await manager.dropPartition("docs", partition: "p1", deadline: deadline)
        try await manager.createIndex("docs", field: "vector", indexName: "v", index: IndexSpec(type: "FLAT"), metric: .l2,
                                      deadline: deadline)
        #expect(try await manager.indexes(of: "docs", deadline: deadline).map(\.name) == ["v"])
        try await manager.dropIndex("docs", indexName: "v", deadline: deadline)
        try await manager.release("docs", deadline: deadline)
        try await manager.flush(["docs"], deadline: deadline)
        #expect(milvus.calls.suffix(12) == ["listPartitions", "createPartition", "listPartitions", "listPartitions", "dropPartition",
                                            "describeCollection", "createIndex", "describeIndexes", "describeIndexes", "dropIndex",
                                            "release", "flush"])
    }

    @Test func partitionsAndIndexesThatMilvusWouldSilentlyAcceptAreErrors() async throws {
        let (milvus, manager) = try await withDocs()
        try await manager.createPartition("docs", partition: "p1", deadline: deadline)
        await #expect(throws: VectorDBError.alreadyExists("collection 'docs' already has partition 'p1'")) {
            try await manager.createPartition("docs", partition: "p1", deadline: deadline)
        }
        await #expect(throws: VectorDBError.notFound("collection 'docs' has no partition 'p2'")) {
            try await manager.dropPartition("docs", partition: "p2", deadline: deadline)
        }
        await #expect(throws: VectorDBError.invalidArgument("the _default partition cannot be dropped")) {
            try await manager.dropPartition("docs", partition: "_default", deadline: deadline)
        }
        await #expect(throws: VectorDBError.notFound("collection 'docs' has no index 'nope_idx'")) {
            try await manager.dropIndex("docs", indexName: "nope_idx", deadline: deadline)
        }
        await #expect(throws: VectorDBError.invalidArgument("collection 'docs' has no field 'nope_field' to index")) {
            try await manager.createIndex("docs", field: "nope_field", indexName: "x", index: IndexSpec(type: "FLAT"),
                                          metric: .l2, deadline: deadline)
        }
        #expect(milvus.calls("createPartition") == 1)
        #expect(milvus.calls("dropPartition") == 0)
        #expect(milvus.calls("dropIndex") == 0)
        #expect(milvus.calls("createIndex") == 0)
    }

    @Test func nullableFieldsNeedMilvus24() async throws {
        let milvus = MockMilvus()
        let manager = manager(milvus)
        let spec = CollectionSpec(name: "n", dimension: 2, scalarFields: [ScalarFieldSpec(name: "tag", type: .int64, nullable: true)])
        await #expect(throws: VectorDBError.failedPrecondition("nullable field 'tag' needs Milvus 2.4 or newer; the server is v2.3.5")) {
            try await manager.createCollection(spec, deadline: deadline)
        }
        #expect(milvus.calls("createCollection") == 0)
        // A manager of its own: the version is remembered for a minute.
        milvus.state.withLock { $0.version = "v2.4.1" }
        try await self.manager(milvus).createCollection(spec, deadline: deadline)
        #expect(milvus.calls("createCollection") == 1)
    }
}

@Suite struct VectorDBErrorMappingTests {
    @Test func transportFailuresMapToTypedErrors() {
        #expect(VectorDBError.from(CallFailure.notProcessed("refused")) == .unavailable("refused"))
        #expect(VectorDBError.from(CallFailure.unavailable("lost")) == .unavailable("lost"))
        #expect(VectorDBError.from(CallFailure.deadlineExceeded) == .deadlineExceeded("the call's deadline passed"))
        #expect(VectorDBError.from(CallFailure.unauthenticated("who")) == .unauthenticated("who"))
        #expect(VectorDBError.from(CallFailure.retriable(code: 8, reason: "slow down")) == .rateLimited("slow down"))
    }
}
