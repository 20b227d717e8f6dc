import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Milvus answers whose numbers do not add up: every read of them is INTERNAL naming what
/// disagrees, never a trap and never hits read from them.
@Suite struct MalformedAnswerTests {
    private let deadline = Deadline.after(.seconds(10))

    private func withDocs() async throws -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"))
        try await manager.createCollection(CollectionSpec(name: "docs", dimension: 2, metric: .l2,
                                                          scalarFields: [ScalarFieldSpec(name: "title", type: .string(maxLength: 8))]),
                                           deadline: deadline)
        return (milvus, manager)
    }

    /// Two query vectors with 2 and 1 hits.
    private let wellFormed = MilvusResponse.Search(
        status: .success, numQueries: 2, topK: 2, topks: [2, 1], ids: .int64s([5, 6, 9]), scores: [0.1, 0.2, 0.3],
        fields: [MilvusFieldData(name: "title", dataType: 21, values: .strings(["a", "b", "c"]))])

    private func internalMessage(_ error: VectorDBError) -> String? {
        if case .internal(let text) = error { return text }
        return nil
    }

    private func searchError(_ milvus: MockMilvus, _ manager: VectorDBManager, reply: MilvusResponse.Search) async -> VectorDBError? {
        milvus.state.withLock { $0.searchReply = reply }
        do {
            _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2, 3, 4], limit: 2), deadline: deadline)
            return nil
        } catch {
            return error
        }
    }

    @Test func aWellFormedAnswerStillReads() async throws {
        let (milvus, manager) = try await withDocs()
        #expect(await searchError(milvus, manager, reply: wellFormed) == nil)
    }

    /// The kinds of malformed answer independent testing sent through a scripted Milvus.
    enum Spoil: CaseIterable, Sendable {
        case negativeTopk, topksNearInt64Max, topksSummingPastIt, hugeQueryCount, negativeQueryCount, fewerIDs, fewerScores,
             shortColumn, emptyAnswer

        func apply(to reply: inout MilvusResponse.Search) {
            switch self {
            case .negativeTopk: reply.topks = [4, -1]
            case .topksNearInt64Max: reply.topks = [.max, 1]
            case .topksSummingPastIt: reply.topks = [.max / 2 + 1, .max / 2 + 1]
            case .hugeQueryCount: reply.numQueries = .max
            case .negativeQueryCount: reply.numQueries = -2
            case .fewerIDs: reply.ids = .int64s([5, 6])
            case .fewerScores: reply.scores = [0.1]
            case .shortColumn: reply.fields[0].values = .strings(["a"])
            case .emptyAnswer:
                reply = MilvusResponse.Search(status: .success, numQueries: 0, topK: 0, topks: [], ids: .int64s([]), scores: [],
                                              fields: [])
            }
        }

        var problem: String {
            switch self {
            case .negativeTopk: "topks[1] is negative (-1)"
            case .topksNearInt64Max, .topksSummingPastIt: "topks add up past 9223372036854775807 at query 1"
            case .hugeQueryCount: "num_queries is 9223372036854775807 for 2 query vectors sent"
            case .negativeQueryCount: "num_queries is -2 for 2 query vectors sent"
            case .fewerIDs: "2 ids for 3 hits"
            case .fewerScores: "1 scores for 3 hits"
            case .shortColumn: "column 'title' has 1 rows; the answer has 3 hits"
            case .emptyAnswer: "num_queries is 0 for 2 query vectors sent"
            }
        }
    }

    @Test(arguments: Spoil.allCases)
    func aSearchAnswerThatDoesNotAddUpIsInternal(spoil: Spoil) async throws {
        let (milvus, manager) = try await withDocs()
        var reply = wellFormed
        spoil.apply(to: &reply)
        let error = try #require(await searchError(milvus, manager, reply: reply))
        #expect(internalMessage(error) == "Milvus sent a malformed search answer: \(spoil.problem)")
    }

    @Test func anInsertAnswerCountingOtherRowsIsInternal() throws {
        let reply = MilvusResponse.Mutation(status: .success, ids: .int64s([1, 2]), insertCount: -5, deleteCount: 0, upsertCount: 0)
        #expect(throws: VectorDBError.internal("Milvus sent a malformed insert answer: insert count -5 for 2 rows sent")) {
            try VectorDBManager.mutationResult(reply, rows: 2, upsert: false)
        }
        let fewerIDs = MilvusResponse.Mutation(status: .success, ids: .int64s([1]), insertCount: 0, deleteCount: 0, upsertCount: 2)
        #expect(throws: VectorDBError.internal("Milvus sent a malformed upsert answer: 1 ids for 2 rows sent")) {
            try VectorDBManager.mutationResult(fewerIDs, rows: 2, upsert: true)
        }
        let good = MilvusResponse.Mutation(status: .success, ids: .strings(["a", "b"]), insertCount: 2, deleteCount: 0, upsertCount: 0)
        #expect(try VectorDBManager.mutationResult(good, rows: 2, upsert: false) == MutationResult(ids: .strings(["a", "b"]), count: 2))
    }

    @Test func queryColumnsOfDifferentLengthsAreInternal() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock {
            $0.queryReply = [MilvusFieldData(name: "id", dataType: 5, values: .int64s([3, 1, 2])),
                             MilvusFieldData(name: "title", dataType: 21, values: .strings(["c"]))]
        }
        await #expect(throws: VectorDBError.internal("Milvus sent a malformed query answer: column 'title' has 1 rows; column 'id' has 3")) {
            _ = try await manager.query("docs", filter: "id > 0", outputFields: ["title"], deadline: deadline)
        }
        // An export page puts rows in key order: a short column there was an index out of range.
        await #expect(throws: VectorDBError.self) {
            _ = try await manager.exportPage("docs", filter: "", outputFields: ["title"], after: nil, pageSize: 10, deadline: deadline)
        }
    }

    @Test func columnsVdbmCannotReadAreLeftOutOfQueryResults() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock {
            $0.queryReply = [MilvusFieldData(name: "id", dataType: 5, values: .int64s([3, 1, 2])),
                             MilvusFieldData(name: "title", dataType: 22, values: .strings([]), isReadable: false)]
        }
        let page = try await manager.exportPage("docs", filter: "", outputFields: ["title"], after: nil, pageSize: 10,
                                                deadline: deadline)
        #expect(page.rows.columns == ["id": .int64s([1, 2, 3])])
    }

    @Test func aNegativeCountOrDeleteCountIsInternal() async throws {
        let (milvus, manager) = try await withDocs()
        milvus.state.withLock { $0.queryReply = [MilvusFieldData(name: "count(*)", dataType: 5, values: .int64s([-1]))] }
        await #expect(throws: VectorDBError.internal("Milvus sent a malformed count answer: count(*) is -1")) {
            _ = try await manager.count("docs", deadline: deadline)
        }
        milvus.state.withLock { $0.deleteCount = -3 }
        await #expect(throws: VectorDBError.internal("Milvus sent a malformed delete answer: delete count -3")) {
            _ = try await manager.delete("docs", filter: "id > 0", deadline: deadline)
        }
    }

    @Test func aVectorFieldWithoutAPositiveDimensionIsInternalNotADivisionByZero() async throws {
        let milvus = MockMilvus()
        let manager = VectorDBManager(milvus: milvus, logger: Logger(label: "test"))
        for dim in ["0", "-4"] {
            milvus.state.withLock {
                $0.collections["odd"] = MilvusCollectionSchema(name: "odd", fields: [
                    MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
                    MilvusFieldSchema(name: "v", dataType: 101, typeParams: [MilvusKeyValue("dim", dim)]),
                ])
            }
            _ = try await manager.schema(of: "odd", deadline: deadline, refresh: true)
            await #expect(throws: VectorDBError.internal("Milvus sent a malformed describe collection answer: vector field 'v' has dimension \(dim)")) {
                _ = try await manager.search(SearchRequest(collection: "odd", vectors: [1, 2, 3, 4]), deadline: deadline)
            }
        }
    }
}
