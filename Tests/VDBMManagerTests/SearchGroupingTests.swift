import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Grouping searches and range-search parameters through the manager, against a mock Milvus.
@Suite struct SearchGroupingTests {
    private let deadline = Deadline.after(.seconds(10))

    private func withDocs(version: String) async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        milvus.state.withLock { $0.version = version }
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"))
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2, metric: .l2,
                                                          scalarFields: [ScalarFieldSpec(name: "doc", type: .int64)]),
                                           deadline: deadline)
        return (milvus, manager)
    }

    private func grouped(_ vectors: [Float] = [1, 2, 3, 4]) -> SearchRequest {
        SearchRequest(collection: "docs", vectors: vectors, limit: 2, grouping: SearchGrouping(field: "doc", size: 1))
    }

    @Test func aGroupingSearchOnMilvusBefore24IsRefusedBeforeAnythingIsSent() async throws {
        let (milvus, manager) = try await withDocs(version: "v2.3.5")
        await #expect(throws: VectorDBError.failedPrecondition("grouping search needs Milvus 2.4 or newer; the server is v2.3.5")) {
            _ = try await manager.search(grouped(), deadline: deadline)
        }
        #expect(milvus.calls("search") == 0)
    }

    @Test func eachHitCarriesItsGroupValueAndMilvusGetsPymilvussParameters() async throws {
        let (milvus, manager) = try await withDocs(version: "v2.6.15")
        milvus.state.withLock {
            $0.searchReply = MilvusResponse.Search(
                status: .success, numQueries: 2, topK: 2, topks: [2, 1], ids: .int64s([5, 6, 9]), scores: [0.1, 0.2, 0.3],
                fields: [], groupValues: MilvusFieldData(name: "doc", dataType: 5, values: .int64s([50, 60, 90])))
        }
        let results = try await manager.search(grouped(), deadline: deadline)
        #expect(results.map(\.groupValues) == [.int64s([50, 60]), .int64s([90])])
        let params = milvus.state.withLock { $0.searchParams }
        #expect(params.contains(MilvusKeyValue("group_by_field", "doc")))
        #expect(params.contains(MilvusKeyValue("group_size", "1")))
        #expect(params.contains(MilvusKeyValue("strict_group_size", "false")))
        // The version is asked once, not once per search.
        _ = try await manager.search(grouped(), deadline: deadline)
        #expect(milvus.calls("version") == 1)
    }

    @Test func withoutGroupValuesFromMilvusTheGroupColumnGivesThem() async throws {
        // Milvus Lite 2.5 groups but sends no group_by_field_value: vdbm asks for the column too.
        let (milvus, manager) = try await withDocs(version: "v2.5.0")
        milvus.state.withLock {
            $0.searchReply = MilvusResponse.Search(
                status: .success, numQueries: 2, topK: 2, topks: [2, 1], ids: .int64s([5, 6, 9]), scores: [0.1, 0.2, 0.3],
                fields: [MilvusFieldData(name: "doc", dataType: 5, values: .int64s([50, 60, 90]))])
        }
        let results = try await manager.search(grouped(), deadline: deadline)
        #expect(results.map(\.groupValues) == [.int64s([50, 60]), .int64s([90])])
        #expect(results.allSatisfy { $0.fields.isEmpty })  // the caller did not ask for the column
        var asked = grouped()
        asked.outputFields = ["doc"]
        #expect(try await manager.search(asked, deadline: deadline).map { $0.fields["doc"] } == [.int64s([50, 60]), .int64s([90])])
    }

    @Test func aServerThatDoesNotSayItsVersionIsNotRefused() async throws {
        let (milvus, manager) = try await withDocs(version: "milvus_lite-3.2.2")
        _ = try await manager.search(grouped(), deadline: deadline)
        #expect(milvus.calls("search") == 1)
    }

    @Test func onlyAScalarFieldOfTheCollectionGroups() async throws {
        let (_, manager) = try await withDocs(version: "v2.6.15")
        for field in ["nope", "vector"] {
            var request = grouped()
            request.grouping = SearchGrouping(field: field)
            await #expect(throws: VectorDBError.invalidArgument("collection 'docs' has no scalar field '\(field)' to group by")) {
                _ = try await manager.search(request, deadline: deadline)
            }
        }
    }

    @Test func aGroupColumnShortOfTheHitsIsMalformed() async throws {
        let (milvus, manager) = try await withDocs(version: "v2.6.15")
        milvus.state.withLock {
            $0.searchReply = MilvusResponse.Search(
                status: .success, numQueries: 2, topK: 2, topks: [2, 1], ids: .int64s([5, 6, 9]), scores: [0.1, 0.2, 0.3],
                fields: [], groupValues: MilvusFieldData(name: "doc", dataType: 5, values: .int64s([50])))
        }
        await #expect(throws: VectorDBError.internal("Milvus sent a malformed search answer: column 'doc' has 1 rows; the answer has 3 hits")) {
            _ = try await manager.search(grouped(), deadline: deadline)
        }
    }

    @Test func rangeSearchParametersTravelAsJSONNumbers() async throws {
        let (milvus, manager) = try await withDocs(version: "v2.3.5")
        _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2], params: ["radius": 0.8, "range_filter": 0.25]),
                                     deadline: deadline)
        let params = milvus.state.withLock { $0.searchParams }
        #expect(params.contains(MilvusKeyValue("params", #"{"radius": 0.8, "range_filter": 0.25}"#)))
    }

    @Test func groupedAndUngroupedSearchesNeverShareABatch() {
        let schema = CollectionSchemaInfo(name: "docs", fields: [])
        let plain = SearchRequest(collection: "docs", vectors: [1, 2])
        var byDoc = plain
        byDoc.grouping = SearchGrouping(field: "doc")
        var bigger = byDoc
        bigger.grouping?.size = 3
        let keys = [plain, byDoc, bigger].map { SearchBatchKey($0, vectorField: "v", dimension: 2, schema: schema) }
        #expect(Set(keys).count == 3)
        #expect(SearchBatchKey(byDoc, vectorField: "v", dimension: 2, schema: schema) == keys[1])
    }
}
