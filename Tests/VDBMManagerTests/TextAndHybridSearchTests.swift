import Logging
import MilvusClient
import Testing
import VDBMDomain
import VDBMProtobuf
import VDBMUtils
@testable import VDBMManager

/// Collections with sparse fields and BM25 functions, searches by texts and sparse vectors,
/// hybrid searches, and the checks before anything reaches Milvus.
@Suite struct TextAndHybridSearchTests {
    private let deadline = Deadline.after(.seconds(10))

    private func manager(version: String = "v2.5.4", _ fields: [MilvusFieldSchema] = [],
                         functions: [MilvusFunctionSchema] = []) -> (MockMilvus, VectorDBManager) {
        let milvus = MockMilvus()
        milvus.state.withLock {
            $0.version = version
            var schema = MilvusCollectionSchema(name: "docs", fields: fields)
            schema.functions = functions
            $0.collections["docs"] = schema
        }
        return (milvus, VectorDBManager(milvus: milvus, logger: Logger(label: "test")))
    }

    /// id, a dense "dense" (dim 2), an analyzed "text", "bm25" filled from it, a learned "learned".
    private func rag(version: String = "v2.5.4") -> (MockMilvus, VectorDBManager) {
        var bm25 = MilvusFieldSchema(name: "bm25", dataType: 104)
        bm25.isFunctionOutput = true
        return manager(version: version, [
            MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
            MilvusFieldSchema(name: "dense", dataType: 101, typeParams: [MilvusKeyValue("dim", "2")]),
            MilvusFieldSchema(name: "text", dataType: 21, typeParams: [MilvusKeyValue("max_length", "64"),
                                                                        MilvusKeyValue("enable_analyzer", "true")]),
            bm25, MilvusFieldSchema(name: "learned", dataType: 104),
        ], functions: [MilvusFunctionSchema(name: "f", type: 1, inputFields: ["text"], outputFields: ["bm25"])])
    }

    private var ragSpec: CollectionSpec {
        var spec = CollectionSpec(name: "rag", dimension: 2, vectorField: "dense", scalarFields: [
            ScalarFieldSpec(name: "text", type: .string(maxLength: 100), enableAnalyzer: true, analyzerParams: #"{"type": "english"}"#,
                            enableMatch: true),
            ScalarFieldSpec(name: "tenant", type: .string(maxLength: 16), isPartitionKey: true),
            ScalarFieldSpec(name: "lang", type: .string(maxLength: 8), defaultValue: .string("en")),
        ], index: IndexSpec(type: "FLAT"), load: true)
        spec.vectorFields = [VectorFieldSpec(name: "bm25", kind: .sparse, index: IndexSpec(type: "SPARSE_INVERTED_INDEX")),
                             VectorFieldSpec(name: "learned", kind: .sparse, index: IndexSpec(type: "SPARSE_INVERTED_INDEX"))]
        spec.functions = [FunctionSpec(name: "f", type: .bm25, inputFields: ["text"], outputFields: ["bm25"])]
        spec.partitionCount = 4
        return spec
    }

