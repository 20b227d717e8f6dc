import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Collections made outside vdbm with today's schema features: several vector fields, fields
/// with default values and a function's output.
@Suite struct SchemaFeaturesTests {
    private let deadline = Deadline.after(.seconds(10))

    private func manager(_ fields: [MilvusFieldSchema]) -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        milvus.state.withLock { $0.collections["docs"] = MilvusCollectionSchema(name: "docs", fields: fields) }
        return (milvus, VectorDBManager(milvus: milvus, logger: Logger(label: "test")))
    }

    private let key = MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5)

    private func vector(_ name: String) -> MilvusFieldSchema {
        MilvusFieldSchema(name: name, dataType: 101, typeParams: [MilvusKeyValue("dim", "2")])
    }

    @Test func aSearchNamesItsVectorFieldWhenThereAreSeveral() async throws {
        let (milvus, manager) = manager([key, vector("title_v"), vector("body_v")])
        await #expect(throws: VectorDBError.invalidArgument(
            "collection 'docs' has 2 float vector fields (title_v, body_v): name one in vector_field")) {
            _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2]), deadline: deadline)
        }
        _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2], vectorField: "body_v"), deadline: deadline)
        #expect(milvus.state.withLock { $0.searchParams }.contains(MilvusKeyValue("anns_field", "body_v")))
        await #expect(throws: VectorDBError.invalidArgument("collection 'docs' has no float vector field 'id'")) {
            _ = try await manager.search(SearchRequest(collection: "docs", vectors: [1, 2], vectorField: "id"), deadline: deadline)
        }
    }

    @Test func rowsMayLeaveOutFieldsMilvusFills() async throws {
        var withDefault = MilvusFieldSchema(name: "lang", dataType: 21, typeParams: [MilvusKeyValue("max_length", "8")])
        withDefault.hasDefaultValue = true
        var sparse = MilvusFieldSchema(name: "sparse", dataType: 104)
        sparse.isFunctionOutput = true
        let plain = MilvusFieldSchema(name: "n", dataType: 5)
        let (milvus, manager) = manager([key, vector("v"), withDefault, sparse, plain])
        let rows = Entities(["id": .int64s([1]), "v": .floatVectors(dimension: 2, values: [1, 2]), "n": .int64s([7])])
        _ = try await manager.insert("docs", entities: rows, deadline: deadline)
        let sent = try #require(milvus.state.withLock { $0.inserted.last?.fields })
        // The defaulted field goes as a column of nulls (Milvus 2.5 wants it); the function's output not at all.
        #expect(sent.map(\.name) == ["id", "n", "v", "lang"])
        #expect(sent[3].validity == [false] && sent[3].values == .strings([]) && sent[3].rowCount == 1)
        var missingPlain = rows
        missingPlain.columns["n"] = nil
        await #expect(throws: VectorDBError.invalidArgument("missing field 'n'")) {
            _ = try await manager.insert("docs", entities: missingPlain, deadline: deadline)
        }
    }
}