    @Test func aRagCollectionIsOneSchemaWithItsIndexes() async throws {
        let (milvus, manager) = manager()
        try await manager.createCollection(ragSpec, deadline: deadline)
        let schema = try #require(milvus.state.withLock { $0.createdSchemas.last })
        #expect(schema.fields.map(\.name) == ["id", "dense", "bm25", "learned", "text", "tenant", "lang"])
        #expect(schema.fields.map(\.isFunctionOutput) == [false, false, true, false, false, false, false])
        #expect(schema.fields[4].typeParams == [MilvusKeyValue("max_length", "100"), MilvusKeyValue("enable_analyzer", "true"),
                                                MilvusKeyValue("enable_match", "true"),
                                                MilvusKeyValue("analyzer_params", #"{"type": "english"}"#)])
        #expect(schema.fields[5].isPartitionKey && schema.fields[6].defaultValue == .string("en"))
        #expect(schema.functions == [MilvusFunctionSchema(name: "f", type: 1, inputFields: ["text"], outputFields: ["bm25"])])
        #expect(milvus.state.withLock { $0.createdPartitionCounts } == [4])
        // Each vector field indexed, the BM25 output with BM25, the other sparse field with IP.
        let indexes = milvus.state.withLock { $0.indexes }
        #expect(indexes.map(\.fieldName) == ["dense", "bm25", "learned"])
        #expect(indexes.map { $0.params.first { $0.key == "metric_type" }?.value } == ["L2", "BM25", "IP"])
    }

    @Test func aSchemaThatCannotWorkIsRefusedBeforeMilvus() {
        func refused(_ change: (inout CollectionSpec) -> Void) -> String? {
            var spec = ragSpec
            change(&spec)
            do {
                _ = try SchemaMapping.schema(for: spec)
                return nil
            } catch {
                guard case .invalidArgument(let reason) = error else { return "\(error)" }
                return reason
            }
        }
        #expect(refused { $0.functions[0].inputFields = ["tenant"] }
            == "function 'f': input field 'tenant' must be a string field with enable_analyzer")
        #expect(refused { $0.functions[0].outputFields = ["dense"] } == "function 'f': output field 'dense' must be a sparse vector field")
        #expect(refused { $0.functions[0].outputFields = ["nope"] }?.hasPrefix("function 'f': BM25 takes one string field") == true)
        #expect(refused { $0.scalarFields[2].isPartitionKey = true } == "a collection has at most one partition key field")
        #expect(refused { $0.scalarFields[1].isPartitionKey = false } == "partition_count needs a partition_key field")
        #expect(refused { $0.partitionCount = 5000 } == "partition_count 5000 is outside 1...4096")
        #expect(refused { $0.scalarFields[2].defaultValue = .int(3) } == "field 'lang': default value int(3) does not suit its type")
        #expect(refused { $0.scalarFields[2].defaultValue = .string("too long!") }
            == "field 'lang': the default has 9 bytes, more than max_length 8")
        #expect(refused { $0.scalarFields.append(ScalarFieldSpec(name: "n", type: .int32, defaultValue: .int(1 << 40))) }
            == "field 'n': default 1099511627776 is outside INT32's range")
        #expect(refused { $0.scalarFields.append(ScalarFieldSpec(name: "n", type: .int64, enableAnalyzer: true)) }
            == "field 'n': only string fields have an analyzer")
        #expect(refused { $0.scalarFields[0].enableAnalyzer = false } == "field 'text': enable_match and analyzer_params need enable_analyzer")
        #expect(refused { $0.scalarFields[0].analyzerParams = "[1]" } == "field 'text': analyzer_params is not a JSON object")
        #expect(refused { $0.scalarFields.append(ScalarFieldSpec(name: "d", type: .double, isPartitionKey: true)) }
            == "field 'd': a partition key is an int64 or string field")
        #expect(refused { $0.vectorFields[1].name = "dense" } == "field 'dense' is declared twice")
        #expect(refused { $0.vectorFields.append(VectorFieldSpec(name: "wide", kind: .float(dimension: 0))) }
            == "field 'wide': dimension 0 is outside 1...32768")
        // Defaults of each kind that suits.
        for (type, value) in [(ScalarType.bool, ScalarValue.bool(true)), (.int64, .int(5)), (.float, .double(0.5)), (.float, .int(2)),
                              (.double, .double(1.5)), (.double, .int(3)), (.int32, .int(-7))] {
            #expect(refused { $0.scalarFields.append(ScalarFieldSpec(name: "x", type: type, defaultValue: value)) } == nil)
        }
    }

    @Test func anOlderMilvusRefusesWhatItLacksNamingIt() async {
        let (milvus, manager) = manager(version: "v2.3.5")
        await #expect(throws: VectorDBError.failedPrecondition("the default value of field 'lang' needs Milvus 2.4 or newer; the server is v2.3.5")) {
            try await manager.createCollection(ragSpec, deadline: deadline)
        }
        var sparseOnly = ragSpec
        sparseOnly.scalarFields.removeLast()
        await #expect(throws: VectorDBError.failedPrecondition("sparse vector field 'bm25' needs Milvus 2.4 or newer; the server is v2.3.5")) {
            try await manager.createCollection(sparseOnly, deadline: deadline)
        }
        let (_, manager24) = self.manager(version: "v2.4.9")
        await #expect(throws: VectorDBError.failedPrecondition("BM25 function 'f' needs Milvus 2.5 or newer; the server is v2.4.9")) {
            try await manager24.createCollection(ragSpec, deadline: deadline)
        }
        var analyzedOnly = ragSpec
        (analyzedOnly.functions, analyzedOnly.vectorFields) = ([], [])
        await #expect(throws: VectorDBError.failedPrecondition("the analyzer of field 'text' needs Milvus 2.5 or newer; the server is v2.4.9")) {
            try await manager24.createCollection(analyzedOnly, deadline: deadline)
        }
        #expect(!milvus.state.withLock { $0.calls }.contains("createCollection"))
    }

    @Test func loadingNeedsEveryVectorFieldIndexed() async {
        let (_, manager) = manager()
        var spec = ragSpec
        spec.vectorFields[1].index = nil
        await #expect(throws: VectorDBError.invalidArgument("loading a new collection needs an index on every vector field; 'learned' has none")) {
            try await manager.createCollection(spec, deadline: deadline)
        }
    }

    @Test func textsSearchTheBM25OutputAndSparseVectorsTheOtherSparseField() async throws {
        let (milvus, manager) = rag()
        var byText = SearchRequest(collection: "docs", vectors: [])
        byText.texts = ["vector search"]
        _ = try await manager.search(byText, deadline: deadline)
        #expect(milvus.state.withLock { $0.searchParams }.contains(MilvusKeyValue("anns_field", "bm25")))
        var bySparse = SearchRequest(collection: "docs", vectors: [])
        bySparse.sparseVectors = [SparseVector(indices: [9, 1], values: [0.9, 0.1])]
        _ = try await manager.search(bySparse, deadline: deadline)
        #expect(milvus.state.withLock { $0.searchParams }.contains(MilvusKeyValue("anns_field", "learned")))
        // Sorted by index before they leave.
        #expect(milvus.state.withLock { $0.searchQueries.last } == .sparseVectors([SparseVector(indices: [1, 9], values: [0.1, 0.9])]))
        bySparse.vectorField = "bm25"
        await #expect(throws: VectorDBError.invalidArgument(
            "collection 'docs' has no sparse vector field 'bm25' (a BM25 function's output is searched with texts)")) {
            _ = try await manager.search(bySparse, deadline: deadline)
        }
        byText.vectorField = "learned"
        await #expect(throws: VectorDBError.invalidArgument(
            "collection 'docs' has no BM25 output field 'learned' (texts search a sparse field that a BM25 function fills)")) {
            _ = try await manager.search(byText, deadline: deadline)
        }
        byText.texts = ["  "]
        byText.vectorField = nil
        await #expect(throws: VectorDBError.invalidArgument("texts[0] has no words to search for")) {
            _ = try await manager.search(byText, deadline: deadline)
        }
        bySparse.vectorField = nil
        bySparse.sparseVectors = [SparseVector(indices: [1, 1], values: [1, 2])]
        await #expect(throws: VectorDBError.invalidArgument("sparse_vectors row 0: index 1 appears twice")) {
            _ = try await manager.search(bySparse, deadline: deadline)
        }
    }

    @Test func aCollectionWithoutTheKindSaysSo() async {
        let (_, manager) = manager([MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
                                    MilvusFieldSchema(name: "v", dataType: 101, typeParams: [MilvusKeyValue("dim", "2")])])
        var byText = SearchRequest(collection: "docs", vectors: [])
        byText.texts = ["x"]
        await #expect(throws: VectorDBError.invalidArgument(
            "collection 'docs' has no BM25 output field (texts search a sparse field that a BM25 function fills)")) {
            _ = try await manager.search(byText, deadline: deadline)
        }
    }

    @Test func textSearchOnMilvus24IsFailedPrecondition() async {
        let (milvus, manager) = rag(version: "v2.4.9")
        var byText = SearchRequest(collection: "docs", vectors: [])
        byText.texts = ["x"]
        await #expect(throws: VectorDBError.failedPrecondition("full text search needs Milvus 2.5 or newer; the server is v2.4.9")) {
            _ = try await manager.search(byText, deadline: deadline)
        }
        #expect(!milvus.state.withLock { $0.calls }.contains("search"))
    }

    private func hybrid(_ ranker: Ranker = .reciprocalRankFusion(k: 60), limit: Int = 5, offset: Int = 0) -> HybridSearchRequest {
        HybridSearchRequest(collection: "docs", searches: [
            SubSearch(vectorField: "dense", queries: .floatVectors([1, 2], dimension: 2), limit: 20, filter: "id > 3", params: ["ef": 64]),
            SubSearch(queries: .texts(["words"])),
        ], ranker: ranker, limit: limit, offset: offset, outputFields: ["text"])
    }

    @Test func aHybridSearchSendsEachSearchAndTheRanker() async throws {
        let (milvus, manager) = rag()
        let results = try await manager.hybridSearch(hybrid(offset: 2), deadline: deadline)
        #expect(results.count == 1)
        let sent = try #require(milvus.state.withLock { $0.hybridSearches.last })
        #expect(sent.searches.map(\.filter) == ["id > 3", ""])
        #expect(sent.searches[0].params.contains(MilvusKeyValue("topk", "20")))
        #expect(sent.searches[1].params.contains(MilvusKeyValue("topk", "7")))  // the request's limit + offset
        #expect(sent.searches[1].params.contains(MilvusKeyValue("anns_field", "bm25")))
        #expect(sent.rankParams == [MilvusKeyValue("strategy", "rrf"), MilvusKeyValue("params", #"{"k":60}"#),
                                    MilvusKeyValue("limit", "5"), MilvusKeyValue("offset", "2"), MilvusKeyValue("round_decimal", "-1")])
        #expect(sent.outputFields == ["text"])
        let weighted = try VectorDBManager.rankParams(hybrid(.weighted([0.75, 0.25], rawScores: true)))
        #expect(weighted[0] == MilvusKeyValue("strategy", "weighted"))
        #expect(weighted[1] == MilvusKeyValue("params", #"{"weights":[0.75,0.25],"norm_score":false}"#))
    }

    @Test func aHybridSearchThatCannotWorkIsRefused() async {
        let (_, manager) = rag()
        var uneven = hybrid()
        uneven.searches[1].queries = .texts(["a", "b"])
        await #expect(throws: VectorDBError.invalidArgument("searches[1] has 2 queries; searches[0] has 1")) {
            _ = try await manager.hybridSearch(uneven, deadline: deadline)
        }
        var unknownField = hybrid()
        unknownField.searches[0].vectorField = "nope"
        await #expect(throws: VectorDBError.invalidArgument("searches[0]: collection 'docs' has no float vector field 'nope'")) {
            _ = try await manager.hybridSearch(unknownField, deadline: deadline)
        }
        await #expect(throws: VectorDBError.invalidArgument("the weighted ranker has 1 weights for 2 searches")) {
            _ = try await manager.hybridSearch(hybrid(.weighted([1], rawScores: false)), deadline: deadline)
        }
        await #expect(throws: VectorDBError.invalidArgument("the weighted ranker's weight 1.5 is outside 0...1")) {
            _ = try await manager.hybridSearch(hybrid(.weighted([1.5, 0], rawScores: false)), deadline: deadline)
        }
        await #expect(throws: VectorDBError.invalidArgument("the RRF ranker's k 0 is outside 1...16383")) {
            _ = try await manager.hybridSearch(hybrid(.reciprocalRankFusion(k: 0)), deadline: deadline)
        }
        await #expect(throws: VectorDBError.invalidArgument("limit + offset is 16385; at most 16384")) {
            _ = try await manager.hybridSearch(hybrid(limit: 16_384, offset: 1), deadline: deadline)
        }
        var tooMany = hybrid()
        tooMany.searches = []
        await #expect(throws: VectorDBError.invalidArgument("a hybrid search has 1 to 1024 searches; got 0")) {
            _ = try await manager.hybridSearch(tooMany, deadline: deadline)
        }
        var wideLimit = hybrid()
        wideLimit.searches[0].limit = 20_000
        await #expect(throws: VectorDBError.invalidArgument("searches[0].limit is 20000; at most 16384")) {
            _ = try await manager.hybridSearch(wideLimit, deadline: deadline)
        }
    }

    @Test func aHybridSearchOnMilvus23IsFailedPrecondition() async {
        let (milvus, manager) = rag(version: "v2.3.5")
        await #expect(throws: VectorDBError.failedPrecondition("hybrid search needs Milvus 2.4 or newer; the server is v2.3.5")) {
            _ = try await manager.hybridSearch(hybrid(), deadline: deadline)
        }
        #expect(!milvus.state.withLock { $0.calls }.contains("hybridSearch"))
    }

    @Test func describedFunctionsMarkTheirOutputs() {
        // Milvus Lite 2.5 flags the output field but describes no function; others describe both.
        var schema = MilvusCollectionSchema(name: "docs", fields: [MilvusFieldSchema(name: "id", isPrimaryKey: true, dataType: 5),
                                                                   MilvusFieldSchema(name: "s", dataType: 104)])
        schema.functions = [MilvusFunctionSchema(name: "f", type: 1, inputFields: ["t"], outputFields: ["s"]),
                            MilvusFunctionSchema(name: "embed", type: 2, inputFields: ["t"], outputFields: ["e"])]
        let info = SchemaMapping.schemaInfo(MilvusResponse.DescribeCollection(status: .success, schema: schema, collectionID: 1,
                                                                              shards: 1, consistencyLevel: 1), name: "docs")
        #expect(info.fields[1].isFunctionOutput && info.textSearchFields.map(\.name) == ["s"])
        #expect(info.functions == [FunctionSpec(name: "f", type: .bm25, inputFields: ["t"], outputFields: ["s"])])
    }
}
